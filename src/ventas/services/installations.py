"""Step 12's outside events: Instalaciones (OPR-PAS-P02) reports on an order through the API.

completed -> the QC call is scheduled (step 13) and the workflow's installation wait resumes;
cancelled -> the wait fails with InstallationCancelled, the workflow abandons the request;
rescheduled -> the expected completion date moves; the workflow keeps waiting.
The event is recorded on the request (with its id, in the same write as its history entry)
before the workflow is answered; a replay of an event id answers as the first time did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ventas.container import Container
from ventas.domain.errors import InvalidEvent, RequestNotFound, TaskConflict, WorkflowNotWaiting
from ventas.domain.installation import InstallationCancelled, InstallationCompleted, InstallationEvent
from ventas.domain.models import SaleRequest
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.observability import logger
from ventas.services.concurrency import update_request
from ventas.services.stages import qc_slot, qc_wait_output

CLOCK_SKEW = timedelta(minutes=5)  # an installer's clock a little ahead is not "the future"
INSTALLATION_CANCELLED = "InstallationCancelled"  # the ASL's Catch name


@dataclass(frozen=True)
class InstallationReceipt:
    request_id: str
    order_id: str
    event_id: str
    kind: str
    duplicate: bool
    qc_at: datetime | None


class OrderNotFound(RequestNotFound):
    """No request holds this Smartflex order id."""


def report_installation(deps: Container, order_id: str, event: InstallationEvent) -> InstallationReceipt:
    """Apply one installation event to the order's request, then answer the workflow.

    Raises OrderNotFound (404), InvalidEvent (422: an installation time in the future) and
    InstallationConflict (409: the event contradicts the order's state; nothing changed).
    """
    now = deps.clock.now()
    if isinstance(event, InstallationCompleted) and event.installed_at > now + CLOCK_SKEW:
        raise InvalidEvent("installed_at", "la fecha de instalación no puede estar en el futuro")
    found = deps.requests.by_order(order_id)
    if found is None:
        raise OrderNotFound(order_id)
    qc_at = qc_slot(deps, event.installed_at) if isinstance(event, InstallationCompleted) else None

    def apply(request: SaleRequest) -> tuple[bool, str | None]:
        """Whether the event applied, and the installation wait's token it takes (same save)."""
        if isinstance(event, InstallationCompleted):
            assert qc_at is not None
            applied = request.installation_completed(now, event.event_id, event.installed_at, qc_at)
        elif isinstance(event, InstallationCancelled):
            applied = request.installation_cancelled(now, event.event_id, event.reason)
        else:
            return request.installation_rescheduled(now, event.event_id, event.scheduled_for), None
        return applied, request.take_wait("installation") if applied else None

    request, (applied, token) = update_request(deps, found.request_id, apply, found)
    if applied:
        _answer_workflow(deps, request, event, token)
    return InstallationReceipt(
        request_id=request.request_id,
        order_id=order_id,
        event_id=event.event_id,
        kind=event.kind,
        duplicate=not applied,
        qc_at=request.qc_at if isinstance(event, InstallationCompleted) else None,
    )


def _answer_workflow(deps: Container, request: SaleRequest, event: InstallationEvent, token: str | None) -> None:
    """Resume (completed) or fail (cancelled) the installation wait with its `token`, taken
    from the request in the event's save; when the wait had timed out (no token kept), the
    follow-up task an agent holds is answered instead, and closed with the event as result."""
    if not isinstance(event, InstallationCompleted | InstallationCancelled):
        return  # rescheduled: the workflow keeps waiting
    if token is not None and _answer(deps, request, event, token):
        return
    # The wait timed out (its token, if kept, is no longer awaited): the follow-up task's wait.
    task = next((t for t in deps.tasks.open_for(request.request_id) if t.kind == TaskKind.INSTALLATION_FOLLOW_UP), None)
    if task is None or task.token is None:
        logger.info("no installation wait to answer", extra={"request_id": request.request_id})
        return
    _answer(deps, request, event, task.token)
    done = task.model_copy(
        update={
            "status": TaskStatus.COMPLETED,
            "assignee": "opr-pas-p02",
            "completed_at": deps.clock.now(),
            "result": {"installed": isinstance(event, InstallationCompleted), "event_id": event.event_id},
        }
    )
    try:
        deps.tasks.transition(done, task.status)
    except TaskConflict:
        logger.info("the follow-up task changed meanwhile", extra={"request_id": request.request_id})


def _answer(deps: Container, request: SaleRequest, event: InstallationEvent, token: str) -> bool:
    """Resume (completed) or fail (cancelled) one wait; False when it is no longer awaited."""
    try:
        if isinstance(event, InstallationCompleted):
            assert request.qc_at is not None
            deps.workflow.resume(token, dict(qc_wait_output(deps, request.qc_at)))
        else:
            deps.workflow.fail(token, INSTALLATION_CANCELLED, "Instalación cancelada por OPR-PAS-P02")
    except WorkflowNotWaiting:
        logger.info("the installation wait is gone", extra={"request_id": request.request_id})
        return False
    return True
