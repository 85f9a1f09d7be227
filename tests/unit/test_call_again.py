"""Step 1.2, "volver a llamar": the customer answers a call-back and asks to be called later.

The same task goes back to the inbox due at the agreed time, reserved for the agent who agreed
it until a grace passes; the workflow keeps waiting on the same token until its deadline.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.fakes.aws import InMemoryWorkflow
from tests.unit.api_harness import Api, api, body
from tests.unit.conftest import T0, FrozenClock
from ventas.container import Container
from ventas.domain.errors import CallAgainRefused, TaskConflict, WorkflowNotWaiting
from ventas.domain.models import Lead
from ventas.domain.schedule import LA_PAZ
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.services import intake, queries, tasks
from ventas.web.auth import Role

__all__ = ["api"]
SHIFT = 8 * 3600  # the call-back's wait: T0 (Tuesday 10:00 in La Paz) to 18:00


def la_paz(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LA_PAZ)


def call_back(deps: Container, token: str = "tok-cb", timeout: int = SHIFT, n: int = 1) -> HumanTask:
    lead = Lead(channel="web", channel_lead_id=f"w-cb-{token}", phone=f"+5917123450{n}")
    request_id = intake.submit_lead(deps, lead).request_id
    assert isinstance(deps.workflow, InMemoryWorkflow)
    return tasks.open_task(deps, TaskKind.CALL_BACK, request_id, deps.workflow.wait(token), timeout)


def at(moment: datetime) -> dict[str, str]:
    return {"call_again_at": moment.isoformat()}


def test_the_same_task_goes_back_to_the_inbox_due_at_the_agreed_time(deps: Container, clock: FrozenClock) -> None:
    task = call_back(deps)
    sooner = call_back(deps, "tok-other", timeout=3 * 3600, n=2)  # due 13:00
    tasks.claim(deps, task.task_id, "maria")
    clock.advance(minutes=4)

    again = tasks.call_again(deps, task.task_id, "maria", at(la_paz(15, 30)))

    assert (again.task_id, again.token, again.kind) == (task.task_id, "tok-cb", TaskKind.CALL_BACK)
    assert again.status == TaskStatus.OPEN
    assert (again.assignee, again.claimed_at) == (None, None)
    assert again.due_at == again.call_again_at == la_paz(15, 30)
    assert again.deadline_at == task.due_at == T0 + timedelta(seconds=SHIFT)  # the wait's deadline stays
    assert (again.reserved_for, again.reserved_until) == ("maria", la_paz(15, 45))
    assert again.call_agains == 1
    assert deps.tasks.get(task.task_id) == again
    assert isinstance(deps.workflow, InMemoryWorkflow)
    assert deps.workflow.answers == []  # the workflow still waits, on the same token
    entry = deps.requests.history(task.request_id)[-1]
    assert entry.event == "call_again_scheduled"
    assert entry.detail == {
        "task_id": task.task_id,
        "call_again_at": la_paz(15, 30).astimezone(UTC).isoformat(),
        "by": "maria",
        "times": 1,
    }
    # The inbox orders by the new due time: the other call-back (13:00) comes first now.
    inbox, _ = queries.inbox(deps, TaskStatus.OPEN, None, None, 10, None)
    assert [t.task_id for t in inbox] == [sooner.task_id, task.task_id]


def test_it_stays_with_the_agent_who_agreed_it_until_the_grace_passes(deps: Container, clock: FrozenClock) -> None:
    task = call_back(deps)
    tasks.call_again(deps, task.task_id, "maria", at(la_paz(15, 30)))  # an open task: no claim needed
    with pytest.raises(TaskConflict) as early:
        tasks.claim(deps, task.task_id, "jose")
    assert early.value.code == "reserved_for_other"
    assert "maria acordó volver a llamar al cliente el 24/11/2026 15:30" in str(early.value)
    assert "hasta el 24/11/2026 15:45" in str(early.value)
    with pytest.raises(TaskConflict):  # nor complete it without claiming
        tasks.complete(deps, task.task_id, "jose", {"reached": False})
    clock.at = la_paz(15, 44).astimezone(UTC)  # due, still within the grace
    with pytest.raises(TaskConflict):
        tasks.claim(deps, task.task_id, "jose")
    clock.at = la_paz(15, 45).astimezone(UTC)  # overdue past the grace: anyone may take it
    taken = tasks.claim(deps, task.task_id, "jose")
    assert (taken.assignee, taken.reserved_for, taken.reserved_until) == ("jose", None, None)
    assert taken.call_again_at == la_paz(15, 30)  # what the customer asked stays on the task


def test_the_agent_who_agreed_it_takes_it_back_at_any_time(deps: Container, clock: FrozenClock) -> None:
    task = call_back(deps)
    tasks.call_again(deps, task.task_id, "maria", at(la_paz(15, 30)))
    clock.at = la_paz(15, 29).astimezone(UTC)
    taken = tasks.claim(deps, task.task_id, "maria")
    assert (taken.status, taken.claimed_at) == (TaskStatus.CLAIMED, clock.now())
    assert (taken.reserved_for, taken.reserved_until) == ("maria", la_paz(15, 45))  # the reservation stays
    done = tasks.complete(
        deps, task.task_id, "maria", {"reached": True, "ci": "4567890 CB", "service_code": "TV_CABLE"}
    )
    assert done.status == TaskStatus.COMPLETED
    assert (done.reserved_for, done.reserved_until) == (None, None)  # completing ends it
    assert deps.tasks.get(task.task_id) == done
    assert isinstance(deps.workflow, InMemoryWorkflow)
    assert deps.workflow.answers == [("tok-cb", "success", {})]


def test_taking_it_and_giving_it_back_keeps_the_reservation_until_it_ends(api: Api, clock: FrozenClock) -> None:
    """docs/console.md: the task stays reserved until 15 minutes after the agreed time, even if
    the agent who agreed it takes it and gives it back before then."""
    task = call_back(api.deps)
    tasks.call_again(api.deps, task.task_id, "agente.ana", at(la_paz(15, 30)))
    clock.at = la_paz(15, 31).astimezone(UTC)
    path = f"/v1/tasks/{task.task_id}"
    assert api.call("POST", path + "/claim", Role.AGENT, who="agente.ana").status_code == 200
    released = api.call("POST", path + "/release", Role.AGENT, who="agente.ana")
    assert released.status_code == 200
    view = body(released)
    assert (view["status"], view["assignee"], view["reserved_for"]) == ("open", None, "agente.ana")
    assert view["reserved_until_local"] == "24/11/2026 15:45"
    refused = api.call("POST", path + "/claim", Role.AGENT, who="agente.bruno")
    assert (refused.status_code, body(refused)["error"]["code"]) == (409, "reserved_for_other")
    clock.at = la_paz(15, 45).astimezone(UTC)  # now it has lapsed: anyone may take it, and it ends
    taken = body(api.call("POST", path + "/claim", Role.AGENT, who="agente.bruno"))
    assert (taken["assignee"], taken["reserved_for"], taken["reserved_until"]) == ("agente.bruno", None, None)


@pytest.mark.parametrize(
    ("moment", "code", "words"),
    [
        (la_paz(9, 59), "not_in_future", "posterior a la actual (24/11/2026 10:00)"),
        (la_paz(10, 0), "not_in_future", "posterior a la actual"),
        (la_paz(17, 46), "after_deadline", "La hora más tardía permitida es el 24/11/2026 17:45"),
        (la_paz(10, 0, day=25), "after_deadline", "24/11/2026 17:45"),
    ],
)
def test_a_time_in_the_past_or_past_the_deadline_is_refused_and_changes_nothing(
    deps: Container, moment: datetime, code: str, words: str
) -> None:
    task = call_back(deps)
    tasks.claim(deps, task.task_id, "maria")
    before, history = deps.tasks.get(task.task_id), deps.requests.history(task.request_id)
    with pytest.raises(CallAgainRefused) as refused:
        tasks.call_again(deps, task.task_id, "maria", at(moment))
    assert (refused.value.field, refused.value.code) == ("call_again_at", code)
    assert words in str(refused.value)
    assert refused.value.latest == la_paz(17, 45)  # the deadline (18:00) less the 15-minute margin
    assert deps.tasks.get(task.task_id) == before
    assert deps.requests.history(task.request_id) == history


def test_the_latest_allowed_time_itself_is_accepted(deps: Container) -> None:
    task = call_back(deps)
    assert tasks.call_again(deps, task.task_id, "maria", at(la_paz(17, 45))).due_at == la_paz(17, 45)


@pytest.mark.parametrize("moment", [la_paz(18, 30), la_paz(20, 0), la_paz(8, 29, day=25), la_paz(10, 0, day=29)])
def test_calls_are_agreed_in_business_hours_only(deps: Container, moment: datetime) -> None:
    """Brief: calls to customers only in business hours (Monday to Saturday, 08:30 to 18:30)."""
    task = call_back(deps, timeout=6 * 24 * 3600)  # a long wait: only the hours refuse these
    with pytest.raises(CallAgainRefused) as refused:
        tasks.call_again(deps, task.task_id, "maria", at(moment))  # 29/11/2026 is a Sunday
    assert refused.value.code == "outside_business_hours"
    assert "de lunes a sábado, de 08:30 a 18:30" in str(refused.value)
    assert tasks.call_again(deps, task.task_id, "maria", at(la_paz(8, 30, day=25))).status == TaskStatus.OPEN


def test_a_compressed_local_clock_does_not_apply_business_hours(deps: Container) -> None:
    deps.settings = dataclasses.replace(deps.settings, time_scale=60.0)
    task = call_back(deps, timeout=6 * 24 * 3600)
    again = tasks.call_again(deps, task.task_id, "maria", at(la_paz(20, 0)))
    assert again.reserved_until == la_paz(20, 0) + timedelta(seconds=15)  # 15 business minutes at 60x


def test_the_number_of_call_agains_is_bounded_by_the_setting(deps: Container, clock: FrozenClock) -> None:
    deps.settings = dataclasses.replace(deps.settings, max_call_agains=2)
    task = call_back(deps)
    for n, hour in enumerate((11, 12), start=1):
        assert tasks.call_again(deps, task.task_id, "maria", at(la_paz(hour))).call_agains == n
    with pytest.raises(CallAgainRefused) as refused:
        tasks.call_again(deps, task.task_id, "maria", at(la_paz(13)))
    assert refused.value.code == "too_many_call_agains"
    assert "ya se reprogramó 2 veces" in str(refused.value)
    assert deps.tasks.get(task.task_id).due_at == la_paz(12)


def test_only_a_call_back_held_by_this_agent_and_still_awaited_can_be_rescheduled(deps: Container) -> None:
    lead = Lead(channel="web", channel_lead_id="w-cb-id", phone="+59171234599")
    request_id = intake.submit_lead(deps, lead).request_id
    assert isinstance(deps.workflow, InMemoryWorkflow)
    identification = tasks.open_task(deps, TaskKind.IDENTIFICATION, request_id, deps.workflow.wait("tok-id"), SHIFT)
    with pytest.raises(TaskConflict) as kind:
        tasks.call_again(deps, identification.task_id, "maria", at(la_paz(15)))
    assert kind.value.code == "not_a_call_back"

    task = call_back(deps)
    tasks.claim(deps, task.task_id, "jose")
    with pytest.raises(TaskConflict) as held:
        tasks.call_again(deps, task.task_id, "maria", at(la_paz(15)))
    assert held.value.code == "claimed_by_other"
    with pytest.raises(ValidationError):  # no offset: which 15:00?
        tasks.call_again(deps, task.task_id, "jose", {"call_again_at": "2026-11-24T15:00:00"})
    with pytest.raises(ValidationError):
        tasks.call_again(deps, task.task_id, "jose", {"call_again_at": "2026-11-24T15:00:00-04:00", "x": 1})

    deps.workflow.waiting.discard("tok-cb")  # the wait timed out meanwhile
    with pytest.raises(WorkflowNotWaiting):
        tasks.call_again(deps, task.task_id, "jose", at(la_paz(15)))
    assert deps.tasks.get(task.task_id).status == TaskStatus.EXPIRED


def test_the_json_route_answers_the_task_or_a_field_error_with_the_latest_time(api: Api) -> None:
    task = call_back(api.deps)
    path = f"/v1/tasks/{task.task_id}/call-again"
    late = api.call("POST", path, Role.AGENT, at(la_paz(18)), who="agente.ana")
    assert late.status_code == 422
    (field,) = body(late)["error"]["fields"]
    assert (field["field"], field["type"]) == ("call_again_at", "after_deadline")
    assert "24/11/2026 17:45" in field["message"]
    naive = api.call("POST", path, Role.AGENT, {"call_again_at": "2026-11-24T15:00"}, who="agente.ana")
    assert naive.status_code == 422
    assert body(naive)["error"]["fields"][0]["field"] == "call_again_at"

    done = api.call("POST", path, Role.AGENT, at(la_paz(15, 30)), who="agente.ana")
    assert done.status_code == 200
    view = body(done)
    assert view["status"] == "open"
    assert view["due_at"] == view["call_again_at"] == "2026-11-24T19:30:00Z"
    assert view["call_again_at_local"] == "24/11/2026 15:30"
    assert view["deadline_at_local"] == "24/11/2026 18:00"
    assert (view["reserved_for"], view["reserved_until_local"], view["call_agains"]) == (
        "agente.ana",
        "24/11/2026 15:45",
        1,
    )
    other = api.call("POST", f"/v1/tasks/{task.task_id}/claim", Role.AGENT, who="agente.bruno")
    assert other.status_code == 409
    assert body(other)["error"]["code"] == "reserved_for_other"
    assert "token" not in view


def test_a_replay_after_the_agent_took_the_task_back_or_within_the_minute_is_still_one_reschedule(
    api: Api, clock: FrozenClock
) -> None:
    """The reserved agent takes the task back, then the form is sent again, with the same minute
    or seconds later within it: still one reschedule (the review's defect A)."""
    task = call_back(api.deps)
    path = f"/v1/tasks/{task.task_id}/call-again"
    first = api.call("POST", path, Role.AGENT, at(la_paz(15, 30)), who="agente.ana")
    assert first.status_code == 200
    assert api.call("POST", f"/v1/tasks/{task.task_id}/claim", Role.AGENT, who="agente.ana").status_code == 200
    seconds_later = {"call_again_at": la_paz(15, 30).replace(second=12, microsecond=500000).isoformat()}
    again = api.call("POST", path, Role.AGENT, seconds_later, who="agente.ana")
    assert again.status_code == 200
    stored = api.deps.tasks.get(task.task_id)
    assert (stored.call_agains, stored.call_again_at) == (1, la_paz(15, 30).astimezone(UTC))
    events = [h for h in api.deps.requests.history(task.request_id) if h.event == "call_again_scheduled"]
    assert len(events) == 1


def test_a_replayed_call_again_is_one_event_with_one_effect(api: Api, clock: FrozenClock) -> None:
    """The same POST twice (a retry, a double submit): one reschedule, one timeline entry."""
    task = call_back(api.deps)
    path = f"/v1/tasks/{task.task_id}/call-again"
    first = api.call("POST", path, Role.AGENT, at(la_paz(15, 30)), who="agente.ana")
    clock.advance(seconds=30)
    again = api.call("POST", path, Role.AGENT, at(la_paz(15, 30)), who="agente.ana")
    assert (first.status_code, again.status_code) == (200, 200)
    assert body(again) == body(first)
    stored = api.deps.tasks.get(task.task_id)
    assert stored.call_agains == 1
    events = [h for h in api.deps.requests.history(task.request_id) if h.event == "call_again_scheduled"]
    assert [e.detail["times"] for e in events] == [1]
    # Another time is a new reschedule; the same time asked by someone else is not a replay.
    assert tasks.call_again(api.deps, task.task_id, "agente.ana", at(la_paz(16))).call_agains == 2
    clock.at = la_paz(16, 15).astimezone(UTC)  # the reservation lapsed: anyone may act
    assert tasks.call_again(api.deps, task.task_id, "agente.bruno", at(la_paz(17))).call_agains == 3
