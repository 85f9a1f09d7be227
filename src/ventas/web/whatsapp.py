"""WhatsApp Business (Cloud API) webhook: Meta's payload shapes and the request signature.

Meta signs each delivery with `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw
body keyed with the app secret. The payload is a `whatsapp_business_account` object with
entries, each with changes; a `messages` change carries `messages` (what customers sent) and/or
`statuses` (what happened to what we sent).

A delivery is read item by item (`split`): each message and each status is validated on its
own, so one the product does not understand, or that lacks a field it needs (sender,
timestamp, its type's body, a caption or text over Meta's limits), is counted as malformed
and never costs the other items of the same delivery. Unknown fields are ignored: Meta adds
fields over time. Logs name an item by `ref(id)`, a digest: a wamid encodes the phone number.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Id = Annotated[str, Field(min_length=1, max_length=256)]
WaId = Annotated[str, Field(pattern=r"^\d{6,15}$")]  # E.164 digits without "+"
Timestamp = Annotated[str, Field(pattern=r"^\d{1,12}$")]  # Unix seconds, as text

# Message types whose body the product reads; each must carry its body object.
BODY_TYPES = frozenset({"text", "image", "document", "location", "interactive", "button", "system"})
MEDIA_TYPES = frozenset({"image", "document"})  # what may be a requirement document
MAX_ITEMS = 1000
M = TypeVar("M", bound=BaseModel)


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WaMedia(_Meta):
    id: Id
    mime_type: str = Field("application/octet-stream", max_length=100)
    sha256: str | None = Field(None, max_length=128)
    caption: str | None = Field(None, max_length=1024)  # Meta's limit for a media caption
    filename: str | None = Field(None, max_length=256)


class WaText(_Meta):
    body: str = Field(min_length=1, max_length=4096)  # Meta's limit for a text message


class WaLocation(_Meta):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(None, max_length=1000)
    address: str | None = Field(None, max_length=1000)


class WaReply(_Meta):
    id: str = Field(max_length=256)
    title: str = Field(max_length=256)
    description: str | None = Field(None, max_length=256)


class WaInteractive(_Meta):
    type: str = Field(max_length=40)  # button_reply | list_reply | nfm_reply
    button_reply: WaReply | None = None
    list_reply: WaReply | None = None


class WaButton(_Meta):
    text: str = Field(max_length=256)
    payload: str | None = Field(None, max_length=1024)


class WaSystem(_Meta):
    type: str = Field(max_length=40)  # user_changed_number | customer_identity_changed | ...
    body: str | None = Field(None, max_length=1024)
    wa_id: WaId | None = None  # the new number, on user_changed_number


class WaMessage(_Meta):
    sender: WaId = Field(alias="from")
    id: Id
    timestamp: Timestamp
    type: str = Field(max_length=40)
    text: WaText | None = None
    image: WaMedia | None = None
    document: WaMedia | None = None
    location: WaLocation | None = None
    interactive: WaInteractive | None = None
    button: WaButton | None = None
    system: WaSystem | None = None

    @model_validator(mode="after")
    def _body_of_its_type(self) -> WaMessage:
        if self.type in BODY_TYPES and getattr(self, self.type) is None:
            raise ValueError(f"a {self.type} message without its {self.type} object")
        changed = self.type == "system" and self.system is not None and self.system.type == "user_changed_number"
        if changed and self.system is not None and self.system.wa_id is None:
            raise ValueError("user_changed_number without the new wa_id")
        return self

    @property
    def media(self) -> WaMedia | None:
        return self.document if self.type == "document" else self.image if self.type == "image" else None

    def content(self) -> dict[str, Any]:
        """What the customer said, for the agent's history (never logged): bounded by the models."""
        if self.text is not None and self.type == "text":
            return {"text": self.text.body}
        if self.location is not None and self.type == "location":
            return self.location.model_dump(exclude_none=True)
        if self.interactive is not None and self.type == "interactive":
            reply = self.interactive.button_reply or self.interactive.list_reply
            return {"reply": reply.model_dump(exclude_none=True)} if reply else {}
        if self.button is not None and self.type == "button":
            return {"reply": {"title": self.button.text}}
        return {}


class WaError(_Meta):
    code: int
    title: str | None = Field(None, max_length=512)


class WaStatus(_Meta):
    id: Id
    status: str = Field(max_length=40)  # sent | delivered | read | failed | deleted | ...
    timestamp: Timestamp
    recipient_id: str | None = Field(None, max_length=32)
    errors: list[WaError] = Field(default_factory=list, max_length=20)

    @property
    def code(self) -> int | None:
        """Meta's error code of a failed status (131047 window closed, 131026 undeliverable...)."""
        return self.errors[0].code if self.errors else None


# --- the envelope, as documented in the OpenAPI document --------------------------------------


class WaValue(_Meta):
    messaging_product: str = Field("whatsapp", max_length=40)
    messages: list[WaMessage] = Field(default_factory=list, max_length=MAX_ITEMS)
    statuses: list[WaStatus] = Field(default_factory=list, max_length=MAX_ITEMS)


class WaChange(_Meta):
    field: str = Field(max_length=80)
    value: WaValue


class WaEntry(_Meta):
    id: Id
    changes: list[WaChange] = Field(default_factory=list, max_length=100)


class WaDelivery(_Meta):
    """One POST from Meta: possibly several entries, each with several changes."""

    object: Literal["whatsapp_business_account"]
    entry: list[WaEntry] = Field(max_length=100)


# --- reading a delivery item by item --------------------------------------------------------


def ref(item_id: object) -> str:
    """A log-safe name for a message or status id (a wamid encodes a phone number)."""
    return hashlib.sha256(str(item_id).encode()).hexdigest()[:12] if item_id else "-"


@dataclass
class Split:
    """A delivery's items: what validated, and the refs of what did not (with the reason's type)."""

    messages: list[WaMessage] = field(default_factory=list)
    statuses: list[WaStatus] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)  # (ref, reason: pydantic error type)
    other_fields: int = 0  # changes of fields other than `messages` (not subscribed, not used)
    understood: bool = True  # False: not a WhatsApp Business delivery at all, or no entry list


def _dicts(value: Any) -> Iterator[Any]:
    yield from (value if isinstance(value, list) else [])


def split(document: Any) -> Split:
    """Walk entries and changes; validate each message and status on its own."""
    found = Split()
    if not isinstance(document, dict) or document.get("object") != "whatsapp_business_account":
        found.understood = False
        return found
    entries = document.get("entry")
    if not isinstance(entries, list) or not entries:  # `"entry": {}`, missing, empty: nothing to read
        found.understood = False
        return found
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            found.malformed.append(("-", "entry_without_changes"))
            continue
        for change in entry["changes"]:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                found.malformed.append(("-", "change_not_an_object"))
                continue
            if change.get("field") != "messages":
                found.other_fields += 1
                continue
            value = change["value"]
            found.messages += _valid(WaMessage, value.get("messages"), found.malformed)
            found.statuses += _valid(WaStatus, value.get("statuses"), found.malformed)
    return found


def _valid(model: type[M], items: Any, malformed: list[tuple[str, str]]) -> list[M]:
    valid: list[M] = []
    for item in list(_dicts(items))[:MAX_ITEMS]:
        try:
            valid.append(model.model_validate(item))
        except ValidationError as exc:
            item_id = item.get("id") if isinstance(item, dict) else None
            malformed.append((ref(item_id), exc.errors()[0]["type"]))
    return valid


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 over the raw body; an unconfigured secret accepts nothing."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send (tests, the local driver)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
