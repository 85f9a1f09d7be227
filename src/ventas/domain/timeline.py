"""What each event of a request's history means, in Spanish (Bolivia, usted), for the people
who read the timeline: one mapping, used by the console and the API's `HistoryView.label`.

The events are the names the aggregate and the services write (`SaleRequest.advance`/`note`,
`HistoryEntry(event=...)`); `tests/unit/test_timeline_labels.py` reads the source and fails when
an event has no label here. Step numbers are the procedure's (VENTAS DIGITALES v1).
"""

from __future__ import annotations

from ventas.domain.tasks import TaskKind

# A task's result recorded on the request: `<kind>_done` (services.tasks, services.event_tasks).
TASK_DONE_LABELS: dict[TaskKind, str] = {
    TaskKind.CALL_BACK: "Devolución de llamada registrada (paso 1.2)",
    TaskKind.IDENTIFICATION: "Cliente identificado por un agente (paso 3)",
    TaskKind.LOCATION: "Ubicación del domicilio registrada (paso 5)",
    TaskKind.MANUAL_REVIEW: "Revisión manual resuelta por un agente",
    TaskKind.INSTALLATION_FOLLOW_UP: "Seguimiento de la instalación registrado (paso 12)",
    TaskKind.QC_CALL: "Llamada de control de calidad registrada (paso 13.1)",
    TaskKind.CONTACT_CUSTOMER: "Llamada al cliente registrada (WhatsApp no le llegó)",
    TaskKind.DOCUMENT_REVIEW: "Documento revisado y clasificado por un agente (paso 9)",
}

EVENT_LABELS: dict[str, str] = {
    # Steps 1, 1.1, 2: the lead, its repeats and possible duplicates.
    "lead_received": "Solicitud recibida del canal (pasos 1 y 2)",
    "lead_joined": "Otro contacto del mismo cliente se sumó a esta solicitud",
    "lead_merged": "Se unió a esta solicitud un contacto verificado como el mismo cliente",
    "possible_duplicate": "En espera: su carnet coincide con otra solicitud abierta (un agente debe verificar)",
    "possible_duplicate_lead": "Llegó otra solicitud con el mismo carnet (posible duplicado)",
    "duplicate_reviewed": "Verificado: es otro cliente, la solicitud sigue por separado",
    "duplicate_merged": "Verificado: es el mismo cliente, la solicitud se unió a la otra",
    # Human tasks.
    "task_opened": "Tarea abierta en la bandeja de los agentes",
    "task_not_worked": "Nadie atendió la tarea después de varias aperturas",
    "call_again_scheduled": "Volver a llamar acordado con el cliente (paso 1.2)",
    # Steps 4 to 7: impediments and technical capacity.
    "no_impediment": "Sin impedimentos en NAF, opción Cartera (paso 4)",
    "impediment_found": "Impedimento encontrado en NAF, opción Cartera (paso 4)",
    "coverage_checked": "Capacidad técnica consultada en GIS (pasos 6 y 7)",
    # Steps 8, 9: requirements by WhatsApp.
    "requirements_requested": "Requisitos solicitados al cliente por WhatsApp (paso 8)",
    "documents_reminder_sent": "Recordatorio de requisitos enviado (paso 9)",
    "document_received": "Requisito recibido por WhatsApp (paso 9)",
    "document_classified": "Documento clasificado como requisito (paso 9)",
    # Steps 10 to 12: the sale and the installation.
    "sale_registered": "Venta registrada en Smartflex (pasos 10 y 11)",
    "installation_handed_off": "Pedido entregado a Instalaciones, OPR-PAS-P02 (paso 12)",
    "installed": "Instalación realizada (paso 12)",
    "installation_cancelled": "Instalaciones canceló la instalación",
    "installation_rescheduled": "Instalaciones reprogramó la instalación",
    "contract_received": "Contrato de Servicios firmado recibido (III.1)",
    # Messages to and from the customer (WhatsApp).
    "customer_message_sent": "Mensaje enviado al cliente por WhatsApp",
    "customer_message_refused": "WhatsApp rechazó el mensaje al cliente",
    "customer_message_failed": "El mensaje de WhatsApp no llegó al cliente",
    "customer_message_delivered": "Mensaje de WhatsApp entregado al cliente",
    "customer_message_read": "El cliente leyó el mensaje de WhatsApp",
    "customer_message_received": "Mensaje del cliente recibido por WhatsApp",
    "customer_number_changed": "El cliente cambió su número de WhatsApp",
    # How the request ended.
    "request_sold": "Venta concluida (paso 13.1)",
    "request_rejected": "Venta no concretada: solicitud rechazada (paso 14)",
    "request_abandoned": "Solicitud abandonada",
    "request_failed": "Solicitud terminada por una falla",
    "execution_failed": "El proceso falló (operaciones debe revisarlo)",
    "execution_timed_out": "El proceso superó su tiempo máximo",
    "execution_aborted": "El proceso fue detenido por operaciones",
    "execution_redriven": "Proceso reanudado por operaciones",
    **{f"{kind.value}_done": label for kind, label in TASK_DONE_LABELS.items()},
}


def event_label(event: str) -> str:
    """The Spanish label of a history event; the event's own name when it has none (an event
    written before its label existed), never an error."""
    return EVENT_LABELS.get(event, event)
