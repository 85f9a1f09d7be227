"""Configuration of the HTTP API, read from the environment once per container.

| variable | meaning |
|---|---|
| VD_AUTH_ISSUER | Cognito user pool issuer, `https://cognito-idp.<region>.amazonaws.com/<pool-id>` |
| VD_AUTH_JWKS_URL | where its signing keys are; default `<issuer>/.well-known/jwks.json` (locally: moto) |
| VD_AUTH_CLIENT_IDS | comma-separated app client ids whose tokens are accepted |
| VD_CHANNEL_KEYS | comma-separated `<channel>:<sha256 hex of its API key>` (digests only); the key *is* the channel |
| VD_CHANNEL_KEY_IDS | comma-separated `<API Gateway key id>:<channel>`: the channel of a gateway-checked key |
| VD_CONSOLE_ORIGIN | the agent/ops console's origin: the only one CORS allows |
| VD_MAX_BODY_BYTES | request body limit of JSON routes (the webhook has its own) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ventas.domain.models import Channel

CHANNELS = frozenset(c.value for c in Channel)
DEFAULT_MAX_BODY = 16 * 1024
WEBHOOK_MAX_BODY = 256 * 1024


def _channel(name: str, variable: str) -> str:
    """A key names one channel of the procedure (ventas.domain.models.Channel)."""
    if name not in CHANNELS:
        raise ValueError(f"{variable}: {name!r} is not a channel ({', '.join(sorted(CHANNELS))})")
    return name


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class ApiSettings:
    auth_issuer: str = ""
    auth_jwks_url: str = ""
    auth_client_ids: tuple[str, ...] = ()
    channel_keys: dict[str, str] = field(default_factory=dict)  # sha256 hex -> channel
    channel_key_ids: dict[str, str] = field(default_factory=dict)  # API Gateway key id -> channel
    console_origin: str = "http://127.0.0.1:5173"
    max_body_bytes: int = DEFAULT_MAX_BODY
    webhook_max_body_bytes: int = WEBHOOK_MAX_BODY

    @classmethod
    def from_env(cls) -> ApiSettings:
        issuer = os.environ.get("VD_AUTH_ISSUER", "").rstrip("/")
        keys: dict[str, str] = {}
        for entry in _split(os.environ.get("VD_CHANNEL_KEYS", "")):
            name, _, digest = entry.partition(":")
            if not name or len(digest) != 64:
                raise ValueError("VD_CHANNEL_KEYS entries are <name>:<sha256 hex of the key>")
            keys[digest.lower()] = _channel(name, "VD_CHANNEL_KEYS")
        key_ids: dict[str, str] = {}
        for entry in _split(os.environ.get("VD_CHANNEL_KEY_IDS", "")):
            key_id, _, name = entry.partition(":")
            if not key_id or not name:
                raise ValueError("VD_CHANNEL_KEY_IDS entries are <api key id>:<channel>")
            key_ids[key_id] = _channel(name, "VD_CHANNEL_KEY_IDS")
        return cls(
            auth_issuer=issuer,
            auth_jwks_url=os.environ.get("VD_AUTH_JWKS_URL", f"{issuer}/.well-known/jwks.json" if issuer else ""),
            auth_client_ids=_split(os.environ.get("VD_AUTH_CLIENT_IDS", "")),
            channel_keys=keys,
            channel_key_ids=key_ids,
            console_origin=os.environ.get("VD_CONSOLE_ORIGIN", cls.console_origin),
            max_body_bytes=int(os.environ.get("VD_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY))),
        )
