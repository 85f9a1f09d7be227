"""WhatsApp on the local stack (real ASL in moto), over HTTP: issue 8 kinds 1 and 2, issue 7.6.

Cases 003 (failed statuses) and 006 (number change) are fed as their files; the stack's outbox
stands in for Meta, with the case's wamids (or a refusal) for the case's phone only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.driver import wait_for
from devstack.http_driver import ApiFailure, HttpDriver, document_delivery
from devstack.stack import LocalStack
from tests.unit.whatsapp_fakes import FlakyMedia
from ventas.domain.errors import MessageWindowClosed
from ventas.domain.models import OrderState, Step
from ventas.domain.tasks import TaskKind
from ventas.web.auth import Role

DATA = Path(__file__).parent.parent / "data" / "whatsapp"
CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}
CASE_PHONE = "+59171230003"
NEW_PHONE = "+59171230099"


class CaseNotifier:
    """The stack's outbox; for one phone, scripted wamids and refusals per message kind."""

    def __init__(self, outbox: Any, phone: str, ids: list[str] | None = None) -> None:
        self.outbox = outbox
        self.phone = phone
        self.ids = list(ids or [])
        self.refuse: dict[str, Exception] = {}

    def send(self, request_id: str, phone: str, template: str, text: str) -> str:
        if phone == self.phone and template in self.refuse:
            raise self.refuse[template]
        wamid: str = self.outbox.send(request_id, phone, template, text)
        return self.ids.pop(0) if phone == self.phone and self.ids else wamid

    def __getattr__(self, name: str) -> Any:
        return getattr(self.outbox, name)


@pytest.fixture
def http(stack: LocalStack) -> Iterator[HttpDriver]:
    driver = HttpDriver(stack)  # serves the API first: it installs the local media source
    original = (stack.deps.notifier, stack.deps.media)
    yield driver
    stack.deps.notifier, stack.deps.media = original


