"""Task forms: what an agent types, turned into the completion body the tasks service validates.

The service (`ventas.services.tasks.complete`) stays the one validator; here the form's strings
become its body, and its pydantic errors become Spanish messages beside each field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType

from ventas.domain.inputs import Location, split_point
from ventas.domain.models import REASON_LABELS, REJECTION_REASONS, ReasonCode
from ventas.domain.schedule import LA_PAZ, format_local
from ventas.domain.tasks import HumanTask, TaskKind

GENERAL = "_"  # errors that belong to no single field

# Reasons an agent may choose when rejecting on manual review (step 14 reasons).
REVIEW_REASONS: list[tuple[str, str]] = [(c.value, REASON_LABELS[c]) for c in ReasonCode if c in REJECTION_REASONS]

_MESSAGES = {
    "missing": "Este dato es obligatorio.",
    "string_too_short": "El texto es demasiado corto.",
    "string_too_long": "El texto es demasiado largo.",
    "string_pattern_mismatch": "El formato no es válido.",
    "bool_parsing": "Elija una opción.",
    "bool_type": "Elija una opción.",
    "float_parsing": "Indique un número, por ejemplo -17,3935.",
    "int_parsing": "Indique un número entero.",
    "greater_than_equal": "El valor es menor que el permitido.",
    "less_than_equal": "El valor es mayor que el permitido.",
    "enum": "Elija una opción de la lista.",
    "literal_error": "Elija una opción de la lista.",
    "datetime_from_date_parsing": "Indique fecha y hora válidas.",
    "datetime_parsing": "Indique fecha y hora válidas.",
    "extra_forbidden": "Dato no admitido.",
}


_PYDANTIC_TYPES = frozenset(get_args(ErrorType))


def sentence(message: str) -> str:
    """`texto` -> `Texto.`"""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def spanish_errors(exc: ValidationError, messages: dict[str, str] | None = None) -> dict[str, str]:
    """Field name (the form's input name) -> a Spanish message; GENERAL for the whole form.
    `messages` (pydantic error type -> message) overrides the generic ones for one form."""
    found: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        named = (err.get("ctx") or {}).get("parameters")  # a model's error on some of its fields
        names = [str(n) for n in named] if isinstance(named, (list, tuple)) and named else [loc[-1] if loc else GENERAL]
        if messages and err["type"] in messages:
            message = messages[err["type"]]
        elif err["type"] not in _MESSAGES and err["type"] not in _PYDANTIC_TYPES:  # our own, already Spanish
            message = sentence(str(err["msg"]))
        elif err["type"] == "value_error":
            message = sentence(str(err["msg"]).removeprefix("Value error, "))
        else:
            message = _MESSAGES.get(err["type"], "El dato no es válido.")
        for name in names:
            found.setdefault(name, message)
    return found


def _text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _local_datetime(value: str | None) -> str | None:
    """`2026-11-30T10:15` typed in La Paz -> ISO-8601 with offset (invalid text goes to pydantic)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LA_PAZ).isoformat()
    except ValueError:
        return value


def _one_number(text: str) -> bool:
    try:
        Location.model_validate({"address": "---", "latitude": text, "longitude": 0})
    except ValidationError:
        return False
    return True


def local_input(at: datetime) -> str:
    """The value of a `datetime-local` input for an instant: La Paz, to the minute."""
    return at.astimezone(LA_PAZ).strftime("%Y-%m-%dT%H:%M")


# Step 1.2: the call-back form's third answer, "pidió que le llamen más tarde".
CALL_AGAIN = "later"
_WHEN = "Indique la fecha y la hora (hora de La Paz) en que el cliente pidió que lo llamen."
CALL_AGAIN_MESSAGES = {"missing": _WHEN, "datetime_parsing": _WHEN, "datetime_from_date_parsing": _WHEN}


def call_again_body(form: dict[str, str]) -> dict[str, Any]:
    """The call-again body (`ventas.domain.tasks.CallAgain`) from the call-back form."""
    when = _local_datetime(_text(form, "call_again_at"))
    return {} if when is None else {"call_again_at": when}


def call_again_next(task: HumanTask) -> str:
    """After a call-again is agreed: when the task comes back and for whom (Spanish)."""
    when = format_local(task.due_at)
    until = format_local(task.reserved_until) if task.reserved_until else when
    return (
        f"La tarea vuelve a la bandeja para el {when}, reservada para usted hasta el {until}; después, "
        "si usted no la tomó, cualquier agente podrá hacer la llamada. Ese día llame al cliente y registre "
        f"el resultado antes del {format_local(task.wait_deadline)}, cuando vence el plazo de la tarea."
    )


