"""Schemathesis against the OpenAPI document, over HTTP on the local stack: never a 5xx.

Every operation is fuzzed with data that fits its schema (positive) and data that does not
(negative), each with the credentials of a role allowed to call it, so that the cases reach
the code behind authentication. Deterministic (derandomized) and bounded per operation.
"""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from devstack.api_server import LocalApi
from devstack.http_driver import HttpDriver
from tests.functional.api_stack import http, served
from ventas.web.auth import Role
from ventas.web.openapi import openapi_document
from ventas.web.spec import BY_ID

__all__ = ["http", "served"]

EXAMPLES_PER_MODE = 42  # x 2 modes x 12 operations with inputs: over a thousand cases in about 90 s
EXAMPLES = {"receiveWebhook": 20}  # large generated bodies, all refused at the signature anyway
MINIMUM_CASES = 1000
ROLE_FOR = {"bearer": None, "api_key": Role.CHANNEL, "bearer_or_api_key": Role.AGENT, "none": None}


def _credentials(http: HttpDriver, operation_id: str) -> dict[str, str]:
    op = BY_ID[operation_id]
    if not op.roles:
        return {}
    role = ROLE_FOR[op.auth] or sorted(op.roles, key=lambda r: r.value)[0]
    return http.headers(role, "ivr" if operation_id == "reportMissedCall" else None)  # a channel is its key


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
) -> tuple[int, list[str]]:
    """Run one operation's cases in one mode; how many ran, and any 5xx."""
    ran: list[int] = []
    failures: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        sent = {**(case.headers or {}), **headers}
        response = case.call(base_url=base_url, session=session, headers=sent, timeout=30)
        ran.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without inputs)
        assert mode == GenerationMode.NEGATIVE
    return len(ran), failures


def test_no_server_error_over_a_thousand_generated_cases(served: LocalApi, http: HttpDriver) -> None:
    served_document = requests.get(f"{served.url}/v1/openapi.json", timeout=10).json()
    assert served_document == openapi_document()
    schema = schemathesis.openapi.from_dict(served_document)
    session = requests.Session()
    total = 0
    covered: set[str] = set()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operation_id = operation.definition.raw["operationId"]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            examples = EXAMPLES.get(operation_id, EXAMPLES_PER_MODE)
            ran, failed = _fuzz(operation, mode, examples, served.url, _credentials(http, operation_id), session)
            total += ran
            failures += failed
            if ran:
                covered.add(operation_id)
    assert failures == []
    assert total >= MINIMUM_CASES, total
    assert covered == set(BY_ID)
