"""The signed Contrato de Servicios (III.1) is recorded once, and only for a registered sale."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ventas.container import Container
from ventas.domain.errors import InvalidValue
from ventas.domain.models import Lead, SaleRequest
from ventas.services import intake, paperwork
from ventas.services.concurrency import update_request


def _lead(deps: Container, lead_id: str) -> str:
    return intake.submit_lead(deps, Lead(channel="web", channel_lead_id=lead_id, phone="+59171230001")).request_id


def test_a_contract_is_recorded_once_for_a_registered_sale(deps: Container) -> None:
    request_id = _lead(deps, "w-contract")
    now = deps.clock.now()

    def registered(r: SaleRequest) -> None:
        r.register_order(now, "SF-2026-000001", "FORM-1", now + timedelta(days=15))

    update_request(deps, request_id, registered)
    first = paperwork.record_contract(deps, request_id, "agente.ana")
    again = paperwork.record_contract(deps, request_id, "agente.luis")
    assert again == first
    assert [h.event for h in deps.requests.history(request_id)].count(paperwork.CONTRACT_RECEIVED) == 1


def test_no_contract_before_the_sale_is_registered(deps: Container) -> None:
    """A contract is signed for a sale registered in Smartflex (step 10): nothing to record before."""
    request_id = _lead(deps, "w-no-contract")
    with pytest.raises(InvalidValue):
        paperwork.record_contract(deps, request_id, "agente.ana")
    assert paperwork.contract_received(deps, request_id) is None
