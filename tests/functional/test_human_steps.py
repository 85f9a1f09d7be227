"""Human steps on task tokens: call-back (1.2), identification (3), location (5), QC (13.1)."""

from __future__ import annotations

import threading

import pytest

from devstack.driver import Driver, wait_for
from devstack.http_driver import ApiFailure
from tests.functional.conftest import shorten
from ventas.domain.models import OrderState, Outcome, ReasonCode
from ventas.domain.tasks import PROTOCOL, TaskKind, TaskStatus

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}
IDENTITY = {"ci": "5987654 CB", "service_code": "INTERNET_FTTH_50", "name": "Luis Quispe"}


def _documents(driver: Driver, phone: str, request_id: str, codes: tuple[str, ...]) -> None:
    for code in codes:
        driver.send_document(phone, f"wamid.{request_id}.{code}", code)


def _finish_sale(driver: Driver, request_id: str, phone: str, codes: tuple[str, ...]) -> None:
    _documents(driver, phone, request_id, codes)
    assert driver.install(request_id) == "recorded"
    qc = driver.open_task(request_id, TaskKind.QC_CALL)
    driver.complete(qc.task_id, "agente.rosa", {"satisfaction": 4, "comment": "Conforme con la instalación"})
    assert driver.finish(request_id)["status"] == "SUCCEEDED"


def test_missed_call_is_called_back_identified_located_and_sold(driver: Driver) -> None:
    phone = "+59172000001"
    request_id = driver.missed_call(phone, line="4322205")

    call_back = driver.open_task(request_id, TaskKind.CALL_BACK)
    assert call_back.protocol == PROTOCOL[TaskKind.CALL_BACK]
    assert "devuelva la llamada" in call_back.instructions.lower()
    driver.claim(call_back.task_id, "agente.maria")
    driver.complete(call_back.task_id, "agente.maria", {"reached": True, **IDENTITY})

    location = driver.open_task(request_id, TaskKind.LOCATION)  # an IVR call carries no address
    driver.complete(location.task_id, "agente.maria", {"location": CENTRO})
    _finish_sale(driver, request_id, phone, ("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ"))

    request = driver.request(request_id)
    assert request.missed_call
    assert (request.outcome, request.ci, request.service_code) == (Outcome.SOLD, "5987654 CB", "INTERNET_FTTH_50")
    assert driver.states_entered(request_id)[:6] == [
        "RouteEntry",
        "CallBackCustomer",
        "CheckImpediments",
        "IsEligible",
        "CaptureLocation",
        "CheckCoverage",
    ]


def test_unreachable_call_back_abandons_the_request(driver: Driver) -> None:
    request_id = driver.missed_call("+59172000002", line="4001515")
    task = driver.open_task(request_id, TaskKind.CALL_BACK)
    driver.complete(task.task_id, "agente.maria", {"reached": False})

    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert (request.status, request.outcome) == (OrderState.CANCELLED, Outcome.ABANDONED)
    assert request.reason is not None
    assert request.reason.code == ReasonCode.CUSTOMER_UNREACHABLE
    assert driver.states_entered(request_id)[-1] == "AbandonRequest"


def test_lead_without_ci_is_identified_by_an_agent(driver: Driver) -> None:
    phone = "+59172000003"
    request_id = driver.submit_lead(channel="whatsapp", channel_lead_id="wa-3", phone=phone, location=CENTRO)
    task = driver.open_task(request_id, TaskKind.IDENTIFICATION)
    driver.complete(task.task_id, "agente.jose", IDENTITY)
    _finish_sale(driver, request_id, phone, ("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ"))
    assert "IdentifyCustomer" in driver.states_entered(request_id)
    assert driver.stack.deps.tasks.get(task.task_id).status == TaskStatus.COMPLETED


def test_task_completed_twice_completes_once_and_the_workflow_advances_once(driver: Driver) -> None:
    request_id = driver.submit_lead(channel="web", channel_lead_id="web-twice", phone="+59172000004", location=CENTRO)
    task = driver.open_task(request_id, TaskKind.IDENTIFICATION)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def complete(agent: str) -> None:
        barrier.wait()
        try:
            driver.complete(task.task_id, agent, IDENTITY)
            outcomes.append("ok")
        except ApiFailure as error:
            outcomes.append(error.error_type)

    threads = [threading.Thread(target=complete, args=(a,)) for a in ("agente.maria", "agente.jose")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["TaskConflict", "ok"]
    with pytest.raises(ApiFailure) as again:
        driver.complete(task.task_id, "agente.maria", IDENTITY)
    assert again.value.error_type == "TaskConflict"
    assert "ya fue completada" in again.value.message

    # The winner's answer moved the workflow on to step 4 exactly once.
    wait_for(lambda: "IsEligible" in driver.states_entered(request_id), 20, "step 4")
    states = driver.states_entered(request_id)
    assert states.count("IdentifyCustomer") == 1
    assert states.count("CheckImpediments") == 1


def test_task_whose_workflow_timed_out_is_refused_as_expired(driver: Driver) -> None:
    shorten(driver.stack, agent_task_hours=24)  # one second at the test time scale
    request_id = driver.submit_lead(channel="web", channel_lead_id="web-late", phone="+59172000005", location=CENTRO)
    task = driver.open_task(request_id, TaskKind.IDENTIFICATION)
    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert request.reason is not None
    # Nobody worked the task: its own reason, not the customer's (CUSTOMER_UNREACHABLE).
    assert request.reason.code == ReasonCode.TASK_NOT_WORKED
    assert request.reason.label == "No pudimos atender su solicitud a tiempo"
    assert "abandonment" in driver.messages(request_id)

    with pytest.raises(ApiFailure) as late:
        driver.complete(task.task_id, "agente.maria", IDENTITY)
    assert late.value.error_type == "WorkflowNotWaiting"
    assert driver.stack.deps.tasks.get(task.task_id).status == TaskStatus.EXPIRED
    assert driver.request(request_id).ci is None  # nothing recorded from the late answer


def test_qc_call_not_made_in_time_still_closes_the_sale(driver: Driver) -> None:
    shorten(driver.stack, qc_task_hours=24)
    phone = "+59172000006"
    request_id = driver.submit_lead(
        channel="web",
        channel_lead_id="web-noqc",
        phone=phone,
        ci="5123456 LP",
        service_code="TV_CABLE",
        location=CENTRO,
    )
    _documents(driver, phone, request_id, ("CI_ANVERSO", "CI_REVERSO"))
    driver.install(request_id)
    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert (request.outcome, request.satisfaction) == (Outcome.SOLD, None)
    assert driver.states_entered(request_id)[-2:] == ["QcCall", "CloseSale"]
