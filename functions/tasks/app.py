"""Human tasks: the workflow opens them (with its token); agents claim and complete them."""

from typing import Any

from ventas.container import Container
from ventas.contracts import ClaimTaskEvent, OpenTaskEvent, TasksEvent
from ventas.handler import stage_handler
from ventas.services import tasks


@stage_handler(TasksEvent)
def _handle(deps: Container, wrapper: TasksEvent) -> dict[str, Any]:
    event = wrapper.event
    if isinstance(event, OpenTaskEvent):
        task = tasks.open_task(
            deps, event.kind, event.request_id, event.task_token, event.timeout_seconds, event.context
        )
    elif isinstance(event, ClaimTaskEvent):
        action = tasks.claim if event.action == "claim" else tasks.release
        task = action(deps, event.task_id, event.agent)
    else:
        task = tasks.complete(deps, event.task_id, event.agent, event.result)
    # Never the token: only what identifies the task.
    return {"taskId": task.task_id, "status": task.status.value}


def handler(event: dict[str, Any], context: Any) -> Any:
    return _handle({"event": event}, context)
