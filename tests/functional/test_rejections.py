"""Steps 4 and 7 lead to step 14: a business rejection is a normal, successful end."""

from __future__ import annotations

import pytest

from devstack.driver import Driver
from ventas.domain.models import REASON_LABELS, OrderState, Outcome, ReasonCode, Step

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}
RECOLETA = {"address": "Av. Santa Cruz 1500", "latitude": -17.3778, "longitude": -66.1541}  # FTTH, 100 Mbps
SOUTH = {"address": "Zona Sur, km 4", "latitude": -17.45, "longitude": -66.15}  # no network


def _reject(driver: Driver, lead_id: str, phone: str, ci: str, service: str, location: dict[str, object]) -> str:
    request_id = driver.submit_lead(
        channel="facebook", channel_lead_id=lead_id, phone=phone, ci=ci, service_code=service, location=location
    )
    assert driver.finish(request_id)["status"] == "SUCCEEDED"
    return request_id


@pytest.mark.parametrize(
    ("ci", "reason"),
    [
        ("3456789 CB", ReasonCode.DEBT),
        ("2987654 CB", ReasonCode.CENTRAL_DE_RIESGOS),
        ("4321098 CB", ReasonCode.EQUIPMENT_TO_RETURN),
        # Several impediments: the one an office must solve first is told.
        ("6789012 CB", ReasonCode.CENTRAL_DE_RIESGOS),
    ],
)
def test_each_impediment_rejects_at_step_4(driver: Driver, ci: str, reason: ReasonCode) -> None:
    phone = f"+5917{abs(hash(ci)) % 10_000_000:07d}"
    request_id = _reject(driver, f"fb-{ci}", phone, ci, "INTERNET_FTTH_100", CENTRO)

    request = driver.request(request_id)
    assert (request.status, request.outcome, request.step) == (OrderState.REJECTED, Outcome.REJECTED, Step.REJECTION)
    assert request.reason is not None
    assert request.reason.code == reason
    assert driver.states_entered(request_id) == ["RouteEntry", "CheckImpediments", "IsEligible", "RejectSale"]
    (message,) = driver.stack.deps.notifier.messages_for(request_id)
    assert message["template"] == "rejection"
    assert REASON_LABELS[reason] in message["text"]
    assert "oficinas" in message["text"]


@pytest.mark.parametrize(
    ("service", "location", "reason"),
    [
        ("INTERNET_FTTH_100", SOUTH, ReasonCode.NO_COVERAGE),
        ("INTERNET_FTTH_300", RECOLETA, ReasonCode.SPEED_NOT_SUPPORTED),
        ("EMPRESA_FTTH_100_IP_FIJA", RECOLETA, ReasonCode.FEATURE_NOT_AVAILABLE),
    ],
)
def test_no_technical_capacity_rejects_at_step_7(
    driver: Driver, service: str, location: dict[str, object], reason: ReasonCode
) -> None:
    phone = f"+5916{abs(hash(service)) % 10_000_000:07d}"
    request_id = _reject(driver, f"fb-{service}", phone, "5123456 LP", service, location)

    request = driver.request(request_id)
    assert request.outcome == Outcome.REJECTED
    assert request.reason is not None
    assert request.reason.code == reason
    assert driver.states_entered(request_id)[-3:] == ["CheckCoverage", "HasTechnicalCapacity", "RejectSale"]
    history = {entry.event: entry.detail for entry in driver.stack.deps.requests.history(request_id)}
    checked = history["coverage_checked"]
    if reason == ReasonCode.NO_COVERAGE:
        assert checked["qualification_result"] == "unqualified"
    else:  # TMF645: a slower or plainer service the zone can give is proposed
        assert checked["qualification_result"] == "alternate"
        assert checked["alternate_service_code"] == "INTERNET_FTTH_100"
    assert driver.stack.deps.notifier.messages_for(request_id)[-1]["template"] == "rejection"


def test_rejected_customer_can_start_a_new_request(driver: Driver) -> None:
    """A closed request releases the customer's keys: the next lead is a new request."""
    first = _reject(driver, "bot-debt-1", "+59170000111", "5123789 LP", "INTERNET_FTTH_100", CENTRO)
    second = _reject(driver, "bot-debt-2", "+59170000111", "5123789 LP", "INTERNET_FTTH_100", CENTRO)
    assert first != second
