"""Step 1.2 by direct invoke: the IVR flow reports a missed call (leads come through the API)."""

from typing import Any

from ventas.container import Container
from ventas.contracts import IvrMissedCallEvent
from ventas.handler import stage_handler
from ventas.services.intake import report_missed_call


def _context(deps: Container) -> dict[str, Any]:
    """A local landline takes its channel's area (Settings.phone_areas: the IVR's is 4)."""
    return deps.settings.validation_context()


@stage_handler(IvrMissedCallEvent, _context, path=("requests", "catalogue", "workflow"))
def handler(deps: Container, event: IvrMissedCallEvent) -> dict[str, Any]:
    result = report_missed_call(deps, event.missed_call)
    return {"requestId": result.request_id, "created": result.created, "joined": result.joined}
