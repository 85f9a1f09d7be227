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
from ventas.domain.models import OrderState, SaleRequest
from ventas.observability import logger
from ventas.services.concurrency import update_request
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
        held, _ = update_request(deps, request_id, lambda r: r.keep_apart(now, **detail), held)
        start(deps, held)
        logger.info("possible duplicate kept apart", extra={"request_id": request_id})
        return held

    def join(other: SaleRequest) -> None:
        if not other.is_open:
            raise TaskConflict("La solicitud original ya concluyó: mantenga la nueva por separado.", "not_open")
        other.join_lead(now, held.channel, held.channel_lead_id, held.missed_call)
        other.note(now, "lead_merged", **detail, **{"from": request_id})

    update_request(deps, other_id, join)
    phone_key = f"open#{deps.customer_key('phone', held.phone)}"
    deps.requests.release_key(phone_key, request_id)
    deps.requests.claim_key(phone_key, other_id)  # the verified contact now reaches the open request
    held, _ = update_request(deps, request_id, lambda r: r.merge_into(now, other_id, **detail), held)
    logger.info("possible duplicate merged", extra={"request_id": request_id})
    return held
