"""Human tasks: opened by the workflow with a task token, worked by agents from the inbox.

Completing is a conditional write first (so a task completes once), then SendTaskSuccess or
SendTaskFailure. A task whose workflow stopped waiting is marked expired and reported as such.
Tasks opened by an event have no token: `services.event_tasks` records their result instead.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from ventas.config import Settings
from ventas.container import Container
from ventas.domain.call_again import BusinessHours, CallAgainRules
from ventas.domain.errors import AlreadyExists, RequestEnded, TaskConflict, UnknownService, WorkflowNotWaiting
from ventas.domain.models import HistoryEntry, Reason, ReasonCode, SaleRequest
from ventas.domain.tasks import (
    ESCALATED_TO,
    REOPENING_KINDS,
    RESULT_MODELS,
    TASK_STEPS,
    CallAgain,
    CallBackResult,
    HumanTask,
    IdentificationResult,
    InstallationFollowUpResult,
    LocationResult,
    ManualReviewResult,
    QcResult,
    RequestGlance,
    TaskKind,
    TaskStatus,
)
from ventas.observability import logger
from ventas.services import event_tasks, installations
from ventas.services.concurrency import update_request
from ventas.services.stages import advance, qc_slot, qc_wait_output

# Failure names the ASL catches (see statemachine/ventas_digitales.asl.json).
CUSTOMER_UNREACHABLE = "CustomerUnreachable"
TASK_NOT_WORKED = "TaskNotWorked"  # a re-opening wait nobody worked, past the limit
MANUAL_REJECTION = "ManualRejection"
INSTALLATION_CANCELLED = "InstallationCancelled"


def open_task(
    deps: Container,
    kind: TaskKind,
    request_id: str,
    token: str,
    timeout_seconds: int,
    context: dict[str, str] | None = None,
) -> HumanTask:
    """Called by the workflow (waitForTaskToken). A re-opened wait expires the earlier task.

    A review or follow-up (REOPENING_KINDS) re-opens at most `settings.max_reopenings` times,
    the last time escalated to the supervisor (`context["escalated"]`); asked once more, it opens
    nothing and fails the wait with TaskNotWorked, which the ASL turns into the request's end.
    """
    now = deps.clock.now()
    request = deps.requests.get(request_id)  # the task's glance; advanced below without a re-read
    attempt = 1
    for previous in deps.tasks.open_for(request_id):
        if previous.kind == kind and previous.task_id != task_id_for(token):
            attempt = max(attempt, previous.attempt + 1)
            expired = previous.model_copy(update={"status": TaskStatus.EXPIRED, "completed_at": now})
            with contextlib.suppress(TaskConflict):  # completed meanwhile
                deps.tasks.transition(expired, previous.status)
    context = dict(context or {})
    if kind in REOPENING_KINDS and attempt > deps.settings.max_reopenings:
        if attempt > deps.settings.max_reopenings + 1:
            advance(
                deps, request_id, TASK_STEPS[kind], "task_not_worked", request, kind=kind.value, attempts=attempt - 1
            )
            with contextlib.suppress(WorkflowNotWaiting):  # a retried invocation answered it already
                deps.workflow.fail(token, TASK_NOT_WORKED, f"{kind.value}: {attempt - 1} openings, none worked")
            return HumanTask(
                task_id=task_id_for(token),
                request_id=request_id,
                kind=kind,
                step=TASK_STEPS[kind],
                status=TaskStatus.EXPIRED,
                created_at=now,
                due_at=now,
                attempt=attempt,
                context=context,
                token=token,
            )
        context["escalated"] = ESCALATED_TO
    task = HumanTask(
        task_id=task_id_for(token),
        request_id=request_id,
        kind=kind,
        step=TASK_STEPS[kind],
        created_at=now,
        due_at=now + timedelta(seconds=timeout_seconds),
        deadline_at=now + timedelta(seconds=timeout_seconds),  # due_at moves with a call-again; this does not
        attempt=attempt,
        context=context,
        token=token,
        glance=RequestGlance.of(request),
    )
    try:
        deps.tasks.add(task)
    except AlreadyExists:
        task = deps.tasks.get(task.task_id)  # a retried invocation for the same wait
    if kind == TaskKind.INSTALLATION_FOLLOW_UP and installations.settle_opened_follow_up(deps, task):
        return task  # Instalaciones reported as the installation wait timed out: answered already
    advance(deps, request_id, task.step, "task_opened", request, task_id=task.task_id, kind=kind.value, attempt=attempt)
    return task


def task_id_for(token: str) -> str:
    """One task per wait: derived from the token, so a retried open finds its task again."""
    return "tk-" + hashlib.sha256(token.encode()).hexdigest()[:16]


def claim(deps: Container, task_id: str, agent: str) -> HumanTask:
    """Take a task (`HumanTask.claimed`: when it was taken is kept, for the handling time)."""
    task = deps.tasks.get(task_id)
    if task.status == TaskStatus.CLAIMED and task.assignee == agent:
        return task
    claimed = task.claimed(agent, deps.clock.now())
    deps.tasks.transition(claimed, TaskStatus.OPEN)
    return claimed


def release(deps: Container, task_id: str, agent: str) -> HumanTask:
    """Give a claimed task back to the inbox, unassigned (a no-op for an open one)."""
    task = deps.tasks.get(task_id)
    task.check_workable(agent, deps.clock.now())
    if task.status == TaskStatus.OPEN:
        return task
    released = task.released(agent, deps.clock.now())
    deps.tasks.transition(released, TaskStatus.CLAIMED, expected_assignee=agent)
    return released


def call_again_rules(settings: Settings) -> CallAgainRules:
    """The call-again rules (`ventas.domain.call_again`) from the settings. Business hours apply
    on the real clock only: with a compressed clock (`time_scale` > 1, local runs) a task's
    window is minutes long and the real time of day says nothing about business hours."""
    hours = BusinessHours(settings.business_open, settings.business_close, settings.business_days)
    return CallAgainRules(
        max_call_agains=settings.max_call_agains,
        grace=settings.scaled(settings.call_again_grace_minutes),
        margin=settings.scaled(settings.call_again_margin_minutes),
        business_hours=hours if settings.time_scale == 1 else None,
    )


def call_again(deps: Container, task_id: str, agent: str, body: dict[str, Any]) -> HumanTask:
    """Step 1.2: the customer answered and asked to be called again at `body["call_again_at"]`.

    The same task goes back to the inbox due at that time, reserved for `agent` until the grace
    passes (`HumanTask.call_again`); the workflow keeps waiting on the same token, with the same
    deadline. Raises ValidationError (a bad body), `CallAgainRefused` (422 on `call_again_at`),
    `TaskConflict`, or `WorkflowNotWaiting` (the wait is gone: the task is expired). Writes the
    task (conditional), then a `call_again_scheduled` entry on the request's history.
    """
    task = deps.tasks.get(task_id)
    now = deps.clock.now()
    task.check_workable(agent, now)
    wanted = CallAgain.model_validate(body)  # ValidationError: 422, nothing changed
    rescheduled = task.call_again(agent, now, wanted.call_again_at.astimezone(UTC), call_again_rules(deps.settings))
    request = _waiting_request(deps, task)
    deps.tasks.transition(rescheduled, task.status, expected_assignee=task.assignee)
    entry = HistoryEntry(
        at=now,
        step=request.step,
        event="call_again_scheduled",
        detail={
            "task_id": task.task_id,
            "call_again_at": rescheduled.due_at.isoformat(),
            "by": agent,
            "times": rescheduled.call_agains,
        },
    )
    deps.requests.append_history(task.request_id, entry)
    return rescheduled


def _waiting_request(deps: Container, task: HumanTask) -> SaleRequest:
    """The task's request, if its workflow still waits for the task's token; else the task is
    marked expired and `WorkflowNotWaiting` raised (nothing else written)."""
    request = deps.requests.get(task.request_id)
    try:
        if not request.is_open:
            raise WorkflowNotWaiting("La solicitud ya concluyó: no espera esta tarea.")
        if task.token is not None:
            deps.workflow.check_waiting(task.token)  # nothing is written for a wait that is gone
    except WorkflowNotWaiting:
        _expire(deps, task)
        raise
    return request


def complete(deps: Container, task_id: str, agent: str, body: dict[str, Any]) -> HumanTask:
    """Validate the body for the task's kind, check the workflow still waits, record, answer.

    When the request has ended or the workflow no longer waits for the task's token (timed out,
    execution stopped), the task is marked expired and `WorkflowNotWaiting` is raised with
    nothing else written. Then the task's conditional write (a task completes once), the request
    with its history entry in one write, and SendTaskSuccess/Failure.
    """
    task = deps.tasks.get(task_id)
    task.check_workable(agent, deps.clock.now())
    result = RESULT_MODELS[task.kind].model_validate(body)  # ValidationError: 422, nothing changed
    if (
        isinstance(result, (IdentificationResult, CallBackResult))
        and result.service_code
        and deps.catalogue.service(result.service_code) is None
    ):
        raise UnknownService(result.service_code)
    event_tasks.check_result(deps, task, result)
    now = deps.clock.now()
    done = task.model_copy(
        update={
            "status": TaskStatus.COMPLETED,
            "assignee": agent,
            "completed_at": now,
            "result": result.model_dump(mode="json"),
            "reserved_for": None,
            "reserved_until": None,
        }
    )
    if task.token is None:  # an event task (services.event_tasks): no workflow waits on it
        deps.tasks.transition(done, task.status, expected_assignee=task.assignee)
        event_tasks.apply_result(deps, task, result, now)
        return done
    token = task.token
    request = _waiting_request(deps, task)
    try:
        deps.tasks.transition(done, task.status, expected_assignee=task.assignee)
    except TaskConflict:
        if deps.tasks.get(task_id).status == TaskStatus.EXPIRED:  # its request ended meanwhile
            raise WorkflowNotWaiting("La solicitud ya no espera esta tarea.") from None
        raise
    qc_at = (
        qc_slot(deps, result.installed_at or now)
        if isinstance(result, InstallationFollowUpResult) and result.installed
        else None
    )
    # Saved before the workflow is answered: the next stage reads what the agent recorded.
    try:
        update_request(deps, task.request_id, lambda r: _record(r, task, result, now, qc_at), request)
    except RequestEnded:  # the execution ended after the check: nothing recorded, nothing answered
        with contextlib.suppress(TaskConflict):
            deps.tasks.transition(done.model_copy(update={"status": TaskStatus.EXPIRED}), TaskStatus.COMPLETED)
        raise WorkflowNotWaiting("La solicitud ya concluyó: no espera esta tarea.") from None
    if result_ci := getattr(result, "ci", None):
        deps.requests.claim_key(f"open#{deps.customer_key('ci', result_ci)}", task.request_id)
    try:
        _answer(deps, token, result, qc_at)
    except WorkflowNotWaiting:
        # The wait ended between the check and the answer: its timeout path owns the request now.
        expired = done.model_copy(update={"status": TaskStatus.EXPIRED})
        deps.tasks.transition(expired, TaskStatus.COMPLETED)
        logger.info("task completed after its workflow stopped waiting", extra={"request_id": task.request_id})
        raise
    return done


def _expire(deps: Container, task: HumanTask) -> None:
    expired = task.model_copy(update={"status": TaskStatus.EXPIRED, "completed_at": deps.clock.now()})
    with contextlib.suppress(TaskConflict):
        deps.tasks.transition(expired, task.status)


def _answer(deps: Container, token: str, result: Any, qc_at: datetime | None) -> None:
    """SendTaskSuccess or SendTaskFailure for the agent's result (WorkflowNotWaiting if none waits)."""
    if isinstance(result, CallBackResult) and not result.reached:
        deps.workflow.fail(token, CUSTOMER_UNREACHABLE, "El cliente no contestó la llamada")
    elif isinstance(result, ManualReviewResult) and result.decision == "reject":
        deps.workflow.fail(token, MANUAL_REJECTION, (result.reason or ReasonCode.MANUAL_REJECTION).value)
    elif isinstance(result, InstallationFollowUpResult) and not result.installed:
        deps.workflow.fail(token, INSTALLATION_CANCELLED, "Instalación cancelada")
    elif qc_at is not None:
        deps.workflow.resume(token, dict(qc_wait_output(deps, qc_at)))
    else:
        deps.workflow.resume(token, {})


