"""Errors the workflow reacts to. Their class names are the ASL error names (Lambda errorType)."""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType


class VentasError(Exception):
    """Base class of the product's own errors."""


class BackOfficeUnavailable(VentasError):
    """A back-office system (NAF, GIS, Smartflex, installations) did not answer: Retry, then review."""


class NotifierUnavailable(VentasError):
    """WhatsApp did not take a customer message (no answer, 5xx, rate limit). Its own ASL error
    name: the notifying states retry it, and it must not open a back-office review."""


class WhatsAppRejected(VentasError):
    """Meta refused a customer message (a 4xx other than a rate limit), or answered outside the
    Cloud API contract: a misconfiguration or a policy limit, not an outage, so never retried.
    The message names Meta's error code, never the phone number or the text."""

    def __init__(self, detail: str, status: int | None = None, code: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code


class MessageWindowClosed(WhatsAppRejected):
    """Meta error 131047: free-form text outside the 24-hour customer-service window. Only an
    approved template reaches the customer then (VD_WHATSAPP_TEMPLATES, docs/deploy.md)."""


class AlreadyExists(VentasError):
    """`add` of a request or task id that is already stored."""


class KeyTaken(VentasError):
    """`add` with claims: one of the lookup keys is already bound (nothing was written)."""


class ConcurrentUpdate(VentasError):
    """The request changed since it was read (another stage or event saved it): read again."""


class RequestNotFound(VentasError):
    pass


class RequestEnded(VentasError):
    """A transition asked of a request that has already ended: nothing was changed."""

    def __init__(self, request_id: str, event: str) -> None:
        super().__init__(f"request {request_id} has ended; {event} refused")
        self.request_id = request_id
        self.event = event


class InstallationConflict(VentasError):
    """An installation event that contradicts the order's state (HTTP 409): e.g. a second
    completion with another event id, a cancellation after the installation, an ended request.
    The message is Spanish, for the integrator's operators."""


class TaskNotFound(VentasError):
    pass


class TaskConflict(VentasError):
    """The task is claimed by another agent or already completed. `stored`: the task as stored
    when a conditional write was refused (a `HumanTask`), when the store returned it."""

    def __init__(self, message: str, code: str, stored: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.stored = stored


class WorkflowNotWaiting(VentasError):
    """The workflow behind a task token no longer waits for it (timed out or ended)."""


class IdempotencyKeyReused(VentasError):
    """An Idempotency-Key or channel lead id already used with another body (IETF
    draft-ietf-httpapi-idempotency-key-header: 422). `field` names which one."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class InvalidValue(VentasError):
    """A well-formed value the procedure cannot accept (e.g. a missed call in the future): 422
    on `field`, with a Spanish message; `code` is the field error's `type` for systems."""

    code = "invalid_value"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidEvent(InvalidValue):
    """An outside event or an agent's answer whose field holds an impossible value (HTTP 422),
    e.g. an installation time in the future. `field` names it; the message is Spanish."""

    code = "invalid_event"


class CallAgainRefused(InvalidValue):
    """A call-again time a call-back task cannot take (step 1.2, `ventas.domain.call_again`):
    422 on `call_again_at`. `code`: too_many_call_agains, not_in_future, after_deadline or
    outside_business_hours; `latest`: the latest time allowed (UTC), when there is one."""

    def __init__(self, message: str, code: str, latest: datetime | None = None) -> None:
        super().__init__("call_again_at", message)
        self.code = code
        self.latest = latest


class RequestInProgress(VentasError):
    """The first request with this key is still being created (IETF idempotency-key draft: 409)."""


class UnknownService(VentasError):
    """The service code is not in the product catalogue (COM-GCM-P01)."""


class UnknownRequirement(VentasError):
    """The requirement code is not one of the request's service requirements (catalogue)."""


class RequirementAlreadyReceived(VentasError):
    """A document would be filed under a requirement the request already has (HTTP 409): filing
    it again would duplicate it and leave a missing one unfilled. The message is Spanish and
    names the requirements still missing."""

    def __init__(self, requirement: str, message: str) -> None:
        super().__init__(message)
        self.requirement = requirement


# pydantic's error types -> a Spanish message for a person (usted); `{name}` reads the error's ctx.
SPANISH_MESSAGES: dict[str, str] = {
    "missing": "este dato es obligatorio",
    "extra_forbidden": "este dato no está admitido",
    "string_type": "debe ser un texto",
    "string_too_short": "debe tener al menos {min_length} caracteres",
    "string_too_long": "debe tener como máximo {max_length} caracteres",
    "string_pattern_mismatch": "no tiene el formato esperado ({pattern})",
    "int_type": "debe ser un número entero",
    "int_parsing": "debe ser un número entero",
    "int_from_float": "debe ser un número entero",
    "float_type": "debe ser un número",
    "float_parsing": "debe ser un número",
    "finite_number": "debe ser un número finito",
    "bool_type": "debe ser verdadero o falso (true o false)",
    "bool_parsing": "debe ser verdadero o falso (true o false)",
    "enum": "debe ser uno de estos valores: {expected}",
    "literal_error": "debe ser uno de estos valores: {expected}",
    "greater_than": "debe ser mayor que {gt}",
    "greater_than_equal": "debe ser mayor o igual que {ge}",
    "less_than": "debe ser menor que {lt}",
    "less_than_equal": "debe ser menor o igual que {le}",
    "datetime_type": "debe ser una fecha y hora ISO-8601 (ejemplo: 2026-11-30T10:15:00-04:00)",
    "datetime_parsing": "debe ser una fecha y hora ISO-8601 (ejemplo: 2026-11-30T10:15:00-04:00)",
    "datetime_from_date_parsing": "debe ser una fecha y hora ISO-8601 (ejemplo: 2026-11-30T10:15:00-04:00)",
    "timezone_aware": "indique la zona horaria (ejemplo: 2026-11-30T10:15:00-04:00)",
    "date_type": "debe ser una fecha AAAA-MM-DD",
    "date_parsing": "debe ser una fecha AAAA-MM-DD",
    "date_from_datetime_parsing": "debe ser una fecha AAAA-MM-DD",
    "date_from_datetime_inexact": "debe ser una fecha AAAA-MM-DD, sin hora",
    "list_type": "debe ser una lista",
    "too_short": "debe tener al menos {min_length} elementos",
    "too_long": "debe tener como máximo {max_length} elementos",
    "dict_type": "debe ser un objeto JSON",
    "model_type": "debe ser un objeto JSON",
    "model_attributes_type": "debe ser un objeto JSON",
    "union_tag_invalid": "el tipo indicado no es válido ({expected_tags})",
    "union_tag_not_found": "falta el dato que indica el tipo",
    "json_invalid": "no es un JSON válido",
    "frozen_instance": "este dato no se puede cambiar",
}
GENERIC_MESSAGE = "el valor no es válido"
_PYDANTIC_TYPES = frozenset(get_args(ErrorType))
_ENUM_REPR = re.compile(r"<\w+\.\w+: ('[^']*')>")  # a Literal of an enum member: "<TaskKind.X: 'x'>" -> "'x'"


def spanish_message(err: Mapping[str, Any]) -> str:
    """The Spanish message for one pydantic error: our own validators' text, else the table."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind not in SPANISH_MESSAGES and err.get("msg") and kind not in _PYDANTIC_TYPES:
        return str(err["msg"])  # a PydanticCustomError of ours: already Spanish
    values = {k: _ENUM_REPR.sub(r"\1", str(v)).replace("' or '", "' o '") for k, v in ctx.items()}  # "'a' o 'b'"
    if kind == "string_too_short" and values.get("min_length") == "1":
        return "no puede estar vacío"
    try:
        return SPANISH_MESSAGES.get(kind, GENERIC_MESSAGE).format(**values)
    except (KeyError, IndexError):
        return GENERIC_MESSAGE


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Field-level detail for systems, Spanish messages for people (no input values: they may be
    personal). A model-level error naming `parameters` in its ctx gives one entry per parameter,
    under the model's own place (`location.latitude` for a Location's `latitude`)."""
    found: list[dict[str, str]] = []
    for err in exc.errors():
        message = spanish_message(err)
        place = [str(p) for p in err["loc"]]
        names = (err.get("ctx") or {}).get("parameters")
        fields = [".".join([*place, str(n)]) for n in names] if isinstance(names, (list, tuple)) and names else None
        for name in fields or [".".join(place) or "body"]:
            found.append({"field": name, "message": message, "type": err["type"]})
    return found


class ExecutionNotFound(VentasError):
    """The request has no Step Functions execution (not started yet, or unknown)."""


class NotRedrivable(VentasError):
    """Only a failed, timed-out or aborted execution can be redriven."""


class RedriveUnsupported(VentasError):
    """The Step Functions endpoint does not implement RedriveExecution (moto 5.2 locally)."""


class InvalidQuery(VentasError):
    """A search or report parameter that cannot be answered (bad page token, range too long)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
