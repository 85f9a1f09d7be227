"""Steps 8, 9: ask for the requirements (the workflow waits on its token); take documents in."""

import base64
from typing import Any

from ventas.container import Container
from ventas.contracts import RequestDocumentsEvent, RequirementsEvent
from ventas.handler import stage_handler
from ventas.services.events import receive_document
from ventas.services.stages import request_documents


@stage_handler(RequirementsEvent)
def _handle(deps: Container, wrapper: RequirementsEvent) -> dict[str, Any]:
    event = wrapper.event
    if isinstance(event, RequestDocumentsEvent):
        request_documents(deps, event.request_id, event.task_token, event.reminder)
        return {"status": "waiting"}
    receipt = receive_document(
        deps,
        event.phone,
        event.media_id,
        event.mime_type,
        base64.b64decode(event.content_base64),
        event.received_at,
        event.requirement,
    )
    return {"requestId": receipt.request_id, "status": receipt.status, "missing": list(receipt.missing)}


def handler(event: dict[str, Any], context: Any) -> Any:
    return _handle({"event": event}, context)
