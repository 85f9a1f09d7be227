"""Contract of the request and task repositories: in-memory and DynamoDB (on moto) alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.fakes.memory import InMemoryRequestRepository, InMemoryTaskRepository
from ventas.adapters.dynamo import (
    AlreadyExists,
    DynamoRequestRepository,
    DynamoTaskRepository,
    table_definitions,
)
from ventas.domain.errors import ConcurrentUpdate, KeyTaken, RequestNotFound, TaskConflict, TaskNotFound
from ventas.domain.models import (
    Channel,
    Document,
    Location,
    OrderState,
    Reason,
    ReasonCode,
    SaleRequest,
    Step,
)
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.ports import RequestRepository, TaskRepository

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class Repos:
    requests: RequestRepository
    tasks: TaskRepository


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto DynamoDB client with both tables created from `table_definitions`."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for definition in table_definitions("vd-requests", "vd-tasks"):
            dynamodb.create_table(**definition)
        yield dynamodb


@pytest.fixture(params=["memory", "dynamo"])
def repos(request: pytest.FixtureRequest) -> Repos:
    if request.param == "memory":
        tasks = InMemoryTaskRepository()
        return Repos(InMemoryRequestRepository(tasks), tasks)
    dynamodb = request.getfixturevalue("client")
    return Repos(
        DynamoRequestRepository("vd-requests", dynamodb, tasks_table="vd-tasks"),
        DynamoTaskRepository("vd-tasks", dynamodb),
    )


def sale(
    request_id: str,
    created_at: datetime = T0,
    status: OrderState = OrderState.ACKNOWLEDGED,
    **fields: Any,
) -> SaleRequest:
    return SaleRequest(
        request_id=request_id,
        channel=Channel.WEB,
        channel_lead_id=f"lead-{request_id}",
        status=status,
        created_at=created_at,
        updated_at=created_at,
        phone="+59171234567",
        **fields,
    )


def task(
    task_id: str,
    request_id: str = "r1",
    status: TaskStatus = TaskStatus.OPEN,
    assignee: str | None = None,
    due_at: datetime = T0 + 8 * HOUR,
    created_at: datetime = T0,
) -> HumanTask:
    return HumanTask(
        task_id=task_id,
        request_id=request_id,
        kind=TaskKind.IDENTIFICATION,
        step=Step.IDENTIFICATION,
        status=status,
        created_at=created_at,
        due_at=due_at,
        assignee=assignee,
        token=f"sfn-token-{task_id}",
    )


def ids(items: list[SaleRequest] | list[HumanTask]) -> list[str]:
    return [i.request_id if isinstance(i, SaleRequest) else i.task_id for i in items]


# --- requests ------------------------------------------------------------------------------


def test_add_then_get_returns_an_equal_request(repos: Repos) -> None:
    full = sale(
        "r1",
        ci="4567890 CB",
        service_code="FIBRA_100",
        location=Location(address="Av. Blanco Galindo km 4", latitude=-17.3935, longitude=-66.157),
        documents=[Document(requirement="ci", media_id="m1", mime_type="image/jpeg", received_at=T0)],
        reason=Reason.of(ReasonCode.NO_COVERAGE),
        manual_reviews=2,
        joined_leads=["lead-x"],
    )
    repos.requests.add(full)

    got = repos.requests.get("r1")

    assert got == full
    assert got.location is not None
    assert got.location.latitude == -17.3935
    assert got.created_at == T0
    assert got.manual_reviews == 2


def test_changing_a_returned_request_changes_nothing_stored(repos: Repos) -> None:
    repos.requests.add(sale("r1"))

    repos.requests.get("r1").joined_leads.append("web:lead-9")

    assert repos.requests.get("r1").joined_leads == []


def test_get_unknown_request_raises(repos: Repos) -> None:
    with pytest.raises(RequestNotFound):
        repos.requests.get("nope")


def test_add_twice_is_refused_and_keeps_the_first(repos: Repos) -> None:
    repos.requests.add(sale("r1", name="Ana Pérez"))

    with pytest.raises(AlreadyExists):
        repos.requests.add(sale("r1", name="Otro Nombre"))

    assert repos.requests.get("r1").name == "Ana Pérez"


def test_a_naive_datetime_is_refused(repos: Repos) -> None:
    with pytest.raises(ValueError, match="naive"):
        repos.requests.add(sale("r1", created_at=datetime(2026, 11, 20, 14, 0)))


def test_save_overwrites_and_moves_the_request_between_indexes(repos: Repos) -> None:
    repos.requests.add(sale("r1"))

    repos.requests.save(sale("r1", status=OrderState.IN_PROGRESS, order_id="SO-77", step=Step.SALE, version=0))

    assert repos.requests.get("r1").step == Step.SALE
    assert ids(repos.requests.by_status(OrderState.IN_PROGRESS)[0]) == ["r1"]
    assert repos.requests.by_status(OrderState.ACKNOWLEDGED) == ([], None)
    found = repos.requests.by_order("SO-77")
    assert found is not None
    assert found.request_id == "r1"

    repos.requests.save(sale("r1", status=OrderState.IN_PROGRESS, version=1))  # order id cleared
    assert repos.requests.by_order("SO-77") is None


def test_save_refuses_a_stale_version_and_keeps_the_newer_write(repos: Repos) -> None:
    repos.requests.add(sale("r1"))
    first, second = repos.requests.get("r1"), repos.requests.get("r1")
    first.step = Step.DOCUMENTS
    repos.requests.save(first)
    assert first.version == 1
    second.step = Step.SALE
    with pytest.raises(ConcurrentUpdate):
        repos.requests.save(second)
    stored = repos.requests.get("r1")
    assert (stored.step, stored.version) == (Step.DOCUMENTS, 1)


def test_history_is_in_time_order_then_append_order(repos: Repos) -> None:
    repos.requests.add(sale("r1"))
    repos.requests.add(sale("r2"))
    repos.requests.claim_key("other#r1", "r1")  # another item type: not history
    for at, event in [(T0 + 2 * HOUR, "third"), (T0, "first"), (T0 + HOUR, "second-a")]:
        request = repos.requests.get("r1")
        request.note(at, event, n=2, score=0.5)
        repos.requests.save(request)
    request = repos.requests.get("r1")
    request.note(T0 + HOUR, "second-b")  # same instant
    repos.requests.save(request)
    other = repos.requests.get("r2")
    other.note(T0, "other request")
    repos.requests.save(other)

    history = repos.requests.history("r1")

    assert [h.event for h in history] == ["first", "second-a", "second-b", "third"]
    assert history[0].at == T0
    assert history[0].detail == {"n": 2, "score": 0.5}
    assert repos.requests.history("unknown") == []


def test_a_state_and_its_history_are_saved_together_or_not_at_all(repos: Repos) -> None:
    first = sale("r1")
    first.note(T0, "lead_received")
    repos.requests.add(first)
    assert first.new_history == ()  # saved: nothing pending
    stale, current = repos.requests.get("r1"), repos.requests.get("r1")
    current.advance(T0 + HOUR, Step.IMPEDIMENTS, "no_impediment")
    repos.requests.save(current)

    stale.advance(T0 + HOUR, Step.COVERAGE, "coverage_checked")
    with pytest.raises(ConcurrentUpdate):
        repos.requests.save(stale)

    # The loser's history entry was not written either, and stays pending on its copy.
    assert [h.event for h in repos.requests.history("r1")] == ["lead_received", "no_impediment"]
    assert [h.event for h in stale.new_history] == ["coverage_checked"]
    assert repos.requests.get("r1").step == Step.IMPEDIMENTS


def test_adding_an_existing_request_writes_no_history(repos: Repos) -> None:
    repos.requests.add(sale("r1"))
    again = sale("r1")
    again.note(T0, "lead_received")
    with pytest.raises(AlreadyExists):
        repos.requests.add(again)
    assert repos.requests.history("r1") == []


def test_the_first_claim_of_a_key_wins(repos: Repos) -> None:
    assert repos.requests.claim_key("idem#web#lead-1", "r1") == "r1"
    assert repos.requests.claim_key("idem#web#lead-1", "r2") == "r1"
    assert repos.requests.claim_key("idem#web#lead-2", "r2") == "r2"
    assert repos.requests.lookup_key("idem#web#lead-1") == "r1"
    assert repos.requests.lookup_key("idem#web#lead-3") is None


def test_concurrent_claims_agree_on_one_id(repos: Repos, monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(repos.requests, DynamoRequestRepository):
        # DynamoDB checks a condition and writes atomically; moto does not without this.
        from devstack.moto_bridge import atomic_dynamodb_writes

        atomic_dynamodb_writes()
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def claim(n: int) -> None:
        barrier.wait()
        bound = repos.requests.claim_key("customer#4567890", f"r{n}")
        with lock:
            results.append(bound)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 20
    assert len(set(results)) == 1
    assert results[0] in {f"r{n}" for n in range(20)}
    assert repos.requests.claim_key("customer#4567890", "late") == results[0]


def test_only_the_owner_releases_a_key(repos: Repos) -> None:
    repos.requests.claim_key("customer#4567890", "r1")

    repos.requests.release_key("customer#4567890", "r2")
    assert repos.requests.lookup_key("customer#4567890") == "r1"
    assert repos.requests.claim_key("customer#4567890", "r3") == "r1"

    repos.requests.release_key("customer#4567890", "r1")
    assert repos.requests.lookup_key("customer#4567890") is None
    assert repos.requests.claim_key("customer#4567890", "r3") == "r3"
    assert repos.requests.lookup_key("customer#4567890") == "r3"

    repos.requests.release_key("never-claimed", "r1")  # no error


def test_waits_and_bound_keys_are_saved_with_the_state_and_nothing_on_a_conflict(repos: Repos) -> None:
    repos.requests.add(sale("r1"))
    request = repos.requests.get("r1")
    stale = repos.requests.get("r1")
    request.await_event("documents", "tok-1")
    request.note(T0, "asked")
    request.bind_key("wamid#abc", "r1 requirements_request")
    repos.requests.save(request)
    assert request.new_keys == {}
    stored = repos.requests.get("r1")
    assert stored.waits == {"documents": "tok-1"}
    assert repos.requests.lookup_key("wamid#abc") == "r1 requirements_request"

    stale.bind_key("wamid#lost", "r1 sale_done")
    stale.note(T0, "lost")
    with pytest.raises(ConcurrentUpdate):
        repos.requests.save(stale)
    assert repos.requests.lookup_key("wamid#lost") is None  # one unit: nothing of it written
    assert [h.event for h in repos.requests.history("r1")] == ["asked"]

    assert stored.take_wait("documents") == "tok-1"
    assert stored.take_wait("documents") is None
    repos.requests.save(stored)
    assert repos.requests.get("r1").waits == {}


def test_by_status_is_newest_first_and_paged(repos: Repos) -> None:
    for n in range(3):
        repos.requests.add(sale(f"p{n}", T0 + n * HOUR, OrderState.PENDING))
    repos.requests.add(sale("done", T0 + 5 * HOUR, OrderState.COMPLETED))

    first, token = repos.requests.by_status(OrderState.PENDING, limit=2)
    assert ids(first) == ["p2", "p1"]
    assert token is not None

    second, end = repos.requests.by_status(OrderState.PENDING, limit=2, start=token)
    assert ids(second) == ["p0"]
    assert end is None

    exact, none = repos.requests.by_status(OrderState.PENDING, limit=3)
    assert ids(exact) == ["p2", "p1", "p0"]
    assert none is None  # a full last page does not promise a page that is empty


def test_paging_needs_a_positive_limit(repos: Repos) -> None:
    with pytest.raises(ValueError, match="limit"):
        repos.requests.by_status(OrderState.PENDING, limit=0)
    with pytest.raises(ValueError, match="limit"):
        repos.tasks.inbox(TaskStatus.OPEN, limit=0)


def test_by_status_refuses_a_foreign_or_broken_token(repos: Repos) -> None:
    for n in range(2):
        repos.requests.add(sale(f"p{n}", T0 + n * HOUR, OrderState.PENDING))
    _, token = repos.requests.by_status(OrderState.PENDING, limit=1)
    assert token is not None

    with pytest.raises(ValueError, match="token"):
        repos.requests.by_status(OrderState.COMPLETED, start=token)
    with pytest.raises(ValueError, match="token"):
        repos.requests.by_status(OrderState.PENDING, start="not-a-token")


def test_by_day_uses_the_la_paz_calendar_day(repos: Repos) -> None:
    repos.requests.add(sale("late-night", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)))  # 22:00 26th
    repos.requests.add(sale("midday", datetime(2026, 11, 26, 16, 0, tzinfo=UTC)))
    repos.requests.add(sale("next-day", datetime(2026, 11, 27, 4, 0, tzinfo=UTC)))  # 00:00 27th
    repos.requests.add(sale("day-before", datetime(2026, 11, 26, 3, 59, tzinfo=UTC)))

    assert ids(repos.requests.by_day("2026-11-26")) == ["midday", "late-night"]
    assert ids(repos.requests.by_day("2026-11-27")) == ["next-day"]
    assert ids(repos.requests.by_day("2026-11-25")) == ["day-before"]
    assert repos.requests.by_day("2026-11-28") == []
    with pytest.raises(ValueError, match="día"):
        repos.requests.by_day("26/11/2026")


def test_by_order_finds_the_request_with_that_order(repos: Repos) -> None:
    repos.requests.add(sale("r1", order_id="SO-1"))
    repos.requests.add(sale("r2", order_id="SO-2"))
    repos.requests.add(sale("r3"))

    found = repos.requests.by_order("SO-2")

    assert found is not None
    assert found.request_id == "r2"
    assert repos.requests.by_order("SO-3") is None


# --- tasks ---------------------------------------------------------------------------------


def test_task_add_get_keeps_the_token_out_of_repr(repos: Repos) -> None:
    repos.tasks.add(task("t1"))

    got = repos.tasks.get("t1")

    assert got == task("t1")
    assert got.token == "sfn-token-t1"
    assert "sfn-token" not in repr(got)
    with pytest.raises(TaskNotFound):
        repos.tasks.get("nope")
    with pytest.raises(AlreadyExists):
        repos.tasks.add(task("t1"))


def test_transition_claim_then_complete(repos: Repos) -> None:
    repos.tasks.add(task("t1"))

    repos.tasks.transition(task("t1", status=TaskStatus.CLAIMED, assignee="ana"), TaskStatus.OPEN)
    done = task("t1", status=TaskStatus.COMPLETED, assignee="ana")
    done.result = {"ci": "4567890 CB", "attempts": 2}
    repos.tasks.transition(done, TaskStatus.CLAIMED, expected_assignee="ana")

    stored = repos.tasks.get("t1")
    assert stored.status == TaskStatus.COMPLETED
    assert stored.assignee == "ana"
    assert stored.result == {"ci": "4567890 CB", "attempts": 2}


@pytest.mark.parametrize(
    ("stored", "attempt", "expected", "expected_assignee", "code"),
    [
        pytest.param(
            task("t1", status=TaskStatus.COMPLETED, assignee="ana"),
            task("t1", status=TaskStatus.CLAIMED, assignee="bob"),
            TaskStatus.OPEN,
            None,
            "already_completed",
            id="claim-completed",
        ),
        pytest.param(
            task("t1", status=TaskStatus.CLAIMED, assignee="ana"),
            task("t1", status=TaskStatus.CLAIMED, assignee="bob"),
            TaskStatus.OPEN,
            None,
            "claimed_by_other",
            id="claim-race",
        ),
        pytest.param(
            task("t1", status=TaskStatus.CLAIMED, assignee="ana"),
            task("t1", status=TaskStatus.COMPLETED, assignee="bob"),
            TaskStatus.CLAIMED,
            "bob",
            "claimed_by_other",
            id="complete-others-task",
        ),
        pytest.param(
            task("t1", status=TaskStatus.EXPIRED),
            task("t1", status=TaskStatus.CLAIMED, assignee="ana"),
            TaskStatus.OPEN,
            None,
            "expired",
            id="claim-expired",
        ),
        pytest.param(
            task("t1", status=TaskStatus.OPEN),
            task("t1", status=TaskStatus.COMPLETED, assignee="ana"),
            TaskStatus.CLAIMED,
            "ana",
            "conflict",
            id="complete-unclaimed",
        ),
    ],
)
def test_transition_conflicts(
    repos: Repos,
    stored: HumanTask,
    attempt: HumanTask,
    expected: TaskStatus,
    expected_assignee: str | None,
    code: str,
) -> None:
    repos.tasks.add(stored)

    with pytest.raises(TaskConflict) as caught:
        repos.tasks.transition(attempt, expected, expected_assignee)

    assert caught.value.code == code
    assert str(caught.value).startswith("La tarea ")
    assert repos.tasks.get("t1") == stored  # nothing written


def test_transition_messages_are_for_the_agent(repos: Repos) -> None:
    repos.tasks.add(task("t1", status=TaskStatus.COMPLETED, assignee="ana"))

    with pytest.raises(TaskConflict, match=r"^La tarea ya fue completada\.$"):
        repos.tasks.transition(task("t1", status=TaskStatus.CLAIMED), TaskStatus.OPEN)


def test_transition_of_an_unknown_task_raises(repos: Repos) -> None:
    with pytest.raises(TaskNotFound):
        repos.tasks.transition(task("ghost", status=TaskStatus.CLAIMED), TaskStatus.OPEN)


def test_inbox_is_due_first_and_paged(repos: Repos) -> None:
    repos.tasks.add(task("late", due_at=T0 + 3 * HOUR))
    repos.tasks.add(task("soon", due_at=T0 + 1 * HOUR))
    repos.tasks.add(task("middle", due_at=T0 + 2 * HOUR))
    repos.tasks.add(task("mine", status=TaskStatus.CLAIMED, assignee="ana", due_at=T0))

    first, token = repos.tasks.inbox(TaskStatus.OPEN, limit=2)
    assert ids(first) == ["soon", "middle"]
    assert token is not None

    second, end = repos.tasks.inbox(TaskStatus.OPEN, limit=2, start=token)
    assert ids(second) == ["late"]
    assert end is None

    assert ids(repos.tasks.inbox(TaskStatus.CLAIMED)[0]) == ["mine"]
    with pytest.raises(ValueError, match="token"):
        repos.tasks.inbox(TaskStatus.CLAIMED, start=token)


def test_inbox_follows_transitions(repos: Repos) -> None:
    repos.tasks.add(task("t1"))
    repos.tasks.transition(task("t1", status=TaskStatus.CLAIMED, assignee="ana"), TaskStatus.OPEN)

    assert repos.tasks.inbox(TaskStatus.OPEN) == ([], None)
    assert ids(repos.tasks.inbox(TaskStatus.CLAIMED)[0]) == ["t1"]


def test_open_for_lists_open_and_claimed_tasks_of_the_request(repos: Repos) -> None:
    repos.tasks.add(task("open", created_at=T0 + 2 * HOUR))
    repos.tasks.add(task("claimed", status=TaskStatus.CLAIMED, assignee="ana", created_at=T0))
    repos.tasks.add(task("done", status=TaskStatus.COMPLETED, assignee="ana"))
    repos.tasks.add(task("gone", status=TaskStatus.EXPIRED))
    repos.tasks.add(task("other", request_id="r2"))

    assert ids(repos.tasks.open_for("r1")) == ["claimed", "open"]
    assert ids(repos.tasks.open_for("r2")) == ["other"]
    assert repos.tasks.open_for("r3") == []


def test_for_request_lists_every_task_of_the_request_oldest_first(repos: Repos) -> None:
    repos.tasks.add(task("open", created_at=T0 + 2 * HOUR))
    repos.tasks.add(task("done", status=TaskStatus.COMPLETED, assignee="ana", created_at=T0))
    repos.tasks.add(task("gone", status=TaskStatus.EXPIRED, created_at=T0 + HOUR))
    repos.tasks.add(task("other", request_id="r2"))

    assert ids(repos.tasks.for_request("r1")) == ["done", "gone", "open"]
    assert repos.tasks.for_request("r3") == []


# --- DynamoDB only: the stored layout the SAM template and the docs rely on ---------------


def test_request_item_layout(client: Any) -> None:
    requests = DynamoRequestRepository("vd-requests", client)
    location = Location(address="Calle Jordán 123", latitude=-17.39, longitude=-66.15)
    requests.add(sale("r1", datetime(2026, 11, 27, 2, 0, tzinfo=UTC), location=location))

    item = client.get_item(TableName="vd-requests", Key={"pk": {"S": "REQ#r1"}, "sk": {"S": "META"}})["Item"]

    assert item["gsi1pk"] == {"S": "STATUS#acknowledged"}
    assert item["gsi1sk"] == {"S": "2026-11-27T02:00:00.000000Z#r1"}
    assert item["gsi2pk"] == {"S": "DAY#2026-11-26"}
    assert item["gsi2sk"] == {"S": "2026-11-27T02:00:00.000000Z#r1"}
    assert "gsi3pk" not in item  # sparse until the order exists
    assert item["location"]["M"]["latitude"] == {"N": "-17.39"}
    assert "order_id" not in item  # absent values are not stored (a null costs bytes)

    requests.save(sale("r1", order_id="SO-9"))
    item = client.get_item(TableName="vd-requests", Key={"pk": {"S": "REQ#r1"}, "sk": {"S": "META"}})["Item"]
    assert item["gsi3pk"] == {"S": "ORDER#SO-9"}

    requests.claim_key("customer#1", "r1")
    key = client.get_item(TableName="vd-requests", Key={"pk": {"S": "KEY#customer#1"}, "sk": {"S": "KEY"}})["Item"]
    assert key["request_id"] == {"S": "r1"}


def test_task_item_layout(client: Any) -> None:
    DynamoTaskRepository("vd-tasks", client).add(task("t1", due_at=T0 + HOUR))

    item = client.get_item(TableName="vd-tasks", Key={"task_id": {"S": "t1"}})["Item"]

    assert item["status"] == {"S": "open"}
    assert item["request_id"] == {"S": "r1"}
    assert item["inbox_sk"] == {"S": "2026-11-20T15:00:00.000000Z#t1"}
    assert item["created_at"] == {"S": "2026-11-20T14:00:00.000000Z"}
    assert item["token"] == {"S": "sfn-token-t1"}


def test_conflicts_read_the_stored_item_when_dynamodb_does_not_return_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ventas.adapters.dynamo.old_item", lambda error: None)
    requests = DynamoRequestRepository("vd-requests", client)
    tasks = DynamoTaskRepository("vd-tasks", client)
    requests.claim_key("customer#1", "r1")
    tasks.add(task("t1", status=TaskStatus.CLAIMED, assignee="ana"))

    assert requests.claim_key("customer#1", "r2") == "r1"
    with pytest.raises(TaskConflict) as caught:
        tasks.transition(task("t1", status=TaskStatus.CLAIMED, assignee="bob"), TaskStatus.OPEN)
    assert caught.value.code == "claimed_by_other"


def test_a_repository_makes_its_own_client(client: Any) -> None:
    DynamoRequestRepository("vd-requests").add(sale("r1"))

    assert DynamoRequestRepository("vd-requests", client).get("r1").request_id == "r1"


def test_a_new_request_claims_its_keys_in_its_own_write_or_writes_nothing(repos: Repos) -> None:
    repos.requests.add(sale("r1"), {"lead#web#1": "r1@f", "open#phone#a": "r1"})
    assert (repos.requests.lookup_key("lead#web#1"), repos.requests.lookup_key("open#phone#a")) == ("r1@f", "r1")
    with pytest.raises(KeyTaken):
        repos.requests.add(sale("r2"), {"lead#web#2": "r2@f", "open#phone#a": "r2"})
    assert repos.requests.lookup_key("lead#web#2") is None  # nothing of it was written
    with pytest.raises(RequestNotFound):
        repos.requests.get("r2")
    assert repos.requests.lookup_key("open#phone#a") == "r1"


def test_an_end_releases_its_keys_in_its_save_and_leaves_another_requests_key(repos: Repos) -> None:
    repos.requests.add(sale("r1"), {"open#phone#a": "r1", "open#ci#b": "r2"})  # the CI key is r2's
    request = repos.requests.get("r1")
    request.note(T0, "ended")
    request.release_key("open#phone#a", "r1")
    request.release_key("open#ci#b", "r1")  # not bound to r1: the save must not fail for it
    repos.requests.save(request)
    assert repos.requests.lookup_key("open#phone#a") is None
    assert repos.requests.lookup_key("open#ci#b") == "r2"
    assert [h.event for h in repos.requests.history("r1")] == ["ended"]
    assert repos.requests.get("r1").version == 1
