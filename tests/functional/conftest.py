"""Functional tests: the real ASL in moto's interpreter, each Lambda routed to its real handler."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from devstack.driver import Driver
from devstack.http_driver import HttpDriver
from devstack.stack import LocalStack
from ventas.config import Timing

# One day lasts one second; agents' windows are long enough that only timeout tests see them end.
TEST_SCALE = "86400"
PATIENT = Timing(
    agent_task_hours=24 * 60,
    documents_hours=24 * 60,
    documents_reminder_hours=24 * 60,
    installation_hours=24 * 60,
    follow_up_hours=24 * 60,
    review_hours=24 * 60,
    qc_delay_hours=1,
    qc_task_hours=24 * 60,
)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(parameters={"TimeScale": TEST_SCALE}).start()
    yield local
    local.stop()


@pytest.fixture
def driver(stack: LocalStack) -> Iterator[Driver]:
    """A driver with patient timings; tests shorten the one wait they exercise."""
    original = stack.deps.settings
    stack.deps.settings = dataclasses.replace(original, timing=PATIENT)
    stack.faults.heal_all()
    yield Driver(stack)
    stack.deps.settings = original
    stack.faults.heal_all()


@pytest.fixture
def http(driver: Driver) -> HttpDriver:
    """The same stack through its HTTP API, served in this process (channels, agents, ops,
    Instalaciones with their own credentials); the `driver` fixture's timings apply."""
    return HttpDriver(driver.stack)


def shorten(stack: LocalStack, **hours: float) -> None:
    stack.deps.settings = dataclasses.replace(
        stack.deps.settings, timing=dataclasses.replace(stack.deps.settings.timing, **hours)
    )
