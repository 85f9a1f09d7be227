"""Configuration of the console, read from the environment once per container.

| variable | meaning |
|---|---|
| VD_CONSOLE_SIGNIN | `hosted` (AWS: Cognito hosted UI, code + PKCE) or `local` (development users) |
| VD_CONSOLE_SECRET | key for CSRF tokens (HMAC); at least 32 characters |
| VD_CONSOLE_HOSTED_DOMAIN | hosted UI base URL, `https://<prefix>.auth.<region>.amazoncognito.com` |
| VD_CONSOLE_REDIRECT_URI | this console's `/console/auth/callback` URL, registered on the app client |
| VD_CONSOLE_CLIENT_ID | the console's app client (public: no secret) |
| VD_CONSOLE_IDP_ENDPOINT | local only: the Cognito endpoint (moto) for ADMIN_NO_SRP_AUTH |
| VD_CONSOLE_POOL_ID | local only: the user pool of the development users |
| VD_CONSOLE_DEV_USERS | local only: JSON `{"username": {"role": "agent", "password": "..."}}` |
| VD_CONSOLE_BASE_PATH | prefix of every link (`/Prod` behind an API Gateway stage; empty locally) |
| VD_CONSOLE_TILES_URL | optional base map tiles, `https://tiles.example/{z}/{x}/{y}.png` (none locally) |
| VD_CONSOLE_EXECUTION_LINK | optional AWS console link to an execution, with `{request_id}` in it (docs/console.md) |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOCAL = "local"
HOSTED = "hosted"


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
        """Raises ValueError when the secret is missing or short, or the sign-in mode unknown."""
        signin = os.environ.get("VD_CONSOLE_SIGNIN", HOSTED)
        if signin not in (LOCAL, HOSTED):
            raise ValueError("VD_CONSOLE_SIGNIN is `local` or `hosted`")
        secret = os.environ.get("VD_CONSOLE_SECRET", "")
        if len(secret) < 32:
            raise ValueError("VD_CONSOLE_SECRET must hold at least 32 characters")
        users: tuple[DevUser, ...] = ()
        if signin == LOCAL:
            raw = json.loads(os.environ.get("VD_CONSOLE_DEV_USERS", "{}"))
            users = tuple(DevUser(name, str(v["role"]), str(v["password"])) for name, v in sorted(raw.items()))
        return cls(
            signin=signin,
            secret=secret,
            hosted_domain=os.environ.get("VD_CONSOLE_HOSTED_DOMAIN", "").rstrip("/"),
            redirect_uri=os.environ.get("VD_CONSOLE_REDIRECT_URI", ""),
            client_id=os.environ.get("VD_CONSOLE_CLIENT_ID", ""),
            idp_endpoint=os.environ.get("VD_CONSOLE_IDP_ENDPOINT", ""),
            pool_id=os.environ.get("VD_CONSOLE_POOL_ID", ""),
            dev_users=users,
            base_path=os.environ.get("VD_CONSOLE_BASE_PATH", "").rstrip("/"),
            tiles_url=os.environ.get("VD_CONSOLE_TILES_URL", ""),
            execution_link=os.environ.get("VD_CONSOLE_EXECUTION_LINK", ""),
        )
