"""Fault injection from outside the stack's process (development only): `/_local/faults`."""

from __future__ import annotations

import requests

from devstack import faults
from devstack.api_server import LocalApi
from devstack.http_driver import HttpDriver
from tests.functional.api_stack import http, served
from tests.functional.test_api_http import lead
from ventas.domain.tasks import TaskKind

__all__ = ["http", "served"]

DEV = {faults.HEADER: faults.HEADER_VALUE}


def test_an_outage_switched_over_http_sends_a_lead_to_manual_review(served: LocalApi, http: HttpDriver) -> None:
    url = served.url + faults.PATH
    switched = requests.post(url, json={"action": "fail", "system": "naf"}, headers=DEV, timeout=10)
    assert switched.status_code == 200
    assert switched.json() == {"down": {"naf": None}, "flaky": {}}
    try:
        request_id = http.submit_lead(**lead())
        task = http.open_task(request_id, TaskKind.MANUAL_REVIEW, timeout=60)
        assert task.request_id == request_id
    finally:
        healed = requests.post(url, json={"action": "heal_all"}, headers=DEV, timeout=10)
    assert healed.json() == {"down": {}, "flaky": {}}


def test_the_fault_route_refuses_what_it_cannot_apply(served: LocalApi) -> None:
    url = served.url + faults.PATH
    # Without the header a cross-site page could not add, nothing is switched.
    assert requests.post(url, json={"action": "fail", "system": "naf"}, timeout=10).status_code == 403
    for body in (
        {"action": "fail", "system": "billing"},
        {"action": "explode", "system": "naf"},
        {"action": "flaky", "system": "gis", "rate": 1.5},
        {"action": "fail", "system": "naf", "times": 0},
    ):
        answer = requests.post(url, json=body, headers=DEV, timeout=10)
        assert answer.status_code == 400, body
    assert requests.get(url, timeout=10).json() == {"down": {}, "flaky": {}}
    # Flaky: set, seen, healed.
    flaky = requests.post(url, json={"action": "flaky", "system": "gis", "rate": 0.25}, headers=DEV, timeout=10)
    assert flaky.json()["flaky"] == {"gis": 0.25}
    requests.post(url, json={"action": "heal", "system": "gis"}, headers=DEV, timeout=10)
    assert requests.get(url, timeout=10).json() == {"down": {}, "flaky": {}}
