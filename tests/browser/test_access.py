"""Roles are enforced by the server, and the navigation shows only what a role may use."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from devstack.api_server import LocalApi
from tests.browser.conftest import SignIn, accessible, status


def test_an_agent_cannot_open_supervisor_or_ops_pages(sign_in: SignIn, axe: Axe) -> None:
    page = sign_in("agente.local")
    assert page.url.endswith("/console/inbox")
    accessible(axe, page)
    links = page.locator("nav a").all_inner_texts()
    assert "Bandeja de tareas" in links
    assert "Tablero del supervisor" not in links
    assert "Operaciones" not in links
    for path in ("/console/supervisor", "/console/ops", "/console/supervisor/export.csv?list=agents"):
        assert status(page.goto(path)) == 403, path
        assert "no tiene permiso" in page.content()
    accessible(axe, page)


def test_a_supervisor_cannot_work_tasks_and_ops_cannot_see_the_kpi(sign_in: SignIn) -> None:
    supervisor = sign_in("supervisor.local")
    assert supervisor.url.endswith("/console/supervisor")
    assert status(supervisor.goto("/console/inbox")) == 403
    ops = sign_in("ops.local")
    assert ops.url.endswith("/console/ops")
    assert status(ops.goto("/console/supervisor")) == 403


def test_no_session_no_page_and_no_forged_form(browser: Browser, served: LocalApi) -> None:
    context = browser.new_context(base_url=served.url)
    page = context.new_page()
    assert status(page.goto("/console/inbox")) == 200
    assert page.url.endswith("/console/signin")
    # A form posted without the session's CSRF token changes nothing.
    forged = page.request.post("/console/signin", form={"username": "agente.local", "csrf": "x"})
    assert forged.status == 403
    assert "vd_session" not in {c["name"] for c in context.cookies()}
    # The session cookie, once there, is out of reach of page scripts.
    page.goto("/console/signin")
    page.click("button[data-user='agente.local']")
    cookie = next(c for c in context.cookies() if c["name"] == "vd_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert "vd_session" not in page.evaluate("document.cookie")
    headers = page.goto("/console/inbox").headers  # type: ignore[union-attr]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    context.close()
