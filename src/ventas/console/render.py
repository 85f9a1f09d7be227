"""Rendering: one Jinja2 environment (autoescaped), Bolivian formats, the navigation per role.

Pages carry no inline script or style (the Content-Security-Policy forbids both): behaviour
comes from htmx attributes and `static/console.js`, looks from `static/console.css`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ventas.domain.schedule import format_local
from ventas.web.auth import Role

if TYPE_CHECKING:
    from jinja2 import Environment

HTMX = "htmx-2.0.7.min.js"  # vendored, pinned: static/htmx-LICENSE.txt


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    roles: frozenset[Role]


NAV: tuple[NavLink, ...] = (
    NavLink("/console/inbox", "Bandeja de tareas", frozenset({Role.AGENT})),
    NavLink("/console/supervisor", "Tablero del supervisor", frozenset({Role.SUPERVISOR})),
    NavLink("/console/ops", "Operaciones", frozenset({Role.OPS})),
)
LOCAL_NAV = NavLink("/console/local", "Simular cliente", frozenset({Role.AGENT, Role.SUPERVISOR, Role.OPS}))


def navigation(roles: Iterable[Role], local: bool) -> list[NavLink]:
    """Only the pages the roles may open (the server checks each one again)."""
    held = frozenset(roles)
    links = [link for link in NAV if link.roles & held]
    if local and held:
        links.append(LOCAL_NAV)
    return links


def money(amount: float | None) -> str:
    """Bolivianos as written in Bolivia: `Bs 1.234,50`."""
    if amount is None:
        return "—"
    whole, cents = f"{amount:,.2f}".split(".")
    return f"Bs {whole.replace(',', '.')},{cents}"


def local_time(at: datetime | None) -> str:
    """America/La_Paz, dd/mm/yyyy hh:mm."""
    return "—" if at is None else format_local(at)


# TMF622 order states and task statuses as a person reads them.
STATE_LABELS = {
    "acknowledged": "recibida",
    "pending": "pendiente",
    "inProgress": "en curso",
    "completed": "completada",
    "rejected": "rechazada",
    "cancelled": "cancelada",
    "failed": "fallida",
}
TASK_STATUS_LABELS = {"open": "sin tomar", "claimed": "tomada", "completed": "completada", "expired": "vencida"}


def state_text(state: str) -> str:
    """A request's TMF622 state in Spanish (`inProgress` -> `en curso`)."""
    return STATE_LABELS.get(str(state), str(state))


def task_status_text(status: str) -> str:
    """A task's status in Spanish (`claimed` -> `tomada`)."""
    return TASK_STATUS_LABELS.get(str(status), str(status))


def channel_text(channel: str) -> str:
    """A channel as a person reads it (`ivr` -> `Llamada (IVR)`)."""
    from ventas.web.views import CHANNEL_LABELS

    return next((label for c, label in CHANNEL_LABELS.items() if c.value == str(channel)), str(channel))


# Step Functions execution statuses (AWS's names, kept for ops) with what they mean.
EXECUTION_STATUS_LABELS = {
    "RUNNING": "en ejecución",
    "SUCCEEDED": "terminada",
    "FAILED": "fallida",
    "TIMED_OUT": "vencida",
    "ABORTED": "detenida",
    "PENDING_REDRIVE": "reanudándose",
}


def execution_status_text(status: str) -> str:
    """`RUNNING` -> `RUNNING (en ejecución)`: AWS's name, which ops search for, and its meaning."""
    meaning = EXECUTION_STATUS_LABELS.get(str(status))
    return f"{status} ({meaning})" if meaning else str(status)


# Fields an error names (query parameters, body fields), as a person reads them; a field not
# listed is left unnamed (its message alone), never shown as a code.
FIELD_LABELS = {
    "from": "Desde",
    "to": "Hasta",
    "date": "Fecha",
    "day": "Día",
    "status": "Estado",
    "step": "Paso",
    "channel": "Canal",
    "phone": "Teléfono",
    "caller": "Teléfono",
    "name": "Nombre",
    "ci": "Carnet de identidad",
    "service_code": "Servicio",
    "requirement": "Requisito",
    "call_again_at": "Volver a llamar el",
    "installed_at": "Instalado el",
}


def field_text(field: str) -> str:
    """An error's field as a person reads it (`from` -> `Desde`); "" when it has no label."""
    return FIELD_LABELS.get(str(field).rsplit(".", 1)[-1], "")


FILE_KINDS = {"application/pdf": "PDF", "image/jpeg": "imagen JPEG", "image/png": "imagen PNG"}


def file_kind(mime_type: str) -> str:
    """`application/pdf` -> `PDF`; other types as they are."""
    return FILE_KINDS.get(str(mime_type), str(mime_type))


def point_text(latitude: float, longitude: float) -> str:
    """A point as Bolivians write it, decimal commas, the two apart by a semicolon:
    `-17,39350; -66,15700`."""
    return f"{number(latitude, 5)}; {number(longitude, 5)}"


def number(value: float, decimals: int = 1) -> str:
    """Decimal comma: 96,5."""
    return f"{value:.{decimals}f}".replace(".", ",")


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment: package templates, autoescaped, with the Bolivian filters.
    Built on the first page (the API's other routes never load Jinja2: cold starts)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("ventas.console", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bs"] = money
    env.filters["lapaz"] = local_time
    env.filters["num"] = number
    env.filters["estado"] = state_text
    env.filters["estado_tarea"] = task_status_text
    env.filters["canal"] = channel_text
    env.filters["formato"] = file_kind
    env.filters["campo"] = field_text
    env.globals["punto"] = point_text
    env.filters["ejecucion"] = execution_status_text
    env.globals["htmx"] = HTMX
    return env


def render(template: str, **context: Any) -> str:
    """`template` (a file under templates/) rendered with `context`; raises jinja2 errors."""
    return environment().get_template(template).render(**context)
