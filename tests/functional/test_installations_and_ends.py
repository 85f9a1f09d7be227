"""Step 12 through the API (Instalaciones' events) and every execution's end on its request."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from devstack.driver import Driver, wait_for
from devstack.http_driver import ApiFailure, HttpDriver
from tests.functional.conftest import TEST_SCALE, shorten
from ventas.domain.models import OrderState, Outcome, ReasonCode, Step
from ventas.domain.schedule import LA_PAZ
from ventas.domain.tasks import TaskKind, TaskStatus

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}
DOCS = ("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ")


def _sold(http: HttpDriver, lead_id: str, phone: str) -> tuple[str, str]:
    """A lead through the API, its documents through the webhook, up to the hand-off (step 12)."""
    request_id = http.submit_lead(
        channel="web",
        channel_lead_id=lead_id,
        phone=phone,
        ci=f"6{phone[-6:]} LP",
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    wait_for(lambda: http.request(request_id).step == Step.REQUIREMENTS, 20, "step 8")
    for n, code in enumerate(DOCS):
        http.send_document(phone, f"media-{request_id}-{n}", code)
    return request_id, http.handed_off(request_id)


def test_an_installation_reported_days_late_schedules_the_qc_call_in_business_hours(http: HttpDriver) -> None:
    request_id, order_id = _sold(http, "web-inst-late", "+59176000001")
    installed_at = datetime.now(UTC) - timedelta(days=3)  # reported three days late
    reported = datetime.now(UTC)
    answer = http.installation_event(
        order_id, {"kind": "completed", "event_id": f"opr-{order_id}-1", "installed_at": installed_at.isoformat()}
    )
    assert (answer["duplicate"], answer["request_id"]) == (False, request_id)
    qc_at = datetime.fromisoformat(answer["qc_at"])
    # Not in the past (installed + 1 h delay is long gone): at or after the report, in La Paz hours.
    assert qc_at >= reported.replace(microsecond=0)
    local = qc_at.astimezone(LA_PAZ)
    assert local.weekday() < 6
    assert (8, 30) <= (local.hour, local.minute) < (18, 30)
    assert http.request(request_id).qc_at == qc_at

    qc = http.open_task(request_id, TaskKind.QC_CALL)  # the Wait ended, the QC call is open
    http.claim(qc.task_id, "agente.rosa")
    http.complete(qc.task_id, "agente.rosa", {"satisfaction": 5, "comment": "Muy conforme"})
    assert http.finish(request_id)["status"] == "SUCCEEDED"
    assert http.request(request_id).outcome == Outcome.SOLD


def test_the_qc_wait_ends_at_the_requests_qc_time(driver: Driver, http: HttpDriver) -> None:
    """The Wait reads the instant the request shows, compressed like every local wait."""
    request_id, order_id = _sold(http, "web-inst-wait", "+59176000005")
    event = {"kind": "completed", "event_id": f"opr-{order_id}-w", "installed_at": datetime.now(UTC).isoformat()}
    sent_at = datetime.now(UTC)
    qc_at = datetime.fromisoformat(http.installation_event(order_id, event)["qc_at"])
    answered_at = datetime.now(UTC)
    wait_for(lambda: "WaitForQcSlot" in driver.states_entered(request_id), 20, "the QC wait")
    entered = next(
        e
        for e in driver.history(request_id)
        if e["type"] == "WaitStateEntered" and e["stateEnteredEventDetails"]["name"] == "WaitForQcSlot"
    )
    wait_until = datetime.fromisoformat(
        json.loads(entered["stateEnteredEventDetails"]["input"])["installation"]["qcWaitUntil"]
    )
    # The workflow was answered at some instant between sending and the answer (a loaded machine
    # may take seconds): the Wait ends at the compressed QC time seen from that instant.
    earliest = sent_at + (qc_at - sent_at) / float(TEST_SCALE)
    latest = answered_at + (qc_at - answered_at) / float(TEST_SCALE)
    assert earliest - timedelta(seconds=1) <= wait_until <= latest + timedelta(seconds=1)


def test_an_installation_cancelled_ends_the_request_once(http: HttpDriver) -> None:
    request_id, order_id = _sold(http, "web-inst-cancel", "+59176000002")
    event = {"kind": "cancelled", "event_id": f"opr-{order_id}-c", "reason": "El cliente desistió de la instalación"}
    assert http.installation_event(order_id, event)["duplicate"] is False

    assert http.finish(request_id)["status"] == "SUCCEEDED"
    request = http.request(request_id)
    assert (request.status, request.outcome) == (OrderState.CANCELLED, Outcome.ABANDONED)
    assert request.reason is not None
    assert request.reason.code == ReasonCode.INSTALLATION_CANCELLED
    assert http.states_entered(request_id)[-2:] == ["AwaitInstallation", "AbandonRequest"]
    assert http.messages(request_id).count("abandonment") == 1


def test_an_event_replayed_changes_nothing_and_contradictions_are_refused(http: HttpDriver) -> None:
    request_id, order_id = _sold(http, "web-inst-replay", "+59176000003")
    done = {"kind": "completed", "event_id": f"opr-{order_id}-d", "installed_at": datetime.now(UTC).isoformat()}
    first = http.installation_event(order_id, done)
    again = http.installation_event(order_id, done)  # the installer's retry
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["qc_at"] == first["qc_at"]
    events = [h["event"] for h in http.call("GET", f"/v1/requests/{request_id}", http_role())["history"]]
    assert events.count("installed") == 1

    with pytest.raises(ApiFailure) as contradicted:  # cancelled after it was installed
        http.installation_event(order_id, {"kind": "cancelled", "event_id": f"opr-{order_id}-x", "reason": "error"})
    assert (contradicted.value.status, contradicted.value.code) == (409, "installation_conflict")
    with pytest.raises(ApiFailure) as unknown:
        http.installation_event("SO-NO-EXISTE", done)
    assert (unknown.value.status, unknown.value.code) == (404, "order_not_found")
    future = {**done, "event_id": "opr-future", "installed_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    with pytest.raises(ApiFailure) as refused:
        http.installation_event(order_id, future)
    assert refused.value.status == 422
    assert refused.value.fields[0]["field"] == "installed_at"
    assert "futuro" in refused.value.fields[0]["message"]


def http_role() -> object:
    from ventas.web.auth import Role

    return Role.SUPERVISOR


def test_a_stopped_execution_ends_its_request_and_a_new_lead_starts_a_new_one(driver: Driver, http: HttpDriver) -> None:
    phone = "+59176000004"
    first = http.submit_lead(channel="web", channel_lead_id="web-stop-1", phone=phone, location=CENTRO)
    task = http.open_task(first, TaskKind.IDENTIFICATION)
    sfn = driver.stack.client("stepfunctions")
    sfn.stop_execution(executionArn=driver.execution_arn(first), error="Ops", cause="stopped by ops")

    # As in AWS: the stop ends the wait at once, and the token is no longer accepted.
    assert driver.execution(first)["status"] == "ABORTED"
    with pytest.raises(sfn.exceptions.ClientError):
        sfn.send_task_success(taskToken=driver.stack.deps.tasks.get(task.task_id).token, output="{}")

    ended = wait_for(lambda: (r := http.request(first)).outcome and r, 20, "the request marked")
    assert ended.status == OrderState.CANCELLED
    assert ended.reason is not None
    assert ended.reason.code == ReasonCode.EXECUTION_STOPPED
    assert driver.stack.deps.tasks.get(task.task_id).status == TaskStatus.EXPIRED
    found = http.call("GET", "/v1/requests?status=cancelled&limit=100", http_role())["items"]
    assert first in {item["request_id"] for item in found}  # ops find it

    # The agent's completion after the stop changes nothing.
    before = http.call("GET", f"/v1/requests/{first}", http_role())
    with pytest.raises(ApiFailure) as late:
        http.complete(task.task_id, "agente.maria", {"ci": "5987654 CB", "service_code": "INTERNET_FTTH_50"})
    assert late.value.status == 410
    after = http.call("GET", f"/v1/requests/{first}", http_role())
    assert after["history"] == before["history"]
    assert http.request(first).ci is None

    # The customer's keys are free: a new lead is a new request with its own execution.
    second = http.submit_lead(channel="facebook", channel_lead_id="fb-stop-2", phone=phone, location=CENTRO)
    assert second != first
    http.open_task(second, TaskKind.IDENTIFICATION)
    assert driver.execution(second)["status"] == "RUNNING"


def test_an_ignored_review_is_escalated_then_ends_the_request(driver: Driver, http: HttpDriver) -> None:
    stack = driver.stack
    stack.deps.settings = dataclasses.replace(stack.deps.settings, max_reopenings=1)
    # Three seconds per opening at the test scale: an opening's task is stored before the next
    # one looks for it, even on a loaded machine.
    shorten(stack, review_hours=72)
    driver.outage("naf")
    request_id = http.submit_lead(
        channel="web",
        channel_lead_id="web-ignored",
        phone="+59176000006",
        ci="6000006 LP",
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    assert driver.finish(request_id, timeout=60)["status"] == "SUCCEEDED"
    request = http.request(request_id)
    assert (request.status, request.outcome) == (OrderState.CANCELLED, Outcome.ABANDONED)
    assert request.reason is not None
    assert request.reason.code == ReasonCode.TASK_NOT_WORKED
    entered = driver.states_entered(request_id)
    assert entered.count("ReviewEligibilityFault") == 3  # opened, re-opened (escalated), then ended
    assert entered[-1] == "AbandonRequest"
    reviews = [
        t
        for t in stack.deps.tasks.inbox(TaskStatus.EXPIRED, 100)[0]
        if t.request_id == request_id and t.kind == TaskKind.MANUAL_REVIEW
    ]
    assert any(t.context.get("escalated") == "supervisor" for t in reviews)


def test_a_failed_execution_marks_its_request_failed_with_the_cause(driver: Driver, http: HttpDriver) -> None:
    """Something broke (here: a task answered with an error the ASL does not catch)."""
    phone = "+59176000007"
    request_id = http.submit_lead(channel="web", channel_lead_id="web-failed", phone=phone, location=CENTRO)
    task = http.open_task(request_id, TaskKind.IDENTIFICATION)
    sfn = driver.stack.client("stepfunctions")
    token = driver.stack.deps.tasks.get(task.task_id).token
    sfn.send_task_failure(taskToken=token, error="Unexpected", cause="a bug in a stage")
    assert driver.finish(request_id)["status"] == "FAILED"

    ended = wait_for(lambda: (r := http.request(request_id)).outcome and r, 20, "the request marked")
    assert (ended.status, ended.outcome) == (OrderState.FAILED, Outcome.FAILED)
    assert ended.reason is not None
    assert ended.reason.code == ReasonCode.EXECUTION_FAILED
    assert driver.stack.deps.tasks.get(task.task_id).status == TaskStatus.EXPIRED
    history = http.call("GET", f"/v1/requests/{request_id}", http_role())["history"]
    assert history[-1]["event"] == "execution_failed"
    found = http.call("GET", "/v1/requests?status=failed&limit=100", http_role())["items"]
    assert request_id in {item["request_id"] for item in found}
    assert http.messages(request_id) == []  # ops decide what the customer is told
    # The customer may start again.
    again = http.submit_lead(channel="web", channel_lead_id="web-failed-2", phone=phone, location=CENTRO)
    assert again != request_id


def test_a_token_answered_already_is_refused_as_aws_refuses_it(driver: Driver, http: HttpDriver) -> None:
    """The execution goes on (RUNNING, waiting elsewhere); its old token is a client error that
    the workflow adapter reads as "no longer waiting" (TaskTimedOut), never a 500 of the engine."""
    request_id = http.submit_lead(
        channel="web",
        channel_lead_id="web-token-twice",
        phone="+59176000008",
        ci="6000008 LP",
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    wait_for(lambda: http.request(request_id).step == Step.REQUIREMENTS, 20, "step 8")
    token = wait_for(
        lambda: driver.stack.deps.requests.get(request_id).waits.get("documents"), 20, "the documents wait"
    )
    sfn = driver.stack.client("stepfunctions")
    sfn.send_task_success(taskToken=token, output="{}")  # the wait for documents ends
    wait_for(lambda: "AwaitInstallation" in driver.states_entered(request_id), 20, "the installation wait")
    assert driver.execution(request_id)["status"] == "RUNNING"
    for send in (
        lambda: sfn.send_task_success(taskToken=token, output="{}"),
        lambda: sfn.send_task_heartbeat(taskToken=token),
        lambda: sfn.send_task_failure(taskToken=token, error="X", cause="late"),
    ):
        with pytest.raises(sfn.exceptions.ClientError) as refused:
            send()
        assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
