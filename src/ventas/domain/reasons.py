"""Why a request ends the way it does: reason codes with their Spanish labels (TMF645's
`eligibilityUnavailabilityReason`), and the outcomes the KPI counts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


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
    TASK_NOT_WORKED = "TASK_NOT_WORKED"  # no agent worked a task in time: not the customer's doing
    EXECUTION_FAILED = "EXECUTION_FAILED"  # the workflow broke (ops: see the execution)
    EXECUTION_TIMED_OUT = "EXECUTION_TIMED_OUT"  # the workflow's overall TimeoutSeconds ran out
    EXECUTION_STOPPED = "EXECUTION_STOPPED"  # an operator stopped the execution


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
    ReasonCode.TASK_NOT_WORKED: "No pudimos atender su solicitud a tiempo",
    ReasonCode.EXECUTION_FAILED: "Su solicitud no pudo completarse por un problema técnico",
    ReasonCode.EXECUTION_TIMED_OUT: "Su solicitud superó el plazo máximo de atención",
    ReasonCode.EXECUTION_STOPPED: "Su solicitud fue detenida por el centro de llamadas",
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
    FAILED = "failed"  # the execution failed, timed out or was stopped (ops must see it)
