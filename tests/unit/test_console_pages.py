"""Console pages under `chalice.test.Client` (in-memory container): sign-in, session, roles, CSRF.

The hosted UI's token endpoint is a small HTTP server on loopback started here: it checks the
PKCE verifier against the challenge the console sent and answers with a signed ID token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from tests.unit.api_harness import CLIENT_ID, Api, api, mint
from tests.unit.test_tasks_service import open_
from ventas.console import session
from ventas.container import Container
from ventas.domain.models import Lead
from ventas.domain.tasks import TaskKind
from ventas.services import closing, intake

__all__ = ["api"]
SECRET = "unit-console-secret-0123456789abcdef"


class TokenEndpoint(BaseHTTPRequestHandler):
    challenges: ClassVar[dict[str, str]] = {}  # code -> S256 challenge the console sent for it
    answer: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:
        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        ok = (
            self.path == "/oauth2/token"
            and form.get("grant_type") == "authorization_code"
            and form.get("client_id") == CLIENT_ID
            and self.challenges.get(form.get("code", "")) == base64.urlsafe_b64encode(digest).decode().rstrip("=")
        )
        body = json.dumps(self.answer if ok else {"error": "invalid_grant"}).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hosted(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    domain = f"http://127.0.0.1:{server.server_address[1]}"
    yield domain
    server.shutdown()
    server.server_close()


@pytest.fixture
def console(api: Api, hosted: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    from chalicelib import console_http

    monkeypatch.setenv("VD_CONSOLE_SIGNIN", "hosted")
    monkeypatch.setenv("VD_CONSOLE_SECRET", SECRET)
    monkeypatch.setenv("VD_CONSOLE_HOSTED_DOMAIN", hosted)
    monkeypatch.setenv("VD_CONSOLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("VD_CONSOLE_REDIRECT_URI", "https://ventas.example/console/auth/callback")
    console_http.console_settings.cache_clear()
    yield api
    console_http.console_settings.cache_clear()


def cookies_of(response: Any) -> dict[str, str]:
    """Set-Cookie values by cookie name."""
    raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    values = raw if isinstance(raw, list) else [raw]
    return {v.split("=", 1)[0]: v for v in values}


def get(api: Api, path: str, token: str | None = None, **headers: str) -> Any:
    sent = {"Host": "ventas.example", **headers}
    if token:
        sent["Cookie"] = f"{session.SESSION_COOKIE}={token}"
    return api.client.http.get(path, headers=sent)


def post(api: Api, path: str, form: dict[str, str], token: str | None = None, **headers: str) -> Any:
    sent = {"Host": "ventas.example", "Content-Type": "application/x-www-form-urlencoded", **headers}
    if token:
        sent["Cookie"] = f"{session.SESSION_COOKIE}={token}"
    return api.client.http.post(path, headers=sent, body=urllib.parse.urlencode(form).encode())


def test_hosted_sign_in_is_code_with_pkce_and_the_token_lands_only_in_a_strict_cookie(console: Api) -> None:
    start = get(console, "/console/signin")
    assert start.status_code == 303
    target = urllib.parse.urlsplit(start.headers["Location"])
    query = dict(urllib.parse.parse_qsl(target.query))
    assert target.path == "/oauth2/authorize"
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    pkce = cookies_of(start)[session.PKCE_COOKIE]
    assert "HttpOnly" in pkce
    assert "Secure" in pkce
    assert "SameSite=Lax" in pkce  # must come back on the hosted UI's top-level redirect
    TokenEndpoint.challenges["code-1"] = query["code_challenge"]
    TokenEndpoint.answer = {"id_token": mint("agente.ana", ["agent"]), "token_type": "Bearer"}
    pkce_value = pkce.split(";", 1)[0].split("=", 1)[1]

    wrong = get(console, "/console/auth/callback?code=code-1&state=other", Cookie=f"vd_pkce={pkce_value}")
    assert wrong.status_code == 401
    assert session.SESSION_COOKIE not in cookies_of(wrong)

    done = get(console, f"/console/auth/callback?code=code-1&state={query['state']}", Cookie=f"vd_pkce={pkce_value}")
    assert done.status_code == 200
    cookie = cookies_of(done)[session.SESSION_COOKIE]
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict"):
        assert attribute in cookie
    assert "Location" not in done.headers  # the token is never in a URL
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert get(console, "/console/inbox", token).status_code == 200


def test_a_forged_code_or_a_missing_verifier_signs_nobody_in(console: Api) -> None:
    TokenEndpoint.challenges["code-2"] = "not-the-challenge"
    answer = get(console, "/console/auth/callback?code=code-2&state=s1", Cookie="vd_pkce=s1.some-verifier")
    assert answer.status_code == 401
    assert "No pudimos completar el inicio de sesión" in answer.body.decode()
    assert get(console, "/console/auth/callback?code=code-2&state=s1").status_code == 401


def test_pages_enforce_roles_and_redirect_without_a_session(console: Api) -> None:
    assert get(console, "/console/inbox").status_code == 303
    polled = get(console, "/console/inbox/rows", **{"HX-Request": "true"})  # the inbox's polling, signed out
    assert polled.status_code == 200
    assert polled.headers["HX-Redirect"] == "/console/signin"
    supervisor = mint("supervisora.eva", ["supervisor"])
    assert get(console, "/console/inbox", supervisor).status_code == 403
    assert get(console, "/console/ops", supervisor).status_code == 403
    assert get(console, "/console/supervisor", supervisor).status_code == 200
    expired = mint("agente.ana", ["agent"], expires_in=-120)
    assert get(console, "/console/inbox", expired).status_code == 303
    page = get(console, "/console/supervisor", supervisor)
    csp = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp


def test_the_hosted_clients_tokens_are_accepted_on_console_pages_only(
    console: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In AWS the hosted-UI client's id reaches the function in the console's secret, not in
    VD_AUTH_CLIENT_IDS (infra/api.yaml): the console accepts its ID tokens, the JSON API does not."""
    from chalicelib import console_http

    monkeypatch.setenv("VD_CONSOLE_CLIENT_ID", "hosted-client")
    console_http.console_settings.cache_clear()
    hosted = mint("agente.ana", ["agent"], audience="hosted-client")
    assert get(console, "/console/inbox", hosted).status_code == 200
    assert get(console, "/console/inbox", mint("agente.ana", ["agent"])).status_code == 200  # listed client
    assert get(console, "/console/inbox", mint("agente.ana", ["agent"], audience="stranger")).status_code == 303
    api_call = console.call("GET", "/v1/tasks", headers={"Authorization": f"Bearer {hosted}"})
    assert api_call.status_code == 401


