"""Step 1.2 for the IVR flow: a missed call, by direct Lambda invoke (resource policy:
IvrInvokePermission in infra/template.yaml). Channels hand over leads through the API only
(POST /v1/requests); the IVR may also use POST /v1/missed-calls with its API key."""

from typing import Any

from ventas.container import Container
from ventas.contracts import IvrMissedCallEvent
from ventas.handler import stage_handler
from ventas.services.intake import report_missed_call


@stage_handler(IvrMissedCallEvent)
def handler(deps: Container, event: IvrMissedCallEvent) -> dict[str, Any]:
    result = report_missed_call(deps, event.missed_call)
    return {"requestId": result.request_id, "created": result.created, "joined": result.joined}
