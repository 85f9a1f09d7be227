"""Steps 1, 1.1, 1.2, 2: a channel hands over a lead, or the IVR a missed call."""

from typing import Any

from ventas.container import Container
from ventas.contracts import IntakeEvent
from ventas.domain.identity import PHONE_AREAS
from ventas.handler import stage_handler
from ventas.services.intake import report_missed_call, submit_lead


def _phone_areas(deps: Container) -> dict[str, Any]:
    """A local landline takes its channel's area (Settings.phone_areas: the IVR's is 4)."""
    return {PHONE_AREAS: deps.settings.phone_areas}


@stage_handler(IntakeEvent, _phone_areas)
def handler(deps: Container, event: IntakeEvent) -> dict[str, Any]:
    if event.missed_call is not None:
        result = report_missed_call(deps, event.missed_call)
    else:
        assert event.lead is not None  # the model requires exactly one
        result = submit_lead(deps, event.lead)
    return {"requestId": result.request_id, "created": result.created, "joined": result.joined}
