"""The human tasks a request lists as open (pure pydantic, no AWS).

A request lists each task opened on it (task id -> kind and attempt) in the same unit as the
task's own write, and unlists it in the save that closes it (an agent's completion). An end, a
re-opened wait or a second contact task then knows the request's open tasks from the request
item alone, with no query of the tasks table (docs/architecture.md, "Access patterns").

The list may still name a task closed outside a save of its request (expired, completed by an
installation report): whoever acts on a listed task does so conditionally on its stored status.
`None`: a request stored before requests listed their tasks; its open tasks are asked of the
tasks table's `by_request` index instead (`ventas.services.open_tasks`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class OpenTask(BaseModel):
    """A listed task: its kind (a `domain.tasks.TaskKind` value) and which opening of the same
    wait it is (1 the first; a re-opened wait counts on from the task it replaces)."""

    kind: str
    attempt: int = 1


class ListsOpenTasks(BaseModel):
    """Base of the aggregate: the tasks it lists, changed only through the methods below."""

    open_tasks: dict[str, OpenTask] | None = Field(default_factory=dict)

    def task_opened(self, task_id: str, kind: str, attempt: int = 1) -> None:
        """List a task written in the same unit as the next save. A request that does not list
        its tasks (`None`) keeps not listing them: a partial list would hide the others."""
        if self.open_tasks is not None:
            self.open_tasks[task_id] = OpenTask(kind=kind, attempt=attempt)

    def task_closed(self, task_id: str) -> None:
        """Unlist a task the next save closes (or has replaced); unknown ids are ignored."""
        if self.open_tasks is not None:
            self.open_tasks.pop(task_id, None)

    def listed_of(self, kind: str) -> dict[str, OpenTask]:
        """The listed tasks of one kind (task id -> entry); empty when the request lists none."""
        return {task_id: t for task_id, t in (self.open_tasks or {}).items() if t.kind == kind}
