"""What channels and agents hand over: leads, missed calls, identification and location
(procedure VENTAS DIGITALES steps 1, 1.1, 1.2, 2, 3, 5). Pure pydantic, no AWS import.

Re-exported by `ventas.domain.models`, the module most code imports them from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ventas.domain.area import SERVICE_AREA, ServiceArea
from ventas.domain.identity import CI, IvrPhone, Phone  # identity formats: ventas.domain.identity
from ventas.domain.instants import Instant


class Strict(BaseModel):
    """Base for inputs: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Channel(StrEnum):
    IVR = "ivr"
    WEB = "web"
    BOTMAKER = "botmaker"
    FACEBOOK = "facebook"
    WHATSAPP = "whatsapp"
    OTHER = "other"


class IvrLine(StrEnum):
    """Lines of step 1 (IVR option 1)."""

    L4200400 = "4200400"
    L4322205 = "4322205"
    L4001515 = "4001515"


# Decimal degrees as people type them: a decimal comma as Bolivians write numbers ("-17,3935")
# or a point ("-17.3935"), an optional sign (also the typographic minus), an optional degree sign.
_DEGREES = r"[+-]?\d{1,3}(?:[.,]\d{1,15})?"
_NUMBER = re.compile(_DEGREES)
_PAIR = re.compile(rf"\s*({_DEGREES})°?\s*(?:[,;]\s*|\s+)({_DEGREES})°?\s*")
_FORMAT = "escriba los grados con decimales, por ejemplo -17,3935 o -17.3935"


def _clean(text: str) -> str:
    return text.strip().replace("\u2212", "-").replace("°", "").replace(" ", "")


def _degrees(value: object) -> object:
    """A coordinate typed as text -> a float; a JSON number as it is. Raises a Spanish
    `coordinate_format` error for anything else (words, thousands separators, NaN, infinity)."""
    if isinstance(value, str):
        text = _clean(value)
        if not _NUMBER.fullmatch(text):
            raise PydanticCustomError("coordinate_format", _FORMAT)
        return float(text.replace(",", "."))
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise PydanticCustomError("coordinate_format", _FORMAT)
    return value


def _within(low: float, high: float, name: str) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError(
                "coordinate_range",
                "la {name} va de {low} a {high} (revise si escribió la latitud y la longitud al revés)",
                {"name": name, "low": low, "high": high},
            )
        return value

    return AfterValidator(check)


_TEXT_TOO = 'decimal degrees; text with a decimal comma ("-17,3935") is read too'
Latitude = Annotated[
    float,
    BeforeValidator(_degrees),
    _within(-90, 90, "latitud"),
    Field(description=_TEXT_TOO, json_schema_extra={"minimum": -90, "maximum": 90}),
]
Longitude = Annotated[
    float,
    BeforeValidator(_degrees),
    _within(-180, 180, "longitud"),
    Field(description=_TEXT_TOO, json_schema_extra={"minimum": -180, "maximum": 180}),
]


def split_point(text: str) -> tuple[str, str] | None:
    """`-17,3935; -66,1570` or `-17.3935, -66.1570` (a point pasted into one field) -> its
    latitude and longitude as typed; None when `text` is not such a pair."""
    found = _PAIR.fullmatch(text.replace("\u2212", "-"))
    return (found.group(1), found.group(2)) if found else None


class Location(Strict):
    """An address and its point in decimal degrees (WGS 84); text with a decimal comma is read.

    Where a point enters (a lead, the location task) the validation context carries the service
    area (`SERVICE_AREA`: `Settings.validation_context()`), and a point outside it is refused
    with a field error on the coordinates to correct (`ventas.domain.area`: type
    outside_service_area, coordinates_swapped or coordinate_sign). Without it (a stored request
    read back) only the ±90/±180 ranges apply: a change of the area never hides stored requests.
    """

    address: str = Field(min_length=3, max_length=200)
    latitude: Latitude
    longitude: Longitude

    @model_validator(mode="after")
    def _in_service_area(self, info: ValidationInfo) -> Location:
        area = info.context.get(SERVICE_AREA) if isinstance(info.context, Mapping) else None
        if isinstance(area, ServiceArea) and (refused := area.refusal(self.latitude, self.longitude)):
            # `parameters`: one field error per coordinate named (ventas.domain.errors.field_errors).
            raise PydanticCustomError(refused.code, refused.message, {"parameters": refused.fields})
        return self


class Identification(Strict):
    """What step 3 collects: the CI (3.2) and the service wanted (3.1)."""

    ci: CI
    service_code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")
    name: str | None = Field(default=None, min_length=2, max_length=120)


class Lead(Strict):
    """A lead handed over by a channel (steps 1, 1.1, 2)."""

    channel: Channel
    channel_lead_id: str = Field(min_length=1, max_length=120)
    phone: Phone
    name: str | None = Field(default=None, min_length=2, max_length=120)
    ci: CI | None = None
    service_code: str | None = Field(default=None, min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")
    location: Location | None = None

    @property
    def identified(self) -> bool:
        return self.ci is not None and self.service_code is not None


class MissedCall(Strict):
    """The IVR reports a lost call (step 1.2)."""

    caller: IvrPhone
    line: IvrLine
    called_at: Instant  # with its offset (La Paz -04:00); not in the future (services.intake)
