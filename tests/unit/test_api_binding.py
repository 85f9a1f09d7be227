"""Nobody reaches what is not theirs (issue 9, points 1 and 2), over HTTP.

Contact binding: a lead joins an open request only from that request's own phone; a lead
carrying another customer's CI is held as its own request until an agent verifies identity.
Channel scope: the key is the channel; a channel reads only its own requests, with nothing
personal in them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api_harness import Api, api, body
from tests.unit.test_api_whatsapp import delivery, document, post, value
from ventas.domain.models import Location
from ventas.services import events
from ventas.services.stages import request_documents
from ventas.web.auth import Authenticator, Role
from ventas.web.config import ApiSettings

__all__ = ["api"]

VICTIM = {
    "channel": "web",
    "channel_lead_id": "web-victim",
    "phone": "+59171234501",
    "name": "Ana Rojas",
    "ci": "4567890 CB",
    "service_code": "INTERNET_FTTH_100",
    "location": {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.157},
}
STRANGER_PHONE = "+59177000001"
STRANGER = {"channel": "facebook", "channel_lead_id": "fb-x", "phone": STRANGER_PHONE, "ci": "CB 4567890"}


def post_lead(api: Api, lead: dict[str, Any], who: str) -> tuple[int, Any]:
    response = api.call("POST", "/v1/requests", Role.CHANNEL, lead, who=who)
    return response.status_code, body(response)


def read(api: Api, request_id: str, role: Role, who: str | None = None) -> tuple[int, Any]:
    response = api.call("GET", f"/v1/requests/{request_id}", role, who=who)
    return response.status_code, body(response)


@pytest.fixture
def victim(api: Api) -> str:
    status, answer = post_lead(api, VICTIM, "web")
    assert status == 202
    return str(answer["request_id"])


# --- contact binding ------------------------------------------------------------------------------


def test_a_strangers_lead_with_the_customers_ci_is_its_own_held_request(api: Api, victim: str) -> None:
    status, answer = post_lead(api, STRANGER, "facebook")
    assert status == 202
    assert (answer["created"], answer["joined"]) == (True, False)  # says nothing of the other request
    assert answer["request_id"] != victim
    held = answer["request_id"]
    assert held not in api.deps.workflow.started  # type: ignore[attr-defined]
    assert events.open_request_for_phone(api.deps, STRANGER_PHONE) == held  # no phone bound to the victim
    victim_view = read(api, victim, Role.AGENT)[1]
    assert victim_view["joined_leads"] == []
    assert victim_view["customer"]["phone"] == VICTIM["phone"]
    assert "possible_duplicate_lead" in [h["event"] for h in victim_view["history"]]
    held_view = read(api, held, Role.AGENT)[1]
    assert held_view["possible_duplicate_of"] == victim
    assert [h["event"] for h in held_view["history"]] == ["lead_received", "possible_duplicate"]


@pytest.mark.parametrize("ci", ["4567890 CB", "4567890-cb", "CBBA 4567890"])
def test_any_writing_of_the_ci_is_caught_as_a_possible_duplicate(api: Api, victim: str, ci: str) -> None:
    answer = post_lead(api, {**STRANGER, "ci": ci}, "facebook")[1]
    assert read(api, answer["request_id"], Role.AGENT)[1]["possible_duplicate_of"] == victim


def test_the_strangers_channel_cannot_read_the_customers_request(api: Api, victim: str) -> None:
    held = post_lead(api, STRANGER, "facebook")[1]["request_id"]
    assert read(api, victim, Role.CHANNEL, "facebook")[0] == 404
    status, own = read(api, held, Role.CHANNEL, "facebook")
    assert status == 200
    assert own["customer"] == {"name": None, "phone": None, "ci": None}
    assert own["possible_duplicate_of"] is None  # never tells a channel another request exists
    assert own["history"] == own["joined_leads"] == own["documents"] == []


def test_a_lead_from_the_customers_own_phone_joins_and_adds_no_contact(api: Api, victim: str) -> None:
    own_phone = {"channel": "facebook", "channel_lead_id": "fb-own", "phone": "71234501"}
    status, answer = post_lead(api, own_phone, "facebook")
    # another channel created the request: answered like a created request (a receipt)
    assert (status, answer["created"], answer["joined"]) == (202, True, False)
    assert answer["request_id"] != victim
    assert read(api, victim, Role.AGENT)[1]["joined_leads"] == ["facebook:fb-own"]


def test_whatsapp_documents_from_a_strangers_phone_never_reach_the_customers_request(api: Api, victim: str) -> None:
    request = api.deps.requests.get(victim)
    request.location = Location(address="Calle España 123, Cochabamba", latitude=-17.3935, longitude=-66.157)
    api.deps.workflow.wait("tok-docs")  # type: ignore[attr-defined]
    request_documents(api.deps, victim, "tok-docs", reminder=False)
    post_lead(api, STRANGER, "facebook")
    sent = post(api, delivery(value([document("m-stranger", 1749416383, "CI anverso", sender=STRANGER_PHONE[1:])])))
    assert sent.status_code == 200
    assert api.deps.requests.get(victim).documents == []
    post(api, delivery(value([document("m-own", 1749416384, "CI anverso", sender=VICTIM["phone"][1:])])))
    assert [d.media_id for d in api.deps.requests.get(victim).documents] == ["m-own"]


def test_an_agent_merges_a_held_lead_after_verifying_identity(api: Api, victim: str) -> None:
    held = post_lead(api, STRANGER, "facebook")[1]["request_id"]
    (listed,) = body(api.call("GET", "/v1/duplicates", Role.AGENT))["items"]
    assert listed["request_id"] == held
    decided = api.call("POST", f"/v1/requests/{held}/duplicate", Role.AGENT, {"decision": "merge", "comment": "ok"})
    assert decided.status_code == 200
    assert (body(decided)["state"], body(decided)["merged_into"]) == ("cancelled", victim)
    victim_view = read(api, victim, Role.AGENT)[1]
    assert victim_view["joined_leads"] == ["facebook:fb-x"]
    assert "lead_merged" in [h["event"] for h in victim_view["history"]]
    assert events.open_request_for_phone(api.deps, STRANGER_PHONE) == victim  # now a verified contact
    assert body(api.call("GET", "/v1/duplicates", Role.AGENT))["items"] == []
    again = api.call("POST", f"/v1/requests/{held}/duplicate", Role.AGENT, {"decision": "separate"})
    assert (again.status_code, body(again)["error"]["code"]) == (409, "not_held")
    assert held not in api.deps.workflow.started  # type: ignore[attr-defined]
    kpi = body(api.call("GET", "/v1/reports/kpi?date=2026-11-24", Role.SUPERVISOR))
    assert kpi["requests"] == 1  # a merged lead is not a request of its own


def test_an_agent_keeps_a_held_request_apart_and_its_workflow_starts(api: Api, victim: str) -> None:
    held = post_lead(api, STRANGER, "facebook")[1]["request_id"]
    decided = api.call("POST", f"/v1/requests/{held}/duplicate", Role.AGENT, {"decision": "separate"})
    assert decided.status_code == 200
    assert body(decided)["possible_duplicate_of"] is None
    assert held in api.deps.workflow.started  # type: ignore[attr-defined]
    assert read(api, victim, Role.AGENT)[1]["joined_leads"] == []
    replay = post_lead(api, STRANGER, "facebook")[1]
    assert replay["request_id"] == held
    assert len(api.deps.workflow.started) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sent", "status"),
    [({"decision": "maybe"}, 422), ({"decision": "merge", "extra": 1}, 422), ({}, 422)],
)
def test_a_bad_decision_is_refused_in_spanish(api: Api, victim: str, sent: dict[str, Any], status: int) -> None:
    held = post_lead(api, STRANGER, "facebook")[1]["request_id"]
    answer = api.call("POST", f"/v1/requests/{held}/duplicate", Role.AGENT, sent)
    assert answer.status_code == status
    assert body(answer)["error"]["fields"]
    assert read(api, held, Role.AGENT)[1]["possible_duplicate_of"] == victim


def test_a_request_that_is_not_held_cannot_be_reviewed(api: Api, victim: str) -> None:
    answer = api.call("POST", f"/v1/requests/{victim}/duplicate", Role.AGENT, {"decision": "merge"})
    assert answer.status_code == 409
    assert api.call("POST", "/v1/requests/vd-nope-0001/duplicate", Role.AGENT, {"decision": "merge"}).status_code == 404


# --- channel scope --------------------------------------------------------------------------------


def test_a_key_cannot_post_for_another_channel(api: Api) -> None:
    status, answer = post_lead(api, {**VICTIM, "channel": "botmaker"}, "facebook")
    assert (status, answer["error"]["code"]) == (403, "channel_mismatch")
    assert "facebook" in answer["error"]["message"]
    assert api.deps.workflow.started == {}  # type: ignore[attr-defined]
    call = {"caller": "+59171234567", "line": "4200400", "called_at": "2026-11-24T09:00:00-04:00"}
    missed = api.call("POST", "/v1/missed-calls", Role.CHANNEL, call, who="web")
    assert missed.status_code == 403


def test_lead_ids_are_scoped_per_channel(api: Api, victim: str) -> None:
    same_id = {"channel": "facebook", "channel_lead_id": VICTIM["channel_lead_id"], "phone": "+59177000002"}
    status, answer = post_lead(api, same_id, "facebook")
    assert (status, answer["created"]) == (202, True)
    assert answer["request_id"] != victim


def test_a_channel_reads_only_its_own_requests(api: Api, victim: str) -> None:
    assert read(api, victim, Role.CHANNEL, "facebook")[0] == 404
    assert read(api, victim, Role.CHANNEL, "ivr")[0] == 404
    status, own = read(api, victim, Role.CHANNEL, "web")
    assert status == 200
    assert own["customer"] == {"name": None, "phone": None, "ci": None}
    assert (own["service_code"], own["reason"]) == (None, None)
    assert own["channel_lead_id"] == "web-victim"


def test_a_gateway_checked_key_is_the_channel_it_is_bound_to() -> None:
    auth = Authenticator(ApiSettings(channel_key_ids={"k1a2b3": "ivr"}))
    principal = auth.authenticate({}, {"identity": {"apiKeyId": "k1a2b3"}})
    assert (principal.channel, principal.roles) == ("ivr", frozenset({Role.CHANNEL}))
    with pytest.raises(Exception, match="canal") as unbound:
        auth.authenticate({}, {"identity": {"apiKeyId": "unknown"}})
    assert getattr(unbound.value, "status", None) == 401


def test_channel_keys_must_name_a_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VD_CHANNEL_KEYS", "fax:" + "0" * 64)
    with pytest.raises(ValueError, match="not a channel"):
        ApiSettings.from_env()
    monkeypatch.setenv("VD_CHANNEL_KEYS", "")
    monkeypatch.setenv("VD_CHANNEL_KEY_IDS", "k1a2b3:ivr,k4d5e6:web")
    assert ApiSettings.from_env().channel_key_ids == {"k1a2b3": "ivr", "k4d5e6": "web"}


# --- what a channel learns (issue 9 review) ---------------------------------------------------------


def _channel_fields(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("state", "step", "customer", "possible_duplicate_of", "history", "joined_leads")}


def test_a_held_request_reads_to_its_channel_like_any_request_waiting_for_an_agent(api: Api, victim: str) -> None:
    held = post_lead(api, STRANGER, "facebook")[1]["request_id"]
    normal = post_lead(api, {"channel": "facebook", "channel_lead_id": "fb-n", "phone": "+59177000003"}, "facebook")
    api.deps.requests.get(normal[1]["request_id"])  # exists
    held_view = read(api, held, Role.CHANNEL, "facebook")[1]
    assert (held_view["state"], held_view["step"]["code"]) == ("inProgress", "3")
    # agents and ops still see the truth
    agent_view = read(api, held, Role.AGENT)[1]
    assert (agent_view["state"], agent_view["step"]["code"], agent_view["possible_duplicate_of"]) == (
        "acknowledged",
        "1",
        victim,
    )


def test_a_lead_with_only_the_customers_phone_from_another_channel_gets_a_receipt(api: Api, victim: str) -> None:
    lead = {"channel": "facebook", "channel_lead_id": "fb-phone", "phone": VICTIM["phone"]}
    status, answer = post_lead(api, lead, "facebook")
    assert status == 202
    assert (answer["created"], answer["joined"]) == (True, False)  # the answer of a created request
    receipt = answer["request_id"]
    assert receipt != victim
    assert answer["status_url"] == f"/v1/requests/{receipt}"
    status, seen = read(api, receipt, Role.CHANNEL, "facebook")
    assert status == 200
    assert (seen["request_id"], seen["state"], seen["step"]["code"]) == (receipt, "inProgress", "3")
    assert (seen["channel"], seen["channel_lead_id"]) == ("facebook", "fb-phone")
    assert _channel_fields(seen)["customer"] == {"name": None, "phone": None, "ci": None}
    assert read(api, receipt, Role.CHANNEL, "web")[0] == 404  # a receipt is its channel's alone
    assert read(api, victim, Role.CHANNEL, "facebook")[0] == 404
    # the lead did join, as agents see it; no second request, no second execution
    assert read(api, victim, Role.AGENT)[1]["joined_leads"] == ["facebook:fb-phone"]
    assert list(api.deps.workflow.started) == [victim]  # type: ignore[attr-defined]
    # a replay answers the receipt again; another body under the same lead id is refused
    assert post_lead(api, lead, "facebook")[1]["request_id"] == receipt
    assert post_lead(api, {**lead, "phone": "+59177000009"}, "facebook")[0] == 422
    assert read(api, victim, Role.AGENT)[1]["joined_leads"] == ["facebook:fb-phone"]


def test_a_lead_from_the_creating_channel_is_told_it_joined(api: Api, victim: str) -> None:
    lead = {"channel": "web", "channel_lead_id": "web-again", "phone": VICTIM["phone"]}
    answer = post_lead(api, lead, "web")[1]
    assert (answer["request_id"], answer["created"], answer["joined"]) == (victim, False, True)
    assert post_lead(api, lead, "web")[1]["request_id"] == victim
