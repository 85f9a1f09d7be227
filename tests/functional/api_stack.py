"""The local stack with its HTTP API, started in a subprocess on a loopback port.

`python -m devstack.serve --port 0` writes its state file once it serves; tests read it and
talk HTTP only (plus moto's Cognito for sign-in, as the console does). Bounded waits only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from devstack.api_server import LocalApi
from devstack.http_driver import HttpDriver
from devstack.serve import served_in_subprocess
from tests.functional.conftest import PATIENT, TEST_SCALE


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    timings = {
        name.title().replace("_", ""): str(hours)  # agent_task_hours -> AgentTaskHours
        for name, hours in dataclasses.asdict(PATIENT).items()
    }
    with served_in_subprocess(tmp_path_factory.mktemp("served"), TEST_SCALE, timings) as api:
        yield api


@pytest.fixture(scope="module")
def http(served: LocalApi) -> HttpDriver:
    return HttpDriver(served)
