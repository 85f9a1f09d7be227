"""The call-back's "volver a llamar" (step 1.2) and the location's point chosen with the keyboard."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from devstack.http_driver import HttpDriver
from tests.browser.conftest import SignIn, accessible
from tests.browser.test_agent import new_ci, open_task, phone
from ventas.domain.schedule import LA_PAZ
from ventas.domain.tasks import TaskKind

STEP = 0.0005  # degrees an arrow key moves the point (console.js)


def local_input(at: datetime) -> str:
    return at.astimezone(LA_PAZ).strftime("%Y-%m-%dT%H:%M")


def test_an_agent_agrees_a_call_again_and_the_task_comes_back_reserved(
    sign_in: SignIn, http: HttpDriver, axe: Axe
) -> None:
    request_id = http.missed_call(phone())
    agent = sign_in("agente.local")
    open_task(agent, request_id, "Devolver llamada")
    agent.click("#claim")
    expect(agent.locator("#holder")).to_contain_text("Tomada por agente.local")
    hint = agent.locator("#hint-call_again_at").inner_text()
    assert "A más tardar el " in hint
    accessible(axe, agent)

    # Past the task's deadline: refused beside the field, with the latest time allowed.
    agent.check("#r-later")
    agent.fill("#f-call_again_at", local_input(datetime.now(LA_PAZ) + timedelta(days=1)))
    agent.click("#complete")
    error = agent.locator("#err-call_again_at")
    expect(error).to_contain_text("La hora más tardía permitida es el ")
    latest = hint.split("A más tardar el ", 1)[1][:16]
    assert latest in error.inner_text()
    expect(agent.locator("#f-call_again_at")).to_have_attribute("aria-invalid", "true")
    accessible(axe, agent)

    # In five minutes: the same task goes back to the inbox, due then, reserved for this agent.
    when = datetime.now(LA_PAZ) + timedelta(minutes=5)
    agent.check("#r-later")
    agent.fill("#f-call_again_at", local_input(when))
    agent.click("#complete")
    expect(agent.locator("[role='status']")).to_contain_text("La llamada quedó reprogramada.")
    expect(agent.locator("[role='status']")).to_contain_text("reservada para usted")
    accessible(axe, agent)
    agent.goto("/console/inbox")
    row = agent.locator(f"tr[data-request='{request_id}']")
    expect(row).to_contain_text(when.strftime("%d/%m/%Y %H:%M"))
    expect(row).to_contain_text("volver a llamar")
    expect(row).to_contain_text("reservada para usted")
    task_url = row.locator("a").first.get_attribute("href") or ""

    # Another agent sees whose it is and cannot take it before the agreed time.
    other = sign_in("agente2.local")
    other.goto(task_url)
    expect(other.locator("#reserved")).to_contain_text("agente.local acordó con el cliente volver a llamar")
    assert other.locator("#claim").count() == 0
    assert other.locator("#task-form").count() == 0
    accessible(axe, other)

    # The agent who agreed it calls back and records the result.
    agent.goto(task_url)
    agent.click("#claim")
    expect(agent.locator("#call-again")).to_contain_text(when.strftime("%d/%m/%Y %H:%M"))
    agent.check("input[name='reached'][value='true']")
    agent.fill("#f-ci", new_ci())
    agent.select_option("#f-service_code", "INTERNET_FTTH_100")
    agent.click("#complete")
    expect(agent.locator("[role='status']")).to_contain_text("NAF")
    agent.goto(f"/console/requests/{request_id}")
    expect(agent.locator("#timeline")).to_contain_text("Volver a llamar acordado con el cliente (paso 1.2)")
    expect(agent.locator("#timeline")).to_contain_text("Devolución de llamada registrada (paso 1.2)")


def test_the_point_is_chosen_with_the_keyboard_alone(sign_in: SignIn, http: HttpDriver, axe: Axe) -> None:
    request_id = http.submit_lead(
        channel="web",
        channel_lead_id=f"web-kb-{uuid.uuid4().hex[:8]}",
        phone=phone(),
        ci=new_ci(),
        service_code="INTERNET_FTTH_100",
    )
    agent = sign_in("agente.local")
    http.open_task(request_id, TaskKind.LOCATION, timeout=45)
    open_task(agent, request_id, "Capturar la ubicación")
    agent.focus("#claim")
    agent.keyboard.press("Enter")
    expect(agent.locator("#holder")).to_contain_text("Tomada por agente.local")

    # The fields are labelled and say how to write a coordinate; the map says how to use it.
    for name in ("latitude", "longitude"):
        field = agent.locator(f"#f-{name}")
        assert agent.locator(f"label[for='f-{name}']").count() == 1
        assert field.get_attribute("aria-describedby") == f"hint-{name}"
    assert agent.locator("#coverage-map").get_attribute("aria-describedby") == "map-help"

    agent.focus("#f-address")
    agent.keyboard.type("Calle España 123, Cochabamba")
    agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.id") == "coverage-map"
    outline = agent.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus shows
    accessible(axe, agent)
    agent.keyboard.press("ArrowDown")  # nothing marked yet: the centre of the map
    expect(agent.locator("#f-latitude")).not_to_have_value("")
    expect(agent.locator("#map-status")).to_contain_text("Punto: latitud ")
    expect(agent.locator("#map-point")).to_have_attribute("visibility", "visible")

    # Typed as Bolivians write decimals, the point follows; the arrows then fine-tune it.
    agent.keyboard.press("Tab")
    agent.keyboard.press("Control+A")
    agent.keyboard.type("-17,3935")
    agent.keyboard.press("Tab")
    agent.keyboard.press("Control+A")
    agent.keyboard.type("-66,1570")
    typed = agent.locator("#map-point").get_attribute("cx"), agent.locator("#map-point").get_attribute("cy")
    agent.keyboard.press("Shift+Tab")  # leaving the field: the status line (aria-live) says where the point is
    expect(agent.locator("#map-status")).to_have_text("Punto: latitud -17,393500, longitud -66,157000.")
    agent.keyboard.press("Shift+Tab")
    assert agent.evaluate("document.activeElement.id") == "coverage-map"
    for key in ("ArrowUp", "ArrowRight", "ArrowRight"):
        agent.keyboard.press(key)
    latitude, longitude = (float(agent.input_value(f"#f-{n}").replace(",", ".")) for n in ("latitude", "longitude"))
    assert abs(latitude - (-17.3935 + STEP)) < 1e-6
    assert abs(longitude - (-66.1570 + 2 * STEP)) < 1e-6
    moved = agent.locator("#map-point").get_attribute("cx"), agent.locator("#map-point").get_attribute("cy")
    assert float(moved[0] or 0) > float(typed[0] or 0)  # east: right
    assert float(moved[1] or 0) < float(typed[1] or 0)  # north: up
    expect(agent.locator("#map-status")).to_contain_text("-17,393000")
    accessible(axe, agent)

    # On to the button and Enter: the point the keyboard chose is recorded.
    for _ in range(3):
        agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.id") == "complete"
    agent.keyboard.press("Enter")
    expect(agent.locator("[role='status']")).to_contain_text("GIS")
    agent.goto(f"/console/requests/{request_id}")
    expect(agent.locator("#timeline")).to_contain_text("Ubicación del domicilio registrada (paso 5)")
    assert "(-17,39300; -66,15600)" in agent.locator(".facts").first.inner_text()  # as Bolivians write it
