"""Step 9 from WhatsApp: each document or image a customer sends becomes a requirement document.

Every message of a delivery is handled on its own and counted: documents recorded (or the one
that completed the checklist), duplicates (same media id: Meta redelivers), unknown senders (no
open request for that phone), and ignored messages (text, audio, stickers, ...: the procedure
needs documents only; their content is not stored, it may be personal). Delivery statuses of
our own messages are only counted. Messages are taken in timestamp order, so a delivery with
events out of order still fills the checklist in the customer's order.

A media download that fails raises `BackOfficeUnavailable`: the webhook answers 503, Meta
delivers again, and what was already recorded is recognised as a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError

from ventas.container import Container
from ventas.domain.catalogue import Service
from ventas.domain.identity import Phone
from ventas.observability import logger
from ventas.services.events import open_request_for_phone, receive_document
from ventas.services.stages import service_of
from ventas.web.whatsapp import WaDelivery, WaMessage

_phone = TypeAdapter(Phone)


@dataclass
class DeliveryReport:
    recorded: int = 0
    duplicates: int = 0
    unknown_senders: int = 0
    ignored: int = 0
    statuses: int = 0
    completed: list[str] = field(default_factory=list)  # requests whose checklist became complete


def sender_phone(wa_id: str) -> str | None:
    """Meta sends E.164 digits without '+'; None when it is not a phone we can match."""
    try:
        return _phone.validate_python("+" + wa_id.lstrip("+"))
    except ValidationError:
        return None


def requirement_hint(service: Service, caption: str | None) -> str | None:
    """A caption naming a requirement ("CI anverso", "FACTURA_LUZ") files the document there."""
    if not caption:
        return None
    words = re.sub(r"[^A-Z0-9]+", "_", caption.upper()).strip("_")
    for requirement in service.requirements:
        label = re.sub(r"[^A-Z0-9]+", "_", requirement.label.upper()).strip("_")
        if words in (requirement.code, label) or requirement.code in words:
            return requirement.code
    return None


def process_delivery(deps: Container, delivery: WaDelivery) -> DeliveryReport:
    report = DeliveryReport()
    messages: list[WaMessage] = []
    for entry in delivery.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            report.statuses += len(change.value.statuses)
            messages.extend(change.value.messages)
    for message in sorted(messages, key=lambda m: int(m.timestamp)):
        _handle(deps, message, report)
    logger.info(
        "whatsapp delivery processed",
        extra={
            "recorded": report.recorded,
            "duplicates": report.duplicates,
            "unknown_senders": report.unknown_senders,
            "ignored": report.ignored,
            "statuses": report.statuses,
        },
    )
    return report


def _handle(deps: Container, message: WaMessage, report: DeliveryReport) -> None:
    media = message.media
    if media is None:
        report.ignored += 1
        return
    phone = sender_phone(message.sender)
    request_id = open_request_for_phone(deps, phone) if phone else None
    if phone is None or request_id is None:
        report.unknown_senders += 1
        return
    request = deps.requests.get(request_id)
    if any(d.media_id == media.id for d in request.documents):
        report.duplicates += 1  # checked before the download: a redelivery costs no Graph call
        return
    if request.service_code is None:  # not identified yet: no checklist to tick
        report.ignored += 1
        return
    hint = requirement_hint(service_of(deps, request), media.caption or media.filename)
    receipt = receive_document(
        deps,
        phone,
        media.id,
        media.mime_type,
        deps.media.fetch(media.id),
        datetime.fromtimestamp(int(message.timestamp), UTC),
        hint,
    )
    if receipt.status == "duplicate":
        report.duplicates += 1
    elif receipt.status in ("recorded", "complete"):
        report.recorded += 1
        if receipt.status == "complete" and receipt.request_id:
            report.completed.append(receipt.request_id)
    else:  # not_expected: the checklist was already complete
        report.ignored += 1
