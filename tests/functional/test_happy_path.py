"""The procedure end to end: lead -> 4 -> 7 -> 8/9 -> 10/11 -> 12 -> 13 -> 13.1."""

from __future__ import annotations

import json

from devstack.driver import Driver, wait_for
from tests.log_capture import logged
from ventas.domain.models import OrderState, Outcome, Step
from ventas.domain.tasks import TaskKind

__all__ = ["logged"]

CLEAN_CI = "4567890 CB"
CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}


def test_identified_web_lead_is_sold_installed_and_qc_called(driver: Driver) -> None:
    phone = "+59171234501"
    request_id = driver.submit_lead(
        channel="web",
        channel_lead_id="web-1001",
        phone=phone,
        name="Ana Rojas",
        ci=CLEAN_CI,
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    wait_for(lambda: driver.request(request_id).step == Step.REQUIREMENTS, 20, "step 8")  # asked, then sends
    for n, req in enumerate(("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ")):
        driver.send_document(phone, f"wamid.doc-{request_id}-{n}", req)
    assert driver.install(request_id) == "recorded"
    qc = driver.open_task(request_id, TaskKind.QC_CALL)
    driver.claim(qc.task_id, "agente.maria")
    driver.complete(qc.task_id, "agente.maria", {"satisfaction": 5, "comment": "Muy conforme"})

    execution = driver.finish(request_id)
    assert execution["status"] == "SUCCEEDED"
    request = driver.request(request_id)
    assert request.status == OrderState.COMPLETED
    assert request.outcome == Outcome.SOLD
    assert request.step == Step.CLOSED
    assert request.satisfaction == 5
    assert request.order_id is not None
    assert request.order_id.startswith("SF-")
    assert [d.requirement for d in request.documents] == ["CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ"]
    assert driver.states_entered(request_id) == [
        "RouteEntry",
        "CheckImpediments",
        "IsEligible",
        "CheckCoverage",
        "HasTechnicalCapacity",
        "RequestDocuments",
        "RegisterSale",
        "AwaitInstallation",
        "QcSlotKnown",
        "WaitForQcSlot",
        "QcCall",
        "CloseSale",
    ]
    sent = [m["template"] for m in driver.stack.deps.notifier.messages_for(request_id)]
    assert sent == ["requirements_request", "sale_done"]


def test_a_sale_logs_with_the_request_id_and_never_the_ci_or_phone(driver: Driver, logged: list[str]) -> None:
    phone, ci = "+59171234599", "7894561-1A CB"
    request_id = driver.submit_lead(
        channel="whatsapp",
        channel_lead_id="wa-logs",
        phone=phone,
        name="Eva Mamani",
        ci=ci,
        service_code="TV_CABLE",
        location=CENTRO,
    )
    for code in ("CI_ANVERSO", "CI_REVERSO"):
        driver.send_document(phone, f"wamid.logs-{code}", code)
    driver.install(request_id)
    qc = driver.open_task(request_id, TaskKind.QC_CALL)
    driver.complete(qc.task_id, "agente.maria", {"satisfaction": 4, "comment": "Bien"})
    driver.finish(request_id)

    lines = [json.loads(line) for line in logged]
    mine = [line for line in lines if line.get("correlation_id") == request_id]
    assert len(mine) >= 8  # every stage logged under the request id
    text = json.dumps(lines)
    for secret in ("71234599", "7894561", "Eva Mamani"):
        assert secret not in text
