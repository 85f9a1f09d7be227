"""Every time and day that enters from outside is an RFC 3339 string within the product's years.

A year-9999 time with a negative offset is year 10000 in UTC: converting it raised
OverflowError (a 500). A number was read as a Unix timestamp (`"called_at": 123` was a missed
call in 1970). Each entry answers 422 on its field and changes nothing.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest

from tests.unit.api_harness import Api, api, body, mint
from tests.unit.conftest import T0
from tests.unit.test_call_again import call_back
from tests.unit.test_console_pages import console, get, hosted, post
from tests.unit.test_console_tasks import ANA, field_error, form
from tests.unit.test_stages import sold_until_installation
from ventas.container import Container
from ventas.contracts import ReportEvent
from ventas.domain.instants import parse_day
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.services import tasks
from ventas.web.auth import Role

__all__ = ["api", "console", "hosted"]
FAR = "9999-12-31T23:59:59-04:00"  # year 10000 in UTC
EARLY = "0001-01-01T00:00:00+01:00"  # before year 1 in UTC
OUT_OF_RANGE = [
    (FAR, "datetime_out_of_range"),
    (EARLY, "datetime_out_of_range"),
    ("2100-01-01T00:00:00Z", "datetime_out_of_range"),
]
NOT_TEXT = [
    (123, "datetime_type"),
    (1.7e9, "datetime_type"),
    (True, "datetime_type"),
    ("1700000000", "datetime_parsing"),
]
BAD_TIMES = OUT_OF_RANGE + NOT_TEXT


def only_field(answer: Any) -> dict[str, str]:
    """The first field error of a 422 (`from` before `to` when both are wrong)."""
    assert answer.status_code == 422, answer.body
    return dict(body(answer)["error"]["fields"][0])


@pytest.mark.parametrize(("value", "kind"), BAD_TIMES)
def test_call_again_refuses_a_time_out_of_range_or_not_text(api: Api, value: object, kind: str) -> None:
    task = call_back(api.deps)
    answer = api.call("POST", f"/v1/tasks/{task.task_id}/call-again", Role.AGENT, {"call_again_at": value})
    field = only_field(answer)
    assert (field["field"], field["type"]) == ("call_again_at", kind)
    assert "entre los años 2000 y 2099" in field["message"] if "range" in kind else "fecha y hora" in field["message"]
    stored = api.deps.tasks.get(task.task_id)
    assert (stored.status, stored.call_agains, stored.due_at) == (TaskStatus.OPEN, 0, task.due_at)


def test_the_console_call_again_form_refuses_year_9999_beside_the_field(console: Api, deps: Container) -> None:
    task = call_back(deps)
    typed = form(ANA, reached="later", call_again_at="9999-12-31T23:59")
    answer = post(console, f"/console/tasks/{task.task_id}/complete", typed, ANA)
    assert answer.status_code == 422
    page = html.unescape(answer.body.decode())
    assert field_error(page, "call_again_at") == "Indique una fecha entre los años 2000 y 2099."
    assert deps.tasks.get(task.task_id).call_agains == 0


@pytest.mark.parametrize(("value", "kind"), [*BAD_TIMES, ("2026-11-24T09:00:00", "timezone_aware")])
def test_the_installation_follow_up_refuses_bad_times(deps: Container, api: Api, value: object, kind: str) -> None:
    task = follow_up(deps)
    answer = api.call(
        "POST", f"/v1/tasks/{task.task_id}/complete", Role.AGENT, {"installed": True, "installed_at": value}
    )
    assert (only_field(answer)["field"], only_field(answer)["type"]) == ("installed_at", kind)
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN


def test_an_installation_in_the_future_is_refused_on_the_follow_up_too(deps: Container, api: Api) -> None:
    """Otherwise the QC call (step 13) would wait for that future time."""
    task = follow_up(deps)
    tomorrow = (T0 + timedelta(days=1)).isoformat()
    answer = api.call(
        "POST", f"/v1/tasks/{task.task_id}/complete", Role.AGENT, {"installed": True, "installed_at": tomorrow}
    )
    field = only_field(answer)
    assert (field["field"], field["type"]) == ("installed_at", "invalid_event")
    assert field["message"] == "la fecha de instalación no puede estar en el futuro"
    assert deps.requests.get(task.request_id).qc_at is None
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN


def test_the_console_follow_up_form_says_so_beside_the_field(console: Api, deps: Container) -> None:
    task = follow_up(deps)
    path = f"/console/tasks/{task.task_id}/complete"
    future = post(console, path, form(ANA, installed="true", installed_at="2026-11-25T10:00"), ANA)
    assert future.status_code == 422
    page = html.unescape(future.body.decode())
    assert field_error(page, "installed_at") == "La fecha de instalación no puede estar en el futuro."
    far = html.unescape(
        post(console, path, form(ANA, installed="true", installed_at="9999-12-31T23:59"), ANA).body.decode()
    )
    assert field_error(far, "installed_at") == "Indique una fecha entre los años 2000 y 2099."
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN


def follow_up(deps: Container) -> Any:
    request_id = sold_until_installation(deps)
    return tasks.open_task(deps, TaskKind.INSTALLATION_FOLLOW_UP, request_id, deps.workflow.wait("tok-f"), 3600)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "kind"), BAD_TIMES)
def test_a_missed_call_time_must_be_rfc_3339_text_in_range(api: Api, value: object, kind: str) -> None:
    call = {"caller": "71234567", "line": "4200400", "called_at": value}
    field = only_field(api.call("POST", "/v1/missed-calls", Role.CHANNEL, call, who="ivr"))
    assert (field["field"], field["type"]) == ("called_at", kind)
    assert api.deps.workflow.started == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "kind"), BAD_TIMES)
@pytest.mark.parametrize(("event_kind", "name"), [("completed", "installed_at"), ("rescheduled", "scheduled_for")])
def test_installation_event_times_must_be_rfc_3339_text_in_range(
    api: Api, value: object, kind: str, event_kind: str, name: str
) -> None:
    request_id = sold_until_installation(api.deps)
    order_id = api.deps.requests.get(request_id).order_id
    event = {"kind": event_kind, "event_id": "opr-9", name: value}
    answer = api.call("POST", f"/v1/orders/{order_id}/installation-events", Role.INSTALLATIONS, event)
    field = only_field(answer)
    assert (field["field"], field["type"]) == (f"{event_kind}.{name}", kind)
    request = api.deps.requests.get(request_id)
    assert (request.installation_events, request.installed_at) == ({}, None)


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        ("date=9999-12-31", "date", "date_out_of_range"),
        ("date=0001-01-01", "date", "date_out_of_range"),
        ("from=0001-01-01&to=0001-01-31", "from", "date_out_of_range"),
        ("date=86400", "date", "date_parsing"),  # read as a Unix timestamp before
        ("date=2026-W48-2", "date", "date_parsing"),
    ],
)
def test_kpi_days_are_yyyy_mm_dd_in_range(api: Api, query: str, name: str, kind: str) -> None:
    field = only_field(api.call("GET", f"/v1/reports/kpi?{query}", Role.SUPERVISOR))
    assert (field["field"], field["type"]) == (name, kind)


@pytest.mark.parametrize("query", ["from=0001-01-01&to=0001-01-02", "from=9999-12-30&to=9999-12-31", "from=86400"])
def test_search_days_are_yyyy_mm_dd_in_range(api: Api, query: str) -> None:
    assert only_field(api.call("GET", f"/v1/requests?{query}", Role.OPS))["field"] == "from"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "86400", "20261124", "2026-W48-2"])
def test_console_days_are_refused_in_spanish(console: Api, day: str) -> None:
    supervisor = get(console, f"/console/supervisor?day={day}", mint("supervisora.eva", ["supervisor"]))
    assert supervisor.status_code == 422
    assert "La fecha no es válida" in html.unescape(supervisor.body.decode())
    ops = get(console, f"/console/ops?from={day}", mint("ops.luis", ["ops"]))
    assert ops.status_code == 422
    assert "fecha" in html.unescape(ops.body.decode())


def test_the_kpi_functions_manual_day_is_checked_too() -> None:
    with pytest.raises(ValueError, match="date_out_of_range"):
        ReportEvent.model_validate({"report": "kpi", "day": "0001-01-01"})
    assert parse_day("2026-11-24").isoformat() == "2026-11-24"
