"""What Instalaciones y Traslados (procedure OPR-PAS-P02) reports on an order (step 12).

Each event carries the installer's own id: the same id twice is one event (a replay). Times
are timezone-aware ISO-8601 (UTC recommended).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ventas.domain.instants import Instant
from ventas.domain.models import Strict

EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="the installer's own event id: a replay of the same id changes nothing",
        examples=["OPR-2026-000123"],
    ),
]


class InstallationCompleted(Strict):
    """The service is installed: the QC call is scheduled (step 13)."""

    kind: Literal["completed"]
    event_id: EventId
    installed_at: Instant = Field(description="when it was installed; not in the future")


class InstallationCancelled(Strict):
    """The installation will not happen: the request ends as abandoned (INSTALLATION_CANCELLED)."""

    kind: Literal["cancelled"]
    event_id: EventId
    reason: str = Field(min_length=3, max_length=300, description="why, as the installer states it (no personal data)")


class InstallationRescheduled(Strict):
    """A new installation date: the request's expected completion date follows it."""

    kind: Literal["rescheduled"]
    event_id: EventId
    scheduled_for: Instant


InstallationEvent = Annotated[
    InstallationCompleted | InstallationCancelled | InstallationRescheduled, Field(discriminator="kind")
]
