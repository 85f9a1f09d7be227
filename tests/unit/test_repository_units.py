"""Contract of a save that carries task items, of keys claimed in a save, and of a task changed
without a read (`TaskRepository.update`): in-memory and DynamoDB (on moto) alike."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit import test_repositories as contract
from tests.unit.test_repositories import T0, Repos, sale, task
from ventas.adapters.dynamo import DynamoRequestRepository
from ventas.domain.errors import AlreadyExists, ConcurrentUpdate, TaskConflict, TaskNotFound
from ventas.domain.models import SaleRequest, Step
from ventas.domain.tasks import TaskStatus
from ventas.ports import TaskWrite

client = contract.client
repos = contract.repos


def opened(repos: Repos, request_id: str = "r1") -> SaleRequest:
    """A stored request with one more change to save: a task opened."""
    repos.requests.add(sale(request_id))
    request = repos.requests.get(request_id)
    request.advance(T0, Step.IDENTIFICATION, "task_opened", task_id="t1")
    request.task_opened("t1", "identification")
    return request


def test_a_save_writes_its_task_items_with_the_state(repos: Repos) -> None:
    request = opened(repos)

    repos.requests.save(request, [TaskWrite(task("t1"))])

    assert repos.tasks.get("t1") == task("t1")
    stored = repos.requests.get("r1")
    assert stored.version == 1
    assert stored.open_tasks is not None
    assert set(stored.open_tasks) == {"t1"}
    assert [h.event for h in repos.requests.history("r1")] == ["task_opened"]


def test_a_task_that_exists_cancels_the_whole_save(repos: Repos) -> None:
    repos.tasks.add(task("t1", status=TaskStatus.COMPLETED, assignee="ana"))
    request = opened(repos)

    with pytest.raises(AlreadyExists):
        repos.requests.save(request, [TaskWrite(task("t1"))])

    assert repos.requests.get("r1").version == 0
    assert repos.requests.history("r1") == []
    assert repos.tasks.get("t1").status == TaskStatus.COMPLETED


def test_a_changed_task_gives_the_agent_its_reason_and_nothing_is_written(repos: Repos) -> None:
    repos.tasks.add(task("t1", status=TaskStatus.CLAIMED, assignee="ana"))
    request = opened(repos)
    done = task("t1", status=TaskStatus.COMPLETED, assignee="bob")

    with pytest.raises(TaskConflict) as caught:
        repos.requests.save(request, [TaskWrite(done, TaskStatus.CLAIMED, "bob")])

    assert caught.value.code == "claimed_by_other"
    assert repos.requests.get("r1").version == 0
    assert repos.tasks.get("t1").assignee == "ana"


def test_a_stale_version_writes_no_task(repos: Repos) -> None:
    request = opened(repos)
    other = repos.requests.get("r1")
    other.note(T0, "someone_else")
    repos.requests.save(other)

    with pytest.raises(ConcurrentUpdate):
        repos.requests.save(request, [TaskWrite(task("t1"))])

    with pytest.raises(TaskNotFound):
        repos.tasks.get("t1")


def test_a_key_claimed_in_a_save_is_bound_only_if_free(repos: Repos) -> None:
    repos.requests.add(sale("r1"), {"open#ci#held": "r9"})
    request = repos.requests.get("r1")
    request.note(T0, "identified")
    request.claim_key("open#ci#free", "r1")
    request.claim_key("open#ci#held", "r1")  # another request's: it stays there, the save goes on

    repos.requests.save(request)

    assert repos.requests.lookup_key("open#ci#free") == "r1"
    assert repos.requests.lookup_key("open#ci#held") == "r9"
    assert repos.requests.get("r1").version == 1
    assert [h.event for h in repos.requests.history("r1")] == ["identified"]


def test_update_claims_without_a_read_and_returns_the_stored_task(repos: Repos) -> None:
    repos.tasks.add(task("t1"))
    claim = {"status": TaskStatus.CLAIMED, "assignee": "ana"}
    states = [(TaskStatus.OPEN, None), (TaskStatus.CLAIMED, "ana")]

    claimed = repos.tasks.update("t1", claim, states)
    again = repos.tasks.update("t1", claim, states)  # the same agent once more: same answer

    assert claimed == again == repos.tasks.get("t1")
    assert (claimed.status, claimed.assignee, claimed.token) == (TaskStatus.CLAIMED, "ana", "sfn-token-t1")
    released = repos.tasks.update("t1", {"status": TaskStatus.OPEN, "assignee": None}, [(TaskStatus.CLAIMED, "ana")])
    assert (released.status, released.assignee) == (TaskStatus.OPEN, None)
    assert repos.tasks.inbox(TaskStatus.OPEN)[0] == [released]


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        pytest.param(task("t1", status=TaskStatus.CLAIMED, assignee="bob"), "claimed_by_other", id="claimed"),
        pytest.param(task("t1", status=TaskStatus.COMPLETED, assignee="bob"), "already_completed", id="completed"),
        pytest.param(task("t1", status=TaskStatus.EXPIRED), "expired", id="expired"),
    ],
)
def test_update_refuses_a_task_in_another_state_and_changes_nothing(repos: Repos, stored: Any, code: str) -> None:
    repos.tasks.add(stored)

    with pytest.raises(TaskConflict) as caught:
        repos.tasks.update("t1", {"status": TaskStatus.CLAIMED, "assignee": "ana"}, [(TaskStatus.OPEN, None)])

    assert caught.value.code == code
    assert repos.tasks.get("t1") == stored


def test_update_for_an_agent_is_refused_while_a_call_again_holds_the_task_for_another(repos: Repos) -> None:
    reserved = task("t1").model_copy(update={"reserved_for": "bob", "reserved_until": T0})
    repos.tasks.add(reserved)
    take = {"status": TaskStatus.CLAIMED, "assignee": "ana", "reserved_for": None}

    with pytest.raises(TaskConflict) as caught:
        repos.tasks.update("t1", take, [(TaskStatus.OPEN, None)], unreserved_for="ana")

    assert caught.value.stored == reserved  # the stored task, for the domain to explain or decide
    assert repos.tasks.get("t1") == reserved
    taken = repos.tasks.update("t1", take | {"assignee": "bob"}, [(TaskStatus.OPEN, None)], unreserved_for="bob")
    assert (taken.status, taken.assignee, taken.reserved_for) == (TaskStatus.CLAIMED, "bob", None)


def test_update_for_an_agent_takes_a_task_no_call_again_holds(repos: Repos) -> None:
    repos.tasks.add(task("t1"))  # reserved_for unset (stored as NULL by DynamoDB's adapter)

    taken = repos.tasks.update(
        "t1", {"status": TaskStatus.CLAIMED, "assignee": "ana"}, [(TaskStatus.OPEN, None)], unreserved_for="ana"
    )

    assert (taken.status, taken.assignee) == (TaskStatus.CLAIMED, "ana")


def test_update_of_an_unknown_task_or_of_a_key_field_is_refused(repos: Repos) -> None:
    repos.tasks.add(task("t1"))
    with pytest.raises(TaskNotFound):
        repos.tasks.update("ghost", {"status": TaskStatus.EXPIRED}, [(TaskStatus.OPEN, None)])
    for changes in ({"due_at": T0}, {"request_id": "r2"}, {"nonsense": 1}, {}):
        with pytest.raises(ValueError, match="cannot change"):
            repos.tasks.update("t1", changes, [(TaskStatus.OPEN, None)])
    assert repos.tasks.get("t1") == task("t1")


def test_a_request_stored_before_requests_listed_their_tasks_reads_as_unlisted(client: Any) -> None:
    requests = DynamoRequestRepository("vd-requests", client)
    requests.add(sale("r1"))
    client.update_item(
        TableName="vd-requests",
        Key={"pk": {"S": "REQ#r1"}, "sk": {"S": "META"}},
        UpdateExpression="REMOVE open_tasks",
    )

    legacy = requests.get("r1")
    legacy.task_opened("t1", "identification")  # a partial list would hide the others

    assert legacy.open_tasks is None
    assert requests.get("r1").open_tasks is None
    assert sale("r2").open_tasks == {}


def test_a_repository_without_the_tasks_table_cannot_save_tasks(client: Any) -> None:
    requests = DynamoRequestRepository("vd-requests", client)
    requests.add(sale("r1"))

    with pytest.raises(ValueError, match="tasks table"):
        requests.save(requests.get("r1"), [TaskWrite(task("t1"))])


def test_a_request_is_in_the_awaiting_documents_index_only_while_it_waits_for_them(repos: Repos) -> None:
    repos.requests.add(sale("r1"))
    request = repos.requests.get("r1")
    assert repos.requests.awaiting_documents("phone#a") is None

    request.await_documents("tok-d", "phone#a")
    repos.requests.save(request)
    found = repos.requests.awaiting_documents("phone#a")
    assert found is not None
    assert (found.request_id, found.version, found.waits) == ("r1", 1, {"documents": "tok-d"})

    request.change_phone(T0, "+59171234599", "phone#b")  # the index key follows the phone
    repos.requests.save(request)
    assert repos.requests.awaiting_documents("phone#a") is None
    assert repos.requests.awaiting_documents("phone#b") is not None

    request.take_wait("documents")  # the checklist is complete: it leaves the index
    repos.requests.save(request)
    assert repos.requests.awaiting_documents("phone#b") is None


def test_only_a_request_awaiting_documents_carries_the_index_key(client: Any) -> None:
    requests = DynamoRequestRepository("vd-requests", client)
    requests.add(sale("r1", documents_from="phone#a", waits={"documents": "tok-d"}))
    requests.add(sale("r2", documents_from="phone#b"))  # no wait kept: not in the index

    def item(request_id: str) -> dict[str, Any]:
        key = {"pk": {"S": f"REQ#{request_id}"}, "sk": {"S": "META"}}
        return dict(client.get_item(TableName="vd-requests", Key=key)["Item"])

    assert item("r1")["gsi4pk"] == {"S": "DOCS#phone#a"}
    assert "gsi4pk" not in item("r2")
