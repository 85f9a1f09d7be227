"""Steps 1, 1.1, 1.2, 2: leads through the API (validation, idempotency, cross-channel joining)
and the IVR's missed calls by direct invoke of the intake function."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.driver import Driver, InvokeError
from devstack.http_driver import ApiFailure, HttpDriver
from ventas.domain.tasks import TaskKind
from ventas.web.auth import Role

CENTRO = {"address": "Calle España 123", "latitude": -17.3935, "longitude": -66.1570}


def test_bad_lead_names_each_field_and_creates_nothing(driver: Driver) -> None:
    before = len(
        driver.stack.client("stepfunctions").list_executions(stateMachineArn=driver.stack.state_machine_arn)[
            "executions"
        ]
    )
    with pytest.raises(ApiFailure) as bad:
        driver.submit_lead(channel="fax", channel_lead_id="x-1", phone="123", ci="no-es-ci", extra="?")
    assert (bad.value.status, bad.value.error_type) == (422, "InvalidInput")
    assert {f["field"] for f in bad.value.fields} == {"channel", "phone", "ci", "extra"}
    phone_error = next(f for f in bad.value.fields if f["field"] == "phone")
    assert "teléfono" in phone_error["message"]
    after = len(
        driver.stack.client("stepfunctions").list_executions(stateMachineArn=driver.stack.state_machine_arn)[
            "executions"
        ]
    )
    assert after == before


def test_unknown_service_is_refused(driver: Driver) -> None:
    with pytest.raises(ApiFailure) as bad:
        driver.submit_lead(channel="web", channel_lead_id="web-nosuch", phone="+59174000009", service_code="NO_EXISTE")
    assert bad.value.error_type == "UnknownService"


def test_the_ivr_reports_a_missed_call_by_direct_invoke_and_nothing_else(driver: Driver) -> None:
    request_id = driver.missed_call("+59174000010", line="4322205")
    assert driver.open_task(request_id, TaskKind.CALL_BACK)
    assert driver.request(request_id).missed_call
    # The direct invoke is for missed calls only: a lead goes through the API.
    lead = {"channel": "web", "channel_lead_id": "web-lambda", "phone": "+59174000011"}
    with pytest.raises(InvokeError) as refused:
        driver.invoke_intake({"lead": lead})
    assert refused.value.error_type == "InvalidInput"
    fields = {f["field"] for f in json.loads(refused.value.message)["fields"]}
    assert fields == {"missed_call", "lead"}


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
    assert second != first  # another channel's lead: a receipt of its own (contact binding)
    request = driver.request(first)
    assert request.joined_leads == ["whatsapp:wa-join"]
    events = [entry.event for entry in driver.stack.deps.requests.history(first)]
    assert events.count("lead_joined") == 1


def test_a_local_landline_takes_the_ivr_area_and_is_refused_elsewhere(driver: Driver) -> None:
    request_id = driver.missed_call("4200400")  # the IVR lines are in Cochabamba (VD_PHONE_AREAS)
    assert driver.request(request_id).phone == "+59144200400"
    with pytest.raises(ApiFailure) as bad:
        driver.submit_lead(channel="web", channel_lead_id="web-landline", phone="4200400")
    assert bad.value.status == 422
    assert "código de área" in bad.value.fields[0]["message"]


def test_lead_ids_and_idempotency_keys_are_never_index_keys_in_clear(driver: Driver) -> None:
    """Chatbots often name a conversation after the customer's phone: the lead id and the
    Idempotency-Key are stored under keyed hashes; replays, 422 and joins behave as before."""
    http = HttpDriver(driver.stack)
    number = "+5917" + str(uuid.uuid4().int)[:7]
    digits = number[4:]
    lead = {"channel": "botmaker", "channel_lead_id": f"conv-{digits}", "phone": number}
    headers = {"Idempotency-Key": f"idem-{digits}"}
    first = http.call("POST", "/v1/requests", Role.CHANNEL, "botmaker", body=lead, headers=headers)
    again = http.call("POST", "/v1/requests", Role.CHANNEL, "botmaker", body=lead, headers=headers)
    assert (again["request_id"], again["created"]) == (first["request_id"], False)
    other = {**lead, "name": "Otro Nombre"}
    with pytest.raises(ApiFailure) as refused:
        http.call("POST", "/v1/requests", Role.CHANNEL, "botmaker", body=other, headers=headers)
    reused = refused.value
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    ddb = http.stack.client("dynamodb")
    table = http.stack.deps.settings.requests_table
    pages = ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, request_id")
    keys = [item["pk"]["S"] for page in pages for item in page["Items"] if item["pk"]["S"].startswith("KEY#")]
    assert keys
    assert not [k for k in keys if digits in k]
    assert not [k for k in keys if k.startswith(("KEY#lead#botmaker", "KEY#idem#botmaker"))]
