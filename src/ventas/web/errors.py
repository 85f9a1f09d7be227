"""One error shape for every answer of the API, with a Spanish message (usted) for a person:

    {"error": {"code": "...", "message": "...", "fields": [{"field", "message", "type"}]}}

Domain errors map to statuses here, in one table; nothing else decides a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ventas.domain.errors import (
    BackOfficeUnavailable,
    ExecutionNotFound,
    IdempotencyKeyReused,
    InvalidQuery,
    InvalidValue,
    NotRedrivable,
    RedriveUnsupported,
    RequestInProgress,
    RequestNotFound,
    RequirementAlreadyReceived,
    TaskConflict,
    TaskNotFound,
    UnknownRequirement,
    UnknownService,
    WorkflowNotWaiting,
    field_errors,
)


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError]


class ErrorBody(BaseModel):
    """The shape of every error answer (documented in OpenAPI)."""

    error: ErrorDetail


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    fields: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


def invalid(exc: ValidationError, prefix: str = "") -> ApiError:
    fields = field_errors(exc)
    if prefix:
        for item in fields:
            item["field"] = f"{prefix}.{item['field']}" if item["field"] != "body" else prefix
    return ApiError(422, "validation_error", "Los datos enviados no son válidos: revise los campos indicados.", fields)


def unauthenticated(message: str = "Debe identificarse para usar este servicio.") -> ApiError:
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": 'Bearer realm="ventas-digitales"'})


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "Su perfil no tiene permiso para realizar esta operación.")


# Errors the framework raises before our code (status -> code, message).
FRAMEWORK: dict[int, tuple[str, str]] = {
    400: ("bad_request", "La solicitud no tiene un formato válido."),
    403: ("forbidden", "Su perfil no tiene permiso para realizar esta operación."),
    404: ("not_found", "No encontramos el recurso solicitado."),
    405: ("method_not_allowed", "Este método no está permitido para el recurso solicitado."),
    413: ("payload_too_large", "El contenido enviado es demasiado grande."),
    415: ("unsupported_media_type", "Envíe el contenido como JSON (Content-Type: application/json)."),
    500: ("internal_error", "Ocurrió un error inesperado. Intente nuevamente en unos minutos."),
}


def from_exception(exc: Exception) -> ApiError | None:
    """The API answer for a domain error; None for an unexpected one (a 500, logged)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return invalid(exc)
    if isinstance(exc, RequestNotFound):
        return ApiError(404, "request_not_found", "No encontramos la solicitud indicada.")
    if isinstance(exc, TaskNotFound):
        return ApiError(404, "task_not_found", "No encontramos la tarea indicada.")
    if isinstance(exc, ExecutionNotFound):
        return ApiError(404, "execution_not_found", "La solicitud todavía no tiene un proceso en ejecución.")
    if isinstance(exc, TaskConflict):
        return ApiError(409, exc.code, str(exc))
    if isinstance(exc, WorkflowNotWaiting):
        return ApiError(
            410, "workflow_not_waiting", "El plazo de esta tarea venció: el proceso ya no espera su respuesta."
        )
    if isinstance(exc, IdempotencyKeyReused):
        return ApiError(
            422,
            "idempotency_key_reused",
            "Esta clave ya se usó para otra solicitud con datos distintos: use una clave nueva para datos nuevos.",
            [{"field": exc.field, "message": "ya usado con otros datos", "type": "idempotency_key_reused"}],
        )
    if isinstance(exc, RequestInProgress):
        return ApiError(
            409,
            "request_in_progress",
            "La primera solicitud con esta clave todavía se está registrando. Intente nuevamente en unos segundos.",
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, UnknownService):
        return ApiError(
            422,
            "unknown_service",
            "El servicio indicado no existe en el catálogo.",
            [{"field": "service_code", "message": "servicio no encontrado en el catálogo", "type": "unknown_service"}],
        )
    if isinstance(exc, UnknownRequirement):
        return ApiError(
            422,
            "unknown_requirement",
            "El requisito indicado no corresponde al servicio de esta solicitud.",
            [
                {
                    "field": "requirement",
                    "message": "requisito no previsto para el servicio",
                    "type": "unknown_requirement",
                }
            ],
        )
    if isinstance(exc, RequirementAlreadyReceived):
        field = {"field": "requirement", "message": str(exc), "type": "requirement_already_received"}
        return ApiError(409, "requirement_already_received", str(exc), [field])
    if isinstance(exc, NotRedrivable):
        return ApiError(409, "not_redrivable", "Solo se puede reanudar un proceso que falló, venció o fue detenido.")
    if isinstance(exc, RedriveUnsupported):
        return ApiError(
            501,
            "redrive_unsupported",
            "Este entorno no permite reanudar procesos (la pila local no implementa RedriveExecution).",
        )
    if isinstance(exc, InvalidQuery):
        return ApiError(
            422,
            "validation_error",
            "Los datos enviados no son válidos: revise los campos indicados.",
            [{"field": exc.field, "message": str(exc), "type": "invalid_query"}],
        )
    if isinstance(exc, InvalidValue):
        return ApiError(
            422,
            "validation_error",
            "Los datos enviados no son válidos: revise los campos indicados.",
            [{"field": exc.field, "message": str(exc), "type": exc.code}],
        )
    if isinstance(exc, BackOfficeUnavailable):
        return ApiError(503, "unavailable", "Un sistema externo no respondió. Intente nuevamente en unos minutos.")
    return None
