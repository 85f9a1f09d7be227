"""Browser tests: headless Chromium (Playwright) drives the console against the local stack.

One local stack per session (`python -m devstack.serve` in a subprocess), one browser; each test
opens its own contexts (one per person). axe-core checks every page a test visits. A missing
browser is an error, never a skip: `make browser` installs Debian's chromium.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Response, sync_playwright

from devstack.api_server import LocalApi
from devstack.http_driver import HttpDriver
from devstack.serve import served_in_subprocess
from tests.functional.conftest import PATIENT

# One business hour per second: agents' windows (PATIENT: 60 days) never end during a test,
# and the QC slot (business hours in La Paz) comes within seconds.
BROWSER_SCALE = "3600"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERIOUS = frozenset({"serious", "critical"})


def chromium_path() -> str | None:
    """Debian's chromium (or VD_CHROMIUM); None: Playwright's own download."""
    found = os.environ.get("VD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    timings = {name.title().replace("_", ""): str(hours) for name, hours in dataclasses.asdict(PATIENT).items()}
    with served_in_subprocess(tmp_path_factory.mktemp("console"), BROWSER_SCALE, timings) as api:
        yield api


@pytest.fixture(scope="session")
def http(served: LocalApi) -> HttpDriver:
    return HttpDriver(served)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


def accessible(axe: Axe, page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    results = axe.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)


SignIn = Callable[[str], Page]


@pytest.fixture
def sign_in(browser: Browser, served: LocalApi, axe: Axe) -> Iterator[SignIn]:
    """Open a fresh browser context signed in as a development user (the local sign-in page)."""
    contexts = []

    def open_as(username: str) -> Page:
        context = browser.new_context(base_url=served.url, locale="es-BO", timezone_id="America/La_Paz")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/console/signin")
        accessible(axe, page)
        page.click(f"button[data-user='{username}']")
        page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        context.close()


def status(response: Response | None) -> int:
    """The HTTP status of a navigation (the server's answer, not what the page shows)."""
    assert response is not None
    return response.status


def wait_for_row(page: Page, selector: str, timeout: float = 45.0) -> None:
    """Reload `page` until `selector` shows up (the workflow runs in the background); bounded."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} did not appear on {page.url} within {timeout} s")
        time.sleep(0.5)
        page.reload()
