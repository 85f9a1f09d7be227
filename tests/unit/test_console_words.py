"""What people read on the console's edges is Spanish, never a code: error pages, the printable
PDFs, the local customer page (its answers come from the product's own routes, served here on
loopback by a server this test starts), and the map's legend."""

from __future__ import annotations

import html
import json
import re
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.config import Config
from chalice.local import LocalDevServer, ThreadedHTTPServer

from devstack.api_server import load_app
from tests.unit.api_harness import BACKOFFICE_KEYS, Api, api
from tests.unit.test_call_again import call_back, la_paz
from tests.unit.test_console_pages import console, get, hosted, post
from tests.unit.test_console_tasks import ANA, BRUNO, at_documents, form
from tests.unit.test_stages import sold_until_installation
from ventas.console import drawings
from ventas.container import Container
from ventas.domain.tasks import TaskStatus
from ventas.services import events, tasks

__all__ = ["api", "console", "hosted"]
CSS = Path(drawings.__file__).parent / "static" / "console.css"
CODE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[a-z]+_[a-z_]+\b")


def page_text(answer: Any) -> str:
    return html.unescape(answer.body.decode())


def pdf_text(pdf: bytes) -> str:
    """The text the PDF shows (fpdf2's compressed content streams, latin-1 `(...) Tj` strings)."""
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for text in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return "\n".join(shown)


def test_an_error_page_gives_the_reason_in_spanish_without_codes(console: Api, deps: Container) -> None:
    task = call_back(deps)
    tasks.call_again(deps, task.task_id, "agente.ana", {"call_again_at": la_paz(15, 30).isoformat()})
    refused = post(console, f"/console/tasks/{task.task_id}/claim", form(BRUNO), BRUNO)
    assert refused.status_code == 409
    page = page_text(refused)
    assert "agente.ana acordó volver a llamar al cliente" in page
    assert "reserved_for_other" not in page
    assert "Código" not in page
    ops = page_text(get(console, "/console/ops?from=86400", _ops()))
    assert "Desde: debe ser una fecha AAAA-MM-DD" in ops
    assert "date_parsing" not in ops


def _ops() -> str:
    from tests.unit.api_harness import mint

    return mint("ops.luis", ["ops"])


def test_the_pdfs_name_the_channel_service_and_requirements_in_spanish(console: Api, deps: Container) -> None:
    request_id = at_documents(deps)
    events.receive_document(deps, "+59171234568", "media-p1", "image/png", b"x", deps.clock.now(), "CI_ANVERSO")
    events.receive_document(deps, "+59171234568", "media-p2", "application/pdf", b"x", deps.clock.now())
    for name in ("solicitud", "requisitos"):
        answer = get(console, f"/console/requests/{request_id}/{name}.pdf", ANA, Accept="application/pdf")
        assert answer.status_code == 200
        shown = pdf_text(answer.body)
        assert "Canal de ingreso" in shown
        assert "Página web" in shown
        assert not CODE.search(shown), (name, CODE.findall(shown))
    shown = pdf_text(get(console, f"/console/requests/{request_id}/requisitos.pdf", ANA, Accept="application/pdf").body)
    assert "Fotografía del carnet de identidad (anverso): imagen PNG, recibido el" in shown
    assert "Documento sin clasificar (un agente lo revisa): PDF, recibido el" in shown
    assert "media-p1" not in shown


@pytest.fixture
def loopback(console: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The console in local mode, and the product's own API served on a loopback port (the local
    page posts to it as a real system would): the Host to send the console's requests with."""
    from chalicelib import console_http

    monkeypatch.setenv("VD_CONSOLE_SIGNIN", "local")
    monkeypatch.setenv("VD_CONSOLE_DEV_USERS", json.dumps({"agente.ana": {"role": "agent", "password": "x"}}))
    monkeypatch.setenv("VD_CONSOLE_LOCAL_INSTALLATIONS_KEY", BACKOFFICE_KEYS["installations"])
    console_http.console_settings.cache_clear()
    app = load_app()
    server = LocalDevServer(app, Config.create(chalice_app=app), "127.0.0.1", 0, server_cls=ThreadedHTTPServer)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.server.shutdown()
        server.server.server_close()
        console_http.console_settings.cache_clear()


def test_a_replayed_installation_on_the_local_page_shows_the_apis_reason(
    console: Api, deps: Container, loopback: str
) -> None:
    request_id = sold_until_installation(deps)
    sent = form(ANA, request_id=request_id)
    first = post(console, "/console/local/installation", sent, ANA, Host=loopback)
    assert first.status_code == 200
    assert f"Instalación informada para {request_id}: registrada." in page_text(first)
    again = post(console, "/console/local/installation", sent, ANA, Host=loopback)
    assert again.status_code == 409  # the API's status, not 502
    page = page_text(again)
    assert "no registrada. La instalación de este pedido ya fue registrada." in page
    assert 'role="alert" id="installed"' in page


def test_the_customer_page_names_the_document_it_sent(console: Api, deps: Container, loopback: str) -> None:
    request_id = at_documents(deps)
    named = post(
        console,
        "/console/local/whatsapp",
        form(ANA, request_id=request_id, requirement="CI_ANVERSO"),
        ANA,
        Host=loopback,
    )
    assert named.status_code == 200
    page = page_text(named)
    assert f"Documento «Fotografía del carnet de identidad (anverso)» enviado para {request_id}" in page
    assert "CI_ANVERSO enviado" not in page
    unnamed = page_text(post(console, "/console/local/whatsapp", form(ANA, request_id=request_id), ANA, Host=loopback))
    assert f"Documento sin título (sin clasificar) enviado para {request_id}" in unnamed
    assert deps.tasks.open_for(request_id)[-1].status == TaskStatus.OPEN  # the review task it opened


def test_the_legend_has_a_swatch_in_the_maps_colour_for_every_zone_technology(console: Api, deps: Container) -> None:
    css = CSS.read_text(encoding="utf-8")
    used = {z.technology for z in drawings.zones()}
    assert "COPPER" in used  # Las Cuadras
    legend = dict(drawings.legend())
    assert len(legend) == len(used)
    for tech in used:
        swatch = f"swatch-{tech.lower()}"
        assert swatch in legend, tech
        colour = drawings.TECH_COLOURS[tech]
        assert re.search(rf"\.{swatch} {{ background: {colour}; }}", css), swatch
        assert f'fill="{colour}"' in str(drawings.coverage_map())
    assert legend["swatch-copper"] == "Zona cobre"
