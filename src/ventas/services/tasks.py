"""Human tasks: opened by the workflow with a task token, worked by agents from the inbox.

Completing is one write: the task's completion, conditional on its stored status (so a task
completes once), with what the agent recorded on the request and its history; then
SendTaskSuccess or SendTaskFailure. A task whose workflow stopped waiting is marked expired and
reported as such. Claiming and releasing are one conditional write each, with no read.
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
from ventas.domain.errors import (
    AlreadyExists,
    RequestEnded,
    TaskConflict,
    TaskNotFound,
    UnknownService,
    WorkflowNotWaiting,
)
from ventas.domain.models import Reason, ReasonCode, SaleRequest
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
from ventas.ports import TaskWrite
from ventas.services import closing, event_tasks, installations, open_tasks
from ventas.services.concurrency import update_request
from ventas.services.stages import qc_slot, qc_wait_output

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

    The task, the request's `task_opened` entry and the request's listing of the task are one
    write (`ventas.domain.open_tasks`); a retried invocation for the same wait finds its task
    listed and writes nothing. A review or follow-up (REOPENING_KINDS) re-opens at most
    `settings.max_reopenings` times, the last time escalated to the supervisor
    (`context["escalated"]`); asked once more, it opens nothing and fails the wait with
    TaskNotWorked, which the ASL turns into the request's end. RequestEnded: nothing written.
    """
    now = deps.clock.now()
    request = deps.requests.get(request_id)  # the task's glance; saved below without a re-read
    listed = open_tasks.listed(deps, request)
    if task_id_for(token) in listed:  # a retried invocation for the same wait: opened already
        return _opened(deps, deps.tasks.get(task_id_for(token)), request)
    earlier = [task_id for task_id, t in listed.items() if t.kind == kind.value]
    attempt = max((listed[task_id].attempt + 1 for task_id in earlier), default=1)
    context = dict(context or {})
    if kind in REOPENING_KINDS and attempt > deps.settings.max_reopenings:
        if attempt > deps.settings.max_reopenings + 1:
            return _not_worked(deps, kind, request, token, earlier, attempt)
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

    def opened(current: SaleRequest) -> None:
        current.advance(now, task.step, "task_opened", task_id=task.task_id, kind=kind.value, attempt=attempt)
        for replaced in earlier:
            current.task_closed(replaced)
        current.task_opened(task.task_id, kind.value, attempt)

    try:
        request, _ = update_request(deps, request_id, opened, request, tasks=[TaskWrite(task)])
    except AlreadyExists:  # a retried invocation for the same wait saved it meanwhile
        return _opened(deps, deps.tasks.get(task.task_id), deps.requests.get(request_id))
    open_tasks.expire(deps, earlier, now)
    return _opened(deps, task, request)


def _opened(deps: Container, task: HumanTask, request: SaleRequest) -> HumanTask:
    """An opened follow-up whose installation Instalaciones reported already is answered at
    once from `request` (saved with the task or read after it)."""
    if task.kind == TaskKind.INSTALLATION_FOLLOW_UP:
        installations.settle_opened_follow_up(deps, task, request)
    return task


def _not_worked(
    deps: Container, kind: TaskKind, request: SaleRequest, token: str, earlier: list[str], attempt: int
) -> HumanTask:
    """The re-opening past the limit: recorded, the earlier task expired, the wait failed."""
    now = deps.clock.now()

    def not_worked(current: SaleRequest) -> None:
        current.advance(now, TASK_STEPS[kind], "task_not_worked", kind=kind.value, attempts=attempt - 1)
        for replaced in earlier:
            current.task_closed(replaced)

    update_request(deps, request.request_id, not_worked, request)
    open_tasks.expire(deps, earlier, now)
    logger.info("task_not_worked", extra={"request_id": request.request_id, "kind": kind.value})
    with contextlib.suppress(WorkflowNotWaiting):  # a retried invocation answered it already
        deps.workflow.fail(token, TASK_NOT_WORKED, f"{kind.value}: {attempt - 1} openings, none worked")
    return HumanTask(
        task_id=task_id_for(token),
        request_id=request.request_id,
        kind=kind,
        step=TASK_STEPS[kind],
        status=TaskStatus.EXPIRED,
        created_at=now,
        due_at=now,
        attempt=attempt,
        token=token,
    )


def task_id_for(token: str) -> str:
    """One task per wait: derived from the token, so a retried open finds its task again."""
    return "tk-" + hashlib.sha256(token.encode()).hexdigest()[:16]


def claim(deps: Container, task_id: str, agent: str) -> HumanTask:
    """Take a task (`HumanTask.claimed`: when it was taken is kept, for the handling time).

    One conditional write, no read, for an open task no call-again holds for another agent; a
    call-again's reservation for `agent` stays (a release gives the task back still reserved).
    Otherwise the stored task the refusal returns decides (`HumanTask.claimed`): one the agent
    holds already is returned as it is (its claim time stays); one whose reservation has lapsed
    is taken with a second conditional write. TaskConflict (another agent's, reserved for
    another, completed), WorkflowNotWaiting (expired), TaskNotFound."""
    now = deps.clock.now()
    taken = {"status": TaskStatus.CLAIMED, "assignee": agent, "claimed_at": now}  # a reservation stays
    try:
        return deps.tasks.update(task_id, taken, [(TaskStatus.OPEN, None)], unreserved_for=agent)
    except TaskConflict as conflict:
        stored = conflict.stored
        if not isinstance(stored, HumanTask):
            raise _refused(conflict) from None
    if stored.status == TaskStatus.CLAIMED and stored.assignee == agent:
        return stored
    claimed = stored.claimed(agent, now)  # the domain's refusal, or a lapsed reservation taken
    try:
        deps.tasks.transition(claimed, stored.status, expected_assignee=stored.assignee)
    except TaskConflict as conflict:
        raise _refused(conflict) from None
    return claimed


