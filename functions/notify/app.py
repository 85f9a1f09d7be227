"""Steps 14, 14.1 (rejection) and abandonment: tell the customer why, close the request."""

from ventas.container import Container
from ventas.contracts import NotifyEvent, OutcomeOutput
from ventas.handler import stage_handler
from ventas.services.closing import abandon, reject
from ventas.services.outbound import last_attempt


@stage_handler(NotifyEvent, path=("requests", "tasks", "notifier"))
def handler(deps: Container, event: NotifyEvent) -> OutcomeOutput:
    final = last_attempt(event.retry_count)  # WhatsApp still down: a contact task, not a failure
    if event.action == "reject":
        return reject(deps, event.request_id, final=final)
    return abandon(deps, event.request_id, event.error or "States.Timeout", final=final)
