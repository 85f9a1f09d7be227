"""An Agente de Ventas Digitales works a lead through the pages alone, from the missed call to QC."""

from __future__ import annotations

import math
import uuid

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from devstack.http_driver import HttpDriver
from tests.browser.conftest import SignIn, accessible, status, wait_for_row

CENTRO = (-17.3935, -66.1570)


def phone() -> str:
    return "+5917" + str(uuid.uuid4().int)[:7]


def new_ci() -> str:
    return str(3_000_000 + uuid.uuid4().int % 6_000_000) + "9 CB"  # 8 digits: absent from the NAF extract


def click_on_map(page: Page, lat: float, lon: float) -> None:
    """Click the SVG map where (lat, lon) is, from the bounds the map declares (Web Mercator)."""
    svg = page.locator("#coverage-map")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None
    west, east, north, south = (float(svg.get_attribute(f"data-{k}") or 0) for k in ("west", "east", "north", "south"))

    def merc(value: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(value) / 2))

    x = box["x"] + (lon - west) / (east - west) * box["width"]
    y = box["y"] + (merc(north) - merc(lat)) / (merc(north) - merc(south)) * box["height"]
    page.mouse.click(x, y)


def open_task(page: Page, request_id: str, kind_label: str) -> None:
    page.goto("/console/inbox")
    row = f"tr[data-request='{request_id}']:has-text('{kind_label}')"
    wait_for_row(page, row)
    page.locator(row).locator("a").first.click()
    page.wait_for_load_state()


def test_an_agent_works_a_missed_call_to_the_qc_call(sign_in: SignIn, http: HttpDriver, axe: Axe) -> None:
    request_id = http.missed_call(phone())
    agent = sign_in("agente.local")

    # Step 1.2: the call-back task, with the Anexo 1 script in the agent's name.
    open_task(agent, request_id, "Devolver llamada")
    accessible(axe, agent)
    assert "Mi nombre es agente.local" in agent.locator(".script").inner_text()
    assert "Sin asignar" in agent.locator("#holder").inner_text()
    agent.click("#claim")
    expect(agent.locator("#holder")).to_contain_text("Tomada por agente.local")

    # A wrong CI is refused beside its field, in Spanish, and nothing moves on.
    agent.check("input[name='reached'][value='true']")
    agent.fill("#f-ci", "12AB")
    agent.select_option("#f-service_code", "INTERNET_FTTH_100")
    agent.click("#complete")
    expect(agent.locator("#err-ci")).to_contain_text("Carnet de identidad no válido")
    expect(agent.locator("#f-ci")).to_have_attribute("aria-invalid", "true")
    accessible(axe, agent)
    agent.fill("#f-ci", new_ci())
    agent.fill("#f-name", "Ana Rojas Vargas")
    agent.click("#complete")
    expect(agent.locator("[role='status']")).to_contain_text("NAF")
    accessible(axe, agent)

    # Step 5: the location, chosen on the map of the GIS zones.
    open_task(agent, request_id, "Capturar la ubicación")
    agent.click("#claim")
    agent.locator("#coverage-map").wait_for()
    assert agent.locator("#coverage-map path").count() >= 5
    accessible(axe, agent)
    agent.fill("#f-address", "Calle España 123, Cochabamba")
    click_on_map(agent, *CENTRO)
    expect(agent.locator("#f-latitude")).not_to_have_value("")
    # Written with a decimal comma, as Bolivians write numbers (the server reads either).
    assert abs(float(agent.input_value("#f-latitude").replace(",", ".")) - CENTRO[0]) < 0.002
    assert abs(float(agent.input_value("#f-longitude").replace(",", ".")) - CENTRO[1]) < 0.002
    agent.click("#complete")
    expect(agent.locator("[role='status']")).to_contain_text("GIS")

    # Steps 8-9: the customer sends each requirement by WhatsApp (the local customer page).
    agent.goto("/console/local")
    wait_for_row(agent, f"button[data-request='{request_id}']")
    accessible(axe, agent)
    for _ in range(2):
        agent.locator(f"button[data-request='{request_id}']").first.click()
        expect(agent.locator("#sent")).to_contain_text("registrados 1")
    # The last one arrives without a caption: an agent looks at it and files it.
    agent.click(f"button[data-unnamed='{request_id}']")
    expect(agent.locator("#sent")).to_contain_text("sin clasificar")
    open_task(agent, request_id, "Clasificar un documento recibido")
    agent.click("#claim")
    document = agent.request.get(agent.locator("#document-link").get_attribute("href") or "")
    assert document.status == 200
    assert document.body().startswith(b"%PDF")
    options = agent.locator("#f-requirement option").all_inner_texts()
    assert options[1:] == ["Factura de luz o agua del domicilio"]  # only what is still missing
    accessible(axe, agent)
    agent.select_option("#f-requirement", "FACTURA_LUZ")
    agent.click("#complete")
    expect(agent.locator("[role='status']")).to_contain_text("Smartflex")

    # Step 12: Instalaciones reports the installation (the local page, through its function).
    agent.goto("/console/local")
    wait_for_row(agent, f"button[data-install='{request_id}']")
    agent.click(f"button[data-install='{request_id}']")
    expect(agent.locator("#installed")).to_contain_text(request_id)
    # The same report again (the form sent twice): the API's own answer and reason, not a 502.
    token = agent.locator("input[name='csrf']").first.get_attribute("value") or ""
    again = agent.request.post("/console/local/installation", form={"csrf": token, "request_id": request_id})
    assert again.status == 409
    # The API's reason: installed already, or (the QC wait is short here) past step 12 by now.
    reason = ("La instalación de este pedido ya fue registrada.", "El pedido no está en espera de instalación.")
    assert any(f"no registrada. {r}" in again.text() for r in reason), again.text()

    # Step 13.1: the QC call.
    open_task(agent, request_id, "Llamada de control de calidad")
    agent.click("#claim")
    agent.click("#complete")
    expect(agent.locator("#err-satisfaction")).to_be_visible()
    agent.check("input[name='satisfaction'][value='5']")
    agent.fill("#f-comment", "Muy conforme con la instalación")
    agent.click("#complete")
    expect(agent.locator("[role='status']")).to_contain_text("13.1")

    # The request's page: completed, its timeline, the contract recorded, the PDFs.
    agent.goto(f"/console/requests/{request_id}")
    wait_for_row(agent, "#state:has-text('completada')")
    accessible(axe, agent)
    assert agent.locator("#timeline tbody tr").count() > 5
    agent.click("#record-contract")
    expect(agent.locator("#contract")).to_contain_text("registrado por agente.local")
    for name in ("solicitud", "requisitos"):
        pdf = agent.request.get(f"/console/requests/{request_id}/{name}.pdf")
        assert pdf.status == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")


