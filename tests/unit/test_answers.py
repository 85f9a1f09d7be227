"""Answers that read right (issue 8, kind 8): empty KPI days, named query conflicts, the QC step,
Spanish field errors, and an OpenAPI document that says what phone, CI and task bodies look like."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from devstack.report import OUTCOMES, REASONS, _kpi
from devstack.runlog import DayResult
from tests.unit.api_harness import Api, api, body
from ventas.config import Timing
from ventas.domain.kpi import SIN_SOLICITUDES, daily_kpi
from ventas.domain.models import Step
from ventas.domain.tasks import TASK_STEPS, TaskKind
from ventas.web.auth import Role
from ventas.web.views import STEP_LABELS

__all__ = ["api"]

ASL = json.loads((Path(__file__).parents[2] / "statemachine" / "ventas_digitales.asl.json").read_text())
ENGLISH = re.compile(
    r"Field required|Input should|String should|Extra inputs|Value error|valid (number|string)|at least|at most"
)


def test_a_day_without_requests_has_no_indicator_and_says_so(api: Api) -> None:
    report = daily_kpi("2026-11-22", [], "registered", 95.0)
    assert (report.value, report.verdict) == (None, SIN_SOLICITUDES)
    day = body(api.call("GET", "/v1/reports/kpi?date=2026-11-22", Role.SUPERVISOR))
    assert (day["requests"], day["value"], day["verdict"]) == (0, None, "Sin solicitudes")
    series = body(api.call("GET", "/v1/reports/kpi?from=2026-11-22&to=2026-11-23", Role.SUPERVISOR))
    assert {d["verdict"] for d in series["days"]} == {"Sin solicitudes"}


def test_todays_kpi_is_provisional_and_a_past_days_is_not(api: Api) -> None:
    today = body(api.call("GET", "/v1/reports/kpi?date=2026-11-24", Role.SUPERVISOR))  # the clock's La Paz day
    assert (today["provisional"], today["note"]) == (
        True,
        "Día en curso: resultado provisional, puede cambiar hasta el cierre del día.",
    )
    past = body(api.call("GET", "/v1/reports/kpi?date=2026-11-23", Role.SUPERVISOR))
    assert (past["provisional"], past["note"]) == (False, None)
    default = body(api.call("GET", "/v1/reports/kpi", Role.SUPERVISOR))
    assert (default["day"], default["provisional"]) == ("2026-11-24", True)
    series = body(api.call("GET", "/v1/reports/kpi?from=2026-11-23&to=2026-11-24", Role.SUPERVISOR))
    assert [d["provisional"] for d in series["days"]] == [False, True]


@pytest.mark.parametrize(
    ("query", "field"),
    [("date=2026-11-25", "date"), ("date=2027-01-01", "date"), ("from=2026-11-20&to=2026-11-25", "to")],
)
def test_a_kpi_for_a_day_yet_to_come_is_refused_in_spanish(api: Api, query: str, field: str) -> None:
    answer = api.call("GET", f"/v1/reports/kpi?{query}", Role.SUPERVISOR)
    assert answer.status_code == 422
    (error,) = body(answer)["error"]["fields"]
    assert error["field"] == field
    assert "aún no llegó" in error["message"]


def test_the_report_table_says_a_day_had_no_requests() -> None:
    result = DayResult(
        leads=0,
        seed=1,
        time_scale=1.0,
        timing=Timing(),
        policy="registered",
        started_at=datetime(2026, 11, 22, tzinfo=UTC),
        elapsed=0.0,
        records=[],
        joined=[],
        work={},
        counters={},
        outage={},
        errors=[],
        kpis=[daily_kpi("2026-11-22", [], "registered", 95.0)],
    )
    out = io.StringIO()
    _kpi(Console(file=out, width=200, color_system=None), result)
    row = next(line for line in out.getvalue().splitlines() if "2026-11-22" in line)
    assert "Sin solicitudes" in row
    assert "Aceptado" not in row
    assert "Observado" not in row
    assert "0.00 %" not in row


@pytest.mark.parametrize(
    ("query", "fields", "words"),
    [
        ("date=2026-11-24&from=2026-11-23&to=2026-11-25", ["date", "from", "to"], "date, from, to"),
        ("date=2026-11-24&to=2026-11-25", ["date", "to"], "date, to"),
        ("from=2026-11-23", ["to"], "falta el parámetro to"),
        ("to=2026-11-23", ["from"], "falta el parámetro from"),
    ],
)
def test_a_kpi_call_with_conflicting_parameters_names_them(api: Api, query: str, fields: list[str], words: str) -> None:
    answer = api.call("GET", f"/v1/reports/kpi?{query}", Role.SUPERVISOR)
    assert answer.status_code == 422
    errors = body(answer)["error"]["fields"]
    assert [e["field"] for e in errors] == fields
    assert all(words in e["message"] for e in errors)


def _task_states(states: dict[str, Any]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for name, state in states.items():
        kind = re.search(r'"kind": "(\w+)"', json.dumps(state.get("Parameters", {})))
        step = re.search(r"Steps? ([\d.]+)", state.get("Comment", ""))
        if kind and step:
            found[name] = (kind.group(1), step.group(1))
        for branch in state.get("Branches", []):
            found.update(_task_states(branch["States"]))
    return found


def test_each_task_kind_stands_at_the_step_its_workflow_state_names() -> None:
    states = _task_states(ASL["States"])
    assert states["QcCall"] == ("qc_call", "13.1")
    for name, (kind, step) in states.items():
        if kind != TaskKind.MANUAL_REVIEW:  # one kind for the faults of steps 4, 7 and 10
            assert TASK_STEPS[TaskKind(kind)].value == step, name


def test_the_qc_task_and_its_step_label_agree(api: Api) -> None:
    assert TASK_STEPS[TaskKind.QC_CALL] == Step.QC_CALL == Step("13.1")
    assert "control de calidad" in STEP_LABELS[Step.QC_CALL].lower()
    assert Step.CLOSED is Step.QC_CALL  # a sold request ends at 13.1, "concluyendo el procedimiento"


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("/v1/requests", {}),
        ("/v1/requests", {"channel": "fax", "channel_lead_id": "", "phone": 7, "name": "x" * 300, "extra": 1}),
        ("/v1/requests", {"channel": "web", "channel_lead_id": "l", "phone": "71234567", "location": {"address": 1}}),
        ("/v1/missed-calls", {"caller": "+59171234567", "line": "1111111", "called_at": "ayer"}),
        ("/v1/requests", []),
    ],
)
def test_field_errors_are_spanish_never_pydantics_english(api: Api, path: str, sent: Any) -> None:
    answer = api.call("POST", path, Role.CHANNEL, sent)
    assert answer.status_code == 422
    fields = body(answer)["error"]["fields"]
    assert fields
    for error in fields:
        assert not ENGLISH.search(error["message"]), error


def test_the_openapi_document_describes_phone_ci_and_each_completion_body() -> None:
    from ventas.web.openapi import openapi_document

    document = openapi_document()
    schemas = document["components"]["schemas"]
    phone = schemas["Lead"]["properties"]["phone"]
    assert phone["format"] == "phone"
    assert all(re.fullmatch(phone["pattern"].strip("^$"), example) for example in phone["examples"])
    caller = schemas["MissedCall"]["properties"]["caller"]
    assert caller["format"] == "phone"
    ci = schemas["IdentificationResult"]["properties"]["ci"]
    assert ci["format"] == "bo-ci"
    assert "SC 1234567" in ci["examples"]
    assert all(re.fullmatch(ci["pattern"].strip("^$"), example) for example in ci["examples"])
    lead_ci = schemas["Lead"]["properties"]["ci"]["anyOf"][0]
    assert lead_ci["format"] == "bo-ci"
    body_schema = document["paths"]["/v1/tasks/{task_id}/complete"]["post"]["requestBody"]["content"]
    completion = body_schema["application/json"]["schema"]
    assert completion["discriminator"]["propertyName"] == "kind"
    assert set(completion["discriminator"]["mapping"]) == {k.value for k in TaskKind}
    for kind, ref in completion["discriminator"]["mapping"].items():
        assert schemas[ref.rsplit("/", 1)[1]]["properties"]["kind"]["const"] == kind


def test_a_completion_body_naming_another_kind_is_refused(api: Api) -> None:
    from ventas.domain.models import Lead
    from ventas.services import intake, tasks

    request_id = intake.submit_lead(api.deps, Lead(channel="web", channel_lead_id="k", phone="71234567")).request_id
    api.deps.workflow.wait("tok-kind")  # type: ignore[attr-defined]
    task = tasks.open_task(api.deps, TaskKind.IDENTIFICATION, request_id, "tok-kind", 3600)
    path = f"/v1/tasks/{task.task_id}/complete"
    wrong = api.call("POST", path, Role.AGENT, {"kind": "qc_call", "satisfaction": 5, "comment": "ok"})
    assert wrong.status_code == 422
    (kind,) = [e for e in body(wrong)["error"]["fields"] if e["field"] == "kind"]
    assert kind["message"] == "debe ser uno de estos valores: 'identification'"  # the value, not a Python repr
    right = {"kind": "identification", "ci": "SC 1234567", "service_code": "INTERNET_FTTH_100"}
    assert api.call("POST", path, Role.AGENT, right).status_code == 200


def test_the_installation_follow_up_task_shows_the_smartflex_order(api: Api) -> None:
    from ventas.domain.models import Lead
    from ventas.services import intake, tasks

    request_id = intake.submit_lead(api.deps, Lead(channel="web", channel_lead_id="o", phone="71234567")).request_id
    request = api.deps.requests.get(request_id)
    request.order_id = "SF-000123"
    api.deps.requests.save(request)
    api.deps.workflow.wait("tok-follow")  # type: ignore[attr-defined]
    task = tasks.open_task(api.deps, TaskKind.INSTALLATION_FOLLOW_UP, request_id, "tok-follow", 3600)
    (item,) = body(api.call("GET", "/v1/tasks?status=open&step=12", Role.AGENT))["items"]
    assert (item["task_id"], item["order_id"]) == (task.task_id, "SF-000123")


def test_the_day_summary_names_every_outcome_and_reason_in_spanish() -> None:
    """`make run`'s table: no reason code or outcome shown as its bare code."""
    from ventas.domain.reasons import Outcome, ReasonCode

    assert set(ReasonCode) <= set(REASONS)
    assert set(Outcome) <= set(OUTCOMES)
