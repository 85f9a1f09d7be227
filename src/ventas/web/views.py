"""What the API answers: response models (they feed the OpenAPI document) and their builders.

Views are built field by field from the domain objects, never dumped whole: a task's token or
a customer's CI cannot reach a response by accident. Times are UTC ISO-8601; `*_local` fields
repeat them as a person in La Paz reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ventas.domain.kpi import KpiReport
from ventas.domain.models import Channel, HistoryEntry, OrderState, SaleRequest, Step
from ventas.domain.schedule import format_local
from ventas.domain.tasks import HumanTask, RequestGlance, TaskKind, TaskStatus
from ventas.domain.timeline import event_label
from ventas.web.auth import Principal
from ventas.web.masking import personal

STEP_LABELS: dict[Step, str] = {
    Step.INTAKE: "Ingreso de la solicitud",
    Step.CALL_BACK: "Devolución de la llamada perdida",
    Step.IDENTIFICATION: "Identificación del cliente",
    Step.IMPEDIMENTS: "Revisión de impedimentos (NAF)",
    Step.LOCATION: "Ubicación del domicilio",
    Step.COVERAGE: "Capacidad técnica (GIS)",
    Step.REQUIREMENTS: "Solicitud de requisitos",
    Step.DOCUMENTS: "Recepción de requisitos por WhatsApp",
    Step.SALE: "Registro de la venta (Smartflex)",
    Step.CONFIRMATION: "Confirmación al cliente",
    Step.INSTALLATION: "Seguimiento de la instalación",
    Step.QC: "Control de calidad programado",
    Step.QC_CALL: "Llamada de control de calidad (concluye el procedimiento)",  # also Step.CLOSED
    Step.REJECTION: "Venta no concretada",
}

CHANNEL_LABELS: dict[Channel, str] = {
    Channel.IVR: "Llamada (IVR)",
    Channel.WEB: "Página web",
    Channel.BOTMAKER: "Chatbot (Botmaker)",
    Channel.FACEBOOK: "Facebook",
    Channel.WHATSAPP: "WhatsApp",
    Channel.OTHER: "Otro canal",
}

KIND_LABELS: dict[TaskKind, str] = {
    TaskKind.CALL_BACK: "Devolver llamada",
    TaskKind.IDENTIFICATION: "Identificar al cliente",
    TaskKind.LOCATION: "Capturar la ubicación",
    TaskKind.MANUAL_REVIEW: "Revisión manual",
    TaskKind.INSTALLATION_FOLLOW_UP: "Seguimiento de instalación",
    TaskKind.QC_CALL: "Llamada de control de calidad",
    TaskKind.CONTACT_CUSTOMER: "Contactar al cliente por teléfono",
    TaskKind.DOCUMENT_REVIEW: "Clasificar un documento recibido",
}

_PERSONAL_DETAIL = frozenset({"ci", "phone", "caller", "name", "wamid"})  # a wamid encodes the phone
_CUSTOMER_WORDS = "content"  # what a customer wrote on WhatsApp: shown to agents only


PROVISIONAL_NOTE = "Día en curso: resultado provisional, puede cambiar hasta el cierre del día."


def local(at: datetime | None) -> str | None:
    return None if at is None else format_local(at)


class StepView(BaseModel):
    code: Step
    label: str

    @classmethod
    def of(cls, step: Step) -> StepView:
        return cls(code=step, label=STEP_LABELS[step])


class Accepted(BaseModel):
    """202: the request id and where to follow it."""

    request_id: str
    status_url: str
    created: bool = Field(description="false: a replay, or the lead joined an open request")
    joined: bool


class InstallationReceiptView(BaseModel):
    """202: the installation event is recorded (or was already: `duplicate`)."""

    order_id: str
    event_id: str
    kind: str = Field(description="completed | cancelled | rescheduled")
    duplicate: bool = Field(description="true: this event id was already recorded; nothing changed")
    request_id: str
    status_url: str
    qc_at: datetime | None = Field(None, description="completed: when the QC call is scheduled (UTC)")
    qc_at_local: str | None = None


class CustomerView(BaseModel):
    name: str | None
    phone: str | None = Field(description="masked unless the caller is an agent")
    ci: str | None = Field(description="masked unless the caller is an agent")


class ReasonView(BaseModel):
    code: str
    label: str


class DocumentView(BaseModel):
    requirement: str
    media_id: str
    mime_type: str
    received_at: datetime
    received_at_local: str | None


class HistoryView(BaseModel):
    at: datetime
    at_local: str | None
    step: StepView
    event: str
    label: str = Field(description="what the event means, in Spanish (ventas.domain.timeline)")
    detail: dict[str, Any]


class RequestSummary(BaseModel):
    request_id: str
    href: str
    state: OrderState
    step: StepView
    channel: str
    channel_lead_id: str = Field(description="the channel's own id of the lead that created the request")
    service_code: str | None
    created_at: datetime
    created_at_local: str | None
    updated_at: datetime
    outcome: str | None
    reason: ReasonView | None
    customer: CustomerView


class RequestDetail(RequestSummary):
    order_id: str | None = Field(description="Smartflex order (TMF622 externalId)")
    expected_completion_date: datetime | None = Field(description="step 11.1: 2 to 15 days after registration")
    expected_completion_date_local: str | None
    installed_at: datetime | None
    qc_at: datetime | None
    satisfaction: int | None
    documents: list[DocumentView]
    joined_leads: list[str]
    possible_duplicate_of: str | None = Field(
        None, description="held at intake: its CI matches this open request of another phone (agents verify)"
    )
    merged_into: str | None = Field(None, description="cancelled: merged into this request by an agent")
    history: list[HistoryView]


class RequestPage(BaseModel):
    items: list[RequestSummary]
    next_page: str | None = Field(description="pass as `page` to read on; absent on the last page")


class TaskView(BaseModel):
    task_id: str
    request_id: str
    kind: TaskKind
    kind_label: str
    step: StepView
    status: TaskStatus
    created_at: datetime
    due_at: datetime = Field(description="when the task is due: the wait's deadline, or the agreed call-again time")
    due_at_local: str | None
    deadline_at: datetime = Field(description="when the workflow stops waiting for this task")
    deadline_at_local: str | None
    assignee: str | None
    claimed_at: datetime | None = Field(None, description="when the assignee took it (handling time starts)")
    call_again_at: datetime | None = Field(None, description="step 1.2: the time the customer asked to be called")
    call_again_at_local: str | None = None
    reserved_for: str | None = Field(
        None, description="the agent who agreed the call-again time; others may take the task from reserved_until"
    )
    reserved_until: datetime | None = None
    reserved_until_local: str | None = None
    call_agains: int = Field(0, description="how many times this call-back was rescheduled")
    attempt: int
    instructions: str
    protocol: list[str] = Field(description="Anexo 1: what the agent says, phase by phase")
    context: dict[str, str]
    service_code: str | None
    order_id: str | None = Field(description="the request's Smartflex order (TMF622 externalId), once registered")
    customer: CustomerView | None


class TaskPage(BaseModel):
    items: list[TaskView]
    next_page: str | None


class KpiView(BaseModel):
    day: str
    policy: str
    threshold: float
    requests: int
    efficient: int
    value: float | None = Field(description="efficient sales / requests x 100; null for a day with no requests")
    verdict: str = Field(
        description="Aceptado above the threshold, else Observado; Sin solicitudes for a day with no requests",
        examples=["Aceptado", "Observado", "Sin solicitudes"],
    )
    provisional: bool = Field(
        description="true for today (America/La_Paz): the day is still in progress and its figure may change"
    )
    note: str | None = Field(None, description="Spanish, for people: 'Día en curso: resultado provisional.'")
    breakdown: dict[str, int]
    against: list[str] = Field(description="request ids that count against the KPI")


class KpiSeries(BaseModel):
    days: list[KpiView]


class Health(BaseModel):
    status: str


def customer(request: SaleRequest, who: Principal) -> CustomerView:
    visible = who.sees_personal_data
    return CustomerView(
        name=request.name, phone=personal(request.phone, "phone", visible), ci=personal(request.ci, "ci", visible)
    )


def _summary_fields(request: SaleRequest, who: Principal) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "href": f"/v1/requests/{request.request_id}",
        "state": request.status,
        "step": StepView.of(request.step),
        "channel": request.channel.value,
        "channel_lead_id": request.channel_lead_id,
        "service_code": request.service_code,
        "created_at": request.created_at,
        "created_at_local": local(request.created_at),
        "updated_at": request.updated_at,
        "outcome": request.outcome.value if request.outcome else None,
        "reason": ReasonView(code=request.reason.code.value, label=request.reason.label) if request.reason else None,
        "customer": customer(request, who),
    }


def request_summary(request: SaleRequest, who: Principal) -> RequestSummary:
    return RequestSummary(**_summary_fields(request, who))


def history_view(entry: HistoryEntry, who: Principal | None = None) -> HistoryView:
    hidden = _PERSONAL_DETAIL if who is not None and who.sees_personal_data else _PERSONAL_DETAIL | {_CUSTOMER_WORDS}
    detail = {k: v for k, v in entry.detail.items() if k not in hidden}
    return HistoryView(
        at=entry.at,
        at_local=local(entry.at),
        step=StepView.of(entry.step),
        event=entry.event,
        label=event_label(entry.event),
        detail=detail,
    )


def request_detail(request: SaleRequest, history: list[HistoryEntry], who: Principal) -> RequestDetail:
    return RequestDetail(
        **_summary_fields(request, who),
        order_id=request.order_id,
        expected_completion_date=request.expected_completion_date,
        expected_completion_date_local=local(request.expected_completion_date),
        installed_at=request.installed_at,
        qc_at=request.qc_at,
        satisfaction=request.satisfaction,
        documents=[
            DocumentView(
                requirement=d.requirement,
                media_id=d.media_id,
                mime_type=d.mime_type,
                received_at=d.received_at,
                received_at_local=local(d.received_at),
            )
            for d in request.documents
        ],
        joined_leads=list(request.joined_leads),
        possible_duplicate_of=request.possible_duplicate_of,
        merged_into=request.merged_into,
        history=[history_view(h, who) for h in history],
    )


def task_view(task: HumanTask, request: SaleRequest | None, who: Principal) -> TaskView:
    """A task as people see it; what it shows of the request comes from `request` when given,
    else from the task's own glance (the inbox: one Query, no read of the requests)."""
    glance = RequestGlance.of(request) if request is not None else task.glance
    return TaskView(
        task_id=task.task_id,
        request_id=task.request_id,
        kind=task.kind,
        kind_label=KIND_LABELS[task.kind],
        step=StepView.of(task.step),
        status=task.status,
        created_at=task.created_at,
        due_at=task.due_at,
        due_at_local=local(task.due_at),
        deadline_at=task.wait_deadline,
        deadline_at_local=local(task.wait_deadline),
        assignee=task.assignee,
        claimed_at=task.claimed_at,
        call_again_at=task.call_again_at,
        call_again_at_local=local(task.call_again_at),
        reserved_for=task.reserved_for,
        reserved_until=task.reserved_until,
        reserved_until_local=local(task.reserved_until),
        call_agains=task.call_agains,
        attempt=task.attempt,
        instructions=task.instructions,
        protocol=list(task.protocol),
        context=dict(task.context),
        service_code=glance.service_code if glance else None,
        order_id=glance.order_id if glance else None,
        customer=_glance_customer(glance, who) if glance else None,
    )


def _glance_customer(glance: RequestGlance, who: Principal) -> CustomerView:
    visible = who.sees_personal_data
    return CustomerView(
        name=glance.name, phone=personal(glance.phone, "phone", visible), ci=personal(glance.ci, "ci", visible)
    )


def kpi_view(report: KpiReport) -> KpiView:
    return KpiView(
        day=report.day,
        policy=report.policy,
        threshold=report.threshold,
        requests=report.requests,
        efficient=report.efficient,
        value=report.value,
        verdict=report.verdict,
        provisional=report.provisional,
        note=PROVISIONAL_NOTE if report.provisional else None,
        breakdown=dict(report.breakdown),
        against=list(report.against),
    )
