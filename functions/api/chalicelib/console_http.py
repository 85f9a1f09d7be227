"""Chalice glue for the console's pages: session cookie, role, CSRF, security headers, errors.

Each page view receives a `Page` and returns a `Response` (usually `page.render(...)`). Around it:
the session cookie is verified exactly as a bearer token is (`chalicelib.http.authenticator`),
the role is enforced, a POST must carry the CSRF token of its session and come from this
origin, and any error becomes a Spanish error page with the API's status.
"""

from __future__ import annotations

import functools
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.http import _check_params, authenticator
from ventas.console import session
from ventas.console.render import navigation, render
from ventas.console.settings import ConsoleSettings
from ventas.domain.execution_graph import scrub
from ventas.observability import logger
from ventas.web.auth import PEOPLE, Principal, Role, authorize
from ventas.web.errors import FRAMEWORK, ApiError, from_exception

FORM = "application/x-www-form-urlencoded"


@functools.cache
def console_settings() -> ConsoleSettings:
    return ConsoleSettings.from_env()


def security_headers(settings: ConsoleSettings) -> dict[str, str]:
    images = " ".join(filter(None, ["'self'", "data:", settings.tiles_origin]))
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


@dataclass
class Page:
    principal: Principal | None
    params: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    headers: Mapping[str, str]
    settings: ConsoleSettings
    csrf: str = ""
    cookies: list[str] = field(default_factory=list)

    @property
    def user(self) -> str:
        assert self.principal is not None
        return self.principal.subject

    @property
    def host(self) -> str | None:
        return self.headers.get("host")

    @property
    def htmx(self) -> bool:
        return self.headers.get("hx-request") == "true"

    def has(self, role: Role) -> bool:
        return self.principal is not None and role in self.principal.roles

    def link(self, path: str) -> str:
        return self.settings.base_path + path

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        roles = self.principal.roles if self.principal else frozenset()
        body = render(
            template,
            base=self.settings.base_path,
            user=self.principal.subject if self.principal else None,
            roles=sorted(r.value for r in roles),
            nav=navigation(roles, self.settings.local),
            csrf=self.csrf,
            local=self.settings.local,
            **context,
        )
        return self.respond(body, status, "text/html; charset=utf-8")

    def respond(self, body: str | bytes, status: int = 200, content_type: str = "text/html; charset=utf-8") -> Response:
        headers: dict[str, str | list[str]] = {**security_headers(self.settings), "Content-Type": content_type}
        if self.cookies:
            headers["Set-Cookie"] = list(self.cookies)
        return Response(body=body, status_code=status, headers=headers)

    def redirect(self, path: str, status: int = 303) -> Response:
        """To a console path (never a URL given by the client: no open redirect)."""
        if self.htmx:  # an XHR would follow a 303 silently: htmx navigates on HX-Redirect instead
            response = self.respond("", 200)
            response.headers["HX-Redirect"] = self.link(path)
            return response
        response = self.respond("", status)
        response.headers["Location"] = self.link(path)
        return response


def _form(raw: bytes) -> dict[str, str]:
    parsed = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=100)
    return {name: values[-1] for name, values in parsed.items()}


def _same_origin(headers: Mapping[str, str]) -> bool:
    """Browsers send Origin on POST; a cross-site one (or Sec-Fetch-Site) is refused."""
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urllib.parse.urlsplit(origin).netloc == headers.get("host")


def principal_of(token: str | None, client_id: str = "") -> Principal | None:
    """The session's person, or None when there is no valid session (expired, forged).

    `client_id`: the console's app client, whose ID tokens are accepted here (its pages) even
    when VD_AUTH_CLIENT_IDS does not list it (AWS: it reaches the function in a secret).
    """
    if not token:
        return None
    try:
        return authenticator().accepting(client_id).authenticate({"authorization": f"Bearer {token}"}, {})
    except ApiError as exc:
        if exc.status == 401:
            return None
        raise


def error_page(page: Page, error: ApiError) -> Response:
    return page.render("error.html", status=error.status, error=error, title="No se pudo completar")


def page(
    bp: Blueprint,
    path: str,
    roles: Iterable[Role] | None = PEOPLE,
    methods: tuple[str, ...] = ("GET",),
    csrf: str = "session",
) -> Callable[[Callable[[Page], Response]], Callable[[Page], Response]]:
    """Register a console page. `roles=None`: public. `csrf`: "session" or "pre" (sign-in forms)."""
    allowed = frozenset(roles) if roles is not None else None

    def decorate(view: Callable[[Page], Response]) -> Callable[[Page], Response]:
        def handle(**params: str) -> Response:
            started = time.perf_counter()
            request = bp.current_request
            assert request is not None
            try:
                settings = console_settings()
            except ValueError:
                logger.error("console not configured", extra={"page": path})
                return Response(
                    body="La consola no está configurada en este entorno (VD_CONSOLE_*).",
                    status_code=503,
                    headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
                )
            headers = request.headers
            cookies = session.read_cookies(headers)
            query = dict((request.query_params or {}).items())
            raw = request.raw_body or b""
            call = Page(None, dict(params), query, {}, headers, settings)
            try:
                _check_params(params)
                call.principal = principal_of(cookies.get(session.SESSION_COOKIE), settings.client_id)
                if call.principal is not None:
                    call.csrf = session.csrf_token(settings, cookies[session.SESSION_COOKIE])
                if allowed is not None:
                    if call.principal is None:
                        return call.redirect("/console/signin")
                    authorize(call.principal, allowed)
                if request.method == "POST":
                    call.form = _form(raw if isinstance(raw, bytes) else raw.encode())
                    anchor = cookies.get(session.SESSION_COOKIE if csrf == "session" else session.PRE_COOKIE)
                    if not _same_origin(headers) or not session.csrf_valid(settings, anchor, call.form.get("csrf")):
                        raise ApiError(
                            403, "csrf", "El formulario venció o no proviene de esta consola. Recargue la página."
                        )
                response = view(call)
            except Exception as exc:
                error = from_exception(exc)
                if error is None:
                    logger.error(
                        "console error",
                        extra={
                            "page": path,
                            "error": type(exc).__name__,
                            "detail": scrub(str(exc)),
                            "frames": traceback.format_tb(exc.__traceback__)[-5:],
                        },
                    )
                    error = ApiError(500, *FRAMEWORK[500])
                response = error_page(call, error)
            logger.info(
                "console page",
                extra={
                    "page": path,
                    "status": response.status_code,
                    "ms": round(1000 * (time.perf_counter() - started), 1),
                },
            )
            return response

        handle.__name__ = view.__name__
        content_types = [FORM] if "POST" in methods else ["application/json"]
        bp.route(path, methods=list(methods), content_types=content_types)(handle)
        return view

    return decorate
