"""Outside events that resume a waiting workflow: documents (step 9), installation (step 12)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ventas.container import Container
from ventas.domain.catalogue import UNCLASSIFIED, Service
from ventas.domain.errors import RequestEnded, RequirementAlreadyReceived, UnknownRequirement, WorkflowNotWaiting
from ventas.domain.models import Document, SaleRequest, Step
from ventas.observability import logger
from ventas.services.concurrency import retry_on_conflict
from ventas.services.stages import missing_requirements, service_of


@dataclass(frozen=True)
class DocumentReceipt:
    request_id: str | None
    status: str  # recorded | unclassified | duplicate | complete | unknown_sender | not_expected
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
    loaded: SaleRequest | None = None,
    seen: str | None = None,
) -> DocumentReceipt:
    """Step 9: store one document, tick the checklist, resume the workflow when complete.

    Duplicate deliveries (same media id) are recorded once; the token is read after the save,
    so either this event or the workflow's own check sees the complete checklist. `requirement`
    is what the caption named (`catalogue.classify`); without one (or one the service does not
    need) the document goes to the `UNCLASSIFIED` slot for an agent, never to a guessed slot.
    `loaded`: the sender's open request as the caller just read it (its first attempt reads
    nothing); `seen`: a lookup key bound to the request in the document's own save (the
    delivery's marker).
    """
    request_id = loaded.request_id if loaded is not None else open_request_for_phone(deps, phone)
    if request_id is None:
        return DocumentReceipt(None, "unknown_sender")
    first = [loaded] if loaded is not None else []

    def record() -> tuple[DocumentReceipt, str | None]:
        request = first.pop() if first else deps.requests.get(request_id)
        if any(d.media_id == media_id for d in request.documents):
            return DocumentReceipt(request_id, "duplicate"), None
        service = service_of(deps, request)
        missing = missing_requirements(service, request)
        if not missing:
            return DocumentReceipt(request_id, "not_expected"), None
        slot = requirement if service.requirement(requirement or "") else UNCLASSIFIED
        key = f"requests/{request_id}/{slot}/{media_id}"
        deps.documents.put(key, body, mime_type)  # same key on a retry: idempotent
        request.documents.append(
            Document(requirement=slot, media_id=media_id, mime_type=mime_type, received_at=received_at, object_key=key)
        )
        missing = missing_requirements(service, request)
        token = None if missing else request.take_wait("documents")
        if seen is not None:
            request.bind_key(seen, request_id)
        _record(deps, request, "document_received", requirement=slot, missing=missing)
        status = "unclassified" if slot == UNCLASSIFIED else "recorded" if missing else "complete"
        return DocumentReceipt(request_id, status, tuple(missing)), token

    return _settle(deps, request_id, record)


def classify_document(
    deps: Container, request_id: str, media_id: str, requirement: str, task_id: str | None = None
) -> DocumentReceipt:
    """An agent files an `UNCLASSIFIED` document under a requirement of the request's service;
    the checklist is evaluated again and the workflow resumes when it is complete. `task_id`:
    the review task this completes, unlisted from the request in the same save.

    Raises UnknownRequirement or RequirementAlreadyReceived (`check_filable`; nothing changed).
    Filing a document already filed is a duplicate (a retried completion).
    """

    def record() -> tuple[DocumentReceipt, str | None]:
        request = deps.requests.get(request_id)
        service = service_of(deps, request)
        if service.requirement(requirement) is None:
            raise UnknownRequirement(requirement)
        document = next((d for d in request.documents if d.media_id == media_id), None)
        if document is None or document.requirement != UNCLASSIFIED:
            return DocumentReceipt(request_id, "duplicate", tuple(missing_requirements(service, request))), None
        check_filable(service, request, requirement)
        document.requirement = requirement
        if task_id is not None:
            request.task_closed(task_id)
        missing = missing_requirements(service, request)
        token = None if missing else request.take_wait("documents")
        _record(deps, request, "document_classified", requirement=requirement, media_id=media_id, missing=missing)
        return DocumentReceipt(request_id, "recorded" if missing else "complete", tuple(missing)), token

    return _settle(deps, request_id, record)


def check_filable(service: Service, request: SaleRequest, requirement: str) -> None:
    """An unclassified document may be filed under `requirement` only when the request's service
    needs it and it is still missing. Raises UnknownRequirement (422) or
    RequirementAlreadyReceived (409, a Spanish message naming what is still missing)."""
    wanted = service.requirement(requirement)
    if wanted is None:
        raise UnknownRequirement(requirement)
    missing = missing_requirements(service, request)
    if requirement in missing:
        return
    if not missing:
        message = f"Ya se recibieron todos los requisitos de esta solicitud, también «{wanted.label}»."
    else:
        names = ", ".join(f"«{q.label}»" for q in service.requirements if q.code in missing)
        message = f"Ya se recibió «{wanted.label}» para esta solicitud; elija un requisito que falte: {names}."
    raise RequirementAlreadyReceived(requirement, message)


def _settle(
    deps: Container, request_id: str, record: Callable[[], tuple[DocumentReceipt, str | None]]
) -> DocumentReceipt:
    """Run a document change (retried on a conflict); when it completed the checklist, the
    documents wait's token was taken in the same save: resume the workflow with it. A request
    that ended meanwhile keeps nothing."""
    try:
        receipt, token = retry_on_conflict(record)
    except RequestEnded:  # it ended between the key lookup and the save: nothing is kept
        return DocumentReceipt(request_id, "not_expected")
    if token is not None:
        try:
            deps.workflow.resume(token, {})
        except WorkflowNotWaiting:
            logger.info("the workflow no longer waits", extra={"request_id": request_id, "wait": "documents"})
    return receipt


def _record(deps: Container, request: SaleRequest, event: str, **detail: Any) -> None:
    """Save a document event with its history entry: at step 9 while the workflow asks for
    documents (8, 9); elsewhere where the request stands, its step and state unchanged (a
    document sent before step 8, after the workflow moved on, or to a request held as a possible
    duplicate, whose workflow has not started: it stays held, in the agents' duplicates queue)."""
    now = deps.clock.now()
    if request.step in (Step.REQUIREMENTS, Step.DOCUMENTS) and request.possible_duplicate_of is None:
        request.advance(now, Step.DOCUMENTS, event, **detail)
    else:
        request.note(now, event, **detail)
    deps.requests.save(request)
