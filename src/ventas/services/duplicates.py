"""Possible duplicates: a lead whose CI matched another phone's open request (contact binding).

Such a request is held at intake, its workflow not started. An agent verifies identity per
protocol (Anexo 1), calling the number on record of the open request, and decides:

- `separate`: not the same customer, or the customer wants a request of its own: the flag is
  cleared and the held request's workflow starts;
- `merge`: the number on record confirmed the new contact: the lead joins the open request,
  its phone becomes one of that request's contacts (WhatsApp documents from it count), and the
  held request is cancelled, pointing to the request it was merged into.
"""

from __future__ import annotations

from typing import Literal

from ventas.container import Container
from ventas.domain.errors import TaskConflict
from ventas.domain.models import HistoryEntry, OrderState, SaleRequest, Step
from ventas.observability import logger
from ventas.services.concurrency import retry_on_conflict
from ventas.services.intake import start
from ventas.services.queries import MAX_READS

Decision = Literal["separate", "merge"]


def pending(deps: Container, limit: int) -> list[SaleRequest]:
    """Held requests waiting for an agent, oldest first (GSI by_status, acknowledged only)."""
    found: list[SaleRequest] = []
    token: str | None = None
    for _ in range(MAX_READS):
        items, token = deps.requests.by_status(OrderState.ACKNOWLEDGED, limit=100, start=token)
        found += [r for r in items if r.possible_duplicate_of is not None]
        if token is None:
            break
    return sorted(found, key=lambda r: r.created_at)[:limit]


def review(deps: Container, request_id: str, agent: str, decision: Decision, comment: str | None) -> SaleRequest:
    """Apply an agent's decision on a held request. Raises TaskConflict (409) when the request
    is not held, or, for a merge, when the other request is no longer open."""
    held = deps.requests.get(request_id)
    other_id = held.possible_duplicate_of
    if other_id is None or not held.is_open:
        raise TaskConflict("La solicitud no está pendiente de revisión como posible duplicado.", "not_held")
    now = deps.clock.now()
    detail: dict[str, object] = {"decision": decision, "agent": agent, "other": other_id}
    if comment:
        detail["comment"] = comment
    if decision == "separate":
        held.possible_duplicate_of = None
        held.updated_at = now
        deps.requests.save(held)
        deps.requests.append_history(
            request_id, HistoryEntry(at=now, step=Step.INTAKE, event="duplicate_reviewed", detail=detail)
        )
        start(deps, held)
        logger.info("possible duplicate kept apart", extra={"request_id": request_id})
        return held

    def join() -> None:
        other = deps.requests.get(other_id)
        if not other.is_open:
            raise TaskConflict("La solicitud original ya concluyó: mantenga la nueva por separado.", "not_open")
        other.joined_leads.append(f"{held.channel.value}:{held.channel_lead_id}")
        other.updated_at = now
        deps.requests.save(other)

    retry_on_conflict(join)
    phone_key = f"open#{deps.customer_key('phone', held.phone)}"
    deps.requests.release_key(phone_key, request_id)
    deps.requests.claim_key(phone_key, other_id)  # the verified contact now reaches the open request
    deps.requests.append_history(
        other_id,
        HistoryEntry(at=now, step=Step.INTAKE, event="lead_merged", detail={**detail, "from": request_id}),
    )
    held.possible_duplicate_of = None
    held.merged_into = other_id
    held.status = OrderState.CANCELLED
    held.updated_at = now
    deps.requests.save(held)
    deps.requests.append_history(
        request_id, HistoryEntry(at=now, step=Step.INTAKE, event="duplicate_merged", detail=detail)
    )
    logger.info("possible duplicate merged", extra={"request_id": request_id})
    return held
