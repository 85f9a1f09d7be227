"""Human tasks: open with a token, claim, release, complete once, expire."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from tests.fakes.aws import InMemoryWorkflow, RecordingMetrics
from tests.unit.conftest import FrozenClock
from ventas.container import Container
from ventas.domain.errors import TaskConflict, UnknownService, WorkflowNotWaiting
from ventas.domain.models import Lead, Outcome, ReasonCode, SaleRequest
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.ports import TaskWrite
from ventas.services import closing, intake, tasks


@pytest.fixture
def request_id(deps: Container) -> str:
    return intake.submit_lead(deps, Lead(channel="web", channel_lead_id="w-t", phone="+59171234567")).request_id


def open_(deps: Container, request_id: str, kind: TaskKind, token: str = "tok-1") -> HumanTask:
    assert isinstance(deps.workflow, InMemoryWorkflow)
    return tasks.open_task(deps, kind, request_id, deps.workflow.wait(token), 3600, {"stage": "x"})


def answers(deps: Container) -> list[tuple[str, str, object]]:
    assert isinstance(deps.workflow, InMemoryWorkflow)
    return deps.workflow.answers


def test_open_keeps_the_token_server_side_with_instructions_and_protocol(
    deps: Container, request_id: str, clock: FrozenClock
) -> None:
    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    assert task.token == "tok-1"
    assert "tok-1" not in repr(task)
    assert (task.due_at - clock.now()).total_seconds() == 3600
    assert task.protocol[0].startswith("Bienvenido(a) a Ventas Digitales Comteco")
    assert "carnet de identidad" in task.instructions


def test_a_retried_open_for_the_same_wait_is_the_same_task(deps: Container, request_id: str) -> None:
    first = open_(deps, request_id, TaskKind.LOCATION)
    again = tasks.open_task(deps, TaskKind.LOCATION, request_id, "tok-1", 3600)
    assert again.task_id == first.task_id
    assert len(deps.tasks.open_for(request_id)) == 1


def test_reopening_a_wait_escalates_and_expires_the_earlier_task(deps: Container, request_id: str) -> None:
    first = open_(deps, request_id, TaskKind.MANUAL_REVIEW, "tok-a")
    second = open_(deps, request_id, TaskKind.MANUAL_REVIEW, "tok-b")
    assert second.attempt == 2
    assert deps.tasks.get(first.task_id).status == TaskStatus.EXPIRED


def test_claim_release_and_conflicts(deps: Container, request_id: str) -> None:
    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    assert tasks.claim(deps, task.task_id, "maria").assignee == "maria"
    assert tasks.claim(deps, task.task_id, "maria").status == TaskStatus.CLAIMED  # idempotent for her
    with pytest.raises(TaskConflict) as other:
        tasks.claim(deps, task.task_id, "jose")
    assert other.value.code == "claimed_by_other"
    with pytest.raises(TaskConflict):
        tasks.complete(deps, task.task_id, "jose", {"ci": "4567890 CB", "service_code": "TV_CABLE"})
    assert tasks.release(deps, task.task_id, "maria").status == TaskStatus.OPEN
    assert tasks.claim(deps, task.task_id, "jose").assignee == "jose"


def test_the_claim_time_is_kept_cleared_on_release_and_counts_the_handling_time(
    deps: Container, request_id: str, clock: FrozenClock
) -> None:
    """Per-agent handling time (III.2 dashboard) runs from the claim to the completion."""
    from ventas.console.dashboard import per_agent

    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    clock.advance(minutes=50)  # waited in the inbox: not the agent's time
    assert tasks.claim(deps, task.task_id, "maria").claimed_at == clock.now()
    clock.advance(minutes=3)
    released = tasks.release(deps, task.task_id, "maria")
    assert released.claimed_at is None
    assert deps.tasks.get(task.task_id).claimed_at is None
    clock.advance(minutes=30)
    taken = clock.now()
    assert tasks.claim(deps, task.task_id, "jose").claimed_at == taken
    clock.advance(minutes=7)
    done = tasks.complete(deps, task.task_id, "jose", {"ci": "4567890 CB", "service_code": "TV_CABLE"})
    assert (done.claimed_at, done.completed_at) == (taken, clock.now())
    (figures,) = per_agent([deps.tasks.get(task.task_id)])
    assert (figures.agent, figures.done, figures.average_minutes) == ("jose", 1, 7.0)


def test_identification_is_recorded_then_the_workflow_resumes(deps: Container, request_id: str) -> None:
    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    done = tasks.complete(deps, task.task_id, "maria", {"ci": "4567890 cb", "service_code": "TV_CABLE"})
    assert done.status == TaskStatus.COMPLETED
    request = deps.requests.get(request_id)
    assert (request.ci, request.service_code) == ("4567890 CB", "TV_CABLE")
    assert answers(deps) == [("tok-1", "success", {})]
    with pytest.raises(TaskConflict) as twice:
        tasks.complete(deps, task.task_id, "maria", {"ci": "4567890 CB", "service_code": "TV_CABLE"})
    assert twice.value.code == "already_completed"
    assert len(answers(deps)) == 1


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        (TaskKind.IDENTIFICATION, {"ci": "4567890 CB"}, "service_code"),
        (TaskKind.CALL_BACK, {"reached": True}, ""),
        (TaskKind.LOCATION, {"location": {"address": "x", "latitude": -17.3, "longitude": -66.1}}, "location.address"),
        (TaskKind.QC_CALL, {"satisfaction": 6, "comment": "bien"}, "satisfaction"),
        (TaskKind.MANUAL_REVIEW, {"decision": "maybe"}, "decision"),
        (TaskKind.QC_CALL, {"satisfaction": 5, "comment": "ok", "token": "x"}, "token"),
    ],
)
def test_completion_body_is_validated_per_kind_and_changes_nothing(
    deps: Container, request_id: str, kind: TaskKind, body: dict[str, object], field: str
) -> None:
    task = open_(deps, request_id, kind)
    with pytest.raises(ValidationError) as bad:
        tasks.complete(deps, task.task_id, "maria", body)
    assert field in {".".join(str(p) for p in e["loc"]) for e in bad.value.errors()}
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN
    assert answers(deps) == []


def test_unknown_service_in_identification_is_refused(deps: Container, request_id: str) -> None:
    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    with pytest.raises(UnknownService):
        tasks.complete(deps, task.task_id, "maria", {"ci": "4567890 CB", "service_code": "NO_EXISTE"})
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN


@pytest.mark.parametrize(
    ("kind", "body", "error"),
    [
        (TaskKind.CALL_BACK, {"reached": False}, "CustomerUnreachable"),
        (TaskKind.MANUAL_REVIEW, {"decision": "reject", "reason": "DEBT"}, "ManualRejection"),
        (TaskKind.INSTALLATION_FOLLOW_UP, {"installed": False}, "InstallationCancelled"),
    ],
)
def test_negative_answers_fail_the_wait_with_the_name_the_asl_catches(
    deps: Container, request_id: str, kind: TaskKind, body: dict[str, object], error: str
) -> None:
    task = open_(deps, request_id, kind)
    tasks.complete(deps, task.task_id, "maria", body)
    assert [(token, name) for token, name, _ in answers(deps)] == [("tok-1", error)]
    if kind == TaskKind.MANUAL_REVIEW:
        reason = deps.requests.get(request_id).reason
        assert reason is not None
        assert reason.code == ReasonCode.DEBT


def test_completing_after_the_workflow_stopped_waiting_expires_the_task(deps: Container, request_id: str) -> None:
    task = tasks.open_task(deps, TaskKind.QC_CALL, request_id, "tok-gone", 60)  # never registered as waiting
    with pytest.raises(WorkflowNotWaiting):
        tasks.complete(deps, task.task_id, "maria", {"satisfaction": 5, "comment": "Excelente"})
    assert deps.tasks.get(task.task_id).status == TaskStatus.EXPIRED
    with pytest.raises(WorkflowNotWaiting):
        tasks.claim(deps, task.task_id, "maria")


def test_an_ignored_review_reopens_a_bounded_number_of_times_then_ends(deps: Container, request_id: str) -> None:
    limit = deps.settings.max_reopenings
    opened = [open_(deps, request_id, TaskKind.MANUAL_REVIEW, f"tok-r{n}") for n in range(limit + 1)]
    assert [t.attempt for t in opened] == list(range(1, limit + 2))
    assert "escalated" not in opened[-2].context
    assert opened[-1].context["escalated"] == "supervisor"  # the last re-opening goes to the supervisor
    assert answers(deps) == []

    last = open_(deps, request_id, TaskKind.MANUAL_REVIEW, "tok-final")  # its timeout too: the end
    assert last.status == TaskStatus.EXPIRED
    assert answers(deps) == [("tok-final", tasks.TASK_NOT_WORKED, f"manual_review: {limit + 1} openings, none worked")]
    assert [t for t in deps.tasks.open_for(request_id) if t.kind == TaskKind.MANUAL_REVIEW] == []
    assert deps.requests.history(request_id)[-1].event == "task_not_worked"


def test_an_agent_task_is_never_reopened_past_a_limit(deps: Container, request_id: str) -> None:
    for n in range(deps.settings.max_reopenings + 3):  # identification is not a re-opening kind
        task = open_(deps, request_id, TaskKind.IDENTIFICATION, f"tok-i{n}")
        assert task.status == TaskStatus.OPEN
    assert answers(deps) == []


@pytest.mark.parametrize("moment", ["after_the_check", "before_the_write"])
def test_a_request_ending_while_the_task_completes_answers_not_waiting_and_keeps_nothing(
    deps: Container, request_id: str, moment: str
) -> None:
    """The execution ends (stopped, failed) while the agent's completion is under way: the agent
    hears that the workflow no longer waits (410), the task is expired, the request unchanged.
    Before the write: the completion's write finds the request changed, reads it again, ended."""
    from ventas.services.closing import execution_ended

    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    workflow, repository = deps.workflow, deps.requests
    assert isinstance(workflow, InMemoryWorkflow)
    checked, save = workflow.check_waiting, repository.save

    def ends_after_check(token: str) -> None:
        checked(token)
        execution_ended(deps, request_id, "ABORTED", "stopped by ops")

    def ends_before_the_write(request: SaleRequest, tasks: Sequence[TaskWrite] = ()) -> None:
        if tasks:  # the completion's write: the execution ends just before it
            repository.save = save  # type: ignore[method-assign]
            execution_ended(deps, request_id, "ABORTED", "stopped by ops")
        save(request, tasks)

    if moment == "after_the_check":
        workflow.check_waiting = ends_after_check  # type: ignore[method-assign]
    else:
        repository.save = ends_before_the_write  # type: ignore[method-assign]
    with pytest.raises(WorkflowNotWaiting):
        tasks.complete(deps, task.task_id, "maria", {"ci": "5987654 CB", "service_code": "INTERNET_FTTH_50"})
    assert deps.tasks.get(task.task_id).status == TaskStatus.EXPIRED
    assert deps.requests.get(request_id).ci is None
    assert answers(deps) == []


def test_the_qc_result_concludes_the_sale_in_its_own_write(deps: Container, request_id: str) -> None:
    """Step 13.1: the agent's QC result and the sale's end are one write; the workflow's
    CloseSale then finds the sale closed and writes nothing."""
    task = open_(deps, request_id, TaskKind.QC_CALL)
    tasks.complete(deps, task.task_id, "maria", {"satisfaction": 5, "comment": "Excelente"})

    request = deps.requests.get(request_id)
    assert (request.outcome, request.satisfaction) == (Outcome.SOLD, 5)
    assert [h.event for h in deps.requests.history(request_id)][-2:] == ["qc_call_done", "request_sold"]
    assert [(token, kind) for token, kind, _ in answers(deps)] == [("tok-1", "success")]
    assert closing.close_sale(deps, request_id) == {"outcome": "sold"}
    assert deps.requests.get(request_id).version == request.version  # nothing written
    assert isinstance(deps.metrics, RecordingMetrics)
    assert deps.metrics.outcomes == [("sold", None)]
