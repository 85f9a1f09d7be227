"""`services.outbound.tell_customer`: once per (request, message kind), recorded, never fatal (issue 7.6)."""

from __future__ import annotations

import time

import pytest

from tests.fakes.aws import InMemoryWorkflow, RecordingMetrics
from tests.unit.conftest import FrozenClock
from tests.unit.test_stages import CENTRO, new_request
from tests.unit.whatsapp_fakes import ScriptedNotifier
from ventas.adapters.whatsapp import CloudApiNotifier
from ventas.container import Container
from ventas.domain.errors import ConcurrentUpdate, MessageWindowClosed, NotifierUnavailable, WhatsAppRejected
from ventas.domain.messages import MESSAGE_TEMPLATES
from ventas.domain.models import ReasonCode
from ventas.domain.tasks import HumanTask, TaskKind
from ventas.services import closing, outbound, stages


@pytest.fixture
def notifier(deps: Container) -> ScriptedNotifier:
    scripted = ScriptedNotifier()
    deps.notifier = scripted
    return scripted


def identified(deps: Container) -> str:
    return new_request(deps, ci="4567890 CB", service_code="TV_CABLE", location=CENTRO)


def history(deps: Container, request_id: str, event: str) -> list[dict[str, object]]:
    return [h.detail for h in deps.requests.history(request_id) if h.event == event]


def contact_tasks(deps: Container, request_id: str) -> list[HumanTask]:
    return [t for t in deps.tasks.open_for(request_id) if t.kind == TaskKind.CONTACT_CUSTOMER]


def test_a_message_is_sent_once_per_kind_and_its_wamid_maps_back_to_the_request(
    deps: Container, notifier: ScriptedNotifier
) -> None:
    request_id = identified(deps)
    request = deps.requests.get(request_id)
    wamid = outbound.tell_customer(deps, request, "rejection", "texto")
    assert wamid == "wamid.test-1"
    assert outbound.tell_customer(deps, request, "rejection", "texto") is None  # a retried stage
    assert notifier.kinds(request_id) == ["rejection"]
    assert outbound.message_for(deps, wamid) == (request_id, "rejection")
    assert history(deps, request_id, "customer_message_sent") == [{"template": "rejection", "wamid": wamid}]
    assert outbound.tell_customer(deps, request, "abandonment", "otro") == "wamid.test-2"  # another kind goes


@pytest.mark.parametrize(
    ("refusal", "code", "reason"),
    [
        (
            MessageWindowClosed("outside the 24-hour window", 400, 131047),
            "131047",
            "pasaron más de 24 horas desde el último mensaje del cliente",
        ),
        (WhatsAppRejected("the WhatsApp access token is not set"), "refused", "WhatsApp rechazó el mensaje"),
        (
            WhatsAppRejected("Meta error 131026", 400, 131026),
            "131026",
            "el número no pudo recibir el mensaje (puede no tener WhatsApp o una versión antigua)",
        ),
        (
            ValueError("the recipient is not an E.164 phone number"),
            "not_a_recipient",
            "el número registrado no es un número de WhatsApp válido",
        ),
    ],
)
def test_a_refused_requirements_message_opens_a_contact_task_and_the_wait_goes_on(
    deps: Container, notifier: ScriptedNotifier, refusal: Exception, code: str, reason: str
) -> None:
    request_id = identified(deps)
    notifier.answers["requirements_request"] = [refusal]
    token = workflow_wait(deps, "tok-docs")
    stages.request_documents(deps, request_id, token, reminder=False)  # returns: no failed execution
    assert deps.requests.get(request_id).waits.get("documents") == token  # still waiting for documents
    (refused,) = history(deps, request_id, "customer_message_refused")
    assert refused["template"] == "requirements_request"
    (task,) = contact_tasks(deps, request_id)
    assert task.context == {
        "cause": "message_refused",
        "message": "requirements_request",
        "meta_code": code,
        "message_label": "la lista de requisitos (paso 8)",
        "reason_label": reason,
    }
    assert task.token is None
    assert isinstance(deps.metrics, RecordingMetrics)
    assert deps.metrics.failed_messages == [("requirements_request", code)]
    stages.request_documents(deps, request_id, token, reminder=False)  # the Lambda retried
    assert len(contact_tasks(deps, request_id)) == 1
    assert len(history(deps, request_id, "customer_message_refused")) == 1
    assert notifier.sent == []


def test_a_missing_access_token_in_the_real_notifier_is_a_refusal_not_a_failure(deps: Container) -> None:
    deps.notifier = CloudApiNotifier("106540352242922", access_token=lambda: "")
    request_id = identified(deps)
    assert outbound.tell_customer(deps, deps.requests.get(request_id), "sale_done", "texto") is None
    assert len(contact_tasks(deps, request_id)) == 1


