"""Agents on tasks (claim, release, complete and each error), ops on executions (graph, redrive)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.api_harness import Api, api, body
from ventas.domain.models import Lead
from ventas.domain.tasks import TaskKind
from ventas.services import intake, tasks
from ventas.web.auth import Role

__all__ = ["api"]

ASL = json.loads((Path(__file__).parents[2] / "statemachine" / "ventas_digitales.asl.json").read_text())
IDENTIFY = {"ci": "4567890 CB", "service_code": "INTERNET_FTTH_100"}


@pytest.fixture
def task_id(api: Api) -> str:
    lead = Lead(channel="web", channel_lead_id="t-1", phone="+59171234501")
    request_id = intake.submit_lead(api.deps, lead).request_id
    api.deps.workflow.wait("tok-identify")  # type: ignore[attr-defined]
    return tasks.open_task(api.deps, TaskKind.IDENTIFICATION, request_id, "tok-identify", 3600).task_id


def post(api: Api, path: str, who: str = "agente.ana", payload: object = None) -> tuple[int, dict[str, object]]:
    response = api.call("POST", path, Role.AGENT, payload, who=who)
    return response.status_code, body(response)


def test_inbox_shows_what_to_do_with_the_protocol_and_pages(api: Api, task_id: str) -> None:
    inbox = body(api.call("GET", "/v1/tasks?status=open&step=3", Role.AGENT))
    (item,) = inbox["items"]
    assert item["task_id"] == task_id
    assert item["kind_label"] == "Identificar al cliente"
    assert item["instructions"].startswith("Comuníquese con el cliente")
    assert item["protocol"][0].startswith("Bienvenido(a) a Ventas Digitales Comteco")
    assert item["customer"]["phone"] == "+59171234501"
    assert body(api.call("GET", "/v1/tasks?status=open&step=9", Role.AGENT))["items"] == []
    assert (
        body(api.call("GET", "/v1/tasks?status=open", Role.SUPERVISOR))["items"][0]["customer"]["phone"]
        == "+591******01"
    )


def test_claim_release_complete_and_every_refusal(api: Api, task_id: str) -> None:
    assert post(api, f"/v1/tasks/{task_id}/claim")[1]["status"] == "claimed"
    assert post(api, f"/v1/tasks/{task_id}/claim")[0] == 200  # the same agent again: no change
    other = post(api, f"/v1/tasks/{task_id}/claim", who="agente.bruno")
    assert other[0] == 409
    assert other[1]["error"]["code"] == "claimed_by_other"
    assert post(api, f"/v1/tasks/{task_id}/complete", who="agente.bruno", payload=IDENTIFY)[0] == 409
    assert post(api, f"/v1/tasks/{task_id}/release")[1]["status"] == "open"
    assert body(api.call("GET", "/v1/tasks?status=claimed&assignee=agente.ana", Role.AGENT))["items"] == []
    invalid = post(api, f"/v1/tasks/{task_id}/complete", payload={"ci": "12", "service_code": "x"})
    assert invalid[0] == 422
    assert {f["field"] for f in invalid[1]["error"]["fields"]} == {"ci", "service_code"}
    assert api.deps.workflow.answers == []  # type: ignore[attr-defined]
    done = post(api, f"/v1/tasks/{task_id}/complete", payload=IDENTIFY)
    assert done[0] == 200
    assert done[1]["status"] == "completed"
    assert api.deps.workflow.answers == [("tok-identify", "success", {})]  # type: ignore[attr-defined]
    again = post(api, f"/v1/tasks/{task_id}/complete", payload=IDENTIFY)
    assert again[0] == 409
    assert again[1]["error"]["code"] == "already_completed"
    unknown = post(api, "/v1/tasks/tk-ffffffffffffffff/claim")
    assert unknown[0] == 404
    assert unknown[1]["error"]["code"] == "task_not_found"
    assert post(api, "/v1/tasks/not-a-task/claim")[0] == 404


def test_a_task_whose_workflow_stopped_waiting_is_410(api: Api, task_id: str) -> None:
    api.deps.workflow.waiting.clear()  # type: ignore[attr-defined]  # the wait timed out
    status, answer = post(api, f"/v1/tasks/{task_id}/complete", payload=IDENTIFY)
    assert status == 410
    assert answer["error"]["code"] == "workflow_not_waiting"
    assert post(api, f"/v1/tasks/{task_id}/claim")[0] == 410


def _event(n: int, kind: str, name: str | None = None, **details: object) -> dict[str, object]:
    event: dict[str, object] = {
        "id": n,
        "type": kind,
        "timestamp": datetime(2026, 11, 24, 14, tzinfo=UTC) + timedelta(seconds=n),
    }
    if name:
        key = "stateEnteredEventDetails" if kind.endswith("Entered") else "stateExitedEventDetails"
        event[key] = {"name": name, "input": '{"taskToken": "SECRET"}'}
    if details:
        event["taskFailedEventDetails"] = details
    return event


def test_the_execution_graph_shows_transitions_statuses_and_events(api: Api) -> None:
    request_id = intake.submit_lead(api.deps, Lead(channel="web", channel_lead_id="g", phone="+59171234501")).request_id
    wf = api.deps.workflow
    wf.asl = ASL  # type: ignore[attr-defined]
    wf.events[request_id] = [  # type: ignore[attr-defined]
        _event(1, "ExecutionStarted"),
        _event(2, "ChoiceStateEntered", "RouteEntry"),
        _event(3, "ChoiceStateExited", "RouteEntry"),
        _event(4, "TaskStateEntered", "IdentifyCustomer"),
        _event(5, "TaskScheduled"),
        _event(6, "TaskFailed", error="Lambda.ServiceException", cause="boom +59171234501"),
        _event(7, "TaskScheduled"),
        _event(8, "TaskSubmitted"),
    ]
    graph = body(api.call("GET", f"/v1/requests/{request_id}/execution", Role.OPS))
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["RouteEntry"]["status"] == "succeeded"
    assert (
        nodes["IdentifyCustomer"] | {"status": "waiting", "retries": 1, "steps": ["3", "3.1", "3.2"]}
        == nodes["IdentifyCustomer"]
    )
    assert nodes["CheckImpediments"]["status"] == "not_reached"
    edges = {(e["source"], e["target"], e["kind"]): e for e in graph["edges"]}
    assert edges[("RouteEntry", "IdentifyCustomer", "choice")]["taken"] == 1
    assert edges[("RouteEntry", "IdentifyCustomer", "choice")]["label"] == "$.entry.identified == False"
    assert edges[("RouteEntry", "CheckImpediments", "default")]["taken"] == 0
    # NAF down, or the Lambda service itself throttling past the retries: a person reviews.
    errors = edges[("CheckImpediments", "ReviewEligibilityFault", "catch")]["errors"]
    assert errors[:2] == ["BackOfficeUnavailable", "Lambda.TooManyRequestsException"]
    assert edges[("IdentifyCustomer", "IdentifyCustomer", "retry")]["taken"] == 1
    assert [e["type"] for e in graph["events"]][:3] == ["ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited"]
    assert graph["events"][5]["cause"] == "boom [teléfono]"
    assert "SECRET" not in json.dumps(graph)


def test_redrive_only_a_failed_execution(api: Api) -> None:
    request_id = intake.submit_lead(api.deps, Lead(channel="web", channel_lead_id="r", phone="+59171234501")).request_id
    running = api.call("POST", f"/v1/requests/{request_id}/redrive", Role.OPS)
    assert running.status_code == 409
    assert body(running)["error"]["code"] == "not_redrivable"
    api.deps.workflow.statuses[request_id] = "FAILED"  # type: ignore[attr-defined]
    redriven = api.call("POST", f"/v1/requests/{request_id}/redrive", Role.OPS)
    assert redriven.status_code == 202
    assert body(redriven) == {"request_id": request_id, "status": "RUNNING", "redrive_count": 1}
    history = body(api.call("GET", f"/v1/requests/{request_id}", Role.OPS))["history"]
    assert history[-1]["event"] == "execution_redriven"
    assert history[-1]["detail"]["by"] == "ops.luis"
    assert api.call("POST", "/v1/requests/vd-unknown-0001/redrive", Role.OPS).status_code == 404
