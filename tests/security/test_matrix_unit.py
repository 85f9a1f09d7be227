"""The role-by-route matrix over the API in process (chalice.test.Client, in-memory container).

Tokens are RS256 JWTs minted by a key of the test and verified by the production Authenticator
against a static JWKS; the forgeries are built from them.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.log_capture import logged
from tests.security.matrix import (
    FORGERIES,
    Answer,
    Route,
    allowed_person,
    check_route,
    other_person,
    routes,
    tamper_groups,
    unsigned,
)
from tests.unit.api_harness import CLIENT_ID, ISSUER, PEOPLE, Api, body, mint
from ventas.web.auth import Role
from ventas.web.openapi import openapi_document

__all__ = ["logged"]

ROUTES = routes(openapi_document())


def forged(forgery: str, route: Route) -> dict[str, str]:
    allowed, other = allowed_person(route), other_person(route)
    if forgery == "wrong_key":
        return {"x-api-key": "vd-guessed-key-0000000000"}
    if forgery == "garbage_bearer":
        return {"Authorization": "Bearer not.a.jwt"}
    if forgery == "expired":
        token = mint(PEOPLE[allowed], [allowed.value], expires_in=-3600)
    elif forgery == "alg_none":
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "token_use": "id", "iat": now, "exp": now + 3600}
        token = unsigned({**claims, "cognito:username": "intruso", "cognito:groups": [allowed.value]})
    else:
        assert forgery == "tampered_group"
        token = tamper_groups(mint(PEOPLE[other], [other.value]), [allowed.value, "ops"])
    return {"Authorization": f"Bearer {token}"}


def test_the_document_has_every_route_and_each_secured_one_names_its_roles() -> None:
    secured = [r for r in ROUTES if r.secured]
    assert len(ROUTES) >= 13
    assert len(secured) >= 11
    assert all(r.schemes for r in secured)
    assert {r.operation_id for r in ROUTES if not r.secured} == {"health", "openapi", "verifyWebhook", "receiveWebhook"}


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_caller_gets_what_the_document_says(api: Api, route: Route) -> None:
    def call(method: str, path: str, headers: dict[str, str]) -> Answer:
        response = api.client.http.request(method, path, headers={"Content-Type": "application/json", **headers})
        answer = body(response)
        code = answer.get("error", {}).get("code", "") if isinstance(answer, dict) else ""
        return Answer(response.status_code, code)

    assert check_route(route, call, api.headers, forged) == []


def test_a_forgery_differs_from_an_accepted_token_by_its_flaw_only(api: Api) -> None:
    """Controls: the same claims, properly signed and current, are let in."""
    good = mint(PEOPLE[Role.OPS], ["ops"])
    assert api.call("GET", "/v1/requests", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for forgery in FORGERIES:
        route = next(r for r in ROUTES if r.operation_id == "searchRequests")
        assert api.call("GET", "/v1/requests", headers=forged(forgery, route)).status_code == 401, forgery


def test_a_refused_call_leaves_a_log_line_without_the_credential(api: Api, logged: list[str]) -> None:
    """In AWS the stage's access log records refusals by API Gateway itself (tests/infra); the
    function's own line records those it refuses, with the reason and the caller's role."""
    token = tamper_groups(mint(PEOPLE[Role.AGENT], ["agent"]), ["ops"])
    api.call("GET", "/v1/requests", headers={"Authorization": f"Bearer {token}"})
    api.call("POST", "/v1/requests", headers={"x-api-key": "vd-guessed-key-0000000000"})
    api.call("GET", "/v1/reports/kpi", Role.AGENT)
    lines = [json.loads(line) for line in logged if '"api call"' in line]
    seen = [(line["operation"], line["status"], line.get("error"), line.get("caller")) for line in lines]
    assert seen == [
        ("searchRequests", 401, "unauthenticated", None),
        ("submitLead", 401, "unauthenticated", None),
        ("getKpi", 403, "forbidden", "agent"),
    ]
    text = json.dumps(lines)
    assert token.split(".")[2] not in text
    assert "vd-guessed-key" not in text
