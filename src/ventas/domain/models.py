"""Domain model of a digital sale request (procedure VENTAS DIGITALES v1, steps 1 to 14).

Pure pydantic: no AWS import here. Names follow TM Forum Open APIs where they fit
(TMF622 order states, TMF645 qualification results).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ventas.domain.identity import CI, IvrPhone, Phone  # identity formats: ventas.domain.identity


class Strict(BaseModel):
    """Base for inputs: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Channel(StrEnum):
    IVR = "ivr"
    WEB = "web"
    BOTMAKER = "botmaker"
    FACEBOOK = "facebook"
    WHATSAPP = "whatsapp"
    OTHER = "other"


class IvrLine(StrEnum):
    """Lines of step 1 (IVR option 1)."""

    L4200400 = "4200400"
    L4322205 = "4322205"
    L4001515 = "4001515"


class OrderState(StrEnum):
    """TMF622 product order states, used as the request status."""

    ACKNOWLEDGED = "acknowledged"
    PENDING = "pending"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


OPEN_STATES = frozenset({OrderState.ACKNOWLEDGED, OrderState.PENDING, OrderState.IN_PROGRESS})


class Step(StrEnum):
    """Where a request stands, named after the procedure's steps."""

    INTAKE = "1"
    CALL_BACK = "1.2"
    IDENTIFICATION = "3"
    IMPEDIMENTS = "4"
    LOCATION = "5"
    COVERAGE = "7"
    REQUIREMENTS = "8"
    DOCUMENTS = "9"
    SALE = "10"
    CONFIRMATION = "11"
    INSTALLATION = "12"
    QC = "13"  # the QC call is scheduled (the workflow's Wait state)
    QC_CALL = "13.1"  # an agent calls the customer, "concluyendo el procedimiento"
    CLOSED = "13.1"  # alias of QC_CALL: a sold request ends at 13.1
    REJECTION = "14"


class ReasonCode(StrEnum):
    """Why a request ends without a sale (step 14) or is abandoned."""

    DEBT = "DEBT"
    CENTRAL_DE_RIESGOS = "CENTRAL_DE_RIESGOS"
    EQUIPMENT_TO_RETURN = "EQUIPMENT_TO_RETURN"
    NO_COVERAGE = "NO_COVERAGE"
    SPEED_NOT_SUPPORTED = "SPEED_NOT_SUPPORTED"
    FEATURE_NOT_AVAILABLE = "FEATURE_NOT_AVAILABLE"
    DOCUMENTS_NOT_RECEIVED = "DOCUMENTS_NOT_RECEIVED"
    CUSTOMER_UNREACHABLE = "CUSTOMER_UNREACHABLE"
    INSTALLATION_CANCELLED = "INSTALLATION_CANCELLED"
    MANUAL_REJECTION = "MANUAL_REJECTION"


REASON_LABELS: dict[ReasonCode, str] = {
    ReasonCode.DEBT: "Tiene una deuda pendiente con la cooperativa",
    ReasonCode.CENTRAL_DE_RIESGOS: "Se encuentra registrado en la central de riesgos",
    ReasonCode.EQUIPMENT_TO_RETURN: "Tiene un equipo pendiente de devolución",
    ReasonCode.NO_COVERAGE: "No existe capacidad técnica en su domicilio",
    ReasonCode.SPEED_NOT_SUPPORTED: "La velocidad solicitada no está disponible en su zona",
    ReasonCode.FEATURE_NOT_AVAILABLE: "Una característica especial solicitada no está disponible en su zona",
    ReasonCode.DOCUMENTS_NOT_RECEIVED: "No recibimos los requisitos a tiempo",
    ReasonCode.CUSTOMER_UNREACHABLE: "No logramos comunicarnos con usted",
    ReasonCode.INSTALLATION_CANCELLED: "La instalación fue cancelada",
    ReasonCode.MANUAL_REJECTION: "La solicitud fue revisada y no puede continuar",
}