def test_the_inbox_refreshes_by_itself(sign_in: SignIn, http: HttpDriver) -> None:
    agent = sign_in("agente.local")
    expect(agent.locator("#inbox-table")).to_be_visible()
    request_id = http.missed_call(phone())
    # No reload: htmx polls the rows every 15 s (under the CSP, without eval).
    expect(agent.locator(f"tr[data-request='{request_id}']")).to_be_visible(timeout=40_000)
    expect(agent.locator(f"tr[data-request='{request_id}']")).to_contain_text("sin asignar")


def test_a_second_agent_is_refused_a_claimed_task(sign_in: SignIn, http: HttpDriver) -> None:
    request_id = http.missed_call(phone())
    first = sign_in("agente.local")
    open_task(first, request_id, "Devolver llamada")
    first.click("#claim")
    expect(first.locator("#holder")).to_contain_text("Tomada por agente.local")
    task_url = first.url

    second = sign_in("agente2.local")
    assert status(second.goto(task_url)) == 200
    assert "Tomada por agente.local" in second.locator("#holder").inner_text()
    assert second.locator("#claim").count() == 0
    assert second.locator("#complete").count() == 0
    # The server refuses it too, with a valid form of the second agent's own session.
    token = second.locator("input[name='csrf']").first.get_attribute("value") or ""
    for action in ("claim", "complete", "release"):
        answer = second.request.post(f"{task_url}/{action}", form={"csrf": token, "reached": "false"})
        assert answer.status == 409, action
        assert "asignada a otro agente" in answer.text()
    second.reload()
    assert "Tomada por agente.local" in second.locator("#holder").inner_text()
