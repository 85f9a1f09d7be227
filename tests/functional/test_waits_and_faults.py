"""Bounded waits (documents 9, installation 12) and back-office faults (4, 7, 10)."""

from __future__ import annotations

import pytest

from devstack.driver import Driver, wait_for
from devstack.http_driver import ApiFailure
from tests.functional.conftest import shorten
from ventas.domain.models import OrderState, Outcome, ReasonCode, Step
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}
DOCS = ("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ")


def _lead(driver: Driver, lead_id: str, phone: str) -> str:
    """A new customer (not in the NAF cartera) per test: no request joins another's."""
    return driver.submit_lead(
        channel="botmaker",
        channel_lead_id=lead_id,
        phone=phone,
        ci=f"8{phone[-6:]} CB",
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )


def _send(driver: Driver, phone: str, request_id: str, codes: tuple[str, ...]) -> None:
    for code in codes:
        driver.send_document(phone, f"wamid.{request_id}.{code}", code)


def test_documents_that_never_arrive_get_a_reminder_then_the_request_is_abandoned(driver: Driver) -> None:
    shorten(driver.stack, documents_hours=24, documents_reminder_hours=24)
    phone = "+59173000001"
    request_id = _lead(driver, "bm-nodocs", phone)
    _send(driver, phone, request_id, ("CI_ANVERSO",))  # one of three, then nothing

    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert (request.status, request.outcome) == (OrderState.CANCELLED, Outcome.ABANDONED)
    assert request.reason is not None
    assert request.reason.code == ReasonCode.DOCUMENTS_NOT_RECEIVED
    assert driver.states_entered(request_id)[-3:] == ["RequestDocuments", "RemindDocuments", "AbandonRequest"]
    sent = driver.stack.deps.notifier.messages_for(request_id)
    assert [m["template"] for m in sent] == ["requirements_request", "requirements_reminder", "abandonment"]
    assert "CI_REVERSO" not in sent[1]["text"]  # the reminder lists what is missing, by its label
    assert "reverso" in sent[1]["text"]
    assert "anverso" not in sent[1]["text"]


def test_documents_after_the_reminder_still_make_the_sale(driver: Driver) -> None:
    shorten(driver.stack, documents_hours=24)
    phone = "+59173000002"
    request_id = _lead(driver, "bm-latedocs", phone)
    wait_for(lambda: "RemindDocuments" in driver.states_entered(request_id), 20, "reminder")
    _send(driver, phone, request_id, DOCS)
    assert driver.install(request_id) == "recorded"
    assert driver.request(request_id).order_id is not None


def test_duplicate_document_delivery_is_counted_once(driver: Driver) -> None:
    phone = "+59173000003"
    request_id = _lead(driver, "bm-dupdoc", phone)
    first = driver.send_document(phone, "media.same", "CI_ANVERSO")  # through Meta's webhook
    second = driver.send_document(phone, "media.same", "CI_ANVERSO")
    assert (first["recorded"], second["recorded"], second["duplicates"]) == (1, 0, 1)
    assert len(driver.request(request_id).documents) == 1
    unknown = driver.send_document("+59179999999", "media.stranger")
    assert (unknown["recorded"], unknown["unknown_senders"]) == (0, 1)


def test_smartflex_outage_longer_than_the_retries_opens_a_review_then_the_sale_resumes(driver: Driver) -> None:
    phone = "+59173000004"
    driver.stack.faults.fail("smartflex")  # down until healed
    request_id = _lead(driver, "bm-outage", phone)
    _send(driver, phone, request_id, DOCS)

    review = driver.open_task(request_id, TaskKind.MANUAL_REVIEW, timeout=30)
    assert review.context == {"stage": "sale", "system": "Smartflex"}
    failures = [
        e for e in driver.history(request_id) if e["type"] == "TaskFailed" and "BackOfficeUnavailable" in str(e)
    ]
    assert len(failures) == 4  # the first call and three retries
    driver.stack.faults.heal("smartflex")
    driver.complete(review.task_id, "agente.supervisora", {"decision": "retry", "comment": "Smartflex restablecido"})

    assert driver.install(request_id) == "recorded"
    states = driver.states_entered(request_id)
    assert states[states.index("ReviewSaleFault") + 1] == "RegisterSale"
    request = driver.request(request_id)
    assert request.order_id is not None
    assert request.manual_reviews == 1


def test_naf_outage_reviewed_and_rejected_ends_at_step_14(driver: Driver) -> None:
    driver.stack.faults.fail("naf")
    request_id = _lead(driver, "bm-naf", "+59173000005")
    review = driver.open_task(request_id, TaskKind.MANUAL_REVIEW, timeout=30)
    assert review.context["system"] == "NAF"
    driver.complete(review.task_id, "agente.supervisora", {"decision": "reject", "comment": "NAF fuera de servicio"})

    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert request.outcome == Outcome.REJECTED
    assert request.reason is not None
    assert request.reason.code == ReasonCode.MANUAL_REJECTION
    assert driver.states_entered(request_id)[-2:] == ["ReviewEligibilityFault", "RejectSale"]


def test_transient_gis_fault_is_absorbed_by_the_retries(driver: Driver) -> None:
    driver.stack.faults.fail("gis", times=2)
    phone = "+59173000006"
    request_id = _lead(driver, "bm-gis-blip", phone)
    wait_for(lambda: driver.request(request_id).step == Step.REQUIREMENTS, 30, "step 8")
    assert "ReviewCoverageFault" not in driver.states_entered(request_id)
    assert driver.stack.deps.tasks.open_for(request_id) == []


