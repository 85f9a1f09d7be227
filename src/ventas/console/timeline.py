"""A request's timeline as a person reads it: each event's Spanish label
(`ventas.domain.timeline`), and its details with Spanish names and values (requirement names
from the catalogue, reasons, task kinds, La Paz times, sí/no) instead of codes and ISO text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ventas.console.drawings import TECH_LABELS
from ventas.domain.catalogue import UNCLASSIFIED, Service
from ventas.domain.messages import MESSAGE_LABELS
from ventas.domain.models import REASON_LABELS
from ventas.domain.schedule import format_local
from ventas.domain.timeline import event_label
from ventas.web.views import CHANNEL_LABELS, KIND_LABELS, HistoryView

# Detail keys a person reads, in the order shown; keys not listed are left out (internal refs).
DETAIL_LABELS: dict[str, str] = {
    "kind": "tarea",
    "attempt": "apertura",
    "channel": "canal",
    "missed_call": "llamada perdida",
    "reached": "contestó",
    "call_again_at": "volver a llamar el",
    "times": "reprogramación n.º",
    "by": "por",
    "requirement": "requisito",
    "missing": "faltan",
    "qualification_result": "resultado",
    "technology": "tecnología",
    "max_speed_mbps": "velocidad máxima (Mbps)",
    "zone_id": "zona GIS",
    "order_id": "orden Smartflex",
    "form_id": "Solicitud de Servicio",
    "expected_completion_date": "instalación estimada hasta",
    "installed": "instalado",
    "installed_at": "instalado el",
    "qc_at": "llamada de calidad el",
    "scheduled_for": "nueva fecha",
    "cause": "causa",
    "decision": "decisión",
    "reason": "motivo",
    "template": "mensaje",
    "meta_code": "código de error de Meta",
    "type": "tipo de mensaje",
    "content": "texto del cliente",
    "of": "posible duplicado de",
    "request_id": "solicitud",
    "other_request": "otra solicitud",
    "from": "desde la solicitud",
    "previous_status": "estado anterior del proceso",
    "moved": "la solicitud sigue al número nuevo",
    "comment": "comentario",
    "redacted": "datos personales borrados",
}
VALUE_LABELS: dict[str, dict[str, str]] = {
    "qualification_result": {
        "qualified": "con capacidad técnica",
        "alternate": "sin capacidad para lo pedido, con una alternativa",
        "unqualified": "sin capacidad técnica",
    },
    "decision": {"retry": "reintentar", "reject": "rechazar", "separate": "otro cliente", "merge": "mismo cliente"},
    "template": MESSAGE_LABELS,
    "channel": {c.value: label for c, label in CHANNEL_LABELS.items()},
    "technology": TECH_LABELS,
    "kind": {k.value: label for k, label in KIND_LABELS.items()},
    "reason": {
        **{c.value: label for c, label in REASON_LABELS.items()},
        # Why a WhatsApp message was not taken (services.outbound).
        "unavailable": "WhatsApp no respondió",
        "refused": "WhatsApp rechazó el mensaje",
        "not_a_recipient": "el número no puede recibir mensajes de WhatsApp",
    },
    "previous_status": {"FAILED": "fallido", "TIMED_OUT": "vencido", "ABORTED": "detenido"},
}
UNCLASSIFIED_LABEL = "Documento sin clasificar (un agente lo revisa)"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class TimelineRow:
    at_local: str | None
    step: str
    event: str  # the code, kept for systems and tests
    label: str
    details: list[tuple[str, str]]


def _value(key: str, value: object, requirements: Mapping[str, str]) -> str:
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(key, v, requirements) for v in value) or "ninguno"
    if isinstance(value, Mapping):  # a TMF645 reason, {code, label}: its Spanish label
        code, label = value.get("code"), value.get("label")
        return _value(key, code, requirements) if code is not None else str(label or "")
    text = str(value)
    if key in ("requirement", "missing"):
        return requirements.get(text, text)
    if key in VALUE_LABELS:
        return VALUE_LABELS[key].get(text, text)
    if _ISO.match(text):
        try:
            return format_local(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return text
    return text


def details(entry: HistoryView, requirements: Mapping[str, str], time_scale: float = 1.0) -> list[tuple[str, str]]:
    """(Spanish name, Spanish value) of the details a person reads, in DETAIL_LABELS' order;
    a detail without a value (None, empty) is left out. `time_scale` > 1 (a local run's
    compressed clock): the QC call's time says when its task really opens (`_qc_time`)."""
    return [
        (label, _qc_time(entry, time_scale) if key == "qc_at" else _value(key, entry.detail[key], requirements))
        for key, label in DETAIL_LABELS.items()
        if entry.detail.get(key) not in (None, "", {})
    ]


