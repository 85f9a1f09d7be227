"""Human tasks: the workflow opens them with its task token (waitForTaskToken).

Agents claim and complete them through the API (`/v1/tasks/...`), the only way in for people.
"""

from ventas.container import Container
from ventas.contracts import OpenTaskEvent
from ventas.handler import stage_handler
from ventas.services import tasks


@stage_handler(OpenTaskEvent, path=("tasks", "requests"))
def handler(deps: Container, event: OpenTaskEvent) -> dict[str, str]:
    task = tasks.open_task(deps, event.kind, event.request_id, event.task_token, event.timeout_seconds, event.context)
    # Never the token: only what identifies the task.
    return {"taskId": task.task_id, "status": task.status.value}
