"""Steps 1, 1.1, 1.2, 2: a channel hands over a lead, or the IVR a missed call."""

from typing import Any

from ventas.container import Container
from ventas.contracts import IntakeEvent
from ventas.handler import stage_handler
from ventas.services.intake import report_missed_call, submit_lead


@stage_handler(IntakeEvent)
def handler(deps: Container, event: IntakeEvent) -> dict[str, Any]:
    if event.missed_call is not None:
        result = report_missed_call(deps, event.missed_call)
    else:
        assert event.lead is not None  # the model requires exactly one
        result = submit_lead(deps, event.lead)
    return {"requestId": result.request_id, "created": result.created, "joined": result.joined}
