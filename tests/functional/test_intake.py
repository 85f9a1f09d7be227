"""Steps 1, 1.1, 2 at the intake function: validation, idempotency, cross-channel joining."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.driver import Driver, InvokeError

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}


def test_bad_lead_names_each_field_and_creates_nothing(driver: Driver) -> None:
    before = len(
        driver.stack.client("stepfunctions").list_executions(stateMachineArn=driver.stack.state_machine_arn)[
            "executions"
        ]
    )
    with pytest.raises(InvokeError) as bad:
        driver.submit_lead(channel="fax", channel_lead_id="x-1", phone="123", ci="no-es-ci", extra="?")
    assert bad.value.error_type == "InvalidInput"
    body = json.loads(bad.value.message)
    assert body["message"] == "Datos no válidos"
    assert {f["field"] for f in body["fields"]} == {"lead.channel", "lead.phone", "lead.ci", "lead.extra"}
    phone_error = next(f for f in body["fields"] if f["field"] == "lead.phone")
    assert "teléfono" in phone_error["message"]
    after = len(
        driver.stack.client("stepfunctions").list_executions(stateMachineArn=driver.stack.state_machine_arn)[
            "executions"
        ]
    )
    assert after == before


def test_unknown_service_is_refused(driver: Driver) -> None:
    with pytest.raises(InvokeError) as bad:
        driver.submit_lead(channel="web", channel_lead_id="web-nosuch", phone="+59174000009", service_code="NO_EXISTE")
    assert bad.value.error_type == "UnknownService"


def test_concurrent_replays_of_one_lead_make_one_request_and_one_execution(driver: Driver) -> None:
    lead = {"channel": "facebook", "channel_lead_id": "fb-replayed", "phone": "+59174000001", "location": CENTRO}
    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(lambda _: driver.submit_lead(**lead), range(20)))
    assert len(set(ids)) == 1
    executions = driver.stack.client("stepfunctions").list_executions(stateMachineArn=driver.stack.state_machine_arn)
    assert [e["name"] for e in executions["executions"]].count(ids[0]) == 1


def test_a_second_channel_joins_the_customers_open_request(driver: Driver) -> None:
    first = driver.submit_lead(channel="web", channel_lead_id="web-join", phone="+59174000002", location=CENTRO)
    second = driver.submit_lead(channel="whatsapp", channel_lead_id="wa-join", phone="+59174000002")
    assert second == first
    request = driver.request(first)
    assert request.joined_leads == ["whatsapp:wa-join"]
    events = [entry.event for entry in driver.stack.deps.requests.history(first)]
    assert events.count("lead_joined") == 1


def test_a_local_landline_takes_the_ivr_area_and_is_refused_elsewhere(driver: Driver) -> None:
    request_id = driver.missed_call("4200400")  # the IVR lines are in Cochabamba (VD_PHONE_AREAS)
    assert driver.request(request_id).phone == "+59144200400"
    with pytest.raises(InvokeError) as bad:
        driver.submit_lead(channel="web", channel_lead_id="web-landline", phone="4200400")
    assert bad.value.error_type == "InvalidInput"
    assert "código de área" in json.loads(bad.value.message)["fields"][0]["message"]
