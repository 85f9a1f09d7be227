"""`make screenshots`: every console page, as each role sees it, into docs/img/ (PNG).

Starts the local stack (as the browser tests do), puts a few requests through it over the HTTP
API (a missed call, one to call again later, a lead waiting for documents, a rejection, a sale
up to the QC call), then
signs in as each development user in headless Chromium and photographs the pages.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack.driver import wait_for
from devstack.http_driver import HttpDriver
from devstack.serve import served_in_subprocess
from devstack.stack import ROOT
from ventas.config import Timing
from ventas.domain.tasks import TaskKind
from ventas.web.auth import Role

OUT = ROOT / "docs" / "img"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
_LONG = 24 * 60.0  # business hours: nothing expires while the pages are photographed
PATIENT = Timing(_LONG, _LONG, _LONG, _LONG, _LONG, _LONG, qc_delay_hours=1, qc_task_hours=_LONG)
CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}


def _lead(ci: str | None = None, location: bool = True) -> dict[str, object]:
    lead: dict[str, object] = {
        "channel": "web",
        "channel_lead_id": f"web-{uuid.uuid4().hex[:10]}",
        "phone": "+5917" + str(uuid.uuid4().int)[:7],
        "name": "Rosa Flores Terrazas",
        "ci": ci or str(20_000_000 + uuid.uuid4().int % 9_000_000) + " CB",
        "service_code": "INTERNET_FTTH_100",
    }
    if location:
        lead["location"] = CENTRO
    return lead


def _populate(http: HttpDriver) -> dict[str, str]:
    """Requests in the states the pages should show; returns ids by purpose."""
    ids = {"missed": http.missed_call("+5917" + str(uuid.uuid4().int)[:7])}
    # A customer who asked to be called again in ten minutes (step 1.2): back in the inbox, reserved.
    ids["later"] = http.missed_call("+5917" + str(uuid.uuid4().int)[:7])
    later = http.open_task(ids["later"], TaskKind.CALL_BACK)
    when = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    http.call("POST", f"/v1/tasks/{later.task_id}/call-again", Role.AGENT, "agente.local", body={"call_again_at": when})
    ids["location"] = http.submit_lead(**_lead(location=False))
    ids["documents"] = http.submit_lead(**_lead())
    ids["rejected"] = http.submit_lead(**_lead("3456789 CB"))
    sale = _lead()
    ids["sale"] = http.submit_lead(**sale)
    for n, requirement in enumerate(("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ")):
        http.send_document(str(sale["phone"]), f"media-{ids['sale']}-{n}", requirement)
    http.install(ids["sale"], timeout=60)
    wait_for(lambda: http.open_task(ids["sale"], TaskKind.QC_CALL), 60, "QC")
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make screenshots")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    timings = {name.title().replace("_", ""): str(h) for name, h in dataclasses.asdict(PATIENT).items()}
    chromium = os.environ.get("VD_CHROMIUM") or shutil.which("chromium")
    with tempfile.TemporaryDirectory() as folder, served_in_subprocess(Path(folder), "3600", timings) as api:
        http = HttpDriver(api)
        ids = _populate(http)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

            def shoot(user: str | None, shots: list[tuple[str, str]]) -> None:
                context = browser.new_context(base_url=api.url, viewport={"width": 1280, "height": 900}, locale="es-BO")
                page = context.new_page()
                page.goto("/console/signin")
                if user:
                    page.click(f"button[data-user='{user}']")
                    page.wait_for_load_state()
                for name, path in shots:
                    if path:
                        page.goto(path)
                    page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
                    print(f"docs/img/{name}.png", flush=True)
                context.close()

            shoot(None, [("signin", "")])
            agent = http.open_task(ids["missed"], TaskKind.CALL_BACK)
            location = http.open_task(ids["location"], TaskKind.LOCATION)
            shoot(
                "agente.local",
                [
                    ("agent-inbox", "/console/inbox"),
                    ("agent-task-callback", f"/console/tasks/{agent.task_id}"),
                    ("agent-task-location", f"/console/tasks/{location.task_id}"),
                    ("agent-request", f"/console/requests/{ids['sale']}"),
                    ("local-customer", "/console/local"),
                ],
            )
            shoot("supervisor.local", [("supervisor-dashboard", "/console/supervisor")])
            shoot(
                "ops.local",
                [
                    ("ops-search", "/console/ops"),
                    ("ops-execution-waiting", f"/console/ops/requests/{ids['documents']}"),
                    ("ops-execution-sale", f"/console/ops/requests/{ids['sale']}"),
                ],
            )
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
