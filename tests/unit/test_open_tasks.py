"""A request lists its open tasks: opening, completing, re-opening and ending need no query of
the tasks table, and a request stored before it listed them is still served (by the index)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.aws import InMemoryWorkflow
from ventas.container import Container
from ventas.domain.models import Lead
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.services import closing, event_tasks, intake, tasks


@pytest.fixture
def request_id(deps: Container) -> str:
    lead = Lead(channel="web", channel_lead_id="w-o", phone="+59171234567", ci="1234567 CB")
    return intake.submit_lead(deps, lead).request_id


@pytest.fixture
def no_index(deps: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tasks table's `by_request` index is not asked: any use fails the test."""

    def refused(*args: Any) -> list[HumanTask]:
        raise AssertionError("the by_request index was queried")

    monkeypatch.setattr(deps.tasks, "open_for", refused)


def open_(deps: Container, request_id: str, kind: TaskKind, token: str) -> HumanTask:
    assert isinstance(deps.workflow, InMemoryWorkflow)
    return tasks.open_task(deps, kind, request_id, deps.workflow.wait(token), 3600)


def listed(deps: Container, request_id: str) -> dict[str, str]:
    return {i: t.kind for i, t in (deps.requests.get(request_id).open_tasks or {}).items()}


@pytest.mark.usefixtures("no_index")
def test_a_task_is_listed_by_its_opening_and_unlisted_by_its_completion(deps: Container, request_id: str) -> None:
    task = open_(deps, request_id, TaskKind.LOCATION, "tok-l")
    assert listed(deps, request_id) == {task.task_id: "location"}
    assert [h.event for h in deps.requests.history(request_id)][-1] == "task_opened"

    tasks.claim(deps, task.task_id, "ana")
    location = {"address": "Calle España 123, Cochabamba", "latitude": -17.39, "longitude": -66.15}
    tasks.complete(deps, task.task_id, "ana", {"location": location})

    assert listed(deps, request_id) == {}
    assert deps.tasks.get(task.task_id).status == TaskStatus.COMPLETED
    assert deps.requests.get(request_id).location is not None


@pytest.mark.usefixtures("no_index")
def test_a_reopened_wait_replaces_the_listed_task_and_counts_the_attempt(deps: Container, request_id: str) -> None:
    first = open_(deps, request_id, TaskKind.MANUAL_REVIEW, "tok-1")
    second = open_(deps, request_id, TaskKind.MANUAL_REVIEW, "tok-2")
    again = open_(deps, request_id, TaskKind.MANUAL_REVIEW, "tok-2")  # a retried invocation

    assert (second.attempt, again.task_id) == (2, second.task_id)
    assert listed(deps, request_id) == {second.task_id: "manual_review"}
    assert deps.tasks.get(first.task_id).status == TaskStatus.EXPIRED
    assert [h.event for h in deps.requests.history(request_id)].count("task_opened") == 2


@pytest.mark.usefixtures("no_index")
def test_an_end_expires_the_listed_tasks_but_a_contact_task(deps: Container, request_id: str) -> None:
    waited = open_(deps, request_id, TaskKind.IDENTIFICATION, "tok-i")
    contact = event_tasks.open_event_task(deps, TaskKind.CONTACT_CUSTOMER, request_id, "failed:x", {})
    assert contact is not None
    assert event_tasks.open_event_task(deps, TaskKind.CONTACT_CUSTOMER, request_id, "failed:y", {}) == contact

    assert closing.execution_ended(deps, request_id, "ABORTED", "stopped by ops") is True

    assert deps.tasks.get(waited.task_id).status == TaskStatus.EXPIRED
    assert deps.tasks.get(contact.task_id).status == TaskStatus.OPEN  # the customer still has to hear it


@pytest.mark.usefixtures("no_index")
def test_the_ci_learnt_on_a_call_binds_the_customers_key_in_the_completions_write(deps: Container) -> None:
    request_id = intake.submit_lead(deps, Lead(channel="web", channel_lead_id="w-c", phone="+59171234560")).request_id
    task = open_(deps, request_id, TaskKind.IDENTIFICATION, "tok-c")
    body = {"ci": "7654321 LP", "service_code": "INTERNET_FTTH_100"}

    tasks.complete(deps, task.task_id, "ana", body)

    assert deps.requests.lookup_key(f"open#{deps.customer_key('ci', '7654321 LP')}") == request_id


def test_a_request_stored_before_it_listed_its_tasks_is_served_by_the_index(deps: Container, request_id: str) -> None:
    waited = open_(deps, request_id, TaskKind.IDENTIFICATION, "tok-i")
    legacy = deps.requests.get(request_id)
    legacy.open_tasks = None  # as DynamoDB returns an item written before the list existed
    deps.requests.save(legacy)
    again = open_(deps, request_id, TaskKind.IDENTIFICATION, "tok-i")  # found by the index
    assert again.task_id == waited.task_id

    assert closing.execution_ended(deps, request_id, "FAILED", "States.Runtime") is True

    assert deps.tasks.get(waited.task_id).status == TaskStatus.EXPIRED
    assert deps.requests.get(request_id).open_tasks is None