def task_body(kind: TaskKind, form: dict[str, str]) -> dict[str, Any]:
    """The completion body for `kind` from the posted form (blank fields left out)."""
    body: dict[str, Any]
    if kind == TaskKind.CALL_BACK:
        body = {"reached": form.get("reached", "")}
        if form.get("reached") == "true":
            body.update(ci=_text(form, "ci"), service_code=_text(form, "service_code"), name=_text(form, "name"))
    elif kind == TaskKind.IDENTIFICATION:
        body = {"ci": _text(form, "ci"), "service_code": _text(form, "service_code"), "name": _text(form, "name")}
    elif kind == TaskKind.LOCATION:
        latitude, longitude = _text(form, "latitude"), _text(form, "longitude")
        if latitude and not longitude and (pair := split_point(latitude)) and not _one_number(latitude):
            latitude, longitude = pair  # a point pasted whole ("-17,3935; -66,1570") into the first field
        body = {"location": {"address": _text(form, "address"), "latitude": latitude, "longitude": longitude}}
        body["location"] = {k: v for k, v in body["location"].items() if v is not None}
    elif kind == TaskKind.MANUAL_REVIEW:
        body = {"decision": _text(form, "decision"), "reason": _text(form, "reason"), "comment": _text(form, "comment")}
    elif kind == TaskKind.INSTALLATION_FOLLOW_UP:
        body = {
            "installed": form.get("installed", ""),
            "installed_at": _local_datetime(_text(form, "installed_at")),
            "comment": _text(form, "comment"),
        }
    elif kind == TaskKind.QC_CALL:
        body = {"satisfaction": _text(form, "satisfaction"), "comment": _text(form, "comment")}
    elif kind == TaskKind.CONTACT_CUSTOMER:
        body = {"reached": form.get("reached", ""), "comment": _text(form, "comment")}
    elif kind == TaskKind.DOCUMENT_REVIEW:
        body = {"requirement": _text(form, "requirement")}
    else:
        raise ValueError(f"no form for task kind {kind}")
    return {k: v for k, v in body.items() if v is not None and v != ""}


def what_next(kind: TaskKind, body: dict[str, Any]) -> str:
    """After a completed task: what the workflow does now (for the agent, in Spanish)."""
    if kind == TaskKind.CALL_BACK and body.get("reached") != "true":
        return (
            "Registramos que el cliente no contestó. La solicitud se da por abandonada (cliente no ubicable) "
            "y el indicador del día la cuenta."
        )
    if kind in (TaskKind.CALL_BACK, TaskKind.IDENTIFICATION):
        return (
            "El sistema revisa ahora los impedimentos en NAF (paso 4). Si no hay impedimentos, "
            "sigue con la ubicación o la capacidad técnica (pasos 5 a 7); si los hay, se informa al cliente (paso 14)."
        )
    if kind == TaskKind.LOCATION:
        return (
            "El sistema consulta la capacidad técnica en GIS (pasos 6 y 7). Si hay cobertura, el cliente recibe "
            "por WhatsApp la lista de requisitos (paso 8); si no, se le informa el motivo (paso 14)."
        )
    if kind == TaskKind.MANUAL_REVIEW:
        if body.get("decision") == "reject":
            return "La solicitud se rechaza con el motivo indicado y se informa al cliente (paso 14)."
        return "El sistema vuelve a intentar la operación con el sistema que no respondía."
    if kind == TaskKind.INSTALLATION_FOLLOW_UP:
        if body.get("installed") == "true":
            return "Queda programada la llamada de control de calidad en horario hábil (paso 13)."
        return "La solicitud se cierra como instalación cancelada."
    if kind == TaskKind.CONTACT_CUSTOMER:
        return "El resultado de la llamada queda en el historial de la solicitud; el proceso sigue su curso."
    if kind == TaskKind.DOCUMENT_REVIEW:
        return (
            "El documento se archiva como el requisito elegido. Si con él se completan los requisitos, "
            "el sistema registra la venta en Smartflex (paso 10)."
        )
    return "La solicitud queda concluida con la calificación registrada (paso 13.1)."
