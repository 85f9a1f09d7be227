"""Human tasks: the steps an Agente de Ventas Digitales works from the inbox.

Most tasks are opened by the workflow and keep its Step Functions task token server side (it is
never serialised to a person); completing one resumes the workflow. Two kinds are opened by an
event instead and have no token (`EVENT_KINDS`): reaching a customer whom WhatsApp could not
reach, and classifying a document the product could not file. Completing one records the result
on the request (and, for a document, may complete the checklist); no workflow waits on it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ventas.domain.call_again import CallAgainRules, check_call_again
from ventas.domain.errors import TaskConflict, WorkflowNotWaiting
from ventas.domain.identity import CI
from ventas.domain.instants import Instant
from ventas.domain.models import Location, ReasonCode, SaleRequest, Step, Strict
from ventas.domain.schedule import format_local


class TaskKind(StrEnum):
    CALL_BACK = "call_back"  # 1.2 (and 3: the call identifies the customer)
    IDENTIFICATION = "identification"  # 3, 3.1, 3.2
    LOCATION = "location"  # 5
    MANUAL_REVIEW = "manual_review"  # a back office stayed down after the retries
    INSTALLATION_FOLLOW_UP = "installation_follow_up"  # 12, when the installation is overdue
    QC_CALL = "qc_call"  # 13.1 (after the Wait of step 13)
    CONTACT_CUSTOMER = "contact_customer"  # WhatsApp refused or failed a message: call the customer
    DOCUMENT_REVIEW = "document_review"  # 9: a document the product could not file by its caption


# Opened by an event (a WhatsApp status, a refused send, a document), not by a workflow wait: no token.
EVENT_KINDS = frozenset({TaskKind.CONTACT_CUSTOMER, TaskKind.DOCUMENT_REVIEW})


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    EXPIRED = "expired"  # the workflow stopped waiting (timeout): nothing more to do


TASK_STEPS: dict[TaskKind, Step] = {
    TaskKind.CALL_BACK: Step.CALL_BACK,
    TaskKind.IDENTIFICATION: Step.IDENTIFICATION,
    TaskKind.LOCATION: Step.LOCATION,
    TaskKind.MANUAL_REVIEW: Step.SALE,
    TaskKind.INSTALLATION_FOLLOW_UP: Step.INSTALLATION,
    TaskKind.QC_CALL: Step.QC_CALL,  # 13.1, as the workflow's QcCall state
    TaskKind.CONTACT_CUSTOMER: Step.REQUIREMENTS,  # nominal: the task carries the request's step
    TaskKind.DOCUMENT_REVIEW: Step.DOCUMENTS,
}

INSTRUCTIONS: dict[TaskKind, str] = {
    TaskKind.CALL_BACK: (
        "Devuelva la llamada al cliente que no pudo ser atendido (paso 1.2). "
        "Identifíquelo según protocolo: pregunte el servicio requerido y solicite su carnet de identidad."
    ),
    TaskKind.IDENTIFICATION: (
        "Comuníquese con el cliente e identifíquelo según protocolo (paso 3): "
        "pregunte el servicio requerido (3.1) y solicite su carnet de identidad (3.2)."
    ),
    TaskKind.LOCATION: ("Solicite al cliente la ubicación de su domicilio (paso 5): dirección y punto en el mapa."),
    TaskKind.MANUAL_REVIEW: (
        "Un sistema (NAF, GIS o Smartflex) no respondió después de varios intentos. "
        "Verifique el sistema y decida: reintentar o rechazar la solicitud indicando el motivo."
    ),
    TaskKind.INSTALLATION_FOLLOW_UP: (
        "La instalación no se confirmó en el plazo previsto (paso 12). "
        "Haga seguimiento con Instalaciones (OPR-PAS-P02) e indique si se instaló o se canceló."
    ),
    TaskKind.QC_CALL: (
        "Llame al cliente para verificar su satisfacción con el servicio instalado (paso 13.1) "
        "y registre la calificación de 1 a 5 con un comentario."
    ),
    TaskKind.CONTACT_CUSTOMER: (
        "WhatsApp no pudo entregar un mensaje al cliente (vea el motivo en el contexto). "
        "Llámelo por teléfono en horario de atención, dígale lo que el mensaje decía "
        "(por ejemplo, los requisitos que debe enviar) y confirme su número de WhatsApp. "
        "Registre si logró comunicarse y un comentario."
    ),
    TaskKind.DOCUMENT_REVIEW: (
        "El cliente envió un documento por WhatsApp que no pudimos identificar por su descripción (paso 9). "
        "Revise el documento e indique a qué requisito corresponde."
    ),
}

# Anexo 1, PROTOCOLO: the lines an agent says in each phase of a call.
_GREETING = "Bienvenido(a) a Ventas Digitales Comteco, muy buenos días."
_INTRO = "Mi nombre es …, ¿con quién tengo el gusto?"
_REASON = "¿En qué puedo ayudarle? ¿Cuál es su número telefónico o su número de carnet de identidad?"
_EXPLORE = "Aguarde un momento por favor. ¿Tome nota por favor?"
_CONFIRM = "Repita la información relevante y confirme que el cliente la comprendió."

PROTOCOL: dict[TaskKind, list[str]] = {
    TaskKind.CALL_BACK: [_GREETING, _INTRO, "Le devolvemos la llamada que no pudimos atender.", _REASON, _CONFIRM],
    TaskKind.IDENTIFICATION: [_GREETING, _INTRO, _REASON, _EXPLORE, _CONFIRM],
    TaskKind.LOCATION: [_GREETING, _INTRO, "¿Podría indicarnos la dirección exacta de su domicilio?", _CONFIRM],
    TaskKind.MANUAL_REVIEW: [],
    TaskKind.INSTALLATION_FOLLOW_UP: [
        _GREETING,
        _INTRO,
        "Le llamamos para hacer seguimiento a la instalación de su servicio.",
        _CONFIRM,
    ],
    TaskKind.QC_CALL: [
        _GREETING,
        _INTRO,
        "Le llamamos para conocer su satisfacción con el servicio instalado.",
        "Del 1 al 5, ¿cómo calificaría la atención y la instalación?",
        "Muchas gracias por su tiempo, que tenga un buen día.",
    ],
    TaskKind.CONTACT_CUSTOMER: [
        _GREETING,
        _INTRO,
        "Le llamamos porque no pudimos hacerle llegar nuestro mensaje por WhatsApp.",
        "¿Nos confirma su número de WhatsApp? Le explico lo que necesitamos para continuar con su solicitud.",
        _EXPLORE,
        _CONFIRM,
    ],
    TaskKind.DOCUMENT_REVIEW: [],
}


class RequestGlance(BaseModel):
    """What the inbox shows of a task's request, copied onto the task when it opens, so one
    Query of the `inbox` index serves a page (no read of the requests behind it). As the
    request was then: the task's own page reads the request. `name`, `phone` and `ci` are
    personal (`ventas.domain.privacy`)."""

    service_code: str | None = None
    order_id: str | None = None
    name: str | None = None
    phone: str | None = None
    ci: str | None = None

    @classmethod
    def of(cls, request: SaleRequest) -> RequestGlance:
        return cls(
            service_code=request.service_code,
            order_id=request.order_id,
            name=request.name,
            phone=request.phone,
            ci=request.ci,
        )


class HumanTask(BaseModel):
    task_id: str
    request_id: str
    kind: TaskKind
    step: Step
    status: TaskStatus = TaskStatus.OPEN
    created_at: datetime
    due_at: datetime
    assignee: str | None = None
    completed_at: datetime | None = None
    result: dict[str, object] | None = None
    attempt: int = 1  # >1 when the same wait opened again (escalated)
    context: dict[str, str] = Field(default_factory=dict)  # e.g. which stage failed
    token: str | None = Field(default=None, repr=False)  # Step Functions task token: server side only
    glance: RequestGlance | None = None  # the request as the inbox shows it (None: opened before it existed)
    claimed_at: datetime | None = None  # when `assignee` took it: handling time runs from here to completed_at
    deadline_at: datetime | None = None  # when the workflow stops waiting (its timeout); None: `due_at` is it
    # Step 1.2, "devuelve llamada": the customer asked to be called again at `call_again_at`; the
    # agent who agreed it (`reserved_for`) keeps it until `reserved_until`, then any agent may.
    call_again_at: datetime | None = None
    reserved_for: str | None = None
    reserved_until: datetime | None = None
    call_agains: int = 0

    @property
    def wait_deadline(self) -> datetime:
        """When the workflow stops waiting for this task (the wait's timeout, UTC)."""
        return self.deadline_at or self.due_at

    @property
    def waited_on(self) -> bool:
        """True when a workflow waits on this task's token (every kind but `EVENT_KINDS`)."""
        return self.token is not None

    @property
    def instructions(self) -> str:
        return INSTRUCTIONS[self.kind]

    @property
    def protocol(self) -> list[str]:
        return PROTOCOL[self.kind]

    # --- transitions: the task decides who may work it ------------------------------------------

    def check_workable(self, agent: str, now: datetime) -> None:
        """Raises `TaskConflict` (completed, claimed by another agent, or reserved for another
        agent's call-again until `reserved_until`) or `WorkflowNotWaiting` (expired)."""
        if self.status == TaskStatus.COMPLETED:
            raise TaskConflict("La tarea ya fue completada.", "already_completed")
        if self.status == TaskStatus.EXPIRED:
            raise WorkflowNotWaiting("La solicitud ya no espera esta tarea (plazo vencido).")
        if self.status == TaskStatus.CLAIMED and self.assignee != agent:
            raise TaskConflict("La tarea está asignada a otro agente.", "claimed_by_other")
        if self.reserved_for not in (None, agent) and self.reserved_until is not None and now < self.reserved_until:
            at = format_local(self.call_again_at or self.due_at)
            raise TaskConflict(
                f"{self.reserved_for} acordó volver a llamar al cliente el {at}: la tarea queda reservada "
                f"para esa persona hasta el {format_local(self.reserved_until)}; después podrá tomarla usted.",
                "reserved_for_other",
            )

    def claimed(self, agent: str, now: datetime) -> HumanTask:
        """Taken by `agent` at `now` (handling time starts). A call-again's reservation for
        `agent` stays until `reserved_until` (a release keeps it too; completing ends it); one
        for another agent that has lapsed ends here."""
        self.check_workable(agent, now)
        taken: dict[str, object] = {"status": TaskStatus.CLAIMED, "assignee": agent, "claimed_at": now}
        if self.reserved_for not in (None, agent):
            taken |= {"reserved_for": None, "reserved_until": None}
        return self.model_copy(update=taken)

    def released(self, agent: str, now: datetime) -> HumanTask:
        """Back to the inbox, unassigned; handling time is no longer counted."""
        self.check_workable(agent, now)
        return self.model_copy(update={"status": TaskStatus.OPEN, "assignee": None, "claimed_at": None})

    def rescheduled_to(self, agent: str, at: datetime) -> bool:
        """True when `agent` already agreed a call-again at `at` (to the minute) and the task
        still waits for it (due then, reserved for them, open or taken back by them): asking the
        same again is a replay, not a new reschedule."""
        return (
            self.status in (TaskStatus.OPEN, TaskStatus.CLAIMED)
            and self.assignee in (None, agent)
            and self.reserved_for == agent
            and self.call_again_at == to_the_minute(at)
            and self.due_at == self.call_again_at
        )

    def call_again(self, agent: str, now: datetime, at: datetime, rules: CallAgainRules) -> HumanTask:
        """Step 1.2: the customer asked to be called again at `at` (aware). The same task goes
        back to the inbox due at `at`, reserved for `agent` until `at` plus the grace; its wait's
        deadline is unchanged. Raises `TaskConflict` (see `check_workable`; a kind that is not a
        call-back: `not_a_call_back`) or `CallAgainRefused` (`ventas.domain.call_again`)."""
        self.check_workable(agent, now)
        if self.kind not in CALL_AGAIN_KINDS:
            raise TaskConflict("Solo una devolución de llamada se puede reprogramar.", "not_a_call_back")
        at = to_the_minute(at)  # an agreed call time is kept to the minute, as people say it
        check_call_again(now, at, self.wait_deadline, self.call_agains, rules)
        return self.model_copy(
            update={
                "status": TaskStatus.OPEN,
                "assignee": None,
                "claimed_at": None,
                "due_at": at,
                "deadline_at": self.wait_deadline,
                "call_again_at": at,
                "reserved_for": agent,
                "reserved_until": at + rules.grace,
                "call_agains": self.call_agains + 1,
            }
        )


def to_the_minute(at: datetime) -> datetime:
    """`at` without seconds: the minute a customer and an agent agree a call for."""
    return at.replace(second=0, microsecond=0)


# Tasks a customer may ask to be called again for (step 1.2, "devuelve llamada a cliente").
CALL_AGAIN_KINDS = frozenset({TaskKind.CALL_BACK})


# Kinds whose wait re-opens itself when nobody acts (the ASL's States.Timeout loops), bounded
# by `Settings.max_reopenings`; the other kinds end the request when they time out.
REOPENING_KINDS = frozenset({TaskKind.MANUAL_REVIEW, TaskKind.INSTALLATION_FOLLOW_UP})
ESCALATED_TO = "supervisor"  # `context["escalated"]` of the last re-opening


# --- completion bodies, validated per kind -------------------------------------------------

# Each body names its task kind (the OpenAPI discriminator). Optional: the task's own kind is
# the default, and a body naming another kind is refused (422 on `kind`).
KIND_FIELD = "the task's kind (discriminator); optional, must match the task"


class IdentificationResult(Strict):
    kind: Literal[TaskKind.IDENTIFICATION] = Field(TaskKind.IDENTIFICATION, description=KIND_FIELD)
    ci: CI
    service_code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")
    name: str | None = Field(default=None, min_length=2, max_length=120)


class CallBackResult(Strict):
    kind: Literal[TaskKind.CALL_BACK] = Field(TaskKind.CALL_BACK, description=KIND_FIELD)
    reached: bool
    ci: CI | None = None
    service_code: str | None = Field(default=None, min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")
    name: str | None = Field(default=None, min_length=2, max_length=120)

    @model_validator(mode="after")
    def _identified_when_reached(self) -> CallBackResult:
        if self.reached and (self.ci is None or self.service_code is None):
            raise ValueError("si el cliente contestó, indique su carnet de identidad y el servicio requerido")
        return self


class LocationResult(Strict):
    kind: Literal[TaskKind.LOCATION] = Field(TaskKind.LOCATION, description=KIND_FIELD)
    location: Location


class CallAgain(Strict):
    """Step 1.2: the customer asked to be called again later (the call-back form's third answer)."""

    call_again_at: Instant = Field(
        description=(
            "when to call again, RFC 3339 with its offset (La Paz: -04:00); in the future, before the "
            "task's `deadline_at` less a margin, in business hours (422 on this field otherwise)"
        )
    )


class ManualReviewResult(Strict):
    kind: Literal[TaskKind.MANUAL_REVIEW] = Field(TaskKind.MANUAL_REVIEW, description=KIND_FIELD)
    decision: Literal["retry", "reject"]
    reason: ReasonCode | None = None
    comment: str | None = Field(default=None, max_length=500)


class InstallationFollowUpResult(Strict):
    kind: Literal[TaskKind.INSTALLATION_FOLLOW_UP] = Field(TaskKind.INSTALLATION_FOLLOW_UP, description=KIND_FIELD)
    installed: bool
    installed_at: Instant | None = Field(
        None, description="when it was installed (RFC 3339, with its offset); not in the future"
    )
    comment: str | None = Field(default=None, max_length=500)


class QcResult(Strict):
    kind: Literal[TaskKind.QC_CALL] = Field(TaskKind.QC_CALL, description=KIND_FIELD)
    satisfaction: int = Field(ge=1, le=5)
    comment: str = Field(min_length=1, max_length=500)


class ContactCustomerResult(Strict):
    """Whether the agent reached the customer by phone; the comment stays on the task."""

    kind: Literal[TaskKind.CONTACT_CUSTOMER] = Field(TaskKind.CONTACT_CUSTOMER, description=KIND_FIELD)
    reached: bool
    comment: str = Field(min_length=1, max_length=500)


class DocumentReviewResult(Strict):
    """The requirement (catalogue code, e.g. CI_REVERSO) the reviewed document fulfils."""

    kind: Literal[TaskKind.DOCUMENT_REVIEW] = Field(TaskKind.DOCUMENT_REVIEW, description=KIND_FIELD)
    requirement: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")


RESULT_MODELS: dict[TaskKind, type[Strict]] = {
    TaskKind.CALL_BACK: CallBackResult,
    TaskKind.IDENTIFICATION: IdentificationResult,
    TaskKind.LOCATION: LocationResult,
    TaskKind.MANUAL_REVIEW: ManualReviewResult,
    TaskKind.INSTALLATION_FOLLOW_UP: InstallationFollowUpResult,
    TaskKind.QC_CALL: QcResult,
    TaskKind.CONTACT_CUSTOMER: ContactCustomerResult,
    TaskKind.DOCUMENT_REVIEW: DocumentReviewResult,
}