def test_state_changing_forms_need_the_sessions_csrf_token_and_this_origin(console: Api, deps: Container) -> None:
    request_id = intake.submit_lead(deps, Lead(channel="web", channel_lead_id="w-c", phone="+59171234568")).request_id
    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    agent = mint("agente.ana", ["agent"])
    path = f"/console/tasks/{task.task_id}/claim"
    assert post(console, path, {}, agent).status_code == 403
    assert post(console, path, {"csrf": "forged"}, agent).status_code == 403
    other = session.csrf_token(session.ConsoleSettings(secret=SECRET), mint("agente.ana", ["agent"], expires_in=60))
    assert post(console, path, {"csrf": other}, agent).status_code == 403  # another session's token
    good = session.csrf_token(session.ConsoleSettings(secret=SECRET), agent)
    assert post(console, path, {"csrf": good}, agent, Origin="https://evil.example").status_code == 403
    assert deps.tasks.get(task.task_id).assignee is None  # nothing changed
    assert post(console, path, {"csrf": good}, agent, Origin="https://ventas.example").status_code == 303
    assert deps.tasks.get(task.task_id).assignee == "agente.ana"


def test_the_task_form_answers_in_spanish_beside_each_field(console: Api, deps: Container) -> None:
    request_id = intake.submit_lead(deps, Lead(channel="web", channel_lead_id="w-f", phone="+59171234569")).request_id
    task = open_(deps, request_id, TaskKind.QC_CALL)
    agent = mint("agente.ana", ["agent"])
    csrf = session.csrf_token(session.ConsoleSettings(secret=SECRET), agent)
    answer = post(console, f"/console/tasks/{task.task_id}/complete", {"csrf": csrf, "satisfaction": "9"}, agent)
    assert answer.status_code == 422
    html = answer.body.decode()
    assert 'id="err-satisfaction">El valor es mayor que el permitido.' in html
    assert 'id="err-comment">Este dato es obligatorio.' in html
    assert deps.tasks.get(task.task_id).status == "open"


