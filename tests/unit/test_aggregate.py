"""The request aggregate decides its transitions and records them; services load, call, save."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from tests.fakes.aws import RecordingMetrics
from tests.fakes.memory import InMemoryRequestRepository
from tests.unit.conftest import T0
from ventas.container import Container
from ventas.domain.errors import ConcurrentUpdate, InstallationConflict, RequestEnded
from ventas.domain.kpi import daily_kpi
from ventas.domain.models import (
    Channel,
    Lead,
    OrderState,
    Outcome,
    Reason,
    ReasonCode,
    SaleRequest,
    Step,
)
from ventas.ports import TaskWrite
from ventas.services import closing, intake, stages

LATER = T0 + timedelta(minutes=5)


def request(**fields: object) -> SaleRequest:
    base: dict[str, object] = {
        "request_id": "vd-1",
        "channel": Channel.WEB,
        "channel_lead_id": "w-1",
        "created_at": T0,
        "updated_at": T0,
        "phone": "+59171234567",
    }
    return SaleRequest.model_validate(base | fields)


def events(r: SaleRequest) -> list[str]:
    return [h.event for h in r.new_history]


def test_advance_moves_an_acknowledged_request_into_progress_and_records_it() -> None:
    r = request()
    r.advance(LATER, Step.IMPEDIMENTS, "no_impediment", detail_id="x")
    assert (r.status, r.step, r.updated_at) == (OrderState.IN_PROGRESS, Step.IMPEDIMENTS, LATER)
    (entry,) = r.new_history
    assert (entry.at, entry.step, entry.event, entry.detail) == (
        LATER,
        Step.IMPEDIMENTS,
        "no_impediment",
        {"detail_id": "x"},
    )


def test_advance_with_a_reason_keeps_it_for_step_14() -> None:
    r = request()
    r.advance(LATER, Step.COVERAGE, "coverage_checked", why=Reason.of(ReasonCode.NO_COVERAGE))
    assert r.reason is not None
    assert r.reason.code == ReasonCode.NO_COVERAGE


def test_reject_ends_once_with_the_reason_found_or_a_manual_one() -> None:
    r = request(reason=Reason.of(ReasonCode.DEBT))
    assert r.reject(LATER) is True
    assert (r.status, r.outcome, r.step) == (OrderState.REJECTED, Outcome.REJECTED, Step.REJECTION)
    assert r.reason is not None
    assert r.reason.code == ReasonCode.DEBT
    assert r.reject(LATER) is False  # a retried invocation
    assert events(r) == ["request_rejected"]
    manual = request()
    manual.reject(LATER)
    assert manual.reason is not None
    assert manual.reason.code == ReasonCode.MANUAL_REJECTION


def test_abandon_close_and_execution_end_each_end_once_and_never_over_another_end() -> None:
    abandoned = request(step=Step.DOCUMENTS)
    assert abandoned.abandon(LATER, ReasonCode.DOCUMENTS_NOT_RECEIVED)
    assert (abandoned.status, abandoned.outcome, abandoned.step) == (
        OrderState.CANCELLED,
        Outcome.ABANDONED,
        Step.DOCUMENTS,
    )
    assert not abandoned.close(LATER)
    assert not abandoned.end_execution(LATER, "FAILED", "boom")

    sold = request()
    assert sold.close(LATER)
    assert (sold.status, sold.outcome, sold.step) == (OrderState.COMPLETED, Outcome.SOLD, Step.CLOSED)
    assert not sold.abandon(LATER, ReasonCode.TASK_NOT_WORKED)


@pytest.mark.parametrize(
    ("status", "state", "code"),
    [
        ("ABORTED", OrderState.CANCELLED, ReasonCode.EXECUTION_STOPPED),
        ("FAILED", OrderState.FAILED, ReasonCode.EXECUTION_FAILED),
        ("TIMED_OUT", OrderState.FAILED, ReasonCode.EXECUTION_TIMED_OUT),
    ],
)
def test_an_execution_end_is_shown_on_the_request(status: str, state: OrderState, code: ReasonCode) -> None:
    r = request(status=OrderState.IN_PROGRESS, step=Step.IDENTIFICATION)
    assert r.end_execution(LATER, status, "States.Runtime x" * 50)
    assert (r.status, r.outcome) == (state, Outcome.FAILED)
    assert r.reason is not None
    assert r.reason.code == code
    assert r.reason.label  # Spanish, for people
    (entry,) = r.new_history
    assert entry.event == f"execution_{status.lower()}"
    assert len(str(entry.detail["cause"])) <= 200


def test_an_ended_request_refuses_to_move_and_records_nothing() -> None:
    r = request()
    r.close(LATER)
    r.history_saved()
    with pytest.raises(RequestEnded):
        r.advance(LATER, Step.QC, "task_opened")
    assert r.new_history == ()
    assert r.step == Step.CLOSED


def test_installation_events_apply_once_per_id_and_refuse_contradictions() -> None:
    r = request(status=OrderState.IN_PROGRESS, step=Step.INSTALLATION, order_id="SO-1")
    qc_at = LATER + timedelta(days=2)
    assert r.installation_rescheduled(LATER, "e-0", LATER + timedelta(days=3))
    assert r.expected_completion_date == LATER + timedelta(days=3)
    assert r.installation_completed(LATER, "e-1", T0, qc_at)
    assert (r.installed_at, r.qc_at) == (T0, qc_at)
    assert not r.installation_completed(LATER, "e-1", T0, qc_at)  # a replay
    with pytest.raises(InstallationConflict):
        r.installation_completed(LATER, "e-2", T0, qc_at)  # installed already, another id
    with pytest.raises(InstallationConflict):
        r.installation_cancelled(LATER, "e-1", "otro")  # same id, another kind
    with pytest.raises(InstallationConflict):
        request(step=Step.DOCUMENTS).installation_completed(LATER, "e-3", T0, qc_at)  # no order yet
    assert events(r) == ["installation_rescheduled", "installed"]


def test_joining_and_identifying_keep_what_is_known() -> None:
    r = request(name="Ana")
    r.join_lead(LATER, Channel.FACEBOOK, "f-1", missed_call=False)
    r.identify("4567890 CB", "INTERNET_FTTH_100", None)
    assert (r.ci, r.service_code, r.name, r.joined_leads) == (
        "4567890 CB",
        "INTERNET_FTTH_100",
        "Ana",
        ["facebook:f-1"],
    )
    assert events(r) == ["lead_joined"]


def test_the_kpi_breakdown_tells_unworked_tasks_from_unreachable_customers() -> None:
    a, b = request(request_id="a"), request(request_id="b")
    a.abandon(LATER, ReasonCode.TASK_NOT_WORKED)
    b.abandon(LATER, ReasonCode.CUSTOMER_UNREACHABLE)
    report = daily_kpi("2026-11-24", [a, b], "registered", 95.0)
    assert report.breakdown == {"abandoned:TASK_NOT_WORKED": 1, "abandoned:CUSTOMER_UNREACHABLE": 1}


# --- one unit of work: a message only after the state that explains it is saved -------------


class ConflictOnce(InMemoryRequestRepository):
    """Another writer saves the request between this service's load and its save, once."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.conflicts = 0

    def save(self, request: SaleRequest, tasks: Sequence[TaskWrite] = ()) -> None:
        if self.armed and request.outcome is not None:
            self.armed = False
            other = self.get(request.request_id)
            other.note(LATER, "concurrent_writer")
            super().save(other)
            self.conflicts += 1
        super().save(request, tasks)


