"""Lead receipts: what a channel holds when its lead joined a request another channel created.

Contact binding (docs/architecture.md): a lead from an open request's own phone joins that
request. When the request was created by another channel, telling the lead's channel
`joined: true` with that request's id would tell it that this phone already has a request (a
phone lookup). Instead the lead is answered like a created one, with an id of its own: a
receipt, stored as the key item ``receipt#<id>``, that the channel reads
(`GET /v1/requests/{id}`) as a request in progress at identification (step 3), which is what
the customer of a joined lead goes through next. Agents and ops see the join on the open
request itself (`joined_leads`, `lead_joined`); the receipt is never shown to them as a request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ventas.domain.models import Channel

if TYPE_CHECKING:  # the web views import LeadReceipt: keep their imports light
    from ventas.container import Container


@dataclass(frozen=True)
class LeadReceipt:
    """A joined lead as its channel sees it: `receipt_id` (the id it was answered), its own
    channel and lead id, when it arrived (UTC), and the open request it joined (`joined`)."""

    receipt_id: str
    channel: Channel
    channel_lead_id: str
    received_at: datetime
    joined: str


def receipt_key(receipt_id: str) -> str:
    return f"receipt#{receipt_id}"


def record_receipt(deps: Container, receipt: LeadReceipt) -> None:
    """Store the receipt (once: a second write of the same id keeps the first)."""
    value = {
        "joined": receipt.joined,
        "channel": receipt.channel.value,
        "lead": receipt.channel_lead_id,
        "at": receipt.received_at.isoformat(),
    }
    deps.requests.claim_key(receipt_key(receipt.receipt_id), json.dumps(value, separators=(",", ":")))


def find_receipt(deps: Container, receipt_id: str) -> LeadReceipt | None:
    """The receipt answered under `receipt_id`, or None."""
    stored = deps.requests.lookup_key(receipt_key(receipt_id))
    if stored is None:
        return None
    value = json.loads(stored)
    return LeadReceipt(
        receipt_id=receipt_id,
        channel=Channel(value["channel"]),
        channel_lead_id=value["lead"],
        received_at=datetime.fromisoformat(value["at"]),
        joined=value["joined"],
    )