def test_meta_silent_is_raised_for_the_workflow_retry_and_the_retry_sends_once(
    deps: Container, notifier: ScriptedNotifier
) -> None:
    request_id = identified(deps)
    request = deps.requests.get(request_id)
    notifier.answers["sale_done"] = [NotifierUnavailable("timeout")]
    with pytest.raises(NotifierUnavailable):
        outbound.tell_customer(deps, request, "sale_done", "texto")
    assert contact_tasks(deps, request_id) == []
    assert outbound.tell_customer(deps, request, "sale_done", "texto") == "wamid.test-1"  # lease released
    assert notifier.kinds(request_id) == ["sale_done"]


def test_a_send_in_flight_holds_a_lease_and_a_dead_one_is_taken_over(
    deps: Container, notifier: ScriptedNotifier
) -> None:
    request_id = identified(deps)
    request = deps.requests.get(request_id)
    request.messages["sale_done"] = f"{outbound.SENDING} {time.time():.3f} other-attempt"
    deps.requests.save(request)
    with pytest.raises(NotifierUnavailable):
        outbound.tell_customer(deps, deps.requests.get(request_id), "sale_done", "texto")
    assert notifier.sent == []
    request = deps.requests.get(request_id)
    request.messages["sale_done"] = f"{outbound.SENDING} {time.time() - outbound.LEASE_SECONDS - 1:.3f} dead"
    deps.requests.save(request)
    assert outbound.tell_customer(deps, request, "sale_done", "texto") == "wamid.test-1"
    assert deps.requests.get(request_id).messages == {"sale_done": outbound.SENT}


def test_a_conflict_after_the_rejection_message_does_not_send_it_twice(
    deps: Container, notifier: ScriptedNotifier, clock: FrozenClock
) -> None:
    request_id = identified(deps)
    request = deps.requests.get(request_id)
    request.reason = None
    deps.requests.save(request)
    real_save = deps.requests.save
    conflicts = iter([True])

    def save_once_conflicting(request: object) -> None:
        if next(conflicts, False):
            raise ConcurrentUpdate(request_id)
        real_save(request)  # type: ignore[arg-type]

    deps.requests.save = save_once_conflicting  # type: ignore[method-assign]
    # The save loses once and is retried (update_request); the message goes out after it.
    assert closing.reject(deps, request_id) == {"outcome": "rejected"}
    deps.requests.save = real_save  # type: ignore[method-assign]
    assert closing.reject(deps, request_id) == {"outcome": "rejected"}  # the stage's own retry
    assert notifier.kinds(request_id) == ["rejection"]
    assert deps.requests.get(request_id).reason is not None
    assert deps.requests.get(request_id).reason.code == ReasonCode.MANUAL_REJECTION  # type: ignore[union-attr]


def workflow_wait(deps: Container, token: str) -> str:
    assert isinstance(deps.workflow, InMemoryWorkflow)
    return deps.workflow.wait(token)


def _stage(deps: Container, request_id: str, kind: str) -> object:
    """Run the stage that sends message `kind`, as its Lambda would."""
    if kind == "requirements_request":
        return stages.request_documents(deps, request_id, workflow_wait(deps, "tok-r"), reminder=False)
    if kind == "requirements_reminder":
        return stages.request_documents(deps, request_id, workflow_wait(deps, "tok-m"), reminder=True)
    if kind == "sale_done":
        return stages.register_sale(deps, request_id)
    if kind == "rejection":
        return closing.reject(deps, request_id)
    return closing.abandon(deps, request_id, "States.Timeout")


@pytest.mark.parametrize("kind", sorted(MESSAGE_TEMPLATES))
def test_every_stage_that_messages_goes_on_when_whatsapp_refuses(
    deps: Container, notifier: ScriptedNotifier, kind: str
) -> None:
    """Issue 7.6: the five notifying states end normally on a refusal, each leaving one contact task."""
    request_id = identified(deps)
    notifier.answers[kind] = [WhatsAppRejected("Meta error 131026", 400, 131026)]
    _stage(deps, request_id, kind)  # no exception: the execution goes on
    (task,) = contact_tasks(deps, request_id)
    assert task.context["message"] == kind
    assert [d["template"] for d in history(deps, request_id, "customer_message_refused")] == [kind]
    assert notifier.sent == []


def test_meta_still_silent_on_the_last_attempt_opens_a_contact_task_instead_of_failing(
    deps: Container, notifier: ScriptedNotifier
) -> None:
    request_id = identified(deps)
    request = deps.requests.get(request_id)
    notifier.answers["sale_done"] = [NotifierUnavailable("timeout")] * 2
    assert not outbound.last_attempt(outbound.NOTIFIER_RETRIES - 1)
    with pytest.raises(NotifierUnavailable):
        outbound.tell_customer(deps, request, "sale_done", "texto")
    final = outbound.last_attempt(outbound.NOTIFIER_RETRIES)
    assert outbound.tell_customer(deps, request, "sale_done", "texto", final=final) is None
    (task,) = contact_tasks(deps, request_id)
    assert (task.context["message"], task.context["meta_code"]) == ("sale_done", "unavailable")
    refused = [h for h in deps.requests.history(request_id) if h.event == "customer_message_refused"]
    assert refused[0].detail["reason"] == "unavailable"
    assert outbound.tell_customer(deps, request, "sale_done", "texto") is None  # done: never sent twice later
    assert notifier.kinds(request_id) == []
