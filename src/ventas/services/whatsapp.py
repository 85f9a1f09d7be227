"""The WhatsApp webhook's deliveries, item by item (step 9 and the customer's other signals).

Each message and status of a delivery is validated and handled on its own
(`ventas.web.whatsapp.split`), and counted in the `DeliveryReport`:

- a document or image from a customer with an open, identified request: filed under the
  requirement its caption or file name names (`catalogue.classify`), or, when unsure, in the
  `UNCLASSIFIED` slot with a `document_review` task for an agent;
- a system message `user_changed_number`: the open request follows the customer to the new
  number (phone key re-bound, request's phone updated, `customer_number_changed` on history);
- any other message (text, location, button or list replies, audio, ...): kept on the
  request's history for the agent, content included; logs name it by `ref` only;
- a status of a message the product sent (`outbound.message_for`): `delivered` and `read` go on
  the history; `failed` too, with Meta's code, as a WARNING, a metric, and a
  `contact_customer` task; statuses of unknown messages are counted only;
- a malformed item: counted and logged by `ref`, never costing the others.

Nothing acknowledged is lost: an item that fails for a transient reason (media download, a
DynamoDB fault) is counted, the others go on, and the delivery ends in `BackOfficeUnavailable`
(503) so that Meta delivers it again. The retry is harmless: each handled item is marked by a
keyed hash of its id (`wamsg#`, `wastatus#` keys) and a marked item is a duplicate; documents
are also recognised by media id, and tasks by their event.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ventas.container import Container
from ventas.domain.catalogue import classify
from ventas.domain.errors import BackOfficeUnavailable, RequestNotFound, UnknownService
from ventas.domain.identity import Phone
from ventas.domain.messages import failure_context
from ventas.domain.models import HistoryEntry, SaleRequest
from ventas.domain.tasks import TaskKind
from ventas.observability import logger
from ventas.services.concurrency import update_request
from ventas.services.event_tasks import open_event_task
from ventas.services.events import open_request_for_phone, receive_document
from ventas.services.outbound import message_for
from ventas.services.stages import service_of
from ventas.web.whatsapp import WaMessage, WaStatus, ref, split


@functools.cache
def _phone() -> TypeAdapter[str]:
    """Built on the first webhook that needs it, not at import (cold starts: bench/coldstart.py)."""
    return TypeAdapter(Phone)


STATUSES_RECORDED = frozenset({"delivered", "read", "failed"})
# Permanent faults of one item (too large a media, a request without a known service): counted
# as malformed, not retried. Anything else is taken as transient: Meta delivers again.
_PERMANENT = (ValueError, UnknownService, RequestNotFound)


@dataclass
class DeliveryReport:
    recorded: int = 0  # documents filed under a requirement
    unclassified: int = 0  # documents waiting for an agent to file them
    duplicates: int = 0  # items handled before (Meta redelivers)
    unknown_senders: int = 0  # no open request for that phone
    ignored: int = 0  # nothing to do: not a WhatsApp delivery, other fields, unknown statuses
    kept: int = 0  # other messages kept on their request's history
    number_changes: int = 0
    malformed: int = 0
    statuses: int = 0  # statuses read
    failures: int = 0  # failed statuses recorded on their request
    retry: int = 0  # items that failed for a transient reason
    completed: list[str] = field(default_factory=list)  # requests whose checklist became complete

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k not in ("retry", "completed")}


def sender_phone(wa_id: str) -> str | None:
    """Meta sends E.164 digits without '+'; None when it is not a phone we can match."""
    try:
        return _phone().validate_python("+" + wa_id.lstrip("+"))
    except ValidationError:
        return None


def process_delivery(deps: Container, document: Any) -> DeliveryReport:
    """Handle every item of a delivery (parsed JSON); BackOfficeUnavailable when some must be retried."""
    report = DeliveryReport()
    found = split(document)
    if not found.understood:
        logger.warning("whatsapp delivery not understood")  # signed by Meta: acknowledged, or Meta retries for days
        report.ignored += 1
        return report
    report.ignored += found.other_fields
    for item_ref, reason in found.malformed:
        logger.warning("whatsapp item malformed", extra={"message_ref": item_ref, "reason": reason})
    report.malformed += len(found.malformed)
    for message in sorted(found.messages, key=lambda m: int(m.timestamp)):
        _guarded(report, ref(message.id), lambda m=message: _message(deps, m, report))
    for status in sorted(found.statuses, key=lambda s: int(s.timestamp)):
        _guarded(report, ref(status.id), lambda s=status: _status(deps, s, report))
    logger.info("whatsapp delivery processed", extra=report.counts() | {"retry": report.retry})
    if report.retry:
        raise BackOfficeUnavailable(f"{report.retry} WhatsApp items could not be processed now: Meta will retry")
    return report


def _sent_at(deps: Container, message: WaMessage) -> datetime:
    """When the customer sent it (Meta's timestamp, Unix seconds), never later than now: a
    timestamp in the future (a skewed or forged clock) is taken as now, and logged."""
    now = deps.clock.now()
    try:
        sent = datetime.fromtimestamp(int(message.timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        sent = None
    if sent is None or sent > now:
        logger.warning("whatsapp timestamp in the future: taken as now", extra={"message_ref": ref(message.id)})
        return now
    return sent


def _guarded(report: DeliveryReport, item_ref: str, handle: Any) -> None:
    try:
        handle()
    except _PERMANENT as exc:
        report.malformed += 1
        logger.warning("whatsapp item not usable", extra={"message_ref": item_ref, "error": type(exc).__name__})
    except Exception as exc:  # any other fault is transient: Meta retries the delivery
        report.retry += 1
        logger.error(
            "whatsapp item failed, to be retried", extra={"message_ref": item_ref, "error": type(exc).__name__}
        )


# --- messages --------------------------------------------------------------------------------


def _message(deps: Container, message: WaMessage, report: DeliveryReport) -> None:
    """A media message is recognised again by its media id on the request (no marker read); any
    other by its `wamsg#` marker. The marker is bound in the save of the message's effect."""
    seen = deps.customer_key("wamsg", message.id)
    if message.media is None and deps.requests.lookup_key(seen) is not None:
        report.duplicates += 1
        return
    request_id, marked = _handle(deps, message, report, seen)
    if request_id is not None and not marked:
        deps.requests.claim_key(seen, request_id)  # after the effect: a crash before it means a retry


def _handle(deps: Container, message: WaMessage, report: DeliveryReport, seen: str) -> tuple[str | None, bool]:
    """One message's effect: the request it concerned (None: nothing done), and whether its
    marker was bound in the effect's own save."""
    phone = sender_phone(message.sender)
    if message.system is not None and message.type == "system" and message.system.type == "user_changed_number":
        return _number_changed(deps, message, phone, report), False
    request = _sender_request(deps, phone) if phone else None
    if phone is None or request is None:
        report.unknown_senders += 1
        return None, False
    request_id = request.request_id
    media = message.media
    if media is not None:
        if any(d.media_id == media.id for d in request.documents):
            report.duplicates += 1  # checked before the download: a redelivery costs no Graph call
            return request_id, True
        if request.service_code is not None:
            hint = classify(service_of(deps, request), media.caption, media.filename)
            receipt = receive_document(
                deps,
                phone,
                media.id,
                media.mime_type,
                deps.media.fetch(media.id),
                _sent_at(deps, message),
                hint,
                loaded=request,
                seen=seen,
            )
            if receipt.status in ("recorded", "complete"):
                report.recorded += 1
                if receipt.status == "complete":
                    report.completed.append(request_id)
                return request_id, True
            if receipt.status == "duplicate":
                report.duplicates += 1
                return request_id, True
            if receipt.status == "unclassified":
                report.unclassified += 1
                _review(deps, request_id, media.id, media.mime_type, receipt.missing)
                return request_id, True
            # not_expected (the checklist was complete): kept on the history below
    _keep(deps, request, message, seen)
    report.kept += 1
    return request_id, True


def _sender_request(deps: Container, phone: str) -> SaleRequest | None:
    """The sender's open request. While it waits for their documents: one read of the sparse
    `awaiting_documents` index, a copy that may be a moment behind (every save of it is
    conditional on its version: a stale copy is read again there). Otherwise (or while the
    index lags): through the open# key of the phone's keyed hash, then the request (two reads)."""
    awaiting = deps.requests.awaiting_documents(deps.customer_key("phone", phone))
    if awaiting is not None:
        return awaiting
    request_id = open_request_for_phone(deps, phone)
    return None if request_id is None else deps.requests.get(request_id)


def _review(deps: Container, request_id: str, media_id: str, mime_type: str, missing: tuple[str, ...]) -> None:
    context = {"media_id": media_id, "mime_type": mime_type, "missing": ",".join(missing)}
    open_event_task(deps, TaskKind.DOCUMENT_REVIEW, request_id, cause=media_id, context=context)


def _keep(deps: Container, request: SaleRequest, message: WaMessage, seen: str) -> None:
    """On the history for the agent (content included), with the message's marker, in one save;
    the logs get the type and a ref only."""
    detail: dict[str, Any] = {"type": message.type, "message_ref": ref(message.id)}
    if message.media is not None:
        detail["media_id"] = message.media.id
    if message.system is not None:
        detail["system_type"] = message.system.type
    content = message.content()
    if content:
        detail["content"] = content
    now = deps.clock.now()

    def kept(current: SaleRequest) -> None:
        current.note(now, "customer_message_received", **detail)
        current.bind_key(seen, current.request_id)

    update_request(deps, request.request_id, kept, request)
    logger.info("customer message kept", extra={"request_id": request.request_id, "type": message.type})


def _open_key(deps: Container, phone: str) -> str:
    return f"open#{deps.customer_key('phone', phone)}"


def _number_changed(deps: Container, message: WaMessage, old: str | None, report: DeliveryReport) -> str | None:
    """Meta's `user_changed_number`: the open request follows the customer to `system.wa_id`."""
    new = sender_phone(message.system.wa_id) if message.system and message.system.wa_id else None
    request_id = open_request_for_phone(deps, old) if old else None
    if old is None or new is None or request_id is None:
        moved = open_request_for_phone(deps, new) if new else None
        if moved is not None:  # the move is done (a redelivery after a crash)
            report.duplicates += 1
            return moved
        report.unknown_senders += 1
        return None
    bound = deps.requests.claim_key(_open_key(deps, new), request_id)
    if bound != request_id:  # the new number has an open request of its own: an agent decides
        _history(deps, request_id, "customer_number_changed", moved=False, other_request=bound)
        open_event_task(
            deps,
            TaskKind.CONTACT_CUSTOMER,
            request_id,
            cause=f"number:{ref(message.id)}",
            context={"cause": "number_changed", "other_request": bound},
        )
        report.number_changes += 1
        return request_id

    now = deps.clock.now()
    update_request(deps, request_id, lambda r: r.change_phone(now, new, deps.customer_key("phone", new)))
    deps.requests.release_key(_open_key(deps, old), request_id)
    logger.info("customer number changed: request follows", extra={"request_id": request_id})
    report.number_changes += 1
    return request_id


# --- statuses of the messages the product sent -------------------------------------------------


def _status(deps: Container, status: WaStatus, report: DeliveryReport) -> None:
    report.statuses += 1
    if status.status not in STATUSES_RECORDED:
        return  # sent, deleted, ...: nothing to record
    sent = message_for(deps, status.id)
    if sent is None:
        report.ignored += 1  # not one of ours (or sent before wamids were kept)
        return
    seen = deps.customer_key("wastatus", f"{status.id}:{status.status}")
    if deps.requests.lookup_key(seen) is not None:
        report.duplicates += 1
        return
    request_id, kind = sent
    if status.status == "failed":
        code = str(status.code) if status.code is not None else "none"
        logger.warning(
            "whatsapp message failed: an agent will call",
            extra={"request_id": request_id, "template": kind, "meta_code": status.code},
        )
        _history(deps, request_id, "customer_message_failed", template=kind, meta_code=status.code)
        deps.metrics.message_failed(kind, code)
        open_event_task(
            deps,
            TaskKind.CONTACT_CUSTOMER,
            request_id,
            cause=f"failed:{kind}",
            context=failure_context("message_failed", kind, code),
        )
        report.failures += 1
    else:
        _history(deps, request_id, f"customer_message_{status.status}", template=kind)
    deps.requests.claim_key(seen, request_id)


def _history(deps: Container, request_id: str, event: str, **detail: object) -> None:
    request = deps.requests.get(request_id)
    entry = HistoryEntry(at=deps.clock.now(), step=request.step, event=event, detail=dict(detail))
    deps.requests.append_history(request_id, entry)
