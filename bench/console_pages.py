"""The console's pages against the JSON routes they show, on the local stack.

For each page: the median server time (loopback, one client, keep-alive) as a ratio to the JSON
route it shows, measured in the same run, and the no-op route's for scale; bytes per page cold
(HTML and every asset) and warm (HTML only: assets are cached, htmx for a year), raw and gzip.
Then the inbox with 500 open tasks (500 missed calls, each a call-back task).

    .venv/bin/python -m bench.console_pages [--calls 15] [--open-tasks 500]

Writes bench/results/console_pages.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.common import write_result
from devstack.api_server import LocalApi
from devstack.driver import wait_for
from devstack.http_driver import HttpDriver
from devstack.serve import served_in_subprocess
from ventas.web.auth import Role

PATIENT = {"AgentTaskHours": "100000", "DocumentsHours": "100000", "QcDelayHours": "1", "QcTaskHours": "100000"}
CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}


def signed_in(api: LocalApi, username: str) -> requests.Session:
    """A browser-like session: the local sign-in page, its CSRF token, the session cookie."""
    session = requests.Session()
    page = session.get(f"{api.url}/console/signin", timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    session.post(f"{api.url}/console/signin", data={"csrf": csrf.group(1), "username": username}, timeout=30)
    assert "vd_session" in session.cookies
    return session


def timed(call: Callable[[], requests.Response], calls: int) -> tuple[float, int]:
    """Median milliseconds of `calls` calls after one warm-up, and the last body's size."""
    call()
    times = []
    size = 0
    for _ in range(calls):
        started = time.perf_counter()
        response = call()
        times.append(1000 * (time.perf_counter() - started))
        if response.status_code >= 400:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        size = len(response.content)
    return statistics.median(times), size


def lead(location: bool = True) -> dict[str, object]:
    body: dict[str, object] = {
        "channel": "web",
        "channel_lead_id": f"web-{uuid.uuid4().hex[:10]}",
        "phone": "+5917" + str(uuid.uuid4().int)[:7],
        "name": "Rosa Flores",
        "ci": str(20_000_000 + uuid.uuid4().int % 9_000_000) + " CB",
        "service_code": "INTERNET_FTTH_100",
    }
    if location:
        body["location"] = CENTRO
    return body


def run(api: LocalApi, calls: int, open_tasks: int) -> dict[str, Any]:
    http = HttpDriver(api)
    waiting = http.submit_lead(**lead())
    wait_for(lambda: "RequestDocuments" in http.states_entered(waiting) or None, 60, "documents wait")
    agent, supervisor, ops = (signed_in(api, u) for u in ("agente.local", "supervisor.local", "ops.local"))
    bearer = {
        role: {"Authorization": http.headers(role)["Authorization"]}
        for role in Role
        if role not in (Role.CHANNEL, Role.INSTALLATIONS)
    }
    plain = requests.Session()

    def page(session: requests.Session, path: str) -> Callable[[], requests.Response]:
        return lambda: session.get(f"{api.url}{path}", timeout=120)

    def json_route(role: Role, path: str) -> Callable[[], requests.Response]:
        return lambda: plain.get(f"{api.url}{path}", headers=bearer[role], timeout=120)

    pairs = {
        "inbox": (page(agent, "/console/inbox"), json_route(Role.AGENT, "/v1/tasks?status=open&limit=100")),
        "request": (page(agent, f"/console/requests/{waiting}"), json_route(Role.AGENT, f"/v1/requests/{waiting}")),
        "supervisor": (page(supervisor, "/console/supervisor"), json_route(Role.SUPERVISOR, "/v1/reports/kpi")),
        "execution graph": (
            page(ops, f"/console/ops/requests/{waiting}"),
            json_route(Role.OPS, f"/v1/requests/{waiting}/execution"),
        ),
    }
    noop, _ = timed(lambda: plain.get(f"{api.url}/v1/health", timeout=30), calls)
    assets = {
        name: len(plain.get(f"{api.url}/console/static/{name}", timeout=30).content)
        for name in ("htmx-2.0.7.min.js", "console.js", "console.css")
    }
    assets_gzip = {
        name: len(gzip.compress(plain.get(f"{api.url}/console/static/{name}", timeout=30).content)) for name in assets
    }
    pages: dict[str, Any] = {}
    for name, (html, data) in pairs.items():
        html_ms, html_bytes = timed(html, calls)
        json_ms, json_bytes = timed(data, calls)
        body = html().content
        pages[name] = {
            "page_ms": round(html_ms, 1),
            "json_ms": round(json_ms, 1),
            "ratio_to_json": round(html_ms / json_ms, 2),
            "ratio_to_noop": round(html_ms / noop, 1),
            "html_bytes": html_bytes,
            "html_gzip_bytes": len(gzip.compress(body)),
            "json_bytes": json_bytes,
            "cold_bytes": html_bytes + sum(assets.values()),
            "cold_gzip_bytes": len(gzip.compress(body)) + sum(assets_gzip.values()),
            "warm_bytes": html_bytes,
        }

    # The inbox with many open tasks: missed calls, each a call-back task.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: http.missed_call("+5916" + f"{n:07d}"), range(open_tasks)))
    wait_for(lambda: len(http.inbox(limit=open_tasks + 50)) >= open_tasks or None, 600, f"{open_tasks} open tasks")
    html_ms, html_bytes = timed(page(agent, "/console/inbox"), calls)
    json_ms, json_bytes = timed(json_route(Role.AGENT, "/v1/tasks?status=open&limit=100"), calls)
    rows = page(agent, "/console/inbox")().text.count("<tr class=")
    big = {
        "open_tasks": open_tasks,
        "rows_shown": rows,
        "page_ms": round(html_ms, 1),
        "json_ms": round(json_ms, 1),
        "ratio_to_json": round(html_ms / json_ms, 2),
        "html_bytes": html_bytes,
        "json_bytes": json_bytes,
    }
    return {
        "noop_ms": round(noop, 2),
        "calls": calls,
        "assets": assets,
        "assets_gzip": assets_gzip,
        "pages": pages,
        "inbox_500": big,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages")
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--open-tasks", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, served_in_subprocess(Path(folder), "3600", PATIENT) as api:
        report = run(api, args.calls, args.open_tasks)
    write_result("console_pages.json", report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