@pytest.mark.parametrize("end", ["reject", "abandon"])
def test_a_conflict_between_save_and_send_sends_the_message_once(deps: Container, end: str) -> None:
    repo = ConflictOnce()
    deps.requests = repo
    request_id = intake.submit_lead(
        deps,
        Lead(channel="web", channel_lead_id="w-c", phone="71234567", ci="3456789 CB", service_code="INTERNET_FTTH_100"),
    ).request_id
    stages.advance(deps, request_id, Step.IMPEDIMENTS, "impediment_found", why=Reason.of(ReasonCode.DEBT))
    repo.armed = True
    if end == "reject":
        assert closing.reject(deps, request_id) == {"outcome": "rejected"}
    else:
        assert closing.abandon(deps, request_id, "CustomerUnreachable") == {"outcome": "abandoned"}
    assert repo.conflicts == 1  # the first save lost, the service re-read and re-applied
    sent = deps.notifier.messages_for(request_id)  # type: ignore[attr-defined]
    assert len(sent) == 1
    history = [h.event for h in repo.history(request_id)]
    assert history.count(f"request_{'rejected' if end == 'reject' else 'abandoned'}") == 1
    assert "concurrent_writer" in history
    metrics = deps.metrics
    assert isinstance(metrics, RecordingMetrics)
    assert len(metrics.outcomes) == 1


def test_a_message_is_not_sent_when_the_save_keeps_failing(deps: Container) -> None:
    class AlwaysConflict(InMemoryRequestRepository):
        def save(self, request: SaleRequest, tasks: Sequence[TaskWrite] = ()) -> None:
            if request.outcome is not None:
                raise ConcurrentUpdate(request.request_id)
            super().save(request, tasks)

    deps.requests = AlwaysConflict()
    request_id = intake.submit_lead(deps, Lead(channel="web", channel_lead_id="w-x", phone="71234568")).request_id
    with pytest.raises(ConcurrentUpdate):
        closing.reject(deps, request_id)
    assert deps.notifier.messages_for(request_id) == []  # type: ignore[attr-defined]


def test_an_execution_that_ends_badly_frees_the_customer_for_a_new_request(deps: Container) -> None:
    lead = Lead(channel="web", channel_lead_id="w-e", phone="71234569")
    first = intake.submit_lead(deps, lead).request_id
    assert closing.execution_ended(deps, first, "FAILED", "States.Runtime") is True
    assert closing.execution_ended(deps, first, "FAILED", "States.Runtime") is False  # EventBridge's retry
    assert closing.execution_ended(deps, "vd-unknown-1", "ABORTED", None) is False
    assert deps.requests.get(first).status == OrderState.FAILED
    second = intake.submit_lead(deps, lead.model_copy(update={"channel_lead_id": "w-e2"}))
    assert (second.created, second.request_id != first) == (True, True)
    assert deps.notifier.messages_for(first) == []  # type: ignore[attr-defined]
