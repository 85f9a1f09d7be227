"""Tasks opened by an event (no task token): contact_customer and document_review."""

from __future__ import annotations

import pytest

from tests.unit.test_repositories import Repos, client, repos
from tests.unit.test_stages import CENTRO, new_request
from tests.unit.whatsapp_fakes import ScriptedNotifier
from ventas.adapters.fakes import InMemoryWorkflow
from ventas.container import Container
from ventas.domain.errors import TaskConflict, WhatsAppRejected
from ventas.domain.models import OrderState, Step
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.services import closing, event_tasks, tasks

__all__ = ["client", "repos"]


def identified(deps: Container) -> str:
    return new_request(deps, ci="4567890 CB", service_code="TV_CABLE", location=CENTRO)


def contact(deps: Container, request_id: str, cause: str = "failed:requirements_request") -> HumanTask | None:
    return event_tasks.open_event_task(
        deps, TaskKind.CONTACT_CUSTOMER, request_id, cause, {"cause": "message_failed", "meta_code": "131026"}
    )


def test_a_contact_task_is_opened_once_per_request_while_open_and_due_in_one_shift(deps: Container) -> None:
    request_id = identified(deps)
    first = contact(deps, request_id)
    again = contact(deps, request_id, cause="failed:requirements_reminder")  # another failure meanwhile
    assert first == again
    assert first is not None
    assert first.token is None
    assert not first.waited_on
    assert first.step == deps.requests.get(request_id).step
    hours = (first.due_at - first.created_at).total_seconds() / 3600
    assert hours == deps.settings.timing.agent_task_hours
    opened = [h for h in deps.requests.history(request_id) if h.event == "task_opened"]
    assert len(opened) == 1


def test_completing_a_contact_task_records_it_and_answers_no_workflow(deps: Container) -> None:
    request_id = identified(deps)
    task = contact(deps, request_id)
    assert task is not None
    tasks.claim(deps, task.task_id, "agente.ana")
    done = tasks.complete(deps, task.task_id, "agente.ana", {"reached": False, "comment": "No contesta"})
    assert done.status == TaskStatus.COMPLETED
    assert done.result == {"kind": "contact_customer", "reached": False, "comment": "No contesta"}
    (entry,) = [h for h in deps.requests.history(request_id) if h.event == "contact_customer_done"]
    assert entry.detail == {"task_id": done.task_id, "reached": False}  # the comment stays on the task
    assert isinstance(deps.workflow, InMemoryWorkflow)
    assert deps.workflow.answers == []
    request = deps.requests.get(request_id)
    assert request.status in (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS)
    with pytest.raises(TaskConflict):
        tasks.complete(deps, done.task_id, "agente.ana", {"reached": True, "comment": "x"})


def test_a_contact_task_outlives_the_request_and_a_review_of_an_ended_one_is_not_opened(deps: Container) -> None:
    request_id = identified(deps)
    task = contact(deps, request_id)
    review = event_tasks.open_event_task(deps, TaskKind.DOCUMENT_REVIEW, request_id, "media-a", {"media_id": "a"})
    assert task is not None
    assert review is not None
    closing.reject(deps, request_id)
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN  # the customer still has to be told
    assert deps.tasks.get(review.task_id).status == TaskStatus.EXPIRED
    assert contact(deps, request_id, cause="failed:rejection") == deps.tasks.get(task.task_id)
    late = event_tasks.open_event_task(deps, TaskKind.DOCUMENT_REVIEW, request_id, "media-b", {"media_id": "b"})
    assert late is None


def test_a_refused_rejection_message_leaves_an_open_contact_task_on_the_ended_request(deps: Container) -> None:
    request_id = identified(deps)
    notifier = ScriptedNotifier(answers={"rejection": [WhatsAppRejected("Meta error 131026", 400, 131026)]})
    deps.notifier = notifier
    assert closing.reject(deps, request_id) == {"outcome": "rejected"}
    (task,) = deps.tasks.open_for(request_id)
    assert (task.kind, task.context["message"]) == (TaskKind.CONTACT_CUSTOMER, "rejection")
    assert deps.requests.get(request_id).status == OrderState.REJECTED


def test_workflow_kinds_are_not_opened_by_events(deps: Container) -> None:
    with pytest.raises(ValueError, match="opened by the workflow"):
        event_tasks.open_event_task(deps, TaskKind.QC_CALL, identified(deps), "x", {})


def test_a_document_review_task_is_one_per_document(deps: Container) -> None:
    request_id = identified(deps)
    a = event_tasks.open_event_task(deps, TaskKind.DOCUMENT_REVIEW, request_id, "media-a", {"media_id": "media-a"})
    b = event_tasks.open_event_task(deps, TaskKind.DOCUMENT_REVIEW, request_id, "media-b", {"media_id": "media-b"})
    replay = event_tasks.open_event_task(deps, TaskKind.DOCUMENT_REVIEW, request_id, "media-a", {"media_id": "x"})
    assert a is not None
    assert b is not None
    assert replay is not None
    assert a.task_id != b.task_id
    assert replay.task_id == a.task_id
    assert a.step == Step.DOCUMENTS


def test_a_tokenless_task_round_trips_through_both_repositories(repos: Repos, deps: Container) -> None:
    request_id = identified(deps)
    task = contact(deps, request_id)
    assert task is not None
    repos.tasks.add(task)
    stored = repos.tasks.get(task.task_id)
    assert stored == task
    assert stored.token is None
    assert [t.task_id for t in repos.tasks.open_for(request_id)] == [stored.task_id]