def _record(request: SaleRequest, task: HumanTask, result: Any, now: datetime, qc_at: datetime | None) -> None:
    """What the agent did, on the request (the aggregate's transitions)."""
    event = f"{task.kind.value}_done"
    if isinstance(result, CallBackResult) and not result.reached:
        request.advance(now, task.step, event, reached=False)
    elif isinstance(result, (IdentificationResult, CallBackResult)):
        request.identify(result.ci, result.service_code, result.name)
        request.advance(now, task.step, event)
    elif isinstance(result, LocationResult):
        request.location = result.location
        request.advance(now, task.step, event)
    elif isinstance(result, ManualReviewResult):
        request.manual_reviews += 1
        if result.decision == "reject":
            why = Reason.of(result.reason or ReasonCode.MANUAL_REJECTION)
            request.advance(now, task.step, event, why=why, decision="reject")
        else:
            request.advance(now, task.step, event, decision="retry")
    elif isinstance(result, InstallationFollowUpResult):
        if qc_at is None:
            request.advance(now, task.step, event, installed=False)
        else:
            request.record_installation(result.installed_at or now, qc_at)
            request.advance(now, task.step, event, installed=True, qc_at=qc_at.isoformat())
    elif isinstance(result, QcResult):
        request.satisfaction = result.satisfaction
        request.advance(now, task.step, event)
    else:
        request.advance(now, task.step, event)
