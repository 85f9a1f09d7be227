"""The role-by-route matrix over HTTP, on the local stack (real ASL in moto, Chalice served).

People's tokens are the ones Cognito on moto issues (RS256, `cognito:groups`), verified by the
API against the pool's JWKS as in AWS. The matrix comes from the document the API serves.
An expired token is a real one re-signed with the pool's own key (moto ships it) and an `exp`
in the past; the same token with a current `exp` is accepted, so only the expiry differs.
"""

from __future__ import annotations

import gzip
import json
import time
from importlib.resources import files
from typing import Any

import jwt
import pytest
import requests

from devstack.api_server import LocalApi
from tests.functional.api_stack import served
from tests.security.matrix import (
    Answer,
    Route,
    allowed_person,
    check_route,
    other_person,
    routes,
    tamper_groups,
    unsigned,
)
from ventas.web.auth import Role

__all__ = ["served"]

pytestmark = pytest.mark.functional
USERS = {Role.AGENT: "agente.local", Role.SUPERVISOR: "supervisor.local", Role.OPS: "ops.local"}


def _pool_key() -> Any:
    """The private key moto's cognito-idp signs every token with (kid "dummy")."""
    resource = files("moto.cognitoidp") / "resources" / "jwks-private.json.gz"
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(json.loads(gzip.decompress(resource.read_bytes()))))


def _resigned(token: str, **claims: Any) -> str:
    payload = jwt.decode(token, options={"verify_signature": False}) | claims
    return jwt.encode(payload, _pool_key(), algorithm="RS256", headers={"kid": "dummy"})


class Caller:
    def __init__(self, api: LocalApi) -> None:
        self.api = api
        self.session = requests.Session()

    def call(self, method: str, path: str, headers: dict[str, str]) -> Answer:
        response = self.session.request(method, self.api.url + path, headers=headers, timeout=(5, 30))
        try:
            code = response.json().get("error", {}).get("code", "")
        except (ValueError, AttributeError):
            code = ""
        return Answer(response.status_code, code)

    def token(self, role: Role) -> str:
        return self.api.identity.token(USERS[role], role)

    def role_headers(self, role: Role) -> dict[str, str]:
        if role == Role.CHANNEL:
            return {"x-api-key": self.api.identity.api_keys["web"]}
        return {"Authorization": f"Bearer {self.token(role)}"}

    def forged(self, forgery: str, route: Route) -> dict[str, str]:
        allowed, other = allowed_person(route), other_person(route)
        if forgery == "wrong_key":
            return {"x-api-key": self.api.identity.api_keys["web"][:-4] + "0000"}
        if forgery == "garbage_bearer":
            return {"Authorization": "Bearer not.a.jwt"}
        if forgery == "expired":
            token = _resigned(self.token(allowed), exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
        elif forgery == "alg_none":
            token = unsigned(jwt.decode(self.token(allowed), options={"verify_signature": False}))
        else:
            token = tamper_groups(self.token(other), [allowed.value, "ops"])
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def caller(served: LocalApi) -> Caller:
    return Caller(served)


def test_every_caller_gets_what_the_served_document_says(caller: Caller) -> None:
    document = requests.get(caller.api.url + "/v1/openapi.json", timeout=(5, 30)).json()
    found = routes(document)
    assert len([r for r in found if r.secured]) >= 11
    wrong = [cell for route in found for cell in check_route(route, caller.call, caller.role_headers, caller.forged)]
    assert wrong == []


def test_the_expired_token_differs_from_an_accepted_one_by_its_expiry_only(caller: Caller) -> None:
    current = _resigned(caller.token(Role.OPS), exp=int(time.time()) + 600)
    expired = _resigned(caller.token(Role.OPS), exp=int(time.time()) - 600)
    assert caller.call("GET", "/v1/requests", {"Authorization": f"Bearer {current}"}).status == 200
    assert caller.call("GET", "/v1/requests", {"Authorization": f"Bearer {expired}"}).status == 401
