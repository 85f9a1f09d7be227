"""The API under `chalice.test.Client`, wired to the unit tier's in-memory container.

People's tokens are real RS256 JWTs signed by a key made here and verified through the same
`Authenticator` as production (with a static JWKS instead of the pool's URL).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.api_server import load_app
from ventas import bootstrap
from ventas.adapters import whatsapp
from ventas.adapters.whatsapp import LocalMediaSource
from ventas.container import Container
from ventas.web.auth import Authenticator, Role, StaticKeys, key_digest
from ventas.web.config import ApiSettings

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_unit"
CLIENT_ID = "console-client"
APP_SECRET = "unit-app-secret"
VERIFY_TOKEN = "unit-verify-token"
CHANNEL_KEYS = {"web": "vd-unit-web-key-0001", "ivr": "vd-unit-ivr-key-0001", "facebook": "vd-unit-fb-key-0001"}
BACKOFFICE_KEYS = {"installations": "vd-unit-installations-key-0001"}
PEOPLE = {Role.AGENT: "agente.ana", Role.SUPERVISOR: "supervisora.eva", Role.OPS: "ops.luis"}

_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_key.public_key()))
JWKS = {"keys": [{**_jwk, "kid": "unit-kid", "alg": "RS256", "use": "sig"}]}


def mint(
    username: str,
    groups: list[str],
    *,
    key: Any = _key,
    kid: str = "unit-kid",
    issuer: str = ISSUER,
    audience: str = CLIENT_ID,
    expires_in: int = 3600,
    token_use: str = "id",
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": f"sub-{username}",
        "token_use": token_use,
        "iat": now,
        "exp": now + expires_in,
        "cognito:username": username,
        "cognito:groups": groups,
    }
    claims["aud" if token_use == "id" else "client_id"] = audience
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@dataclass
class Api:
    client: Any
    deps: Container

    def headers(self, role: Role | None, who: str | None = None) -> dict[str, str]:
        if role is None:
            return {}
        if role == Role.CHANNEL:
            return {"x-api-key": CHANNEL_KEYS[who or "web"]}
        if role == Role.INSTALLATIONS:
            return {"x-api-key": BACKOFFICE_KEYS["installations"]}
        return {"Authorization": "Bearer " + mint(who or PEOPLE[role], [role.value])}

    def call(
        self,
        method: str,
        path: str,
        role: Role | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        who: str | None = None,
        raw: bytes | None = None,
    ) -> Any:
        sent = {"Content-Type": "application/json", **self.headers(role, who), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.client.http.request(method, path, headers=sent, body=data)


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


@pytest.fixture
def api(deps: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    app = load_app()
    from chalicelib import http

    monkeypatch.setenv("VD_WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("VD_WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.delenv("VD_WHATSAPP_SECRET_ID", raising=False)
    whatsapp.reset_credentials()
    settings = ApiSettings(
        auth_issuer=ISSUER,
        auth_client_ids=(CLIENT_ID,),
        channel_keys={key_digest(k): name for name, k in CHANNEL_KEYS.items()},
        backoffice_keys={key_digest(k): name for name, k in BACKOFFICE_KEYS.items()},
    )
    http.use_authenticator(Authenticator(settings, StaticKeys(JWKS)))
    deps.media = LocalMediaSource()
    bootstrap.use(deps)
    try:
        with Client(app) as client:
            yield Api(client, deps)
    finally:
        bootstrap.use(None)
        http.use_authenticator(None)
        whatsapp.reset_credentials()
