"""What channels and agents hand over: leads, missed calls, identification and location
(procedure VENTAS DIGITALES steps 1, 1.1, 1.2, 2, 3, 5). Pure pydantic, no AWS import.

Re-exported by `ventas.domain.models`, the module most code imports them from.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ventas.domain.identity import CI, IvrPhone, Phone  # identity formats: ventas.domain.identity


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


class Location(Strict):
    address: str = Field(min_length=3, max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


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
    called_at: AwareDatetime  # with its offset (La Paz -04:00); not in the future (services.intake)
