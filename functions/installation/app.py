"""Step 12: hand the order to Instalaciones (OPR-PAS-P02). The workflow calls it and waits on
its token; Instalaciones reports back through the API (POST /v1/orders/{order_id}/installation-events)."""

from ventas.container import Container
from ventas.contracts import HandOffEvent, WaitingOutput
from ventas.handler import stage_handler
from ventas.services.stages import hand_off_installation


@stage_handler(HandOffEvent, path=("requests", "installations"))
def handler(deps: Container, event: HandOffEvent) -> WaitingOutput:
    hand_off_installation(deps, event.request_id, event.task_token)
    return {"status": "waiting"}
