"""What the customer reads on WhatsApp (TMF681 messages): Spanish, "usted", per Anexo 1."""

from __future__ import annotations

from collections.abc import Sequence

from ventas.domain.catalogue import Requirement, Service
from ventas.domain.models import Reason

WHATSAPP_LINES = "4200400, 4322205 o 4001515"

# The `template` each stage passes to `Notifier.send`: one per function below. VD_WHATSAPP_TEMPLATES
# maps these names to Meta-approved templates (docs/deploy.md).
MESSAGE_TEMPLATES = frozenset(
    {"requirements_request", "requirements_reminder", "sale_done", "rejection", "abandonment"}
)

# What an agent reads on a contact_customer task: which message did not arrive, and why.
MESSAGE_LABELS: dict[str, str] = {
    "requirements_request": "la lista de requisitos (paso 8)",
    "requirements_reminder": "el recordatorio de requisitos (paso 9)",
    "sale_done": "la confirmación de la venta y el plazo de instalación (paso 11)",
    "rejection": "el motivo por el que la venta no puede continuar (paso 14)",
    "abandonment": "el aviso de cierre de la solicitud",
}
# Meta's error codes (developers.facebook.com, WhatsApp Cloud API, error codes), as an agent reads them.
FAILURE_LABELS: dict[str, str] = {
    "131047": "pasaron más de 24 horas desde el último mensaje del cliente",
    "131026": "el número no pudo recibir el mensaje (puede no tener WhatsApp o una versión antigua)",
    "131049": "WhatsApp limitó los mensajes a este cliente",
    "131050": "el cliente dejó de recibir mensajes de la empresa",
    "131051": "tipo de mensaje no admitido",
    "not_a_recipient": "el número registrado no es un número de WhatsApp válido",
    "unavailable": "WhatsApp no respondió tras varios intentos: el mensaje no se envió",
}
DEFAULT_FAILURE_LABEL = "WhatsApp rechazó el mensaje"


def failure_context(cause: str, kind: str, code: str) -> dict[str, str]:
    """The context of a contact_customer task: codes for systems, Spanish for the agent."""
    return {
        "cause": cause,
        "message": kind,
        "meta_code": code,
        "message_label": MESSAGE_LABELS.get(kind, kind),
        "reason_label": FAILURE_LABELS.get(code, DEFAULT_FAILURE_LABEL),
    }


def _checklist(missing: Sequence[Requirement]) -> str:
    """One line per requirement, with the words to write in the photo's description."""
    return "\n".join(f"• {r.label}: escriba «{r.suggested_caption}»" for r in missing)


HOW_TO_LABEL = (
    "Envíe cada documento en un mensaje aparte y escriba en su descripción qué documento es, "
    "como se indica en cada punto."
)


def requirements_request(service: Service, missing: Sequence[Requirement]) -> str:
    return (
        f"Bienvenido(a) a Ventas Digitales Comteco. Para continuar con su solicitud de {service.name}, "
        f"le pedimos enviar por este medio (WhatsApp {WHATSAPP_LINES}) los siguientes requisitos:\n"
        f"{_checklist(missing)}\n{HOW_TO_LABEL}"
    )


def requirements_reminder(service: Service, missing: Sequence[Requirement]) -> str:
    return (
        f"Le recordamos que su solicitud de {service.name} está pendiente. "
        f"Aún nos falta recibir:\n{_checklist(missing)}\n{HOW_TO_LABEL}\n"
        "Si no los recibimos, la solicitud se cerrará."
    )


def sale_done(service: Service, order_id: str, earliest: str, latest: str) -> str:
    return (
        f"Su solicitud de {service.name} ha sido efectuada con el número {order_id}. "
        f"La instalación se realizará en un plazo de 2 a 15 días (entre el {earliest} y el {latest}). "
        "Muchas gracias por su preferencia."
    )


def rejection(reason: Reason) -> str:
    return (
        f"Lamentamos informarle que no podemos concretar su solicitud: {reason.label}. "
        "Le pedimos pasar por nuestras oficinas para orientarle según su caso. Muchas gracias por su comprensión."
    )


def abandonment(reason: Reason) -> str:
    return (
        f"Su solicitud fue cerrada: {reason.label}. "
        f"Cuando lo desee, puede escribirnos o llamarnos al {WHATSAPP_LINES} para retomarla."
    )
