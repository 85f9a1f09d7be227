"""Outside events that resume a waiting workflow: documents (step 9), installation (step 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ventas.container import Container
from ventas.domain.catalogue import UNCLASSIFIED
from ventas.domain.errors import RequestNotFound, UnknownRequirement, WorkflowNotWaiting
from ventas.domain.models import Document, HistoryEntry, Step
from ventas.observability import logger
from ventas.services.concurrency import retry_on_conflict
from ventas.services.stages import advance, missing_requirements, qc_wait_until, service_of


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
) -> DocumentReceipt:
    """Step 9: store one document, tick the checklist, resume the workflow when complete.

    Duplicate deliveries (same media id) are recorded once; the token is read after the save,
    so either this event or the workflow's own check sees the complete checklist. `requirement`
    is what the caption named (`catalogue.classify`); without one (or one the service does not
    need) the document goes to the `UNCLASSIFIED` slot for an agent, never to a guessed slot.
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
        slot = requirement if service.requirement(requirement or "") else UNCLASSIFIED
        key = f"requests/{request_id}/{slot}/{media_id}"
        deps.documents.put(key, body, mime_type)  # same key on a retry: idempotent
        request.documents.append(
            Document(requirement=slot, media_id=media_id, mime_type=mime_type, received_at=received_at, object_key=key)
        )
        missing = missing_requirements(service, request)
        advance(deps, request, Step.DOCUMENTS, "document_received", requirement=slot, missing=missing)
        status = "unclassified" if slot == UNCLASSIFIED else "recorded" if missing else "complete"
        return DocumentReceipt(request_id, status, tuple(missing))

    receipt = retry_on_conflict(record)
    if receipt.status == "complete":
        _resume(deps, request_id, "documents", {})
    return receipt


def classify_document(deps: Container, request_id: str, media_id: str, requirement: str) -> DocumentReceipt:
    """An agent files an `UNCLASSIFIED` document under a requirement of the request's service;
    the checklist is evaluated again and the workflow resumes when it is complete.

    Raises UnknownRequirement (nothing changed) for a code the service does not need. Filing a
    document already filed under the same requirement is a duplicate (a retried completion).
    """

    def record() -> DocumentReceipt:
        request = deps.requests.get(request_id)
        service = service_of(deps, request)
        if service.requirement(requirement) is None:
            raise UnknownRequirement(requirement)
        document = next((d for d in request.documents if d.media_id == media_id), None)
        if document is None or document.requirement != UNCLASSIFIED:
            return DocumentReceipt(request_id, "duplicate", tuple(missing_requirements(service, request)))
        document.requirement = requirement
        missing = missing_requirements(service, request)
        detail = {"requirement": requirement, "media_id": media_id, "missing": missing}
        if request.step in (Step.REQUIREMENTS, Step.DOCUMENTS):
            advance(deps, request, Step.DOCUMENTS, "document_classified", **detail)
        else:  # the request moved on meanwhile: recorded where it stands
            request.updated_at = deps.clock.now()
            deps.requests.save(request)
            entry = HistoryEntry(at=request.updated_at, step=request.step, event="document_classified", detail=detail)
            deps.requests.append_history(request_id, entry)
        return DocumentReceipt(request_id, "recorded" if missing else "complete", tuple(missing))

    receipt = retry_on_conflict(record)
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


def installation_completed(deps: Container, order_id: str, installed_at: datetime) -> str:
    """Step 12 ends: OPR-PAS-P02 reports the installation; the QC call is scheduled (13)."""
    found = deps.requests.by_order(order_id)
    if found is None:
        raise RequestNotFound(order_id)
    request_id = found.request_id

    def record() -> dict[str, str]:
        request = deps.requests.get(request_id)
        output = qc_wait_until(deps, request, installed_at)
        advance(
            deps,
            request,
            Step.INSTALLATION,
            "installed",
            installed_at=installed_at.isoformat(),
            qc_at=str(request.qc_at),
        )
        return output

    output = retry_on_conflict(record)
    if _resume(deps, request_id, "installation", output):
        return "resumed"
    # The wait timed out: the follow-up task now carries the case.
    return "not_waiting"
