"""WhatsApp Business (Cloud API) webhook: Meta's payload shapes and the request signature.

Meta signs each delivery with `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw
body keyed with the app secret. The payload is a `whatsapp_business_account` object with
entries, each with changes; a `messages` change carries `messages` (what customers sent) and/or
`statuses` (what happened to what we sent). Unlike our own inputs, these models ignore unknown
fields: Meta adds fields over time and a new one must not make us drop a customer's document.
Sizes are bounded all the same.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[str, Field(min_length=1, max_length=256)]


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WaMedia(_Meta):
    id: Id
    mime_type: str = Field("application/octet-stream", max_length=100)
    sha256: str | None = Field(None, max_length=128)
    caption: str | None = Field(None, max_length=1024)
    filename: str | None = Field(None, max_length=256)


class WaText(_Meta):
    body: str = Field("", max_length=4096)


class WaMessage(_Meta):
    sender: str = Field(alias="from", min_length=1, max_length=32)
    id: Id
    timestamp: str = Field(pattern=r"^\d{1,12}$")
    type: str = Field(max_length=40)
    text: WaText | None = None
    image: WaMedia | None = None
    document: WaMedia | None = None

    @property
    def media(self) -> WaMedia | None:
        return self.document if self.type == "document" else self.image if self.type == "image" else None


class WaStatus(_Meta):
    id: Id
    status: str = Field(max_length=40)
    timestamp: str = Field(pattern=r"^\d{1,12}$")
    recipient_id: str | None = Field(None, max_length=32)


class WaValue(_Meta):
    messaging_product: str = Field("whatsapp", max_length=40)
    messages: list[WaMessage] = Field(default_factory=list, max_length=1000)
    statuses: list[WaStatus] = Field(default_factory=list, max_length=1000)


class WaChange(_Meta):
    field: str = Field(max_length=80)
    value: WaValue


class WaEntry(_Meta):
    id: Id
    changes: list[WaChange] = Field(default_factory=list, max_length=100)


class WaDelivery(_Meta):
    """One POST from Meta: possibly several entries, each with several changes."""

    object: str = Field(max_length=80)
    entry: list[WaEntry] = Field(max_length=100)


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 over the raw body; an unconfigured secret accepts nothing."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send (tests, the local driver)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
