"""The request page is truthful on a local run's compressed clock.

The QC call's slot (step 13) is a business-hours instant in the procedure's time; locally the
workflow's Wait is scaled, so the QC task opens long before it (06:24 where the page said
08:30). The page says both, and that the clock is compressed.
"""

from __future__ import annotations

import dataclasses
import html
from datetime import datetime, timedelta

from tests.fakes.aws import InMemoryWorkflow
from tests.unit.api_harness import Api, api
from tests.unit.test_console_pages import console, get, hosted
from tests.unit.test_console_tasks import ANA, readable_rows
from tests.unit.test_stages import sold_until_installation
from ventas.container import Container
from ventas.domain.installation import InstallationCompleted
from ventas.domain.schedule import format_local
from ventas.services import installations

__all__ = ["api", "console", "hosted"]


def installed(deps: Container) -> tuple[str, datetime]:
    """A sale installed now: the request and the instant its QC Wait really ends."""
    request_id = sold_until_installation(deps)
    order_id = deps.requests.get(request_id).order_id
    assert order_id is not None
    event = InstallationCompleted(kind="completed", event_id="opr-clock", installed_at=deps.clock.now())
    installations.report_installation(deps, order_id, event)
    assert isinstance(deps.workflow, InMemoryWorkflow)
    ((_, _, output),) = deps.workflow.answers
    return request_id, datetime.fromisoformat(str(output["qcWaitUntil"]).replace("Z", "+00:00"))


def test_on_a_compressed_clock_the_page_says_when_the_qc_task_really_opens(console: Api, deps: Container) -> None:
    deps.settings = dataclasses.replace(deps.settings, time_scale=60.0)
    request_id, opens = installed(deps)
    qc_at = deps.requests.get(request_id).qc_at
    assert qc_at is not None
    assert opens < qc_at - timedelta(hours=40)  # 48 business hours, scaled 60 times
    page = html.unescape(get(console, f"/console/requests/{request_id}", ANA).body.decode())
    assert 'id="compressed-clock"' in page
    assert "reloj comprimido (×60)" in page
    (row,) = readable_rows(page)["installed"]
    assert (
        f"llamada de calidad el: {format_local(qc_at)} en el tiempo del procedimiento; con el reloj local "
        f"comprimido (×60) la tarea se abre el {format_local(opens)}"
    ) in row[1]


def test_on_the_real_clock_the_slot_is_the_qc_time(console: Api, deps: Container) -> None:
    request_id, opens = installed(deps)
    assert deps.requests.get(request_id).qc_at == opens
    page = html.unescape(get(console, f"/console/requests/{request_id}", ANA).body.decode())
    assert 'id="compressed-clock"' not in page
    (row,) = readable_rows(page)["installed"]
    assert f"llamada de calidad el: {format_local(opens)}" in row[1]
    assert "comprimido" not in row[1]