# Reasons that end the procedure at step 14 (a business rejection, not a failure).
REJECTION_REASONS = frozenset(
    {
        ReasonCode.DEBT,
        ReasonCode.CENTRAL_DE_RIESGOS,
        ReasonCode.EQUIPMENT_TO_RETURN,
        ReasonCode.NO_COVERAGE,
        ReasonCode.SPEED_NOT_SUPPORTED,
        ReasonCode.FEATURE_NOT_AVAILABLE,
        ReasonCode.MANUAL_REJECTION,
    }
)


class Reason(BaseModel):
    """TMF645-style eligibilityUnavailabilityReason."""

    code: ReasonCode
    label: str

    @classmethod
    def of(cls, code: ReasonCode) -> Reason:
        return cls(code=code, label=REASON_LABELS[code])


class Outcome(StrEnum):
    """How a request ended, for the KPI and the business metrics."""

    SOLD = "sold"  # registered, installed, QC call done
    REJECTED = "rejected"  # step 14
    ABANDONED = "abandoned"  # customer unreachable, documents never came, installation cancelled


class Location(Strict):
    address: str = Field(min_length=3, max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Identification(Strict):
    """What step 3 collects: the CI (3.2) and the service wanted (3.1)."""

    ci: CI
    service_code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")
    name: str | None = Field(default=None, min_length=2, max_length=120)


class Lead(Strict):
    """A lead handed over by a channel (steps 1, 1.1, 2)."""

    channel: Channel
    channel_lead_id: str = Field(min_length=1, max_length=120)
    phone: Phone
    name: str | None = Field(default=None, min_length=2, max_length=120)
    ci: CI | None = None
    service_code: str | None = Field(default=None, min_length=2, max_length=40, pattern=r"^[A-Z0-9_]+$")
    location: Location | None = None

    @property
    def identified(self) -> bool:
        return self.ci is not None and self.service_code is not None


class MissedCall(Strict):
    """The IVR reports a lost call (step 1.2)."""

    caller: IvrPhone
    line: IvrLine
    called_at: AwareDatetime  # with its offset (La Paz -04:00); not in the future (services.intake)


class Document(BaseModel):
    """A requirement document received over WhatsApp (step 9)."""

    requirement: str
    media_id: str
    mime_type: str
    received_at: datetime
    object_key: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    step: Step
    event: str
    detail: dict[str, Any] = Field(default_factory=dict)


class SaleRequest(BaseModel):
    """The aggregate: one sale request from the first contact to the QC call."""

    request_id: str
    channel: Channel
    channel_lead_id: str
    status: OrderState = OrderState.ACKNOWLEDGED
    step: Step = Step.INTAKE
    created_at: datetime
    updated_at: datetime
    phone: str
    name: str | None = None
    ci: str | None = None
    service_code: str | None = None
    location: Location | None = None
    missed_call: bool = False
    documents: list[Document] = Field(default_factory=list)
    order_id: str | None = None
    expected_completion_date: datetime | None = None
    installed_at: datetime | None = None
    qc_at: datetime | None = None
    satisfaction: int | None = None
    outcome: Outcome | None = None
    reason: Reason | None = None
    manual_reviews: int = 0
    joined_leads: list[str] = Field(default_factory=list)
    anonymised_at: datetime | None = None  # personal data removed (ventas.domain.privacy)
    # Contact binding (docs/architecture.md): a lead whose CI matches another open request is
    # its own request, held until an agent verifies identity and keeps it apart or merges it.
    possible_duplicate_of: str | None = None
    merged_into: str | None = None
    version: int = 0  # optimistic concurrency: each save requires the version it read

    @property
    def identified(self) -> bool:
        return self.ci is not None and self.service_code is not None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


class Qualification(BaseModel):
    """TMF645 service qualification result for one address (step 7)."""

    qualification_result: str  # qualified | alternate | unqualified
    reason: Reason | None = None
    zone_id: str | None = None
    technology: str | None = None
    max_speed_mbps: int | None = None
    alternate_service_code: str | None = None
