"""Human tasks: opened by the workflow with a task token, worked by agents from the inbox.

Completing is a conditional write first (so a task completes once), then SendTaskSuccess or
SendTaskFailure. A task whose workflow stopped waiting is marked expired and reported as such.
Tasks opened by an event have no token: `services.event_tasks` records their result instead.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta
from typing import Any

from ventas.container import Container
from ventas.domain.errors import AlreadyExists, TaskConflict, UnknownService, WorkflowNotWaiting
from ventas.domain.models import Reason, ReasonCode
from ventas.domain.tasks import (
    RESULT_MODELS,
    TASK_STEPS,
    CallBackResult,
    HumanTask,
    IdentificationResult,
    InstallationFollowUpResult,
    LocationResult,
    ManualReviewResult,
    QcResult,
    TaskKind,
    TaskStatus,
)
from ventas.observability import logger
from ventas.services import event_tasks
from ventas.services.concurrency import retry_on_conflict
from ventas.services.stages import advance, qc_wait_until

# Failure names the ASL catches (see statemachine/ventas_digitales.asl.json).
CUSTOMER_UNREACHABLE = "CustomerUnreachable"
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
    """Called by the workflow (waitForTaskToken). A re-opened wait expires the earlier task."""
    now = deps.clock.now()
    attempt = 1
    for previous in deps.tasks.open_for(request_id):
        if previous.kind == kind and previous.task_id != task_id_for(token):
            attempt = max(attempt, previous.attempt + 1)
            expired = previous.model_copy(update={"status": TaskStatus.EXPIRED, "completed_at": now})
            with contextlib.suppress(TaskConflict):  # completed meanwhile
                deps.tasks.transition(expired, previous.status)
    task = HumanTask(
        task_id=task_id_for(token),
        request_id=request_id,
        kind=kind,
        step=TASK_STEPS[kind],
        created_at=now,
        due_at=now + timedelta(seconds=timeout_seconds),
        attempt=attempt,
        context=dict(context or {}),
        token=token,
    )
    try:
        deps.tasks.add(task)
    except AlreadyExists:
        task = deps.tasks.get(task.task_id)  # a retried invocation for the same wait
    request = deps.requests.get(request_id)
    advance(deps, request, task.step, "task_opened", task_id=task.task_id, kind=kind.value, attempt=attempt)
    return task


def task_id_for(token: str) -> str:
    """One task per wait: derived from the token, so a retried open finds its task again."""
    return "tk-" + hashlib.sha256(token.encode()).hexdigest()[:16]


def claim(deps: Container, task_id: str, agent: str) -> HumanTask:
    task = deps.tasks.get(task_id)
    if task.status == TaskStatus.CLAIMED and task.assignee == agent:
        return task
    _check_workable(task, agent)
    claimed = task.model_copy(update={"status": TaskStatus.CLAIMED, "assignee": agent})
    deps.tasks.transition(claimed, TaskStatus.OPEN)
    return claimed


def release(deps: Container, task_id: str, agent: str) -> HumanTask:
    task = deps.tasks.get(task_id)
    _check_workable(task, agent)
    if task.status == TaskStatus.OPEN:
        return task
    released = task.model_copy(update={"status": TaskStatus.OPEN, "assignee": None})
    deps.tasks.transition(released, TaskStatus.CLAIMED, expected_assignee=agent)
    return released


def _check_workable(task: HumanTask, agent: str) -> None:
    if task.status == TaskStatus.COMPLETED:
        raise TaskConflict("La tarea ya fue completada.", "already_completed")
    if task.status == TaskStatus.EXPIRED:
        raise WorkflowNotWaiting("La solicitud ya no espera esta tarea (plazo vencido).")
    if task.status == TaskStatus.CLAIMED and task.assignee != agent:
        raise TaskConflict("La tarea está asignada a otro agente.", "claimed_by_other")


def complete(deps: Container, task_id: str, agent: str, body: dict[str, Any]) -> HumanTask:
    """Validate the body for the task's kind, complete once, then resume the workflow."""
    task = deps.tasks.get(task_id)
    _check_workable(task, agent)
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
        }
    )
    deps.tasks.transition(done, task.status, expected_assignee=task.assignee)
    try:
        retry_on_conflict(lambda: _apply(deps, task, result, now))
    except WorkflowNotWaiting:
        expired = done.model_copy(update={"status": TaskStatus.EXPIRED})
        deps.tasks.transition(expired, TaskStatus.COMPLETED)
        logger.info("task completed after its workflow stopped waiting", extra={"request_id": task.request_id})
        raise
    return done


def _apply(deps: Container, task: HumanTask, result: Any, now: datetime) -> None:
    """Record what the agent did on the request, then answer the waiting workflow."""
    if task.token is None:
        event_tasks.apply_result(deps, task, result, now)
        return
    request = deps.requests.get(task.request_id)
    event = f"{task.kind.value}_done"
    if isinstance(result, CallBackResult) and not result.reached:
        advance(deps, request, task.step, event, reached=False)
        deps.workflow.fail(task.token, CUSTOMER_UNREACHABLE, "El cliente no contestó la llamada")
        return
    if isinstance(result, (IdentificationResult, CallBackResult)):
        request.ci = result.ci
        request.service_code = result.service_code
        request.name = result.name or request.name
        if request.ci:
            deps.requests.claim_key(f"open#{deps.customer_key('ci', request.ci)}", request.request_id)
    elif isinstance(result, LocationResult):
        request.location = result.location
    elif isinstance(result, ManualReviewResult):
        request.manual_reviews += 1
        if result.decision == "reject":
            request.reason = Reason.of(result.reason or ReasonCode.MANUAL_REJECTION)
            advance(deps, request, task.step, event, decision="reject")
            deps.workflow.fail(task.token, MANUAL_REJECTION, request.reason.code.value)
            return
    elif isinstance(result, InstallationFollowUpResult):
        if not result.installed:
            advance(deps, request, task.step, event, installed=False)
            deps.workflow.fail(task.token, INSTALLATION_CANCELLED, "Instalación cancelada")
            return
        output = qc_wait_until(deps, request, result.installed_at or now)
        advance(deps, request, task.step, event, installed=True)
        deps.workflow.resume(task.token, output)
        return
    elif isinstance(result, QcResult):
        request.satisfaction = result.satisfaction
    advance(deps, request, task.step, event)
    deps.workflow.resume(task.token, {})
