"""The role-by-route matrix, generated from the OpenAPI document the API serves.

Every operation x every caller: each role (a channel key, an agent, a supervisor, ops), no
credential, and forged or stale credentials (an expired token signed by the right key, a token
with `alg: none`, a token whose `cognito:groups` was edited after signing, a wrong API key).
What each cell must answer follows from the document alone (`x-roles`, `security`), so a route
added to the contract is checked without touching this file.

Both tiers use it: tests/security/test_matrix_unit.py (chalice.test.Client, tokens minted by a
key of the test) and test_matrix_http.py (the local stack over HTTP, tokens from Cognito on moto).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ventas.web.auth import Role

PEOPLE = (Role.AGENT, Role.SUPERVISOR, Role.OPS)
# A value for each path parameter that matches its pattern and names nothing that exists.
EXAMPLE_PARAMS = {"request_id": "vd-00000000-0000000000", "task_id": "tk-0000000000000000"}
FORGERIES = ("expired", "alg_none", "tampered_group", "wrong_key", "garbage_bearer")


@dataclass(frozen=True)
class Route:
    operation_id: str
    method: str
    path: str  # with example parameters
    roles: frozenset[Role]
    schemes: frozenset[str]  # "cognito", "channelKey"; empty: open or checked by the function

    @property
    def secured(self) -> bool:
        return bool(self.roles)

    def __str__(self) -> str:
        return self.operation_id


def routes(document: dict[str, Any]) -> list[Route]:
    """Every operation of an OpenAPI document, as a route to call."""
    found = []
    for template, methods in document["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: EXAMPLE_PARAMS[m.group(1)], template)
        for method, operation in methods.items():
            schemes = frozenset(name for requirement in operation["security"] for name in requirement)
            roles = frozenset(Role(r) for r in operation["x-roles"])
            found.append(Route(operation["operationId"], method.upper(), path, roles, schemes))
    return found


def tamper_groups(token: str, groups: list[str]) -> str:
    """The same token with `cognito:groups` replaced and the signature left as it was."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = groups
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def unsigned(claims: dict[str, Any]) -> str:
    """A JWT with `alg: none` and an empty signature, claiming whatever it likes."""
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{part(claims)}."


@dataclass(frozen=True)
class Answer:
    status: int
    code: str  # the error code of the body, "" when none


Call = Callable[[str, str, dict[str, str]], Answer]


def let_in(answer: Answer) -> bool:
    """Past authentication and the role check (the answer may still be 404, 409, 422...)."""
    return answer.status != 401 and not (answer.status == 403 and answer.code == "forbidden")


def check_route(
    route: Route,
    call: Call,
    role_headers: Callable[[Role], dict[str, str]],
    forged_headers: Callable[[str, Route], dict[str, str]],
) -> list[str]:
    """Every cell of one route; returns the cells that answered otherwise (empty: all as expected)."""
    wrong: list[str] = []

    def expect(cell: str, headers: dict[str, str], ok: Callable[[Answer], bool]) -> None:
        answer = call(route.method, route.path, headers)
        if not ok(answer):
            wrong.append(f"{route} {cell}: {answer.status} {answer.code}")

    if not route.secured:
        return wrong  # open routes and the webhook: tests/security/test_webhook_and_open_routes.py
    expect("no credential", {}, lambda a: a.status == 401 and a.code == "unauthenticated")
    for role in Role:
        if role in route.roles:
            expect(f"{role} (allowed)", role_headers(role), let_in)
        else:
            expect(f"{role} (not allowed)", role_headers(role), lambda a: (a.status, a.code) == (403, "forbidden"))
    for forgery in FORGERIES:
        expect(forgery, forged_headers(forgery, route), lambda a: a.status == 401)
    return wrong


def allowed_person(route: Route) -> Role:
    """A person's role the route lets in (forgeries claim it), else an agent."""
    return next((r for r in PEOPLE if r in route.roles), Role.AGENT)


def other_person(route: Route) -> Role:
    """A person's role the route refuses (tampering starts from it), else an agent."""
    return next((r for r in PEOPLE if r not in route.roles), Role.AGENT)
