"""A request's open human tasks, from its own list (`SaleRequest.open_tasks`), with no query.

Which tasks an end or a re-opened wait expires, which contact or follow-up task is open: the
request item says (`ventas.domain.open_tasks`). A request stored before requests listed their
tasks (`open_tasks` None) asks the tasks table's `by_request` index instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime

from ventas.container import Container
from ventas.domain.errors import TaskConflict, TaskNotFound
from ventas.domain.models import SaleRequest
from ventas.domain.open_tasks import OpenTask
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.ports import TaskState

# A task that is still to be worked: open, or claimed by any agent.
WORKABLE: tuple[TaskState, ...] = ((TaskStatus.OPEN, None), (TaskStatus.CLAIMED, None))


def listed(deps: Container, request: SaleRequest) -> dict[str, OpenTask]:
    """Task id -> kind and attempt of the request's open tasks: its list (no read), or for a
    request that lists none, its open tasks from the `by_request` index (one Query)."""
    if request.open_tasks is not None:
        return dict(request.open_tasks)
    return {t.task_id: OpenTask(kind=t.kind.value, attempt=t.attempt) for t in deps.tasks.open_for(request.request_id)}


def open_of_kind(deps: Container, request: SaleRequest, kind: TaskKind) -> list[HumanTask]:
    """The request's tasks of `kind` still open or claimed: each listed one read (GetItem); the
    index's answer for a request that lists none."""
    if request.open_tasks is None:
        return [t for t in deps.tasks.open_for(request.request_id) if t.kind == kind]
    found = []
    for task_id in request.listed_of(kind.value):
        with contextlib.suppress(TaskNotFound):
            task = deps.tasks.get(task_id)
            if task.status in (TaskStatus.OPEN, TaskStatus.CLAIMED):
                found.append(task)
    return found


def expire(deps: Container, task_ids: Iterable[str], now: datetime) -> None:
    """Each task still open or claimed becomes expired (one conditional write each, no read);
    a task closed meanwhile (completed, expired) is left as it is."""
    for task_id in task_ids:
        with contextlib.suppress(TaskConflict, TaskNotFound):
            deps.tasks.update(task_id, {"status": TaskStatus.EXPIRED, "completed_at": now}, WORKABLE)
