"""Tasks opened by an event, not by a workflow wait (`domain.tasks.EVENT_KINDS`): no task token.

- `contact_customer`: WhatsApp refused a message (synchronously, `services.outbound`) or reported
  it failed (a webhook status, `services.whatsapp`). An agent calls the customer; completing
  records whether they were reached on the request's history. One open contact task per request:
  a second failure while it is open is recorded on the history, and the same task covers it.
  It is opened, and stays open, after the request ended too: a rejection or an abandonment
  message that did not arrive still has to reach the customer.
- `document_review`: a document whose caption did not name a requirement. The agent files it;
  the checklist is evaluated again and the documents wait resumes when it is complete.

Nothing here resumes or fails a workflow: the request goes on (or keeps waiting) meanwhile.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from ventas.container import Container
from ventas.domain.errors import AlreadyExists
from ventas.domain.models import SaleRequest
from ventas.domain.tasks import (
    EVENT_KINDS,
    TASK_STEPS,
    ContactCustomerResult,
    DocumentReviewResult,
    HumanTask,
    RequestGlance,
    TaskKind,
)
from ventas.observability import logger
from ventas.ports import TaskWrite
from ventas.services import open_tasks
from ventas.services.concurrency import update_request
from ventas.services.events import check_filable, classify_document
from ventas.services.stages import service_of


def event_task_id(kind: TaskKind, request_id: str, cause: str) -> str:
    """One task per (kind, request, cause): a replayed event finds its task again."""
    return "tk-" + hashlib.sha256(f"{kind.value}:{request_id}:{cause}".encode()).hexdigest()[:16]


def open_event_task(
    deps: Container, kind: TaskKind, request_id: str, cause: str, context: dict[str, str]
) -> HumanTask | None:
    """Open (once) a tokenless task for a request; None for a document review of an ended request.

    `cause` identifies the event (e.g. a message kind, a media id); `context` is shown to the
    agent (codes and ids only, never a phone or a CI). Due in one agent shift (Timing).
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"{kind.value} tasks are opened by the workflow")
    request = deps.requests.get(request_id)
    if not request.is_open and kind != TaskKind.CONTACT_CUSTOMER:
        return None  # a document for an ended request needs nobody; a failed closing message does
    if kind == TaskKind.CONTACT_CUSTOMER:
        already = next(iter(open_tasks.open_of_kind(deps, request, kind)), None)
        if already is not None:
            return already
    now = deps.clock.now()
    task = HumanTask(
        task_id=event_task_id(kind, request_id, cause),
        request_id=request_id,
        kind=kind,
        step=request.step if kind == TaskKind.CONTACT_CUSTOMER else TASK_STEPS[kind],
        created_at=now,
        due_at=now + timedelta(seconds=deps.settings.seconds(deps.settings.timing.agent_task_hours)),
        context=dict(context),
        glance=RequestGlance.of(request),
    )

    def opened(current: SaleRequest) -> None:
        current.note(now, "task_opened", task_id=task.task_id, kind=kind.value)
        current.task_opened(task.task_id, kind.value)

    try:  # the task, its history entry and the request's listing of it: one write
        update_request(deps, request_id, opened, request, tasks=[TaskWrite(task)])
    except AlreadyExists:
        return deps.tasks.get(task.task_id)  # a replay of the same event
    logger.info("event task opened", extra={"request_id": request_id, "kind": kind.value})
    return task


def check_result(deps: Container, task: HumanTask, result: Any) -> None:
    """Refuse (before the task is completed) a result that cannot apply: a document filed under
    a requirement the service does not need (UnknownRequirement) or one already received
    (RequirementAlreadyReceived): `events.check_filable`."""
    if isinstance(result, DocumentReviewResult):
        request = deps.requests.get(task.request_id)
        check_filable(service_of(deps, request), request, result.requirement)


def apply_result(deps: Container, task: HumanTask, result: Any, now: datetime) -> None:
    """Record a completed event task on its request; no workflow is answered."""
    if isinstance(result, DocumentReviewResult):
        media_id = task.context.get("media_id", "")
        classify_document(deps, task.request_id, media_id, result.requirement, task_id=task.task_id)
        return
    if isinstance(result, ContactCustomerResult):

        def done(request: SaleRequest) -> None:
            request.note(now, f"{task.kind.value}_done", task_id=task.task_id, reached=result.reached)
            request.task_closed(task.task_id)

        update_request(deps, task.request_id, done)
        return
    raise TypeError(f"not an event task result: {type(result).__name__}")
