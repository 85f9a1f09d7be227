"""Paper of step III.1 that people handle: the signed Contrato de Servicios coming back.

The contract is a manual document: an agent records that it was received. Recorded once, in
the request's history (event `contract_received`); a second record changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from ventas.container import Container
from ventas.domain.errors import InvalidValue
from ventas.domain.models import HistoryEntry

CONTRACT_RECEIVED = "contract_received"


def contract_in(history: Iterable[HistoryEntry]) -> HistoryEntry | None:
    """The entry recording the contract in a request's history already read, or None."""
    return next((h for h in history if h.event == CONTRACT_RECEIVED), None)


def contract_received(deps: Container, request_id: str) -> HistoryEntry | None:
    """The history entry recording the contract, or None. RequestNotFound for an unknown id."""
    deps.requests.get(request_id)
    return contract_in(deps.requests.history(request_id))


def record_contract(deps: Container, request_id: str, agent: str) -> HistoryEntry:
    """Record the signed contract as received by `agent`; idempotent (returns the first record).

    Raises InvalidValue (422) when the request has no sale registered in Smartflex (step 10):
    there is no contract to receive for it.
    """
    existing = contract_received(deps, request_id)
    if existing is not None:
        return existing
    request = deps.requests.get(request_id)
    if request.order_id is None:
        raise InvalidValue("request_id", "La solicitud no tiene una venta registrada: no hay contrato que recibir.")
    entry = HistoryEntry(at=deps.clock.now(), step=request.step, event=CONTRACT_RECEIVED, detail={"by": agent})
    deps.requests.append_history(request_id, entry)
    return entry
