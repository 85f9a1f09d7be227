"""Printable documents of III.1 (fpdf2): the Solicitud de Servicio and the requirements bundle (9.1).

Both are built from the request as the caller may see it (CI and phone masked unless the caller
is an agent) and the catalogue entry of its service, and name things as people do: the channel,
the service and each requirement by their Spanish names, never by code. Core PDF fonts only
(latin-1 text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF

from ventas.console.render import channel_text, file_kind, local_time, money, state_text
from ventas.console.timeline import requirement_names
from ventas.domain.catalogue import Service
from ventas.web.views import RequestDetail

_LATIN = str.maketrans({"–": "-", "—": "-", "…": "...", "“": '"', "”": '"', "’": "'"})


def _t(text: object) -> str:
    return str(text).translate(_LATIN).encode("latin-1", "replace").decode("latin-1")


class _Doc(FPDF):
    def __init__(self, title: str, request_id: str) -> None:
        super().__init__(format="A4")
        self._title = title
        self._request_id = request_id
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(_t(title))
        self.set_author("Ventas Digitales")
        self.add_page()

    def header(self) -> None:
        self.set_font("Helvetica", "B", 14)
        self.cell(0, 8, _t(self._title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.cell(0, 5, _t(f"Ventas Digitales - solicitud {self._request_id}"), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 6, _t(f"Página {self.page_no()} - horas de La Paz (America/La_Paz)"), align="C")

    def section(self, title: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 7, _t(title), new_x="LMARGIN", new_y="NEXT")

    def row(self, label: str, value: object) -> None:
        self.set_font("Helvetica", "B", 10)
        self.cell(55, 6, _t(label))
        self.set_font("Helvetica", "", 10)
        self.multi_cell(0, 6, _t(value if value not in (None, "") else "-"), new_x="LMARGIN", new_y="NEXT")


def _customer_rows(doc: _Doc, r: RequestDetail) -> None:
    doc.section("Cliente")
    doc.row("Nombre", r.customer.name)
    doc.row("Carnet de identidad", r.customer.ci)
    doc.row("Teléfono", r.customer.phone)
    doc.row("Canal de ingreso", channel_text(r.channel))


def solicitud_de_servicio(
    r: RequestDetail, service: Service | None, address: str | None, point: str | None, printed_at: datetime
) -> bytes:
    """Step 10's Solicitud de Servicio as a PDF (bytes)."""
    doc = _Doc("Solicitud de Servicio", r.request_id)
    _customer_rows(doc, r)
    doc.section("Servicio solicitado")
    doc.row("Servicio", service.name if service else "sin definir")
    doc.row("Precio mensual", money(service.price_bs) if service else None)
    doc.row("Dirección de instalación", address)
    doc.row("Punto (lat, lon)", point)
    doc.section("Registro")
    doc.row("Orden Smartflex", r.order_id)
    doc.row("Fecha de ingreso", r.created_at_local)
    doc.row("Instalación estimada hasta", r.expected_completion_date_local)
    doc.row("Estado", f"{state_text(r.state)} - {r.step.label}")
    doc.ln(10)
    doc.set_font("Helvetica", "", 10)
    doc.cell(90, 6, "_____________________________")
    doc.cell(0, 6, "_____________________________", new_x="LMARGIN", new_y="NEXT")
    doc.cell(90, 6, "Firma del cliente")
    doc.cell(0, 6, "Agente de Ventas Digitales", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("Helvetica", "I", 8)
    doc.cell(0, 5, _t(f"Impreso el {local_time(printed_at)}"))
    return bytes(doc.output())


def requirements_bundle(r: RequestDetail, service: Service | None, printed_at: datetime) -> bytes:
    """Step 9.1: the requirements checklist and every document received, ready to print."""
    doc = _Doc("Requisitos de la solicitud (paso 9.1)", r.request_id)
    _customer_rows(doc, r)
    doc.section("Requisitos del servicio")
    received = {d.requirement for d in r.documents}
    required: Sequence[tuple[str, str]] = [(q.code, q.label) for q in (service.requirements if service else [])]
    for code, label in required:
        doc.row("[x] recibido" if code in received else "[ ] falta", label)
    doc.section("Documentos recibidos por WhatsApp")
    if not r.documents:
        doc.row("-", "Ningún documento recibido")
    names = requirement_names([service] if service else [], service)
    for n, d in enumerate(r.documents, start=1):
        name = names.get(d.requirement, d.requirement)
        doc.row(f"Documento {n}", f"{name}: {file_kind(d.mime_type)}, recibido el {d.received_at_local}")
    doc.ln(4)
    doc.set_font("Helvetica", "I", 8)
    doc.cell(0, 5, _t(f"Impreso el {local_time(printed_at)}"))
    return bytes(doc.output())
