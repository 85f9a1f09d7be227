"""Stage logic (steps 1-14) with in-memory fakes: no moto, no network."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.aws import InMemoryWorkflow, RecordingMetrics
from tests.unit.conftest import T0, FrozenClock
from ventas.container import Container
from ventas.domain.catalogue import CoverageZone
from ventas.domain.errors import InstallationConflict, UnknownService
from ventas.domain.installation import InstallationCompleted
from ventas.domain.models import Lead, MissedCall, OrderState, Outcome, ReasonCode, Step
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.services import closing, duplicates, events, installations, intake, stages, tasks

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}


def workflow(deps: Container) -> InMemoryWorkflow:
    assert isinstance(deps.workflow, InMemoryWorkflow)
    return deps.workflow


def lead(**fields: Any) -> Lead:
    base: dict[str, Any] = {"channel": "web", "channel_lead_id": "w-1", "phone": "71234567"}
    return Lead.model_validate(base | fields)


def new_request(deps: Container, **fields: Any) -> str:
    return intake.submit_lead(deps, lead(**fields)).request_id


# --- intake ------------------------------------------------------------------------------


def test_lead_is_persisted_and_started_with_ids_and_flags_only(deps: Container) -> None:
    result = intake.submit_lead(deps, lead(ci="4567890 cb", service_code="INTERNET_FTTH_100", location=CENTRO))
    assert result.created
    request = deps.requests.get(result.request_id)
    assert (request.phone, request.ci, request.status) == ("+59171234567", "4567890 CB", OrderState.ACKNOWLEDGED)
    started = workflow(deps).started[result.request_id]
    assert started["entry"] == {"missedCall": False, "identified": True, "hasLocation": True}
    assert "71234567" not in str(started)
    assert "4567890" not in str(started)


def test_replayed_lead_returns_the_same_request(deps: Container) -> None:
    first = intake.submit_lead(deps, lead())
    again = intake.submit_lead(deps, lead())
    assert (again.request_id, again.created) == (first.request_id, False)
    assert len(workflow(deps).started) == 1


def test_lead_with_same_ci_from_another_phone_is_held_apart_and_binds_nothing(deps: Container) -> None:
    first = new_request(deps, ci="4567890 CB")
    held = intake.submit_lead(deps, lead(channel="facebook", channel_lead_id="f-9", phone="77000001", ci="4567890 CB"))
    assert (held.created, held.joined) == (True, False)
    assert held.request_id != first
    assert deps.requests.get(held.request_id).possible_duplicate_of == first
    assert held.request_id not in workflow(deps).started  # held until an agent verifies identity
    assert events.open_request_for_phone(deps, "+59177000001") == held.request_id  # never the first request


def test_missed_call_starts_with_a_call_back_and_no_identity(deps: Container) -> None:
    result = intake.report_missed_call(deps, MissedCall(caller="+59171234567", line="4200400", called_at=T0))
    assert workflow(deps).started[result.request_id]["entry"]["missedCall"] is True
    assert deps.requests.get(result.request_id).missed_call


def test_unknown_service_is_refused_before_anything_is_stored(deps: Container) -> None:
    with pytest.raises(UnknownService):
        intake.submit_lead(deps, lead(service_code="NO_EXISTE"))
    assert workflow(deps).started == {}


# --- step 4 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "eligible", "reason"),
    [
        ("4567890 CB", True, None),
        ("1111111 CB", True, None),  # not in the cartera: a new customer
        ("7456123 CB", False, ReasonCode.DEBT),  # debt and equipment: debt first
        ("5555123 CB", False, ReasonCode.CENTRAL_DE_RIESGOS),  # all three
    ],
)
def test_impediments_decide_step_4(deps: Container, ci: str, eligible: bool, reason: ReasonCode | None) -> None:
    request_id = new_request(deps, ci=ci, service_code="INTERNET_FTTH_100")
    result = stages.check_impediments(deps, request_id)
    assert result == {"eligible": eligible, "needsLocation": eligible}
    request = deps.requests.get(request_id)
    assert (request.reason.code if request.reason else None) == reason
    assert (request.step, request.status) == (Step.IMPEDIMENTS, OrderState.IN_PROGRESS)


# --- step 7 ------------------------------------------------------------------------------


def zone(tech: str, speed: int, *features: str) -> CoverageZone:
    return CoverageZone(
        zone_id=f"Z-{tech}-{speed}", name="z", technology=tech, max_speed_mbps=speed, features=list(features)
    )


@pytest.mark.parametrize(
    ("service", "zones", "result", "reason"),
    [
        ("INTERNET_FTTH_100", [zone("FTTH", 300)], "qualified", None),
        ("INTERNET_FTTH_100", [], "unqualified", ReasonCode.NO_COVERAGE),
        ("INTERNET_FTTH_100", [zone("HFC", 50)], "alternate", ReasonCode.NO_COVERAGE),
        ("INTERNET_FTTH_300", [zone("FTTH", 100)], "alternate", ReasonCode.SPEED_NOT_SUPPORTED),
        ("EMPRESA_FTTH_100_IP_FIJA", [zone("FTTH", 300)], "alternate", ReasonCode.FEATURE_NOT_AVAILABLE),
        ("EMPRESA_FTTH_100_IP_FIJA", [zone("FTTH", 300, "static_ip")], "qualified", None),
        # Overlapping networks: a phone line goes on copper even where HFC is the faster zone.
        ("TELEFONIA_FIJA", [zone("HFC", 50), zone("COPPER", 10)], "qualified", None),
    ],
)
def test_qualification_per_tmf645(
    deps: Container, service: str, zones: list[CoverageZone], result: str, reason: ReasonCode | None
) -> None:
    offered = deps.catalogue.service(service)
    assert offered is not None
    q = stages.qualify(offered, zones, deps.catalogue.services())
    assert q.qualification_result == result
    assert (q.reason.code if q.reason else None) == reason
    if result == "alternate":
        alternate = deps.catalogue.service(q.alternate_service_code or "")
        assert alternate is not None
        assert alternate.kind == offered.kind


# --- steps 8, 9 ----------------------------------------------------------------------------


def test_documents_tick_the_checklist_and_the_last_one_resumes_the_wait(deps: Container) -> None:
    request_id = new_request(deps, ci="4567890 CB", service_code="TV_CABLE", location=CENTRO)
    token = workflow(deps).wait("tok-docs")
    stages.request_documents(deps, request_id, token, reminder=False)
    assert deps.requests.get(request_id).waits.get("documents") == token

    unsure = events.receive_document(deps, "+59171234567", "m0", "image/jpeg", b"x", T0)  # no label: no guess
    assert (unsure.status, unsure.missing) == ("unclassified", ("CI_ANVERSO", "CI_REVERSO"))
    first = events.receive_document(deps, "+59171234567", "m1", "image/jpeg", b"x", T0, "CI_ANVERSO")
    assert (first.status, first.missing) == ("recorded", ("CI_REVERSO",))
    dup = events.receive_document(deps, "+59171234567", "m1", "image/jpeg", b"x", T0)
    assert dup.status == "duplicate"
    last = events.receive_document(deps, "+59171234567", "m2", "image/jpeg", b"y", T0, "CI_REVERSO")
    assert last.status == "complete"
    assert workflow(deps).answers == [(token, "success", {})]
    assert deps.requests.get(request_id).waits.get("documents") is None
    extra = events.receive_document(deps, "+59171234567", "m3", "image/jpeg", b"z", T0)
    assert extra.status == "not_expected"


def test_documents_that_came_first_let_the_wait_go_on_at_once(deps: Container) -> None:
    request_id = new_request(deps, ci="4567890 CB", service_code="TV_CABLE", location=CENTRO)
    for media, code in (("a", "CI_ANVERSO"), ("b", "CI_REVERSO")):
        events.receive_document(deps, "+59171234567", media, "image/png", b"x", T0, code)
    token = workflow(deps).wait("tok-early")
    stages.request_documents(deps, request_id, token, reminder=False)
    assert workflow(deps).answers == [(token, "success", {})]
    assert deps.notifier.messages_for(request_id) == []  # type: ignore[attr-defined]


def test_a_document_before_step_8_is_kept_where_the_request_stands(deps: Container) -> None:
    request_id = new_request(deps, ci="4567890 CB", service_code="TV_CABLE")  # waits for its location (5)
    request = deps.requests.get(request_id)
    request.step, request.status = Step.LOCATION, OrderState.IN_PROGRESS
    deps.requests.save(request)
    receipt = events.receive_document(deps, "+59171234567", "m1", "image/png", b"x", T0, "CI_ANVERSO")
    assert receipt.status == "recorded"
    request = deps.requests.get(request_id)
    assert request.step == Step.LOCATION  # the workflow still waits at step 5: the request says so
    assert [d.media_id for d in request.documents] == ["m1"]


def test_a_document_never_releases_a_request_held_as_a_possible_duplicate(deps: Container) -> None:
    new_request(deps, ci="4567890 CB")
    held = intake.submit_lead(
        deps,
        lead(channel="facebook", channel_lead_id="f-9", phone="77000001", ci="4567890 CB", service_code="TV_CABLE"),
    ).request_id
    for media, code in (("a", "CI_ANVERSO"), ("b", "CI_REVERSO")):
        events.receive_document(deps, "+59177000001", media, "image/png", b"x", T0, code)
    request = deps.requests.get(held)
    assert (request.status, request.step) == (OrderState.ACKNOWLEDGED, Step.INTAKE)  # still held, not "in progress"
    assert [r.request_id for r in duplicates.pending(deps, 10)] == [held]  # still in the agents' queue
    assert held not in workflow(deps).started


def test_document_from_an_unknown_number_is_not_recorded(deps: Container) -> None:
    receipt = events.receive_document(deps, "+59170000000", "m", "image/png", b"x", T0)
    assert receipt.status == "unknown_sender"


# --- steps 10-13 -----------------------------------------------------------------------------


def sold_until_installation(deps: Container) -> str:
    request_id = new_request(deps, ci="4567890 CB", service_code="TV_CABLE", location=CENTRO)
    for media, code in (("a", "CI_ANVERSO"), ("b", "CI_REVERSO")):
        events.receive_document(deps, "+59171234567", media, "image/png", b"x", T0, code)
    stages.register_sale(deps, request_id)
    stages.hand_off_installation(deps, request_id, workflow(deps).wait("tok-install"))
    return request_id


def test_sale_is_registered_once_and_the_customer_is_told_the_estimate(deps: Container) -> None:
    request_id = sold_until_installation(deps)
    again = stages.register_sale(deps, request_id)  # a Lambda retry
    request = deps.requests.get(request_id)
    assert again == {"orderId": request.order_id}
    assert request.expected_completion_date is not None
    assert (request.expected_completion_date - T0).days == 15
    texts = [m["text"] for m in deps.notifier.messages_for(request_id)]  # type: ignore[attr-defined]
    assert "2 a 15 días" in texts[0]
    assert request.order_id in texts[0]


def test_installation_event_schedules_qc_inside_business_hours(deps: Container, clock: FrozenClock) -> None:
    request_id = sold_until_installation(deps)
    order_id = deps.requests.get(request_id).order_id
    assert order_id is not None
    saturday_evening = T0.replace(day=28, hour=23)  # 19:00 La Paz, Saturday
    clock.at = saturday_evening + timedelta(minutes=10)  # reported on time
    event = InstallationCompleted(kind="completed", event_id="opr-1", installed_at=saturday_evening)
    receipt = installations.report_installation(deps, order_id, event)
    request = deps.requests.get(request_id)
    # 48 h later is Monday 19:00 La Paz, after closing: Tuesday 08:30 La Paz = 12:30 UTC.
    assert request.qc_at is not None
    assert request.qc_at.isoformat() == "2026-12-01T12:30:00+00:00"
    assert (receipt.qc_at, receipt.duplicate) == (request.qc_at, False)
    ((_, kind, output),) = workflow(deps).answers
    assert kind == "success"
    assert output["qcWaitUntil"] == "2026-12-01T12:30:00Z"  # the Wait ends at the request's qc_at
    # The same event again: answered as before, nothing changes, the workflow is not asked twice.
    again = installations.report_installation(deps, order_id, event)
    assert (again.duplicate, again.qc_at) == (True, request.qc_at)
    assert len(workflow(deps).answers) == 1
    assert [h.event for h in deps.requests.history(request_id)].count("installed") == 1


def test_an_installation_the_workflow_does_not_wait_for_is_refused_and_rewrites_nothing(
    deps: Container, clock: FrozenClock
) -> None:
    request_id = sold_until_installation(deps)
    order_id = deps.requests.get(request_id).order_id
    assert order_id is not None
    workflow(deps).waiting.discard("tok-install")  # the wait timed out; no follow-up task yet
    clock.at = T0 + timedelta(days=2)
    event = InstallationCompleted(kind="completed", event_id="opr-late", installed_at=T0 + timedelta(days=1))
    with pytest.raises(InstallationConflict, match="no está esperando"):
        installations.report_installation(deps, order_id, event)
    request = deps.requests.get(request_id)
    assert (request.installed_at, request.qc_at, request.installation_events) == (None, None, {})
    assert "installed" not in [h.event for h in deps.requests.history(request_id)]
    assert workflow(deps).answers == []


def test_an_installation_after_the_wait_timed_out_answers_the_follow_up_task_with_the_same_qc_time(
    deps: Container, clock: FrozenClock
) -> None:
    request_id = sold_until_installation(deps)
    order_id = deps.requests.get(request_id).order_id
    assert order_id is not None
    workflow(deps).waiting.discard("tok-install")  # timed out into FollowUpInstallation
    follow_up = tasks.open_task(
        deps, TaskKind.INSTALLATION_FOLLOW_UP, request_id, workflow(deps).wait("tok-follow"), 3600
    )
    clock.at = T0 + timedelta(days=2)
    event = InstallationCompleted(kind="completed", event_id="opr-late", installed_at=T0 + timedelta(days=1))
    receipt = installations.report_installation(deps, order_id, event)
    ((token, kind, output),) = workflow(deps).answers
    assert (token, kind) == ("tok-follow", "success")
    assert receipt.qc_at is not None
    assert output["qcWaitUntil"] == receipt.qc_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert deps.tasks.get(follow_up.task_id).status == TaskStatus.COMPLETED


# --- endings ---------------------------------------------------------------------------------


def test_rejection_tells_the_reason_and_ends_once(deps: Container) -> None:
    request_id = new_request(deps, ci="3456789 CB", service_code="INTERNET_FTTH_100", location=CENTRO)
    stages.check_impediments(deps, request_id)
    assert closing.reject(deps, request_id) == {"outcome": "rejected"}
    assert closing.reject(deps, request_id) == {"outcome": "rejected"}  # a retried invocation
    metrics = deps.metrics
    assert isinstance(metrics, RecordingMetrics)
    assert metrics.outcomes == [("rejected", "DEBT")]
    assert len(deps.notifier.messages_for(request_id)) == 1  # type: ignore[attr-defined]
    # The customer's keys are free again: a new lead is a new request.
    assert new_request(deps, channel_lead_id="w-2", ci="3456789 CB") != request_id


@pytest.mark.parametrize(
    ("error", "step", "reason"),
    [
        ("States.Timeout", Step.REQUIREMENTS, ReasonCode.DOCUMENTS_NOT_RECEIVED),
        ("States.Timeout", Step.DOCUMENTS, ReasonCode.DOCUMENTS_NOT_RECEIVED),
        ("States.Timeout", Step.IDENTIFICATION, ReasonCode.TASK_NOT_WORKED),  # nobody called
        ("States.Timeout", Step.CALL_BACK, ReasonCode.TASK_NOT_WORKED),
        ("TaskNotWorked", Step.SALE, ReasonCode.TASK_NOT_WORKED),
        ("CustomerUnreachable", Step.CALL_BACK, ReasonCode.CUSTOMER_UNREACHABLE),
        ("InstallationCancelled", Step.INSTALLATION, ReasonCode.INSTALLATION_CANCELLED),
    ],
)
def test_abandon_reason_follows_the_wait_that_ran_out(
    deps: Container, error: str, step: Step, reason: ReasonCode
) -> None:
    request_id = new_request(deps)
    stages.advance(deps, request_id, step, "test")
    closing.abandon(deps, request_id, error)
    ended = deps.requests.get(request_id)
    assert (ended.status, ended.outcome) == (OrderState.CANCELLED, Outcome.ABANDONED)
    assert ended.reason is not None
    assert ended.reason.code == reason
