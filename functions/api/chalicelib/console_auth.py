"""Console sign-in and sign-out, the landing page, and the console's static assets."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.console_http import Page, console_settings, page
from ventas.console import session
from ventas.web.auth import Role
from ventas.web.errors import ApiError

bp = Blueprint(__name__)

HOME = {Role.AGENT: "/console/inbox", Role.SUPERVISOR: "/console/supervisor", Role.OPS: "/console/ops"}
ROLE_LABELS = {
    "agent": "Agente de Ventas Digitales",
    "supervisor": "Responsable Equipo Centro de Llamadas",
    "ops": "Operaciones",
}
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


@functools.cache
def _idp() -> Any:
    import boto3

    s = console_settings()
    return boto3.client("cognito-idp", endpoint_url=s.idp_endpoint or None, region_name=s.pool_id.split("_")[0] or None)


def _home(call: Page) -> str:
    assert call.principal is not None
    for role, path in HOME.items():
        if role in call.principal.roles:
            return path
    return "/console/signin"


@page(bp, "/console", roles=None)
def landing(call: Page) -> Response:
    return call.redirect(_home(call) if call.principal else "/console/signin")


@page(bp, "/console/signin", roles=None)
def signin(call: Page) -> Response:
    s = call.settings
    if not s.local:
        start = session.start_hosted(s)
        call.cookies.append(session.cookie(session.PKCE_COOKIE, start.cookie_value, s, call.host, 600, "Lax"))
        response = call.respond("", 303)
        response.headers["Location"] = start.authorize_url
        return response
    pre = session.new_pre_session()
    call.cookies.append(session.cookie(session.PRE_COOKIE, pre, s, call.host, 1800))
    call.csrf = session.csrf_token(s, pre)
    users: dict[str, list[str]] = {}
    for user in s.dev_users:
        users.setdefault(user.role, []).append(user.username)
    groups = [(ROLE_LABELS.get(role, role), names) for role, names in sorted(users.items())]
    return call.render("signin.html", title="Iniciar sesión", groups=groups)


@page(bp, "/console/signin", roles=None, methods=("POST",), csrf="pre")
def signin_local(call: Page) -> Response:
    s = call.settings
    try:
        token = session.local_sign_in(s, call.form.get("username", ""), _idp())
    except session.SignInError as exc:
        raise ApiError(401, "unauthenticated", str(exc)) from None
    call.cookies.append(session.cookie(session.SESSION_COOKIE, token, s, call.host, session.SESSION_SECONDS))
    call.cookies.append(session.clear(session.PRE_COOKIE, s, call.host))
    return call.redirect("/console")


@page(bp, "/console/auth/callback", roles=None)
def callback(call: Page) -> Response:
    """Hosted UI's redirect: code + state; the PKCE verifier comes from our own cookie."""
    s = call.settings
    jar = session.read_cookies(call.headers)
    try:
        token = session.exchange_code(
            s, call.query.get("code", ""), call.query.get("state", ""), jar.get(session.PKCE_COOKIE)
        )
    except session.SignInError as exc:
        raise ApiError(401, "unauthenticated", str(exc)) from None
    call.cookies.append(session.cookie(session.SESSION_COOKIE, token, s, call.host, session.SESSION_SECONDS))
    call.cookies.append(session.clear(session.PKCE_COOKIE, s, call.host))
    # A page, not a redirect: the next request then starts from this site, so the browser
    # sends the SameSite=Strict session cookie (a redirect chain begun cross-site would not).
    return call.render("callback.html", title="Sesión iniciada")


@page(bp, "/console/signout", methods=("POST",))
def signout(call: Page) -> Response:
    s = call.settings
    call.cookies.append(session.clear(session.SESSION_COOKIE, s, call.host))
    target = session.logout_url(s, s.redirect_uri.rsplit("/console/", 1)[0] + "/console/signin")
    if target is None:
        return call.redirect("/console/signin")
    response = call.respond("", 303)
    response.headers["Location"] = target
    return response


_ASSETS = resources.files("ventas.console") / "static"


@bp.route("/console/static/{name}", methods=["GET"])
def static(name: str) -> Response:
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    asset = _ASSETS / name
    if suffix not in STATIC_TYPES or "/" in name or name.startswith(".") or not asset.is_file():
        return Response(body="No encontrado", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})
    immutable = name.startswith("htmx-")  # versioned file name
    headers: dict[str, str | list[str]] = {
        "Content-Security-Policy": "default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Content-Type": STATIC_TYPES[suffix],
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "public, max-age=300",
    }
    return Response(body=asset.read_text(encoding="utf-8"), status_code=200, headers=headers)