def test_an_unconfigured_console_says_so_and_the_api_still_answers(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import console_http

    monkeypatch.delenv("VD_CONSOLE_SECRET", raising=False)
    console_http.console_settings.cache_clear()
    try:
        answer = get(api, "/console/inbox")
        assert answer.status_code == 503
        assert "no está configurada" in answer.body.decode()
        assert api.call("GET", "/v1/health").status_code == 200
    finally:
        console_http.console_settings.cache_clear()


def test_assets_are_served_pinned_and_nothing_else_is(console: Api) -> None:
    htmx = get(console, "/console/static/htmx-2.0.7.min.js")
    assert htmx.status_code == 200
    assert "immutable" in htmx.headers["Cache-Control"]
    assert get(console, "/console/static/htmx-LICENSE.txt").status_code == 200
    for name in ("..%2Fsession.py", "session.py", ".hidden.js", "nope.js"):
        assert get(console, f"/console/static/{name}").status_code == 404, name


# Every console route and who may use it (None: no session needed). A new route fails the test
# until it is listed here, with the roles the server must enforce.
AGENT, SUPERVISOR, OPS = "agent", "supervisor", "ops"
EVERYONE = frozenset({AGENT, SUPERVISOR, OPS})
CONSOLE_ROLES: dict[tuple[str, str], frozenset[str] | None] = {
    ("/console", "GET"): None,
    ("/console/signin", "GET"): None,
    ("/console/signin", "POST"): None,
    ("/console/auth/callback", "GET"): None,
    ("/console/static/{name}", "GET"): None,
    ("/console/signout", "POST"): EVERYONE,
    ("/console/inbox", "GET"): frozenset({AGENT}),
    ("/console/inbox/rows", "GET"): frozenset({AGENT}),
    ("/console/tasks/{task_id}", "GET"): frozenset({AGENT}),
    ("/console/tasks/{task_id}/claim", "POST"): frozenset({AGENT}),
    ("/console/tasks/{task_id}/release", "POST"): frozenset({AGENT}),
    ("/console/tasks/{task_id}/complete", "POST"): frozenset({AGENT}),
    ("/console/tasks/{task_id}/document", "GET"): frozenset({AGENT}),
    ("/console/requests/{request_id}", "GET"): EVERYONE,
    ("/console/requests/{request_id}/solicitud.pdf", "GET"): EVERYONE,
    ("/console/requests/{request_id}/requisitos.pdf", "GET"): EVERYONE,
    ("/console/requests/{request_id}/contract", "POST"): frozenset({AGENT}),
    ("/console/supervisor", "GET"): frozenset({SUPERVISOR}),
    ("/console/supervisor/export.csv", "GET"): frozenset({SUPERVISOR}),
    ("/console/ops", "GET"): frozenset({OPS}),
    ("/console/ops/export.csv", "GET"): frozenset({OPS}),
    ("/console/ops/requests/{request_id}", "GET"): frozenset({OPS}),
    ("/console/ops/requests/{request_id}/redrive", "POST"): frozenset({OPS}),
    ("/console/local", "GET"): EVERYONE,
    ("/console/local/lead", "POST"): EVERYONE,
    ("/console/local/whatsapp", "POST"): EVERYONE,
    ("/console/local/installation", "POST"): EVERYONE,
}
SAMPLE = {"{task_id}": "tk-0000000000000000", "{request_id}": "vd-20261130-0000000000", "{name}": "console.css"}


def test_every_console_route_enforces_its_roles_on_the_server(console: Api) -> None:
    from devstack.api_server import load_app

    registered = {(p, m) for p, methods in load_app().routes.items() if p.startswith("/console") for m in methods}
    assert registered == set(CONSOLE_ROLES)
    for (path, method), allowed in CONSOLE_ROLES.items():
        if allowed is None:
            continue
        concrete = path
        for name, value in SAMPLE.items():
            concrete = concrete.replace(name, value)
        for role in EVERYONE:
            token = mint(f"user.{role}", [role])
            if method == "GET":
                answer = get(console, concrete, token)
            else:
                csrf = session.csrf_token(session.ConsoleSettings(secret=SECRET), token)
                answer = post(console, concrete, {"csrf": csrf}, token)
            refused = answer.status_code == 403
            assert refused == (role not in allowed), (method, path, role, answer.status_code)


def test_states_read_in_spanish_on_the_task_and_request_pages(console: Api, deps: Container) -> None:
    """Agents read 'en curso' and 'tomada', never the TMF622 or task status codes."""
    request_id = intake.submit_lead(deps, Lead(channel="web", channel_lead_id="w-s", phone="+59171234570")).request_id
    task = open_(deps, request_id, TaskKind.IDENTIFICATION)
    agent = mint("agente.ana", ["agent"])
    csrf = session.csrf_token(session.ConsoleSettings(secret=SECRET), agent)
    assert post(console, f"/console/tasks/{task.task_id}/claim", {"csrf": csrf}, agent).status_code == 303
    task_page = get(console, f"/console/tasks/{task.task_id}", agent).body.decode()
    assert "(tomada)" in task_page
    assert "(claimed)" not in task_page
    request_page = get(console, f"/console/requests/{request_id}", agent).body.decode()
    state = request_page.split('id="state">', 1)[1].split("<", 1)[0]
    assert state.startswith("en curso") or state.startswith("recibida"), state


def test_the_local_sign_in_page_shows_no_text_from_its_url(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link cannot make the sign-in page say what an attacker wants ("llame al ...")."""
    from chalicelib import console_http

    monkeypatch.setenv("VD_CONSOLE_SIGNIN", "local")
    monkeypatch.setenv("VD_CONSOLE_SECRET", SECRET)
    monkeypatch.setenv("VD_CONSOLE_DEV_USERS", json.dumps({"agente.ana": {"role": "agent", "password": "x"}}))
    console_http.console_settings.cache_clear()
    try:
        page = get(api, "/console/signin?m=Su%20cuenta%20fue%20bloqueada.%20Llame%20al%20555-1234", Host="127.0.0.1")
        assert page.status_code == 200
        assert "agente.ana" in page.body.decode()
        assert "Llame al 555-1234" not in page.body.decode()
    finally:
        console_http.console_settings.cache_clear()


def test_ops_lists_failed_and_stopped_executions_but_not_abandonments(console: Api, deps: Container) -> None:
    def lead(n: int) -> str:
        return intake.submit_lead(
            deps, Lead(channel="web", channel_lead_id=f"w-ops-{n}", phone=f"+5917123456{n}")
        ).request_id

    stopped, failed, abandoned = lead(1), lead(2), lead(3)
    closing.execution_ended(deps, stopped, "ABORTED", "parada por operaciones")
    closing.execution_ended(deps, failed, "FAILED", "States.Runtime")
    closing.abandon(deps, abandoned, "States.Timeout")
    page = get(console, "/console/ops", mint("ops.olga", ["ops"]))
    assert page.status_code == 200
    listed = page.body.decode().split('id="failed"', 1)[1].split("</ul>", 1)[0]
    assert stopped in listed
    assert failed in listed
    assert abandoned not in listed
