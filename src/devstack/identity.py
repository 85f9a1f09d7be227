"""Local identities for the API: a Cognito user pool in moto (people) and channel API keys.

The pool has one group per role; a user per role is created at start and more on demand
(an agent per name). Tokens come from moto's cognito-idp (ADMIN_NO_SRP_AUTH): RS256, signed,
with `cognito:groups`, verified by the API against the pool's JWKS exactly as in AWS.
Passwords and keys here are for the local stack only; they are written to
`build/local-stack.json` so that `python -m devstack.tokens` can sign in.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3

from ventas.web.auth import Role

PEOPLE = (Role.AGENT, Role.SUPERVISOR, Role.OPS)
CHANNEL_SYSTEMS = ("ivr", "web", "botmaker", "facebook", "whatsapp", "other")
BACKOFFICE_SYSTEMS = ("installations",)  # Instalaciones y Traslados (OPR-PAS-P02): its own key and role
DEFAULT_USERS = {Role.AGENT: "agente.local", Role.SUPERVISOR: "supervisor.local", Role.OPS: "ops.local"}
SECOND_AGENT = "agente2.local"  # a colleague: the console shows who holds a task
REGION = "us-east-1"


def local_password(username: str) -> str:
    """Deterministic per user, meets Cognito's default policy: local stack only."""
    return f"Local-{hashlib.sha256(username.encode()).hexdigest()[:12]}-Aa1!"


def local_api_key(system: str) -> str:
    return f"vd-local-{system}-" + hashlib.sha256(f"channel:{system}".encode()).hexdigest()[:24]


@dataclass
class LocalIdentity:
    endpoint: str
    pool_id: str
    client_id: str
    api_keys: dict[str, str] = field(default_factory=dict)  # channel system -> key
    backoffice_keys: dict[str, str] = field(default_factory=dict)  # back-office system -> key
    users: dict[str, str] = field(default_factory=dict)  # username -> role
    _tokens: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    def environment(self) -> dict[str, str]:
        """What the API reads (`ventas.web.config`) to trust this pool and these keys."""

        def digests(keys: dict[str, str]) -> str:
            return ",".join(f"{name}:{hashlib.sha256(key.encode()).hexdigest()}" for name, key in keys.items())

        return {
            "VD_AUTH_ISSUER": self.issuer,
            "VD_AUTH_JWKS_URL": self.jwks_url,
            "VD_AUTH_CLIENT_IDS": self.client_id,
            "VD_CHANNEL_KEYS": digests(self.api_keys),
            "VD_BACKOFFICE_KEYS": digests(self.backoffice_keys),
        }

    def _idp(self) -> Any:
        return boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto accepts any
        )

    def ensure_user(self, username: str, role: Role) -> None:
        with self._lock:
            if username in self.users:
                return
            idp = self._idp()
            idp.admin_create_user(UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS")
            idp.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=local_password(username), Permanent=True
            )
            idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=role.value)
            self.users[username] = role.value

    def token(self, username: str, role: Role | None = None) -> str:
        """An ID token for `username` (created with `role` if new), cached for its lifetime."""
        if role is not None:
            self.ensure_user(username, role)
        with self._lock:
            cached = self._tokens.get(username)
        if cached:
            return cached
        result = self._idp().admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_NO_SRP_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": local_password(username)},
        )
        token = str(result["AuthenticationResult"]["IdToken"])  # valid one hour: longer than any local run
        with self._lock:
            self._tokens[username] = token
        return token

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "pool_id": self.pool_id,
            "client_id": self.client_id,
            "api_keys": dict(self.api_keys),
            "backoffice_keys": dict(self.backoffice_keys),
            "users": dict(self.users),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalIdentity:
        return cls(
            endpoint=data["endpoint"],
            pool_id=data["pool_id"],
            client_id=data["client_id"],
            api_keys=dict(data["api_keys"]),
            backoffice_keys=dict(data.get("backoffice_keys", {})),
            users=dict(data["users"]),
        )


def provision(endpoint: str) -> LocalIdentity:
    """Create the pool, its app client, one group per role and one user per role."""
    identity = LocalIdentity(endpoint=endpoint, pool_id="", client_id="")
    idp = identity._idp()
    identity.pool_id = idp.create_user_pool(PoolName="vd-local-people")["UserPool"]["Id"]
    identity.client_id = idp.create_user_pool_client(
        UserPoolId=identity.pool_id, ClientName="vd-local-console", ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"]
    )["UserPoolClient"]["ClientId"]
    for role in PEOPLE:
        idp.create_group(GroupName=role.value, UserPoolId=identity.pool_id)
    for role, username in DEFAULT_USERS.items():
        identity.ensure_user(username, role)
    identity.ensure_user(SECOND_AGENT, Role.AGENT)
    identity.api_keys = {system: local_api_key(system) for system in CHANNEL_SYSTEMS}
    identity.backoffice_keys = {system: local_api_key(system) for system in BACKOFFICE_SYSTEMS}
    return identity