def case(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def lead(phone: str) -> dict[str, Any]:
    return {
        "channel": "web",
        "channel_lead_id": f"web-{uuid.uuid4().hex[:10]}",
        "phone": phone,
        "ci": str(uuid.uuid4().int)[:8] + " CB",
        "service_code": "INTERNET_FTTH_100",
        "location": CENTRO,
    }


def events(http: HttpDriver, request_id: str) -> list[tuple[str, dict[str, Any]]]:
    detail = http.call("GET", f"/v1/requests/{request_id}", Role.AGENT)
    return [(h["event"], h["detail"]) for h in detail["history"]]


def asked_for_documents(http: HttpDriver, request_id: str) -> None:
    """The requirements message is out and recorded (its wamid now maps back to the request)."""
    wait_for(lambda: "requirements_request" in http.messages(request_id), 20, "the requirements message")
    wait_for(lambda: any(e == "customer_message_sent" for e, _ in events(http, request_id)), 20, "the message recorded")


def sold(http: HttpDriver, request_id: str) -> str:
    return wait_for(lambda: http.request(request_id).order_id, 30, f"the sale of {request_id}")


def test_cases_003_and_006_failed_messages_call_the_customer_who_changed_number_and_sends_documents(
    http: HttpDriver, stack: LocalStack
) -> None:
    stack.deps.notifier = CaseNotifier(stack.deps.notifier, CASE_PHONE, ["wamid.case003out1", "wamid.case003out2"])
    request_id = http.submit_lead(**lead(CASE_PHONE))
    asked_for_documents(http, request_id)

    failed = http.whatsapp_delivery(case("case003-failed-statuses.json"))  # 003
    assert (failed["failures"], failed["ignored"]) == (1, 1)  # out2 (a reminder) was never sent here
    assert ("customer_message_failed", {"template": "requirements_request", "meta_code": 131047}) in events(
        http, request_id
    )
    contact = http.open_task(request_id, TaskKind.CONTACT_CUSTOMER)
    assert contact.context["meta_code"] == "131047"
    assert http.execution(request_id)["status"] == "RUNNING"
    assert http.request(request_id).step == Step.REQUIREMENTS  # the wait for documents goes on
    http.claim(contact.task_id, "agente.maria")
    http.complete(contact.task_id, "agente.maria", {"reached": True, "comment": "Cambió de número"})

    changed = http.whatsapp_delivery(case("case006-system.json"))  # 006
    assert changed["number_changes"] == 1
    assert http.request(request_id).phone == NEW_PHONE
    document = http.whatsapp_delivery(case("case006-document-new-number.json"))
    assert document["recorded"] == 1
    for media, caption in (("reverso", "foto carnet atras"), ("factura", "factura de luz")):
        answer = http.send_document(NEW_PHONE, f"media-{request_id}-{media}", caption)
        assert answer["recorded"] == 1
    assert sold(http, request_id)
    request = http.request(request_id)
    assert [d.requirement for d in request.documents] == ["CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ"]
    assert "sale_done" in http.messages(request_id)


def test_a_refused_requirements_message_opens_a_contact_task_and_the_execution_waits(
    http: HttpDriver, stack: LocalStack
) -> None:
    phone = "+5917" + str(uuid.uuid4().int)[:7]
    notifier = CaseNotifier(stack.deps.notifier, phone)
    notifier.refuse["requirements_request"] = MessageWindowClosed("outside the window", 400, 131047)
    stack.deps.notifier = notifier
    request_id = http.submit_lead(**lead(phone))
    contact = http.open_task(request_id, TaskKind.CONTACT_CUSTOMER)
    assert contact.context == {
        "cause": "message_refused",
        "message": "requirements_request",
        "meta_code": "131047",
        "message_label": "la lista de requisitos (paso 8)",
        "reason_label": "pasaron más de 24 horas desde el último mensaje del cliente",
    }
    assert http.execution(request_id)["status"] == "RUNNING"  # not failed: the refusal is work
    assert any(e == "customer_message_refused" for e, _ in events(http, request_id))
    for n, caption in enumerate(("carnet anverso", "carnet reverso", "factura de luz")):
        http.send_document(phone, f"media-{request_id}-{n}", caption)
    assert sold(http, request_id)
    assert http.request(request_id).status == OrderState.IN_PROGRESS


def test_a_delivery_read_item_by_item_with_a_transient_fault_and_an_unlabelled_document(
    http: HttpDriver, stack: LocalStack
) -> None:
    phone = "+5917" + str(uuid.uuid4().int)[:7]
    sender = phone.lstrip("+")
    request_id = http.submit_lead(**lead(phone))
    asked_for_documents(http, request_id)
    media = FlakyMedia(failing={f"{request_id}-b": 1})
    stack.deps.media = media

    def doc(name: str, ts: int, caption: str | None, filename: str = "documento.pdf") -> dict[str, Any]:
        return {
            "from": sender,
            "id": f"wamid.{request_id}-{name}",
            "timestamp": str(ts),
            "type": "document",
            "document": {
                "id": f"{request_id}-{name}",
                "mime_type": "application/pdf",
                "caption": caption,
                "filename": filename,
            },
        }

    messages = [
        doc("a", 1796050001, "Cédula anverso"),
        doc("b", 1796050002, "reverso del carnet"),
        doc("c", 1796050003, None, "IMG_2031.jpg"),
        {"from": sender, "id": "wamid.bad", "timestamp": "1796050004", "type": "text", "text": {"body": "x" * 5000}},
        {
            "from": sender,
            "id": f"wamid.{request_id}-t",
            "timestamp": "1796050005",
            "type": "text",
            "text": {"body": "Buenas tardes"},
        },
    ]
    with pytest.raises(ApiFailure) as retry:
        http.whatsapp_delivery(document_delivery(messages))
    assert retry.value.status == 503  # media b failed: Meta must deliver again
    again = http.whatsapp_delivery(document_delivery(messages))
    assert again | {} == {**again, "recorded": 1, "duplicates": 3, "malformed": 1}
    documents = [(d.requirement, d.media_id) for d in http.request(request_id).documents]
    assert documents == [
        ("CI_ANVERSO", f"{request_id}-a"),
        ("UNCLASSIFIED", f"{request_id}-c"),
        ("CI_REVERSO", f"{request_id}-b"),
    ]
    assert [e for e, _ in events(http, request_id)].count("customer_message_received") == 1
    review = http.open_task(request_id, TaskKind.DOCUMENT_REVIEW)
    http.claim(review.task_id, "agente.maria")
    with pytest.raises(ApiFailure) as wrong:
        http.complete(review.task_id, "agente.maria", {"requirement": "NIT"})
    assert (wrong.value.status, wrong.value.code) == (422, "unknown_requirement")
    http.complete(review.task_id, "agente.maria", {"requirement": "FACTURA_LUZ"})
    assert sold(http, request_id)  # the checklist completed by the agent resumed the workflow