def test_overdue_installation_opens_a_follow_up_that_can_cancel(driver: Driver) -> None:
    shorten(driver.stack, installation_hours=24)
    phone = "+59173000007"
    request_id = _lead(driver, "bm-noinstall", phone)
    _send(driver, phone, request_id, DOCS)
    follow_up = driver.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP)
    driver.complete(follow_up.task_id, "agente.jose", {"installed": False, "comment": "El cliente desistió"})

    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert request.outcome == Outcome.ABANDONED
    assert request.reason is not None
    assert request.reason.code == ReasonCode.INSTALLATION_CANCELLED


def test_overdue_installation_confirmed_by_follow_up_goes_on_to_qc(driver: Driver) -> None:
    shorten(driver.stack, installation_hours=24)
    phone = "+59173000008"
    request_id = _lead(driver, "bm-lateinstall", phone)
    _send(driver, phone, request_id, DOCS)
    follow_up = driver.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP)
    driver.complete(follow_up.task_id, "agente.jose", {"installed": True, "comment": "Instalado según OPR"})
    qc = driver.open_task(request_id, TaskKind.QC_CALL)
    driver.complete(qc.task_id, "agente.jose", {"satisfaction": 3, "comment": "Demoró la instalación"})

    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert (request.outcome, request.satisfaction) == (Outcome.SOLD, 3)
    assert request.installed_at is not None
    assert request.qc_at is not None


def test_bad_task_body_names_the_field_and_changes_nothing(driver: Driver) -> None:
    phone = "+59173000009"
    request_id = driver.submit_lead(channel="web", channel_lead_id="web-badbody", phone=phone, location=CENTRO)
    task = driver.open_task(request_id, TaskKind.IDENTIFICATION)
    with pytest.raises(ApiFailure) as bad:
        driver.complete(task.task_id, "agente.maria", {"ci": "abc", "service_code": "INTERNET_FTTH_50"})
    assert (bad.value.status, bad.value.error_type) == (422, "InvalidInput")
    assert [f["field"] for f in bad.value.fields] == ["ci"]
    assert driver.stack.deps.tasks.get(task.task_id).status == TaskStatus.OPEN
    assert driver.request(request_id).ci is None


def test_instalaciones_unreachable_hands_the_order_to_an_agent(driver: Driver) -> None:
    phone = "+59173000010"
    driver.stack.faults.fail("installations")
    request_id = _lead(driver, "bm-opr-down", phone)
    _send(driver, phone, request_id, DOCS)
    follow_up = driver.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP, timeout=30)
    driver.stack.faults.heal("installations")
    driver.complete(follow_up.task_id, "agente.jose", {"installed": True, "comment": "Coordinado por teléfono"})
    qc = driver.open_task(request_id, TaskKind.QC_CALL)
    driver.complete(qc.task_id, "agente.jose", {"satisfaction": 5, "comment": "Excelente"})
    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    assert driver.request(request_id).outcome == Outcome.SOLD
    failed = [e for e in driver.history(request_id) if e["type"] == "TaskFailed" and "BackOfficeUnavailable" in str(e)]
    assert len(failed) == 4


def _contact_task(driver: Driver, request_id: str) -> HumanTask:
    (task,) = [t for t in driver.stack.deps.tasks.open_for(request_id) if t.kind == TaskKind.CONTACT_CUSTOMER]
    return task


def _notifier_failures(driver: Driver, request_id: str) -> int:
    return sum(1 for e in driver.history(request_id) if e["type"] == "TaskFailed" and "NotifierUnavailable" in str(e))


def test_whatsapp_down_after_the_retries_never_fails_a_registered_sale(driver: Driver) -> None:
    phone = "+59173000011"
    request_id = _lead(driver, "bm-wa-down", phone)
    wait_for(lambda: driver.messages(request_id) == ["requirements_request"], 30, "requirements sent")
    driver.stack.faults.fail("whatsapp")  # Meta does not answer, until healed
    _send(driver, phone, request_id, DOCS)

    assert driver.install(request_id, timeout=90) == "recorded"  # the sale went on to step 12
    assert _notifier_failures(driver, request_id) == 4  # the first attempt and three retries failed
    task = _contact_task(driver, request_id)
    assert (task.context["message"], task.context["meta_code"]) == ("sale_done", "unavailable")
    assert "WhatsApp no respondió" in task.context["reason_label"]
    assert "sale_done" not in driver.messages(request_id)
    driver.stack.faults.heal("whatsapp")
    qc = driver.open_task(request_id, TaskKind.QC_CALL)
    driver.complete(qc.task_id, "agente.maria", {"satisfaction": 5, "comment": "Conforme"})
    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    assert driver.request(request_id).outcome == Outcome.SOLD


def test_whatsapp_down_after_the_retries_still_ends_a_rejection(driver: Driver) -> None:
    driver.stack.faults.fail("whatsapp")
    request_id = driver.submit_lead(
        channel="facebook",
        channel_lead_id="fb-wa-down",
        phone="+59173000012",
        ci="3456789 CB",  # debt in NAF: step 4 rejects
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    assert driver.finish(request_id, timeout=90)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert (request.status, request.outcome) == (OrderState.REJECTED, Outcome.REJECTED)
    assert _contact_task(driver, request_id).context["message"] == "rejection"
    assert driver.messages(request_id) == []
