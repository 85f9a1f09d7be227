"""Configuration of the console, read from the environment once per container.

| variable | meaning |
|---|---|
| VD_CONSOLE_SIGNIN | `hosted` (AWS: Cognito hosted UI, code + PKCE) or `local` (development users) |
| VD_CONSOLE_SECRET_ID | AWS: secret (name or ARN), JSON with csrf_key, client_id, redirect_uri; wins over those vars |
| VD_CONSOLE_SECRET | local runs: the CSRF key itself (HMAC); at least 32 characters |
| VD_CONSOLE_HOSTED_DOMAIN | hosted UI base URL, `https://<prefix>.auth.<region>.amazoncognito.com` |
| VD_CONSOLE_REDIRECT_URI | this console's `/console/auth/callback` URL, registered on the app client |
| VD_CONSOLE_CLIENT_ID | the console's app client (public: no secret) |
| VD_CONSOLE_IDP_ENDPOINT | local only: the Cognito endpoint (moto) for ADMIN_NO_SRP_AUTH |
| VD_CONSOLE_POOL_ID | local only: the user pool of the development users |
| VD_CONSOLE_DEV_USERS | local only: JSON `{"username": {"role": "agent", "password": "..."}}` |
| VD_CONSOLE_BASE_PATH | prefix of every link (`/api` behind the API Gateway stage; empty locally) |
| VD_CONSOLE_TILES_URL | optional base map tiles, `https://tiles.example/{z}/{x}/{y}.png` (none locally) |
| VD_CONSOLE_EXECUTION_LINK | optional AWS console link to an execution, with `{request_id}` in it (docs/console.md) |

In AWS the last two are the template parameters ConsoleTilesUrl and ConsoleExecutionLink
(infra/api.yaml), whose AllowedPattern accepts what `TILES_URL` and `EXECUTION_LINK` accept.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOCAL = "local"
HOSTED = "hosted"
# https, a host, the {z}, {x}, {y} placeholders, and nothing that could end a CSP source or an
# attribute (its origin goes into the Content-Security-Policy, the URL into the map's SVG).
TILES_URL = re.compile(
    r"https://[A-Za-z0-9.-]+(:[0-9]+)?/(?=[^ \"'<>;]*\{z\})(?=[^ \"'<>;]*\{x\})(?=[^ \"'<>;]*\{y\})[^ \"'<>;]*"
)
EXECUTION_LINK = re.compile(r"https://[^ \"'<>]*\{request_id\}[^ \"'<>]*")


@dataclass(frozen=True)
class DevUser:
    username: str
    role: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ConsoleSettings:
    signin: str = HOSTED
    secret: str = field(default="", repr=False)
    hosted_domain: str = ""
    redirect_uri: str = ""
    client_id: str = ""
    idp_endpoint: str = ""
    pool_id: str = ""
    dev_users: tuple[DevUser, ...] = ()
    base_path: str = ""
    tiles_url: str = ""
    execution_link: str = ""

    @property
    def local(self) -> bool:
        return self.signin == LOCAL

    @property
    def tiles_origin(self) -> str:
        """The origin the Content-Security-Policy must allow for images, if tiles are set."""
        if not self.tiles_url:
            return ""
        parts = urlsplit(self.tiles_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_env(cls) -> ConsoleSettings:
        """Raises ValueError when the secret is missing or short, or the sign-in mode unknown.

        With VD_CONSOLE_SECRET_ID the key, client id and redirect URI come from Secrets Manager
        (ventas.adapters.secrets, cached for the container's life): in AWS the client and the
        redirect URI name the API, so the API function cannot be given them by the template. A
        secret that cannot be read raises powertools' GetParameterError; one that is not a JSON
        object, or holds a non-string value, raises ValueError.
        """
        signin = os.environ.get("VD_CONSOLE_SIGNIN", HOSTED)
        if signin not in (LOCAL, HOSTED):
            raise ValueError("VD_CONSOLE_SIGNIN is `local` or `hosted`")
        stored = _stored()
        secret = stored.get("csrf_key", os.environ.get("VD_CONSOLE_SECRET", ""))
        if len(secret) < 32:
            raise ValueError(
                "the console's CSRF key (VD_CONSOLE_SECRET or the secret's csrf_key) must hold at least 32 characters"
            )
        tiles_url = os.environ.get("VD_CONSOLE_TILES_URL", "")
        if tiles_url and not TILES_URL.fullmatch(tiles_url):
            raise ValueError("VD_CONSOLE_TILES_URL is an https URL with {z}, {x} and {y} (no quotes, spaces or ';')")
        execution_link = os.environ.get("VD_CONSOLE_EXECUTION_LINK", "")
        if execution_link and not EXECUTION_LINK.fullmatch(execution_link):
            raise ValueError("VD_CONSOLE_EXECUTION_LINK is an https URL with {request_id} in it")
        users: tuple[DevUser, ...] = ()
        if signin == LOCAL:
            raw = json.loads(os.environ.get("VD_CONSOLE_DEV_USERS", "{}"))
            users = tuple(DevUser(name, str(v["role"]), str(v["password"])) for name, v in sorted(raw.items()))
        return cls(
            signin=signin,
            secret=secret,
            hosted_domain=os.environ.get("VD_CONSOLE_HOSTED_DOMAIN", "").rstrip("/"),
            redirect_uri=stored.get("redirect_uri", os.environ.get("VD_CONSOLE_REDIRECT_URI", "")),
            client_id=stored.get("client_id", os.environ.get("VD_CONSOLE_CLIENT_ID", "")),
            idp_endpoint=os.environ.get("VD_CONSOLE_IDP_ENDPOINT", ""),
            pool_id=os.environ.get("VD_CONSOLE_POOL_ID", ""),
            dev_users=users,
            base_path=os.environ.get("VD_CONSOLE_BASE_PATH", "").rstrip("/"),
            tiles_url=tiles_url,
            execution_link=execution_link,
        )


def _stored() -> dict[str, str]:
    """The secret VD_CONSOLE_SECRET_ID names, as a JSON object of strings; {} when unset (local)."""
    secret_id = os.environ.get("VD_CONSOLE_SECRET_ID", "")
    if not secret_id:
        return {}
    from ventas.adapters.secrets import secret_string

    try:
        value = json.loads(secret_string(secret_id))
    except json.JSONDecodeError as exc:
        raise ValueError("the console's secret is not JSON") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("the console's secret is not a JSON object of strings")
    return {k: v for k, v in value.items() if v}
