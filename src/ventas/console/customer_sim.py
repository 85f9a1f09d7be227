"""Local stack only: WhatsApp deliveries shaped as Meta's Cloud API sends them.

The console's "act as the customer" page and the local test driver build the same payload and
post it, signed with the local app secret, to the product's own webhook route.
"""

from __future__ import annotations

from typing import Any


def document_message(phone: str, media_id: str, requirement: str | None, message_id: str, at: int) -> dict[str, Any]:
    """One `document` message from `phone` (E.164); `at` in Unix seconds."""
    return {
        "from": phone.lstrip("+"),
        "id": message_id,
        "timestamp": str(at),
        "type": "document",
        "document": {
            "caption": requirement or "",
            "filename": f"{(requirement or 'documento').lower()}.pdf",
            "mime_type": "application/pdf",
            "id": media_id,
        },
    }


def document_delivery(messages: list[dict[str, Any]], statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A Cloud API `messages` webhook delivery (one entry, one change)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5914200400", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Cliente"}, "wa_id": m["from"]} for m in messages[:1]],
        "messages": messages,
    }
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }
