"""Agents: the inbox, and claim / release / complete (each resumes the waiting workflow)."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.http import Call, deps, route
from ventas.domain.errors import RequestNotFound
from ventas.domain.tasks import HumanTask
from ventas.services import queries, tasks
from ventas.web.views import TaskPage, TaskView, task_view

bp = Blueprint(__name__)


def _view(call: Call, task: HumanTask) -> TaskView:
    """The task with its glance of the request; a task opened before glances read the request."""
    assert call.principal is not None
    request = None
    if task.glance is None:
        try:
            request = deps().requests.get(task.request_id)
        except RequestNotFound:
            request = None
    return task_view(task, request, call.principal)


@route(bp, "listTasks")
def list_tasks(call: Call) -> TaskPage:
    assert call.principal is not None
    q = call.query
    items, token = queries.inbox(deps(), q.status, q.step, q.assignee, q.limit, q.page)
    return TaskPage(items=[task_view(task, None, call.principal) for task in items], next_page=token)


@route(bp, "claimTask")
def claim(call: Call) -> TaskView:
    assert call.principal is not None
    return _view(call, tasks.claim(deps(), call.params["task_id"], call.principal.subject))


@route(bp, "releaseTask")
def release(call: Call) -> TaskView:
    assert call.principal is not None
    return _view(call, tasks.release(deps(), call.params["task_id"], call.principal.subject))


@route(bp, "completeTask", body="json")
def complete(call: Call) -> TaskView:
    assert call.principal is not None
    return _view(call, tasks.complete(deps(), call.params["task_id"], call.principal.subject, call.body))


@route(bp, "callTaskAgain", body="json")
def call_again(call: Call) -> TaskView:
    """Step 1.2, "volver a llamar": validated by the service (`tasks.call_again`), as the console's form."""
    assert call.principal is not None
    return _view(call, tasks.call_again(deps(), call.params["task_id"], call.principal.subject, call.body))
