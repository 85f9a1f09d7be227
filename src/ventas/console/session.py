"""The console's session: the ID token in a cookie, CSRF tokens, and the two ways to sign in.

- The session cookie holds the Cognito ID token: HttpOnly (page scripts never read it),
  SameSite=Strict (never sent on a cross-site request), Secure (plain HTTP only on loopback,
  for the local stack). Tokens are never put in a URL.
- CSRF (synchronizer token): every state-changing form carries HMAC(secret, session); the server
  recomputes it. Before sign-in, a random pre-session cookie plays the session's part.
- In AWS: Cognito's hosted UI, authorization code with PKCE (RFC 7636, S256). `start_hosted`
  gives the authorize URL and the state/verifier cookie; `exchange_code` trades the code.
- Locally: the development users of the pool on moto, signed in with ADMIN_NO_SRP_AUTH.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from ventas.console.settings import ConsoleSettings

SESSION_COOKIE = "vd_session"
PRE_COOKIE = "vd_pre"
PKCE_COOKIE = "vd_pkce"
SESSION_SECONDS = 3600  # the ID token's own lifetime (IdTokenValidity: 60 minutes)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


class SignInError(Exception):
    """Sign-in refused; the message is for the person (Spanish, usted)."""


def read_cookies(headers: Mapping[str, str]) -> dict[str, str]:
    """The request's cookies by name (none when the header is malformed)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed header is no session
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def is_loopback(host: str | None) -> bool:
    """Whether a Host header (name[:port]) names the loopback interface."""
    name = (host or "").rsplit(":", 1)[0] if not (host or "").startswith("[") else (host or "").split("]")[0] + "]"
    return name in LOOPBACK_HOSTS


def cookie(
    name: str, value: str, settings: ConsoleSettings, host: str | None, max_age: int, same_site: str = "Strict"
) -> str:
    """A Set-Cookie value. Secure always, except plain HTTP on loopback for the local stack."""
    path = settings.base_path or "/"
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", f"SameSite={same_site}", f"Max-Age={max_age}"]
    if not (settings.local and is_loopback(host)):
        parts.append("Secure")
    return "; ".join(parts)


def clear(name: str, settings: ConsoleSettings, host: str | None) -> str:
    """A Set-Cookie value that deletes `name`."""
    return cookie(name, "", settings, host, 0)


def csrf_token(settings: ConsoleSettings, session: str) -> str:
    """The token a form must carry for the session (or pre-session) value `session`."""
    mac = hmac.new(settings.secret.encode(), b"csrf:" + session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_valid(settings: ConsoleSettings, session: str | None, token: str | None) -> bool:
    if not session or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, session), token)


def new_pre_session() -> str:
    """A random value binding the sign-in form's CSRF token before there is a session."""
    return secrets.token_urlsafe(24)


# --- local sign-in (development users, Cognito on moto) -------------------------------------


def local_sign_in(settings: ConsoleSettings, username: str, idp: Any) -> str:
    """ADMIN_NO_SRP_AUTH for a listed development user; returns the ID token.

    `idp` is a cognito-idp client. Raises SignInError for an unknown user or a refused auth.
    """
    user = next((u for u in settings.dev_users if u.username == username), None)
    if not settings.local or user is None:
        raise SignInError("Usuario no disponible para el inicio de sesión local.")
    try:
        result = idp.admin_initiate_auth(
            UserPoolId=settings.pool_id,
            ClientId=settings.client_id,
            AuthFlow="ADMIN_NO_SRP_AUTH",
            AuthParameters={"USERNAME": user.username, "PASSWORD": user.password},
        )
        return str(result["AuthenticationResult"]["IdToken"])
    except Exception as exc:
        raise SignInError("No pudimos iniciar su sesión. Intente nuevamente.") from exc


# --- hosted UI: authorization code with PKCE ------------------------------------------------


@dataclass(frozen=True)
class HostedStart:
    authorize_url: str
    cookie_value: str  # state.verifier, kept in an HttpOnly cookie until the callback


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def start_hosted(settings: ConsoleSettings) -> HostedStart:
    """The hosted UI's authorize URL (state and S256 challenge) and the cookie to set."""
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # 64 characters: RFC 7636 asks 43 to 128
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": settings.redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return HostedStart(f"{settings.hosted_domain}/oauth2/authorize?{query}", f"{state}.{verifier}")


Post = Callable[[str, bytes, dict[str, str]], dict[str, Any]]


def _post_form(url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - https URL from settings
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def exchange_code(
    settings: ConsoleSettings, code: str, state: str, pkce_cookie: str | None, post: Post = _post_form
) -> str:
    """Check `state` against the cookie, trade the code (with the verifier); return the ID token.

    Raises SignInError when the state does not match, the cookie is missing, or Cognito refuses.
    """
    expected, _, verifier = (pkce_cookie or "").partition(".")
    if not expected or not verifier or not hmac.compare_digest(expected, state):
        raise SignInError("El inicio de sesión no es válido o venció. Intente nuevamente.")
    body = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "client_id": settings.client_id,
            "code": code,
            "redirect_uri": settings.redirect_uri,
            "code_verifier": verifier,
        }
    ).encode()
    try:
        answer = post(
            f"{settings.hosted_domain}/oauth2/token", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        return str(answer["id_token"])
    except Exception as exc:
        raise SignInError("No pudimos completar el inicio de sesión. Intente nuevamente.") from exc


def logout_url(settings: ConsoleSettings, signed_out: str) -> str | None:
    """Cognito's /logout (ends the hosted UI's own session too); None locally."""
    if settings.local or not settings.hosted_domain:
        return None
    query = urllib.parse.urlencode({"client_id": settings.client_id, "logout_uri": signed_out})
    return f"{settings.hosted_domain}/logout?{query}"
