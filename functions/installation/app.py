"""Step 12: hand the order to Instalaciones (OPR-PAS-P02); the installation event resumes it."""

from typing import Any

from ventas.container import Container
from ventas.contracts import HandOffEvent, InstallationEvent
from ventas.handler import stage_handler
from ventas.services.events import installation_completed
from ventas.services.stages import hand_off_installation


@stage_handler(InstallationEvent)
def _handle(deps: Container, wrapper: InstallationEvent) -> dict[str, Any]:
    event = wrapper.event
    if isinstance(event, HandOffEvent):
        hand_off_installation(deps, event.request_id, event.task_token)
        return {"status": "waiting"}
    return {"status": installation_completed(deps, event.order_id, event.installed_at)}


def handler(event: dict[str, Any], context: Any) -> Any:
    return _handle({"event": event}, context)
