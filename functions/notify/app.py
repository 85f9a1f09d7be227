"""Steps 14, 14.1 (rejection) and abandonment: tell the customer why, close the request."""

from ventas.container import Container
from ventas.contracts import NotifyEvent, OutcomeOutput
from ventas.handler import stage_handler
from ventas.services.closing import abandon, reject


@stage_handler(NotifyEvent, path=("requests", "tasks", "notifier"))
def handler(deps: Container, event: NotifyEvent) -> OutcomeOutput:
    if event.action == "reject":
        return reject(deps, event.request_id)
    return abandon(deps, event.request_id, event.error or "States.Timeout")
