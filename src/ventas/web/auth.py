"""Who is calling, and may they. The same checks run locally and in AWS.

People (agents, supervisors, ops) sign in to the Cognito user pool; the API verifies the
token's signature against the pool's published keys (JWKS), its issuer, expiry, app client and
use, and takes the role from `cognito:groups`. Locally the pool is moto's, which signs real
RS256 tokens and serves its JWKS, so the verification path is the production one.

Channel systems send `x-api-key`. The API knows only SHA-256 digests of the keys
(`VD_CHANNEL_KEYS`), compared in constant time. Back-office systems that report to the API
(Instalaciones, OPR-PAS-P02) send their own `x-api-key`, known by digest in `VD_BACKOFFICE_KEYS`
(`installations:<sha256>`): the key decides the role, so a channel key never reports an
installation and an installer key never posts a lead. In AWS, API Gateway also checks keys and usage
plans on channel-only routes and then names the key in the request context (`apiKeyId`),
which is accepted as a channel identity through `VD_CHANNEL_KEY_IDS` (key id -> channel).

A channel is its credential (docs/architecture.md, "Channels and their keys"): the key names
the channel, a lead must be of the key's channel, and a channel reads only its own requests.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from ventas.web.config import ApiSettings
from ventas.web.errors import ApiError, forbidden, unauthenticated

LEEWAY_SECONDS = 30
TOKEN_USES = frozenset({"id", "access"})


class Role(StrEnum):
    CHANNEL = "channel"
    INSTALLATIONS = "installations"  # Instalaciones y Traslados' system (OPR-PAS-P02), back office
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    OPS = "ops"


PEOPLE = frozenset({Role.AGENT, Role.SUPERVISOR, Role.OPS})


@dataclass(frozen=True)
class Principal:
    subject: str  # channel system, or the person's user name
    roles: frozenset[Role]
    channel: str | None = None  # a channel system's channel, from its key (None for people)

    @property
    def sees_personal_data(self) -> bool:
        """Only agents call customers: everyone else gets CI and phone masked."""
        return Role.AGENT in self.roles


class SigningKeys(Protocol):
    def key(self, kid: str) -> Any: ...


class JwksEndpoint:
    """The pool's JWKS over HTTPS (HTTP to moto locally), cached; fetched on first use."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: Any = None

    def key(self, kid: str) -> Any:
        import jwt  # deferred: channels' and Instalaciones' calls (API keys) never load it

        if self._client is None:
            self._client = jwt.PyJWKClient(self._url, cache_keys=True, lifespan=3600, timeout=5)
        try:
            return self._client.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise ApiError(503, "unavailable", "No pudimos verificar su sesión. Intente nuevamente.") from exc
        except jwt.PyJWKClientError as exc:
            raise unauthenticated("Su sesión no es válida. Vuelva a iniciar sesión.") from exc


class StaticKeys:
    """A JWKS given as a dict (unit tests)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        import jwt

        self._keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_dict(dict(jwks)).keys}

    def key(self, kid: str) -> Any:
        if kid not in self._keys:
            raise unauthenticated("Su sesión no es válida. Vuelva a iniciar sesión.")
        return self._keys[kid]


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class Authenticator:
    def __init__(self, settings: ApiSettings, keys: SigningKeys | None = None) -> None:
        self._settings = settings
        self._keys = (
            keys if keys is not None else (JwksEndpoint(settings.auth_jwks_url) if settings.auth_jwks_url else None)
        )

    def accepting(self, client_id: str) -> Authenticator:
        """This authenticator, also accepting people's tokens issued to `client_id` (same keys).

        For the console's hosted-UI client, whose id reaches the API function at run time (its
        secret), not in VD_AUTH_CLIENT_IDS. Returns self when `client_id` is empty or listed.
        """
        if not client_id or client_id in self._settings.auth_client_ids:
            return self
        ids = (*self._settings.auth_client_ids, client_id)
        return Authenticator(replace(self._settings, auth_client_ids=ids), self._keys)

    def authenticate(self, headers: Mapping[str, str], context: Mapping[str, Any]) -> Principal:
        authorization = headers.get("authorization")
        if authorization:
            return self._person(authorization)
        api_key = headers.get("x-api-key")
        key_id = (context.get("identity") or {}).get("apiKeyId")
        if api_key or key_id:
            return self._channel(api_key or "", key_id)
        raise unauthenticated()

    def _person(self, authorization: str) -> Principal:
        import jwt  # deferred: only people's calls verify a signed token (cold starts)

        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else authorization.strip()
        if self._keys is None or not self._settings.auth_issuer:
            raise unauthenticated("El inicio de sesión no está configurado en este entorno.")
        invalid = unauthenticated("Su sesión no es válida o venció. Vuelva a iniciar sesión.")
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") != "RS256" or not isinstance(kid, str):
                raise invalid
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys.key(kid),
                algorithms=["RS256"],
                issuer=self._settings.auth_issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise invalid from exc
        use = claims.get("token_use")
        client = claims.get("aud") if use == "id" else claims.get("client_id")
        if use not in TOKEN_USES or client not in self._settings.auth_client_ids:
            raise invalid
        roles = frozenset(Role(g) for g in _strings(claims.get("cognito:groups")) if g in PEOPLE)
        if not roles:
            raise forbidden()
        subject = claims.get("cognito:username") or claims.get("username") or claims.get("sub")
        return Principal(subject=str(subject), roles=roles)

    def _channel(self, api_key: str, key_id: Any) -> Principal:
        if isinstance(key_id, str) and key_id and not self._backoffice(api_key):
            channel = self._settings.channel_key_ids.get(key_id)
            if channel is None:  # checked by API Gateway, but bound to no channel here
                raise unauthenticated("La clave de acceso del canal no está asociada a ningún canal.")
            return Principal(subject=channel, roles=frozenset({Role.CHANNEL}), channel=channel)
        digest = key_digest(api_key)
        found = None
        for known, name in self._settings.backoffice_keys.items():  # every digest: constant time
            if hmac.compare_digest(known, digest):
                found = name
        if found is not None:
            return Principal(subject=found, roles=frozenset({Role(found)}))
        for known, name in self._settings.channel_keys.items():
            if hmac.compare_digest(known, digest):
                found = name
        if found is None:
            raise unauthenticated("La clave de acceso del canal no es válida.")
        return Principal(subject=found, roles=frozenset({Role.CHANNEL}), channel=found)

    def _backoffice(self, api_key: str) -> bool:
        digest = key_digest(api_key)
        return any(hmac.compare_digest(known, digest) for known in self._settings.backoffice_keys)


def authorize(principal: Principal, allowed: Iterable[Role]) -> None:
    if not principal.roles & frozenset(allowed):
        raise forbidden()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
