"""Product catalogue entries (entry procedure COM-GCM-P01)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Requirement(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    label: str  # shown to the customer, Spanish


class Service(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    name: str
    kind: str  # internet | tv | telephony | bundle
    speed_mbps: int | None = None
    price_bs: float = Field(ge=0)
    technologies: list[str]  # network technologies able to deliver it (FTTH, HFC, ...)
    special_features: list[str] = Field(default_factory=list)  # e.g. static_ip
    requirements: list[Requirement]


class CoverageZone(BaseModel):
    """A GIS coverage polygon's attributes."""

    model_config = ConfigDict(frozen=True)

    zone_id: str
    name: str
    technology: str
    max_speed_mbps: int
    features: list[str] = Field(default_factory=list)
