"""The webhook, message by message, and Meta's other signals (issue 8, kinds 1 and 2), over HTTP.

Cases 003 (failed statuses) and 006 (number change) are fed as the files in tests/data/whatsapp
(copied from the shared cases); the other inputs are written here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.aws import InMemoryWorkflow, RecordingMetrics
from tests.unit.api_harness import Api, api, body
from tests.unit.test_api_whatsapp import TEXT, delivery, document, post, value
from tests.unit.whatsapp_fakes import FlakyMedia, ScriptedNotifier, ThrottledHistory
from ventas.domain.catalogue import UNCLASSIFIED
from ventas.domain.models import Lead, Location, OrderState
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.services import intake
from ventas.services.events import open_request_for_phone
from ventas.services.stages import request_documents
from ventas.web.auth import Role

__all__ = ["api"]

DATA = Path(__file__).parent.parent / "data" / "whatsapp"
CENTRO = Location(address="Calle España 123, Cochabamba", latitude=-17.3935, longitude=-66.157)
CASE_PHONE = "+59171230003"  # cases 003 and 006
NEW_PHONE = "+59171230099"  # case 006: the number the customer moved to


def case(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def workflow(api: Api) -> InMemoryWorkflow:
    assert isinstance(api.deps.workflow, InMemoryWorkflow)
    return api.deps.workflow


def metrics(api: Api) -> RecordingMetrics:
    assert isinstance(api.deps.metrics, RecordingMetrics)
    return api.deps.metrics


def at_step_9(
    api: Api, phone: str = CASE_PHONE, lead_id: str = "case", reminder: bool = False, ci: str = "4567890 CB"
) -> str:
    """A request asked for its documents (step 8, waiting at 9); optionally reminded too."""
    lead = Lead(
        channel="web",
        channel_lead_id=lead_id,
        phone=phone,
        ci=ci,
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    request_id = intake.submit_lead(api.deps, lead).request_id
    workflow(api).wait(f"tok-{lead_id}")
    request_documents(api.deps, request_id, f"tok-{lead_id}", reminder=False)
    if reminder:
        request_documents(api.deps, request_id, f"tok-{lead_id}", reminder=True)
    return request_id


def events_of(api: Api, request_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(h.event, h.detail) for h in api.deps.requests.history(request_id)]


def open_tasks(api: Api, request_id: str, kind: TaskKind) -> list[Any]:
    return [t for t in api.deps.tasks.open_for(request_id) if t.kind == kind]


@pytest.fixture
def notifier(api: Api) -> ScriptedNotifier:
    scripted = ScriptedNotifier(ids=["wamid.case003out1", "wamid.case003out2"])
    api.deps.notifier = scripted
    return scripted


# --- case 003: failed statuses ------------------------------------------------------------------


def test_case_003_failed_statuses_are_recorded_warned_counted_and_open_one_contact_task(
    api: Api, notifier: ScriptedNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = at_step_9(api, reminder=True)
    assert notifier.kinds(request_id) == ["requirements_request", "requirements_reminder"]
    caplog.set_level(logging.INFO)
    answer = post(api, case("case003-failed-statuses.json"))
    assert answer.status_code == 200
    assert body(answer) | {} == {**body(answer), "statuses": 2, "failures": 2, "malformed": 0, "ignored": 0}
    failed = [d for e, d in events_of(api, request_id) if e == "customer_message_failed"]
    assert failed == [
        {"template": "requirements_request", "meta_code": 131047},
        {"template": "requirements_reminder", "meta_code": 131026},
    ]
    assert metrics(api).failed_messages == [("requirements_request", "131047"), ("requirements_reminder", "131026")]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.getMessage()]
    assert [(r.request_id, r.meta_code) for r in warnings] == [(request_id, 131047), (request_id, 131026)]  # type: ignore[attr-defined]
    assert "71230003" not in caplog.text
    assert "case003out" not in caplog.text
    (task,) = open_tasks(api, request_id, TaskKind.CONTACT_CUSTOMER)  # one call covers both failures
    assert task.token is None
    assert task.context == {
        "cause": "message_failed",
        "message": "requirements_request",
        "meta_code": "131047",
        "message_label": "la lista de requisitos (paso 8)",
        "reason_label": "pasaron más de 24 horas desde el último mensaje del cliente",
    }
    request = api.deps.requests.get(request_id)
    assert (request.status, request.step.value) == (OrderState.IN_PROGRESS, "9")  # still waiting for documents
    assert workflow(api).answers == []
    assert api.deps.requests.get(request_id).waits.get("documents") == "tok-case"

    again = body(post(api, case("case003-failed-statuses.json")))  # Meta redelivers
    assert (again["duplicates"], again["failures"]) == (2, 0)
    assert len(metrics(api).failed_messages) == 2
    assert len(open_tasks(api, request_id, TaskKind.CONTACT_CUSTOMER)) == 1


def test_the_contact_task_is_worked_over_the_api_and_resumes_nothing(api: Api, notifier: ScriptedNotifier) -> None:
    request_id = at_step_9(api, reminder=True)
    post(api, case("case003-failed-statuses.json"))
    inbox = body(api.call("GET", "/v1/tasks?status=open", Role.AGENT))["items"]
    (view,) = [t for t in inbox if t["request_id"] == request_id]
    assert view["kind"] == "contact_customer"
    assert view["kind_label"] == "Contactar al cliente por teléfono"
    assert "Llámelo por teléfono" in view["instructions"]
    assert view["protocol"][0].startswith("Bienvenido(a) a Ventas Digitales")
    assert view["customer"]["phone"] == CASE_PHONE  # the agent calls this number
    task_id = view["task_id"]
    assert api.call("POST", f"/v1/tasks/{task_id}/claim", Role.AGENT).status_code == 200
    bad = api.call("POST", f"/v1/tasks/{task_id}/complete", Role.AGENT, body={"reached": True})
    assert bad.status_code == 422
    assert "comment" in json.dumps(body(bad)["error"]["fields"])
    done = api.call(
        "POST", f"/v1/tasks/{task_id}/complete", Role.AGENT, body={"reached": True, "comment": "Confirmó su número"}
    )
    assert done.status_code == 200
    assert body(done)["status"] == "completed"
    assert ("contact_customer_done", {"task_id": task_id, "reached": True}) in events_of(api, request_id)
    assert workflow(api).answers == []  # no workflow waited on it
    assert api.deps.requests.get(request_id).is_open
    twice = api.call("POST", f"/v1/tasks/{task_id}/complete", Role.AGENT, body={"reached": True, "comment": "x"})
    assert (twice.status_code, body(twice)["error"]["code"]) == (409, "already_completed")


def test_delivered_and_read_are_recorded_once_and_unknown_wamids_change_nothing(
    api: Api, notifier: ScriptedNotifier
) -> None:
    request_id = at_step_9(api)
    status = {"id": "wamid.case003out1", "timestamp": "1796047300", "recipient_id": "59171230003"}
    statuses: list[dict[str, Any]] = [
        {**status, "status": "sent"},
        {**status, "status": "delivered"},
        {**status, "status": "read", "timestamp": "1796047310"},
        {**status, "id": "wamid.not-ours", "status": "failed", "errors": [{"code": 131026}]},
        {**status, "id": "wamid.not-ours-either", "status": "read"},
    ]
    answer = body(post(api, delivery(value(statuses=statuses))))
    assert (answer["statuses"], answer["ignored"], answer["failures"]) == (5, 2, 0)
    recorded = [(e, d) for e, d in events_of(api, request_id) if e.startswith("customer_message_")]
    assert recorded == [
        ("customer_message_sent", {"template": "requirements_request", "wamid": "wamid.case003out1"}),
        ("customer_message_delivered", {"template": "requirements_request"}),
        ("customer_message_read", {"template": "requirements_request"}),
    ]
    assert api.deps.tasks.open_for(request_id) == []
    assert body(post(api, delivery(value(statuses=statuses))))["duplicates"] == 2
    assert len(events_of(api, request_id)) == len(recorded) + 2  # intake and step 8 only besides
    detail = body(api.call("GET", f"/v1/requests/{request_id}", Role.SUPERVISOR))
    assert "wamid" not in json.dumps(detail["history"])  # it encodes the phone


def test_a_failed_status_after_the_request_ended_still_opens_a_contact_task(
    api: Api, notifier: ScriptedNotifier
) -> None:
    request_id = at_step_9(api)
    request = api.deps.requests.get(request_id)
    request.status = OrderState.CANCELLED
    api.deps.requests.save(request)
    failed = {"id": "wamid.case003out1", "status": "failed", "timestamp": "1796047300", "errors": [{"code": 131047}]}
    assert body(post(api, delivery(value(statuses=[failed]))))["failures"] == 1
    assert ("customer_message_failed", {"template": "requirements_request", "meta_code": 131047}) in events_of(
        api, request_id
    )
    (task,) = open_tasks(api, request_id, TaskKind.CONTACT_CUSTOMER)
    assert task.context["cause"] == "message_failed"


# --- case 006: the customer changed number ----------------------------------------------------


def test_case_006_the_open_request_follows_the_new_number_and_its_documents_are_recorded(api: Api) -> None:
    request_id = at_step_9(api)
    first = post(api, case("case006-system.json"))
    assert first.status_code == 200
    assert body(first)["number_changes"] == 1
    request = api.deps.requests.get(request_id)
    assert request.phone == NEW_PHONE
    assert ("customer_number_changed", {"moved": True}) in events_of(api, request_id)
    assert open_request_for_phone(api.deps, NEW_PHONE) == request_id
    assert open_request_for_phone(api.deps, CASE_PHONE) is None
    second = body(post(api, case("case006-document-new-number.json")))
    assert (second["recorded"], second["unknown_senders"]) == (1, 0)
    assert [(d.requirement, d.media_id) for d in api.deps.requests.get(request_id).documents] == [
        ("CI_ANVERSO", "case006-media-1")
    ]
    agent = body(api.call("GET", f"/v1/requests/{request_id}", Role.AGENT))
    assert agent["customer"]["phone"] == NEW_PHONE
    replay = body(post(api, case("case006-system.json")))
    assert (replay["duplicates"], replay["number_changes"]) == (1, 0)


def test_a_number_change_onto_a_number_with_its_own_open_request_is_left_to_an_agent(api: Api) -> None:
    moving = at_step_9(api)
    other = at_step_9(api, phone=NEW_PHONE, lead_id="other", ci="7654321 LP")
    answer = body(post(api, case("case006-system.json")))
    assert answer["number_changes"] == 1
    assert api.deps.requests.get(moving).phone == CASE_PHONE  # not moved
    assert ("customer_number_changed", {"moved": False, "other_request": other}) in events_of(api, moving)
    (task,) = open_tasks(api, moving, TaskKind.CONTACT_CUSTOMER)
    assert task.context["cause"] == "number_changed"
    assert open_request_for_phone(api.deps, NEW_PHONE) == other


def test_a_number_change_from_a_stranger_and_other_system_messages(api: Api) -> None:
    request_id = at_step_9(api)
    stranger = case("case006-system.json")
    stranger["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "59170000001"
    assert body(post(api, stranger))["unknown_senders"] == 1
    identity = {
        "from": "59171230003",
        "id": "wamid.identity-1",
        "timestamp": "1796047600",
        "type": "system",
        "system": {"type": "customer_identity_changed", "body": "User's security code changed"},
    }
    assert body(post(api, delivery(value([identity]))))["kept"] == 1
    assert api.deps.requests.get(request_id).phone == CASE_PHONE


# --- other messages: kept on the history, content for agents only, never in logs --------------


def test_text_location_and_replies_are_kept_for_the_agent_without_content_in_logs(
    api: Api, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = at_step_9(api)
    sender = {"from": "59171230003", "timestamp": "1796047700"}
    messages = [
        {**sender, "id": "wamid.t1", "type": "text", "text": {"body": "Mi carnet es 4567890, llámeme al 71230003"}},
        {
            **sender,
            "id": "wamid.l1",
            "type": "location",
            "location": {"latitude": -17.39, "longitude": -66.15, "name": "Mi casa", "address": "Calle Jordán 55"},
        },
        {
            **sender,
            "id": "wamid.b1",
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "si", "title": "Sí, continuar"}},
        },
        {**sender, "id": "wamid.q1", "type": "button", "button": {"text": "Llamarme", "payload": "CALL"}},
        {**sender, "id": "wamid.a1", "type": "audio", "audio": {"id": "audio-1", "mime_type": "audio/ogg"}},
    ]
    caplog.set_level(logging.DEBUG)
    answer = body(post(api, delivery(value(messages))))
    assert answer["kept"] == 5
    kept = [d for e, d in events_of(api, request_id) if e == "customer_message_received"]
    assert [d["type"] for d in kept] == ["text", "location", "interactive", "button", "audio"]
    assert kept[0]["content"] == {"text": "Mi carnet es 4567890, llámeme al 71230003"}
    assert kept[1]["content"]["address"] == "Calle Jordán 55"
    assert kept[2]["content"] == {"reply": {"id": "si", "title": "Sí, continuar"}}
    logged = caplog.text + capsys.readouterr().out
    for secret in ("4567890", "71230003", "Jordán", "Sí, continuar", "wamid.t1"):
        assert secret not in logged
    agent = body(api.call("GET", f"/v1/requests/{request_id}", Role.AGENT))["history"]
    assert any(h["detail"].get("content") == {"text": "Mi carnet es 4567890, llámeme al 71230003"} for h in agent)
    supervisor = body(api.call("GET", f"/v1/requests/{request_id}", Role.SUPERVISOR))["history"]
    assert "4567890" not in json.dumps(supervisor)
    again = body(post(api, delivery(value(messages))))
    assert (again["kept"], again["duplicates"]) == (0, 5)


# --- kind 1: one bad message never costs the others ------------------------------------------


MALFORMED: dict[str, Any] = {
    "no sender": {"id": "wamid.m1", "timestamp": "1796047800", "type": "text", "text": {"body": "hola"}},
    "no timestamp": {"from": "59171230003", "id": "wamid.m2", "type": "text", "text": {"body": "hola"}},
    "document without its body": {
        "from": "59171230003",
        "id": "wamid.m3",
        "timestamp": "1796047800",
        "type": "document",
    },
    "text without body": {
        "from": "59171230003",
        "id": "wamid.m4",
        "timestamp": "1796047800",
        "type": "text",
        "text": {},
    },
    "over-long text": {
        "from": "59171230003",
        "id": "wamid.m5",
        "timestamp": "1796047800",
        "type": "text",
        "text": {"body": "SECRETO " * 600},
    },
    "over-long caption": {
        "from": "59171230003",
        "id": "wamid.m6",
        "timestamp": "1796047800",
        "type": "image",
        "image": {"id": "media-long", "mime_type": "image/jpeg", "caption": "SECRETO " * 200},
    },
    "sender not a number": {
        "from": "cliente",
        "id": "wamid.m7",
        "timestamp": "1796047800",
        "type": "text",
        "text": {"body": "x"},
    },
    "timestamp as a date": {
        "from": "59171230003",
        "id": "wamid.m8",
        "timestamp": "2026-11-30",
        "type": "text",
        "text": {"body": "x"},
    },
    "number change without the new number": {
        "from": "59171230003",
        "id": "wamid.m9",
        "timestamp": "1796047800",
        "type": "system",
        "system": {"type": "user_changed_number", "body": "changed"},
    },
    "not an object": "wamid.m10",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_message_is_counted_and_the_valid_document_beside_it_is_recorded(
    api: Api, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = at_step_9(api)
    good = document("media-good", 1796047801, "carnet anverso", sender="59171230003")
    caplog.set_level(logging.INFO)
    answer = post(api, delivery(value([good, MALFORMED[kind]])))
    assert answer.status_code == 200
    assert (body(answer)["malformed"], body(answer)["recorded"]) == (1, 1)
    assert [d.media_id for d in api.deps.requests.get(request_id).documents] == ["media-good"]
    assert "SECRETO" not in caplog.text
    assert "wamid.m" not in caplog.text  # logged by ref, a digest
    assert any(r.getMessage() == "whatsapp item malformed" for r in caplog.records)


def test_malformed_statuses_and_envelopes_cost_nothing_else(api: Api, notifier: ScriptedNotifier) -> None:
    request_id = at_step_9(api)
    statuses: list[dict[str, Any]] = [
        {"status": "failed", "timestamp": "1796047300"},  # no id
        {"id": "wamid.case003out1", "status": "failed", "timestamp": "1796047300", "errors": [{"code": "x"}]},
        {"id": "wamid.case003out1", "status": "delivered", "timestamp": "1796047300"},
    ]
    payload = delivery(value(statuses=statuses))
    payload["entry"].append({"id": "1", "changes": [{"field": "account_update", "value": {"event": "X"}}]})
    payload["entry"].append({"id": "2", "changes": ["not a change"]})
    answer = body(post(api, payload))
    assert (answer["malformed"], answer["statuses"], answer["ignored"]) == (3, 1, 1)
    assert ("customer_message_delivered", {"template": "requirements_request"}) in events_of(api, request_id)
    for raw in (b"not json", b"[]", json.dumps({"object": "page", "entry": []}).encode()):
        from tests.unit.api_harness import APP_SECRET
        from ventas.web.whatsapp import sign

        response = api.call(
            "POST", "/v1/whatsapp/webhook", raw=raw, headers={"X-Hub-Signature-256": sign(APP_SECRET, raw)}
        )
        assert (response.status_code, body(response)["ignored"]) == (200, 1)


# --- kind 1: a transient fault answers 503, and Meta's retry is harmless ---------------------


def test_a_failed_media_download_answers_503_and_the_retry_records_it_once(api: Api) -> None:
    request_id = at_step_9(api)
    media = FlakyMedia(failing={"media-2": 1})
    api.deps.media = media
    payload = delivery(
        value(
            [
                document("media-1", 1796047901, "carnet anverso", sender="59171230003"),
                document("media-2", 1796047902, "carnet reverso", sender="59171230003"),
                {**TEXT, "from": "59171230003", "id": "wamid.text-1", "timestamp": "1796047903"},
            ]
        )
    )
    first = post(api, payload)
    assert first.status_code == 503
    assert body(first)["error"]["code"] == "unavailable"
    assert [d.media_id for d in api.deps.requests.get(request_id).documents] == ["media-1"]  # the others went on
    second = post(api, payload)
    assert second.status_code == 200
    assert (body(second)["recorded"], body(second)["duplicates"]) == (1, 2)
    assert [d.media_id for d in api.deps.requests.get(request_id).documents] == ["media-1", "media-2"]
    assert media.fetched == ["media-1", "media-2", "media-2"]  # no second download of media-1
    kept = [e for e, _ in events_of(api, request_id) if e == "customer_message_received"]
    assert kept == ["customer_message_received"]  # the text once


def test_a_database_fault_answers_503_and_the_retry_records_each_message_once(api: Api) -> None:
    request_id = at_step_9(api)
    api.deps.requests = ThrottledHistory(
        api.deps.requests, times=1, when=lambda e: e.event == "customer_message_received"
    )
    payload = delivery(
        value(
            [
                {**TEXT, "from": "59171230003", "id": "wamid.text-2", "timestamp": "1796048000"},
                document("media-3", 1796048001, "Factura de luz", sender="59171230003"),
            ]
        )
    )
    assert post(api, payload).status_code == 503
    assert [d.requirement for d in api.deps.requests.get(request_id).documents] == ["FACTURA_LUZ"]
    retried = body(post(api, payload))
    assert (retried["kept"], retried["duplicates"]) == (1, 1)
    assert [e for e, _ in events_of(api, request_id)].count("customer_message_received") == 1


def test_a_document_without_a_label_waits_unclassified_for_an_agent_who_files_it(api: Api) -> None:
    request_id = at_step_9(api)
    labelled = [
        document("media-a", 1796048100, "Foto carnet adelante", sender="59171230003"),
        document("media-b", 1796048101, "reverso del carnet", sender="59171230003"),
    ]
    unlabelled = {**document("media-c", 1796048102, None, sender="59171230003")}
    unlabelled["document"] = {**unlabelled["document"], "filename": "IMG_2031.jpg"}
    answer = body(post(api, delivery(value([*labelled, unlabelled]))))
    assert (answer["recorded"], answer["unclassified"]) == (2, 1)
    documents = [(d.requirement, d.media_id) for d in api.deps.requests.get(request_id).documents]
    assert documents == [("CI_ANVERSO", "media-a"), ("CI_REVERSO", "media-b"), (UNCLASSIFIED, "media-c")]
    assert workflow(api).answers == []  # FACTURA_LUZ is not guessed
    (task,) = open_tasks(api, request_id, TaskKind.DOCUMENT_REVIEW)
    assert task.context == {"media_id": "media-c", "mime_type": "application/pdf", "missing": "FACTURA_LUZ"}
    path = f"/v1/tasks/{task.task_id}"
    api.call("POST", path + "/claim", Role.AGENT)
    wrong = api.call("POST", path + "/complete", Role.AGENT, body={"requirement": "NIT"})
    assert (wrong.status_code, body(wrong)["error"]["code"]) == (422, "unknown_requirement")
    assert api.deps.tasks.get(task.task_id).status == TaskStatus.CLAIMED  # nothing changed
    done = api.call("POST", path + "/complete", Role.AGENT, body={"requirement": "FACTURA_LUZ"})
    assert done.status_code == 200
    documents = [(d.requirement, d.media_id) for d in api.deps.requests.get(request_id).documents]
    assert documents[-1] == ("FACTURA_LUZ", "media-c")
    assert workflow(api).answers == [("tok-case", "success", {})]  # the checklist is complete: resumed
    assert any(e == "document_classified" for e, _ in events_of(api, request_id))
    replay = body(post(api, delivery(value([unlabelled]))))
    assert replay["duplicates"] == 1
