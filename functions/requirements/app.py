"""Steps 8, 9: ask for the requirements; the workflow waits on its token. Documents come in
through the WhatsApp webhook of the API (POST /v1/whatsapp/webhook), the only way in for them."""

from ventas.container import Container
from ventas.contracts import RequestDocumentsEvent, WaitingOutput
from ventas.handler import stage_handler
from ventas.services.outbound import last_attempt
from ventas.services.stages import request_documents


@stage_handler(RequestDocumentsEvent, path=("requests", "catalogue", "notifier"))
def handler(deps: Container, event: RequestDocumentsEvent) -> WaitingOutput:
    final = last_attempt(event.retry_count)
    request_documents(deps, event.request_id, event.task_token, event.reminder, final=final)
    return {"status": "waiting"}