def release(deps: Container, task_id: str, agent: str) -> HumanTask:
    """Give a task `agent` holds back to the inbox, unassigned, its claim time cleared (a
    call-again's reservation stays until `reserved_until`): one conditional write, no read. An
    open task is returned as stored (nothing to give back); otherwise errors as `claim`."""
    released = {"status": TaskStatus.OPEN, "assignee": None, "claimed_at": None}
    try:
        return deps.tasks.update(task_id, released, [(TaskStatus.CLAIMED, agent)])
    except TaskConflict as conflict:
        if isinstance(conflict.stored, HumanTask) and conflict.stored.status == TaskStatus.OPEN:
            return conflict.stored
        raise _refused(conflict) from None


def _refused(conflict: TaskConflict) -> Exception:
    """An expired task is one the workflow no longer waits for (410); other conflicts as they are."""
    if conflict.code == "expired":
        return WorkflowNotWaiting("La solicitud ya no espera esta tarea (plazo vencido).")
    return conflict


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
    `TaskConflict`, or `WorkflowNotWaiting` (the wait is gone: the task is expired). The task
    (conditional on the state read) and the request's `call_again_scheduled` entry are one write.
    The same agent asking the same time again while the task waits for it (a replayed form or
    POST: `HumanTask.rescheduled_to`) is answered with the task as it is: nothing is written and
    no reschedule is used up.
    """
    task = deps.tasks.get(task_id)
    now = deps.clock.now()
    task.check_workable(agent, now)
    wanted = CallAgain.model_validate(body)  # ValidationError: 422, nothing changed
    if task.rescheduled_to(agent, wanted.call_again_at):
        return task
    rescheduled = task.call_again(agent, now, wanted.call_again_at.astimezone(UTC), call_again_rules(deps.settings))
    request = _waiting_request(deps, task)

    def scheduled(current: SaleRequest) -> None:
        if not current.is_open:  # ended since `_waiting_request` read it
            raise RequestEnded(current.request_id, "call_again_scheduled")
        detail = {"task_id": task.task_id, "call_again_at": rescheduled.due_at.isoformat(), "by": agent}
        current.note(now, "call_again_scheduled", **detail, times=rescheduled.call_agains)

    # The task's new due time and the timeline's entry: one write (a retry cannot count twice).
    rescheduling = TaskWrite(rescheduled, task.status, task.assignee)
    try:
        update_request(deps, task.request_id, scheduled, request, tasks=[rescheduling])
    except RequestEnded:
        _expire(deps, task)
        raise WorkflowNotWaiting("La solicitud ya concluyó: no espera esta tarea.") from None
    except TaskConflict as conflict:
        raise _refused(conflict) from None
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
    # ValidationError: 422, nothing changed. The context: phone areas, the service area of a point.
    result = RESULT_MODELS[task.kind].model_validate(body, context=deps.settings.validation_context())
    if (
        isinstance(result, (IdentificationResult, CallBackResult))
        and result.service_code
        and deps.catalogue.service(result.service_code) is None
    ):
        raise UnknownService(result.service_code)
    event_tasks.check_result(deps, task, result)
    now = deps.clock.now()
    if isinstance(result, InstallationFollowUpResult) and result.installed_at:
        installations.check_installed_at(result.installed_at, now)  # InvalidEvent: 422, nothing changed
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
    qc_at = (
        qc_slot(deps, result.installed_at or now)
        if isinstance(result, InstallationFollowUpResult) and result.installed
        else None
    )
    result_ci = getattr(result, "ci", None)

    def record(current: SaleRequest) -> bool:
        _record(current, task, result, now, qc_at)
        current.task_closed(task.task_id)
        if result_ci:  # the customer's CI learnt on the call: their open# key, if still free
            current.claim_key(f"open#{deps.customer_key('ci', result_ci)}", current.request_id)
        return isinstance(result, QcResult) and closing.conclude(deps, current, now)  # 13.1 ends the sale

    # The task's completion and what the agent recorded, with its history (and for the QC call,
    # the sale's end): one write, before the workflow is answered (the next stage reads it).
    completed = TaskWrite(done, task.status, task.assignee)
    try:
        request, ended = update_request(deps, task.request_id, record, request, tasks=[completed])
    except RequestEnded:  # the execution ended after the check: nothing recorded, nothing answered
        _expire(deps, task)
        raise WorkflowNotWaiting("La solicitud ya concluyó: no espera esta tarea.") from None
    except TaskConflict as conflict:
        if conflict.code == "expired":  # its request ended meanwhile
            raise WorkflowNotWaiting("La solicitud ya no espera esta tarea.") from None
        raise
    if ended:
        closing.after_end(deps, request)
    try:
        _answer(deps, token, result, qc_at)
    except WorkflowNotWaiting:
        # The wait ended between the check and the answer: its timeout path owns the request now.
        with contextlib.suppress(TaskConflict, TaskNotFound):
            deps.tasks.update(task_id, {"status": TaskStatus.EXPIRED}, [(TaskStatus.COMPLETED, None)])
        logger.info("task completed after its workflow stopped waiting", extra={"request_id": task.request_id})
        raise
    return done


def _expire(deps: Container, task: HumanTask) -> None:
    open_tasks.expire(deps, [task.task_id], deps.clock.now())


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
