"""Issue 9, points 1 and 2, on the local stack over HTTP: contact binding and channel scope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.http_driver import ApiFailure, HttpDriver
from tests.functional.api_stack import http, served
from ventas.web.auth import Role

__all__ = ["http", "served"]

CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}


def phone() -> str:
    return "+5917" + str(uuid.uuid4().int)[:7]


def post(http: HttpDriver, lead: dict[str, Any], who: str) -> Any:
    return http.call("POST", "/v1/requests", Role.CHANNEL, who, body=lead)


def failure(call: Any) -> ApiFailure:
    with pytest.raises(ApiFailure) as failed:
        call()
    return failed.value


def test_a_stranger_with_the_customers_ci_cannot_take_over_the_request(http: HttpDriver) -> None:
    ci = str(uuid.uuid4().int)[:7] + " CB"
    victim_phone, stranger_phone = phone(), phone()
    victim = post(
        http,
        {
            "channel": "web",
            "channel_lead_id": f"v-{uuid.uuid4().hex[:8]}",
            "phone": victim_phone,
            "name": "Ana Rojas",
            "ci": ci,
            "service_code": "INTERNET_FTTH_100",
            "location": CENTRO,
        },
        "web",
    )["request_id"]
    answer = post(
        http,
        {"channel": "facebook", "channel_lead_id": f"s-{uuid.uuid4().hex[:8]}", "phone": stranger_phone, "ci": ci},
        "facebook",
    )
    assert (answer["created"], answer["joined"]) == (True, False)
    held = answer["request_id"]
    assert held != victim
    assert failure(lambda: http.call("GET", f"/v1/requests/{victim}", Role.CHANNEL, "facebook")).status == 404
    own = http.call("GET", f"/v1/requests/{held}", Role.CHANNEL, "facebook")
    assert own["customer"] == {"name": None, "phone": None, "ci": None}
    # the stranger's WhatsApp documents do not reach the customer's request
    delivered = http.send_document(stranger_phone, f"m-{uuid.uuid4().hex[:8]}", "CI_ANVERSO")
    assert delivered["recorded"] == 0
    assert http.call("GET", f"/v1/requests/{victim}", Role.AGENT)["documents"] == []
    # the held request waits for an agent; no execution runs for it
    listed = http.call("GET", "/v1/duplicates?limit=100", Role.AGENT)["items"]
    assert held in [i["request_id"] for i in listed]
    assert failure(lambda: http.execution(held)).status == 404
    merged = http.call("POST", f"/v1/requests/{held}/duplicate", Role.AGENT, body={"decision": "merge"})
    assert (merged["state"], merged["merged_into"]) == ("cancelled", victim)
    assert len(http.call("GET", f"/v1/requests/{victim}", Role.AGENT)["joined_leads"]) == 1


def test_a_key_is_its_channel(http: HttpDriver) -> None:
    lead = {"channel": "botmaker", "channel_lead_id": f"b-{uuid.uuid4().hex[:8]}", "phone": phone()}
    mismatch = failure(lambda: post(http, lead, "facebook"))
    assert (mismatch.status, mismatch.code) == (403, "channel_mismatch")
    web = post(http, {**lead, "channel": "web"}, "web")["request_id"]
    assert failure(lambda: http.call("GET", f"/v1/requests/{web}", Role.CHANNEL, "facebook")).status == 404
    assert http.call("GET", f"/v1/requests/{web}", Role.CHANNEL, "web")["request_id"] == web
    call = {"caller": phone(), "line": "4200400", "called_at": "2026-01-01T10:00:00-04:00"}
    assert failure(lambda: http.call("POST", "/v1/missed-calls", Role.CHANNEL, "web", body=call)).status == 403


def test_a_channel_never_learns_that_another_customers_request_exists(http: HttpDriver) -> None:
    ci = str(uuid.uuid4().int)[:7] + " LP"
    victim_phone = phone()
    victim = post(
        http,
        {"channel": "web", "channel_lead_id": f"v-{uuid.uuid4().hex[:8]}", "phone": victim_phone, "ci": ci},
        "web",
    )["request_id"]
    # (a) someone else's CI from another phone: held, yet read like any request waiting for an agent
    held = post(
        http,
        {"channel": "facebook", "channel_lead_id": f"s-{uuid.uuid4().hex[:8]}", "phone": phone(), "ci": ci},
        "facebook",
    )["request_id"]
    seen = http.call("GET", f"/v1/requests/{held}", Role.CHANNEL, "facebook")
    assert (seen["state"], seen["step"]["code"]) == ("inProgress", "3")
    truth = http.call("GET", f"/v1/requests/{held}", Role.AGENT)
    assert (truth["state"], truth["possible_duplicate_of"]) == ("acknowledged", victim)
    # (b) only the customer's phone, from another channel: the answer of a created request
    lead_id = f"p-{uuid.uuid4().hex[:8]}"
    answer = post(http, {"channel": "botmaker", "channel_lead_id": lead_id, "phone": victim_phone}, "botmaker")
    assert (answer["created"], answer["joined"]) == (True, False)
    assert answer["request_id"] != victim
    receipt = http.call("GET", answer["status_url"], Role.CHANNEL, "botmaker")
    assert (receipt["state"], receipt["step"]["code"], receipt["channel_lead_id"]) == ("inProgress", "3", lead_id)
    assert receipt["customer"] == {"name": None, "phone": None, "ci": None}
    assert f"botmaker:{lead_id}" in http.call("GET", f"/v1/requests/{victim}", Role.AGENT)["joined_leads"]
