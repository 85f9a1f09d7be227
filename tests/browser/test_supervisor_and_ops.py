"""The supervisor sees the KPI move after a sale and drills down; ops reads an execution's graph."""

from __future__ import annotations

import uuid

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from devstack.driver import wait_for
from devstack.http_driver import HttpDriver
from tests.browser.conftest import SignIn, accessible
from tests.browser.test_agent import phone
from ventas.domain.models import OrderState

CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}
REQUIREMENTS = ("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ")  # of INTERNET_FTTH_100 (catalogue.json)
DEBT = "3456789 CB"  # NAF cartera: Juan Carlos Mamani Quispe, debt (docs/console.md)


def identified_lead(ci: str | None = None) -> dict[str, object]:
    return {
        "channel": "web",
        "channel_lead_id": f"web-{uuid.uuid4().hex[:10]}",
        "phone": phone(),
        "name": "Rosa Flores",
        "ci": ci or str(20_000_000 + uuid.uuid4().int % 9_000_000) + " CB",
        "service_code": "INTERNET_FTTH_100",
        "location": CENTRO,
    }


def test_a_supervisor_sees_the_kpi_change_after_a_sale_and_drills_down(
    sign_in: SignIn, http: HttpDriver, axe: Axe
) -> None:
    supervisor = sign_in("supervisor.local")
    kpi = supervisor.locator("#kpi")
    before = int(kpi.get_attribute("data-requests") or 0), int(kpi.get_attribute("data-efficient") or 0)
    accessible(axe, supervisor)

    sale = identified_lead()
    sold = http.submit_lead(**sale)
    for n, requirement in enumerate(REQUIREMENTS):
        http.send_document(str(sale["phone"]), f"media-{sold}-{n}", requirement)
    wait_for(lambda: http.request(sold).order_id, 60, f"registration of {sold}")
    rejected = http.submit_lead(**identified_lead(DEBT))
    wait_for(lambda: http.request(rejected).status == OrderState.REJECTED or None, 60, f"rejection of {rejected}")

    supervisor.reload()
    assert int(kpi.get_attribute("data-requests") or 0) == before[0] + 2
    assert int(kpi.get_attribute("data-efficient") or 0) >= before[1] + 1
    expect(supervisor.locator("#kpi-verdict")).to_have_text("Observado")  # a rejection today: under 95 %
    expect(supervisor.locator("svg.chart rect")).to_have_count(30)  # one bar per day
    csv = supervisor.request.get("/console/supervisor/export.csv?list=against")
    assert csv.status == 200
    assert rejected in csv.text()
    assert sold not in csv.text()

    supervisor.locator(f"#against a[href$='/console/requests/{rejected}']").click()
    expect(supervisor.locator("#state")).to_contain_text("rechazada")
    expect(supervisor.locator("main")).to_contain_text("Tiene una deuda pendiente")
    assert "3456789" not in supervisor.content()  # CI masked for supervisors
    accessible(axe, supervisor)


def test_ops_sees_the_graph_with_the_waiting_state_and_the_path_taken(
    sign_in: SignIn, http: HttpDriver, axe: Axe
) -> None:
    request_id = http.submit_lead(**identified_lead())
    ops = sign_in("ops.local")
    accessible(axe, ops)
    link = f"#results a[href$='/console/ops/requests/{request_id}']"
    ops.locator(link).click()
    waiting = ops.locator("g[data-state='RequestDocuments']")
    expect(waiting).to_have_attribute("data-status", "waiting")
    expect(ops.locator("#waits-for")).to_contain_text("documentos del cliente")
    expect(waiting).to_contain_text("espera: documentos del cliente")
    assert ops.locator("g[data-state='CheckImpediments']").get_attribute("data-status") == "succeeded"
    assert ops.locator("g[data-state='QcCall']").get_attribute("data-status") == "not_reached"
    taken = ops.locator("path.edge.taken")
    assert taken.count() >= 4
    assert ops.locator("path.edge.taken[data-source='CheckCoverage'][data-target='HasTechnicalCapacity']").count() == 1
    assert ops.locator("path.edge-catch").count() >= 5
    assert ops.locator("path.edge-retry").count() >= 1
    assert ops.locator("#events tbody tr").count() > 5
    assert ops.locator("#redrive").count() == 0  # a running execution is not redriven
    token = ops.locator("input[name='csrf']").first.get_attribute("value") or ""
    answer = ops.request.post(f"/console/ops/requests/{request_id}/redrive", form={"csrf": token})
    assert answer.status == 409
    accessible(axe, ops)
