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
from ventas.domain.errors import (
    InstallationConflict,
    InvalidEvent,
    RequestNotFound,
    TaskConflict,
    WorkflowNotWaiting,
)
from ventas.domain.installation import InstallationCancelled, InstallationCompleted, InstallationEvent
from ventas.domain.models import SaleRequest
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.observability import logger
from ventas.services import open_tasks
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


def check_installed_at(installed_at: datetime, now: datetime) -> None:
    """An installation time (Instalaciones' event, the follow-up task's answer) may not be in the
    future beyond `CLOCK_SKEW`: the QC call would wait for it. Raises InvalidEvent (422)."""
    if installed_at > now + CLOCK_SKEW:
        raise InvalidEvent("installed_at", "la fecha de instalación no puede estar en el futuro")


class OrderNotFound(RequestNotFound):
    """No request holds this Smartflex order id."""


def report_installation(deps: Container, order_id: str, event: InstallationEvent) -> InstallationReceipt:
    """Apply one installation event to the order's request, then answer the workflow.

    Raises OrderNotFound (404), InvalidEvent (422: an installation time in the future) and
    InstallationConflict (409: the event contradicts the order's state, or a completion or a
    cancellation comes while the workflow does not wait for the installation; nothing changed).
    """
    now = deps.clock.now()
    if isinstance(event, InstallationCompleted):
        check_installed_at(event.installed_at, now)
    found = deps.requests.by_order(order_id)
    if found is None:
        raise OrderNotFound(order_id)
    waits = isinstance(event, InstallationCompleted | InstallationCancelled)
    wait = _waiting(deps, found) if waits and event.event_id not in found.installation_events else None
    qc_at = qc_slot(deps, event.installed_at) if isinstance(event, InstallationCompleted) else None

    def apply(request: SaleRequest) -> bool:
        if isinstance(event, InstallationCompleted):
            assert qc_at is not None
            return request.installation_completed(now, event.event_id, event.installed_at, qc_at)
        if isinstance(event, InstallationCancelled):
            return request.installation_cancelled(now, event.event_id, event.reason)
        return request.installation_rescheduled(now, event.event_id, event.scheduled_for)

    def apply_while_waited(request: SaleRequest) -> bool:
        applied = apply(request)
        if applied and waits and wait is None:
            # Refused, nothing saved: the request's installation and QC time must be the ones
            # the workflow acts on (its QC Wait), never a report the workflow cannot take.
            raise InstallationConflict(
                "El proceso de este pedido no está esperando la instalación en este momento: nada fue "
                "registrado. Reintente en unos minutos; si persiste, avise al centro de llamadas."
            )
        if applied and waits:
            request.take_wait("installation")  # answered below: cleared in this same save
            if wait is not None and wait.task is not None:
                request.task_closed(wait.task.task_id)  # the follow-up task is closed below
        return applied

    request, applied = update_request(deps, found.request_id, apply_while_waited, found)
    if applied and wait is not None:
        _answer_workflow(deps, request, event, wait)
    return InstallationReceipt(
        request_id=request.request_id,
        order_id=order_id,
        event_id=event.event_id,
        kind=event.kind,
        duplicate=not applied,
        qc_at=request.qc_at if isinstance(event, InstallationCompleted) else None,
    )


@dataclass(frozen=True)
class _Wait:
    """What waits for the installation: the AwaitInstallation token, or an open follow-up task."""

    token: str
    task: HumanTask | None


def _waiting(deps: Container, request: SaleRequest) -> _Wait | None:
    """The wait the workflow is blocked on for this order now, or None (it has moved on, or not
    got there yet). A stored AwaitInstallation token whose wait is gone (it timed out into the
    follow-up task) gives way to the open follow-up task the request lists, read only then."""

    def alive(wait: _Wait) -> bool:
        try:
            deps.workflow.check_waiting(wait.token)
        except WorkflowNotWaiting:
            return False
        return True

    token = request.waits.get("installation")
    if token is not None and alive(stored := _Wait(token, None)):
        return stored
    follow_ups = (
        _Wait(t.token, t) for t in open_tasks.open_of_kind(deps, request, TaskKind.INSTALLATION_FOLLOW_UP) if t.token
    )
    return next((wait for wait in follow_ups if alive(wait)), None)


def _answer_workflow(deps: Container, request: SaleRequest, event: InstallationEvent, wait: _Wait) -> None:
    """Resume (completed) or fail (cancelled) the installation wait, or the follow-up task an
    agent holds, closed with the event as its result. The installation wait may time out between
    the check and the answer: then the follow-up task it opened takes the event (and a follow-up
    opened after this, `tasks.open_task`, finds the installation on the request)."""
    answered = _answer_wait(deps, request, event, wait.token)
    if not answered and wait.task is None and (follow_up := _waiting(deps, request)) is not None:
        wait = follow_up  # the request's installation wait was taken in the save: a follow-up task
        answered = _answer_wait(deps, request, event, wait.token)
    if not answered:
        logger.warning("the installation wait ended meanwhile", extra={"request_id": request.request_id})
    task = wait.task
    if task is not None:
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


def _answer_wait(deps: Container, request: SaleRequest, event: InstallationEvent, token: str) -> bool:
    """SendTaskSuccess with the QC wait's output (completed) or SendTaskFailure (cancelled);
    False when the token no longer waits."""
    try:
        if isinstance(event, InstallationCompleted):
            assert request.qc_at is not None
            deps.workflow.resume(token, dict(qc_wait_output(deps, request.qc_at)))
        else:
            deps.workflow.fail(token, INSTALLATION_CANCELLED, "Instalación cancelada por OPR-PAS-P02")
    except WorkflowNotWaiting:
        return False
    return True


def settle_opened_follow_up(deps: Container, task: HumanTask, request: SaleRequest) -> bool:
    """A follow-up task just opened for an installation Instalaciones reported already (its
    report met the installation wait as it timed out): answer the task's wait from the request
    (the QC wait's output, or InstallationCancelled) and close the task; False when nothing was
    reported (the task stays open for an agent). `request`: as saved with the task (or read
    after it): a report saved before is in it, and a report saved after finds the task on the
    request's list (`_answer_workflow`), so either this or the report answers it."""
    kinds = set(request.installation_events.values())
    if task.token is None or (request.qc_at is None and "cancelled" not in kinds):
        return False
    event_id = next((e for e, kind in request.installation_events.items() if kind in ("completed", "cancelled")), "")
    installed = request.qc_at is not None
    try:
        if installed:
            assert request.qc_at is not None
            deps.workflow.resume(task.token, dict(qc_wait_output(deps, request.qc_at)))
        else:
            deps.workflow.fail(task.token, INSTALLATION_CANCELLED, "Instalación cancelada por OPR-PAS-P02")
    except WorkflowNotWaiting:
        logger.info("the follow-up wait was answered meanwhile", extra={"request_id": request.request_id})
    done = task.model_copy(
        update={
            "status": TaskStatus.COMPLETED,
            "assignee": "opr-pas-p02",
            "completed_at": deps.clock.now(),
            "result": {"installed": installed, "event_id": event_id},
        }
    )
    try:
        deps.tasks.transition(done, task.status)
    except TaskConflict:
        logger.info("the follow-up task changed meanwhile", extra={"request_id": request.request_id})
    return True
