"""Outside events that resume a waiting workflow: documents (step 9), installation (step 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ventas.container import Container
from ventas.domain.errors import RequestEnded, WorkflowNotWaiting
from ventas.domain.models import Document, Step
from ventas.observability import logger
from ventas.services.concurrency import retry_on_conflict
from ventas.services.stages import missing_requirements, service_of


@dataclass(frozen=True)
class DocumentReceipt:
    request_id: str | None
    status: str  # recorded | duplicate | complete | unknown_sender | not_expected
    missing: tuple[str, ...] = ()


def open_request_for_phone(deps: Container, phone: str) -> str | None:
    """The open request of a sender, through the keyed hash of the phone (never in clear)."""
    return deps.requests.lookup_key(f"open#{deps.customer_key('phone', phone)}")


def receive_document(
    deps: Container,
    phone: str,
    media_id: str,
    mime_type: str,
    body: bytes,
    received_at: datetime,
    requirement: str | None = None,
) -> DocumentReceipt:
    """Step 9: store one document, tick the checklist, resume the workflow when complete.

    Duplicate deliveries (same media id) are recorded once; the token is read after the save,
    so either this event or the workflow's own check sees the complete checklist.
    """
    request_id = open_request_for_phone(deps, phone)
    if request_id is None:
        return DocumentReceipt(None, "unknown_sender")

    def record() -> DocumentReceipt:
        request = deps.requests.get(request_id)
        if any(d.media_id == media_id for d in request.documents):
            return DocumentReceipt(request_id, "duplicate")
        service = service_of(deps, request)
        missing = missing_requirements(service, request)
        if not missing:
            return DocumentReceipt(request_id, "not_expected")
        slot = requirement if requirement in missing else missing[0]
        key = f"requests/{request_id}/{slot}/{media_id}"
        deps.documents.put(key, body, mime_type)  # same key on a retry: idempotent
        request.documents.append(
            Document(requirement=slot, media_id=media_id, mime_type=mime_type, received_at=received_at, object_key=key)
        )
        missing = missing_requirements(service, request)
        request.advance(deps.clock.now(), Step.DOCUMENTS, "document_received", requirement=slot, missing=missing)
        deps.requests.save(request)
        return DocumentReceipt(request_id, "recorded" if missing else "complete", tuple(missing))

    try:
        receipt = retry_on_conflict(record)
    except RequestEnded:  # it ended between the key lookup and the save: nothing is kept
        return DocumentReceipt(request_id, "not_expected")
    if receipt.status == "complete":
        _resume(deps, request_id, "documents", {})
    return receipt


def _resume(deps: Container, request_id: str, wait: str, output: dict[str, str]) -> bool:
    """Answer a workflow wait whose token is kept on the request; False if none waits."""
    token = deps.requests.get_token(request_id, wait)
    if token is None:
        return False
    try:
        deps.workflow.resume(token, output)
    except WorkflowNotWaiting:
        logger.info("the workflow no longer waits", extra={"request_id": request_id, "wait": wait})
        return False
    finally:
        deps.requests.set_token(request_id, wait, None)
    return True