def _qc_time(entry: HistoryView, time_scale: float) -> str:
    """The QC call's slot (step 13, business hours in La Paz). On a compressed clock the
    workflow's Wait is scaled from the moment it was set (`stages.qc_wait_output`): the task
    opens at `at + (qc_at - at) / time_scale`, which the text says beside the slot."""
    qc_at = datetime.fromisoformat(str(entry.detail["qc_at"]).replace("Z", "+00:00"))
    if time_scale <= 1:
        return format_local(qc_at)
    opens = entry.at + max(qc_at - entry.at, timedelta(0)) / time_scale
    return (
        f"{format_local(qc_at)} en el tiempo del procedimiento; con el reloj local comprimido "
        f"(×{time_scale:g}) la tarea se abre el {format_local(opens)}"
    )


def requirement_names(services: Iterable[Service], own: Service | None = None) -> dict[str, str]:
    """Requirement code -> its name (`CI_ANVERSO` -> `Fotografía ...`): as the request's own
    service (`own`) names it, else as the first service of the catalogue that has it."""
    names: dict[str, str] = {UNCLASSIFIED: UNCLASSIFIED_LABEL}
    for service in services:
        for requirement in service.requirements:
            names.setdefault(requirement.code, requirement.label)
    return names | {q.code: q.label for q in (own.requirements if own else ())}


def timeline(history: list[HistoryView], requirements: Mapping[str, str], time_scale: float = 1.0) -> list[TimelineRow]:
    """The rows of a request's page; `requirements`: catalogue code -> name; `time_scale`:
    `Settings.time_scale` (above 1 only on a local run's compressed clock)."""
    return [
        TimelineRow(
            at_local=h.at_local,
            step=f"{h.step.code.value} · {h.step.label}",
            event=h.event,
            label=event_label(h.event),
            details=details(h, requirements, time_scale),
        )
        for h in history
    ]


# A task's context (why it was opened), as the task page shows it; keys not listed are left out.
CONTEXT_LABELS: dict[str, str] = {
    "system": "Sistema que no respondió",
    "stage": "Etapa",
    "escalated": "Escalada",
    "cause": "Motivo de la tarea",
    "message_label": "Mensaje que no llegó",
    "reason_label": "Por qué",
    "meta_code": "Código de error de Meta",
    "other_request": "Otra solicitud con ese número",
    "missing": "Requisitos que faltan",
    "mime_type": "Formato del documento",
}
CONTEXT_VALUES: dict[str, dict[str, str]] = {
    "stage": {
        "eligibility": "revisión de impedimentos (paso 4)",
        "coverage": "capacidad técnica (paso 7)",
        "sale": "registro de la venta (paso 10)",
    },
    "escalated": {"supervisor": "al supervisor: es la última apertura de esta tarea"},
    "cause": {
        "message_refused": "WhatsApp rechazó un mensaje al cliente",
        "message_failed": "un mensaje de WhatsApp no llegó al cliente",
        "number_changed": "el cliente cambió su número de WhatsApp",
    },
    "mime_type": {"application/pdf": "PDF", "image/jpeg": "imagen JPEG", "image/png": "imagen PNG"},
}


def context_rows(context: Mapping[str, str], requirements: Mapping[str, str]) -> list[tuple[str, str]]:
    """(Spanish name, Spanish value) of a task's context, in CONTEXT_LABELS' order."""
    rows = []
    for key, label in CONTEXT_LABELS.items():
        value = context.get(key)
        if not value:
            continue
        if key == "missing":
            value = ", ".join(requirements.get(code, code) for code in value.split(",") if code)
        rows.append((label, CONTEXT_VALUES.get(key, {}).get(value, value)))
    return rows
