"""Customer messages through the WhatsApp Cloud API, against a real HTTP server on loopback.

The server stands for graph.facebook.com: it records each request and answers as scripted
(Meta's success and error shapes), so the adapter's own HTTP stack, timeouts included, runs.
"""

from __future__ import annotations

import ast
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ventas import bootstrap
from ventas.adapters import reference, whatsapp
from ventas.adapters.memory import InMemoryRequestRepository
from ventas.adapters.whatsapp import CloudApiNotifier
from ventas.config import Settings, parse_whatsapp_templates
from ventas.domain.errors import MessageWindowClosed, NotifierUnavailable, WhatsAppRejected
from ventas.domain.messages import MESSAGE_TEMPLATES

PHONE_NUMBER_ID = "106540352242922"
PHONE = "+59171234567"
TEXT = "Su solicitud de Internet Hogar 100 Mbps ha sido efectuada con el número SF-2026-000001."
WAMID = "wamid.HBgLNTkxNzEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
SERVICES = Path(__file__).resolve().parents[2] / "src" / "ventas" / "services"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # JSON; None: Meta's success answer with WAMID
    delay_s: float = 0.0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any


class FakeGraph:
    """graph.facebook.com on 127.0.0.1, any free port; answers in order, then successes."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                headers = {name.lower(): value for name, value in self.headers.items()}
                graph.seen.append(Seen("POST", self.path, headers, body))
                answer = graph.answers.pop(0) if graph.answers else Answer()
                if answer.delay_s:
                    graph.stopping.wait(answer.delay_s)  # ends early when the server stops
                payload = answer.body
                if payload is None:
                    payload = {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                        "messages": [{"id": WAMID}],
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll keeps shutdown() quick at the end of every test.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeGraph:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        yield fake


def notifier(graph: FakeGraph, **kwargs: Any) -> CloudApiNotifier:
    kwargs.setdefault("access_token", lambda: "test-token")
    return CloudApiNotifier(PHONE_NUMBER_ID, base_url=graph.url, **kwargs)


def meta_error(code: int, message: str = "error", details: str = "details") -> dict[str, Any]:
    """Meta's error envelope (Graph API error handling)."""
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }


# --- the request and its answer ---------------------------------------------------------------


def test_a_text_is_posted_to_the_numbers_messages_endpoint_and_the_wamid_returned(graph: FakeGraph) -> None:
    assert notifier(graph).send("req-1", PHONE, "sale_done", TEXT) == WAMID
    (seen,) = graph.seen
    assert (seen.method, seen.path) == ("POST", f"/v21.0/{PHONE_NUMBER_ID}/messages")
    assert seen.headers["authorization"] == "Bearer test-token"
    assert seen.headers["content-type"].startswith("application/json")
    assert seen.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "59171234567",  # E.164 without "+"
        "type": "text",
        "text": {"preview_url": False, "body": TEXT},
    }


def test_a_mapped_message_goes_as_its_approved_template_with_the_text_on_one_line(graph: FakeGraph) -> None:
    templates = parse_whatsapp_templates("requirements_request=vd_requisitos,rejection=vd_rechazo:es_MX")
    sender = notifier(graph, templates=templates)
    text = "Le pedimos enviar los siguientes requisitos:\n• Fotocopia del CI\n•\tFactura de luz     reciente"
    assert sender.send("req-1", PHONE, "requirements_request", text) == WAMID
    sender.send("req-1", PHONE, "sale_done", TEXT)  # not mapped: free-form text
    template, text_message = graph.seen
    assert template.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "59171234567",
        "type": "template",
        "template": {
            "name": "vd_requisitos",
            "language": {"code": "es"},
            "components": [
                {
                    "type": "body",
                    # Meta refuses parameters with new lines, tabs or more than four spaces in a row.
                    "parameters": [
                        {
                            "type": "text",
                            "text": "Le pedimos enviar los siguientes requisitos: • Fotocopia del CI • Factura de luz "
                            "reciente",
                        }
                    ],
                }
            ],
        },
    }
    assert text_message.body["type"] == "text"


# --- Meta does not take it now: the workflow may retry ----------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, meta_error(131000, "Something went wrong")),
        (503, meta_error(131016, "Service unavailable")),
        (502, {"unexpected": "gateway page"}),
        (429, meta_error(130429, "Rate limit hit")),
        (400, meta_error(130429, "Rate limit hit")),  # Meta's code decides, whatever the status
        (400, meta_error(131056, "(Business Account, Consumer Account) pair rate limit hit")),
        (400, meta_error(4, "Application request limit reached")),
    ],
)
def test_outages_and_rate_limits_are_back_office_unavailable(graph: FakeGraph, status: int, body: Any) -> None:
    graph.answers.append(Answer(status, body))
    with pytest.raises(NotifierUnavailable, match=f"HTTP {status}"):
        notifier(graph).send("req-1", PHONE, "sale_done", TEXT)
    assert len(graph.seen) == 1  # one attempt: a retried send may duplicate, the workflow decides


def test_a_slow_answer_times_out_as_back_office_unavailable(graph: FakeGraph) -> None:
    graph.answers.append(Answer(delay_s=2.0))
    with pytest.raises(NotifierUnavailable, match="did not answer"):
        notifier(graph, timeout_s=0.2).send("req-1", PHONE, "sale_done", TEXT)


def test_nobody_listening_is_back_office_unavailable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = CloudApiNotifier(PHONE_NUMBER_ID, base_url=f"http://127.0.0.1:{port}", access_token=lambda: "t")
    with pytest.raises(NotifierUnavailable, match="did not answer"):
        sender.send("req-1", PHONE, "sale_done", TEXT)


# --- Meta refuses it: not retried, and no personal data in the error or the logs ---------------


def test_a_refusal_names_metas_code_and_never_the_phone_or_the_text(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    # Meta's free text may echo the input: the adapter must not pass it on.
    graph.answers.append(Answer(400, meta_error(100, f"Invalid parameter {PHONE}", f"body: {TEXT}")))
    with pytest.raises(WhatsAppRejected) as caught:
        notifier(graph).send("req-1", PHONE, "sale_done", TEXT)
    error = caught.value
    assert not isinstance(error, NotifierUnavailable)
    assert (error.status, error.code) == (400, 100)
    assert "Meta error 100" in str(error)
    logged = [repr(vars(record)) for record in caplog.records]
    for place in (str(error), repr(error.__cause__), repr(error.__context__), *logged):
        assert "71234567" not in place
        assert "Internet Hogar" not in place
    assert [getattr(r, "meta_code", None) for r in caplog.records] == [100]  # ops see which refusal it was


@pytest.mark.parametrize(("status", "code"), [(401, 190), (403, 10), (500, 3)])
def test_credential_and_permission_errors_point_at_the_token_and_are_not_retried(
    graph: FakeGraph, status: int, code: int
) -> None:
    graph.answers.append(Answer(status, meta_error(code)))
    with pytest.raises(WhatsAppRejected, match="access token") as caught:
        notifier(graph).send("req-1", PHONE, "sale_done", TEXT)
    assert caught.value.code == code


def test_text_outside_the_24_hour_window_is_message_window_closed(graph: FakeGraph) -> None:
    graph.answers.append(Answer(400, meta_error(131047, "Re-engagement message")))
    with pytest.raises(MessageWindowClosed, match=r"'requirements_request'.*VD_WHATSAPP_TEMPLATES"):
        notifier(graph).send("req-1", PHONE, "requirements_request", "texto")


def test_a_success_without_a_message_id_is_a_contract_error(graph: FakeGraph) -> None:
    graph.answers.append(Answer(200, {"messaging_product": "whatsapp", "messages": []}))
    with pytest.raises(WhatsAppRejected, match="without a message id"):
        notifier(graph).send("req-1", PHONE, "sale_done", TEXT)


def test_an_unset_access_token_stops_before_calling_meta(graph: FakeGraph) -> None:
    for token in ("", "SET-ME"):  # SET-ME: the secret's placeholder until ops put the real one
        with pytest.raises(WhatsAppRejected, match="access token is not set"):
            notifier(graph, access_token=lambda token=token: token).send("req-1", PHONE, "sale_done", TEXT)
    assert graph.seen == []


def test_the_default_token_comes_from_the_whatsapp_credentials(
    graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VD_WHATSAPP_SECRET_ID", raising=False)
    monkeypatch.setenv("VD_WHATSAPP_ACCESS_TOKEN", "from-credentials")
    whatsapp.reset_credentials()
    try:
        CloudApiNotifier(PHONE_NUMBER_ID, base_url=graph.url).send("req-1", PHONE, "sale_done", TEXT)
    finally:
        whatsapp.reset_credentials()
    assert graph.seen[0].headers["authorization"] == "Bearer from-credentials"


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    ["http://graph.facebook.com", "ftp://127.0.0.1", "https://graph.facebook.com?x=1", "https://user@graph.test"],
)
def test_only_https_or_loopback_http_carries_the_token(base_url: str) -> None:
    with pytest.raises(ValueError, match="https"):
        CloudApiNotifier(PHONE_NUMBER_ID, base_url=base_url)


def test_the_number_id_and_the_mapped_messages_are_checked_at_construction() -> None:
    assert CloudApiNotifier(PHONE_NUMBER_ID, base_url="https://graph.facebook.com/")
    with pytest.raises(ValueError, match="numeric"):
        CloudApiNotifier("1065/../me")
    with pytest.raises(ValueError, match="sale_dnoe"):
        CloudApiNotifier(PHONE_NUMBER_ID, templates={"sale_dnoe": ("vd_venta", "es")})


def test_a_recipient_that_is_not_e164_is_refused_without_echoing_it(graph: FakeGraph) -> None:
    with pytest.raises(ValueError, match=r"E\.164") as caught:
        notifier(graph).send("req-1", "0-71234567", "sale_done", TEXT)
    assert "71234567" not in str(caught.value)
    assert graph.seen == []


def test_templates_are_parsed_with_spanish_by_default() -> None:
    assert parse_whatsapp_templates("") == {}
    assert parse_whatsapp_templates(" requirements_request = vd_requisitos , sale_done=vd_venta:es_MX ,") == {
        "requirements_request": ("vd_requisitos", "es"),
        "sale_done": ("vd_venta", "es_MX"),
    }


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("vd_requisitos", "expected"),
        ("sale_done=", "expected"),
        ("sale_done=Vd-Venta", "expected"),
        ("sale_done=vd_venta:spanish", "language code"),
        ("sale_done=a,sale_done=b", "twice"),
    ],
)
def test_a_malformed_template_mapping_fails_at_start_up(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_whatsapp_templates(value)


def test_every_message_template_a_stage_sends_can_be_mapped() -> None:
    """The names VD_WHATSAPP_TEMPLATES accepts are exactly those the services pass to
    `tell_customer`, and only `services.outbound` calls the notifier itself."""
    sent: set[str] = set()
    for path in SERVICES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr == "send":
                direct = ast.unparse(node.func.value).endswith("notifier")
                assert not direct or path.name == "outbound.py", f"{path.name}: send through tell_customer"
            if isinstance(node.func, ast.Name) and node.func.id == "tell_customer":
                template = node.args[2]  # tell_customer(deps, request, kind, text)
                assert isinstance(template, ast.Constant), f"{path.name}: a computed template name"
                sent.add(template.value)
    assert sent == MESSAGE_TEMPLATES


# --- selection by the composition root ----------------------------------------------------------


@pytest.mark.parametrize("backoffice", ["reference", "http"])
def test_the_composition_root_picks_whatsapp_only_when_a_number_is_configured(backoffice: Any) -> None:
    local = bootstrap.build(Settings(backoffice=backoffice), requests=InMemoryRequestRepository())
    assert isinstance(local.notifier, reference.OutboxNotifier)
    settings = Settings(
        backoffice=backoffice,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_templates={"requirements_request": ("vd_requisitos", "es")},
    )
    deps = bootstrap.build(settings, requests=InMemoryRequestRepository())
    assert isinstance(deps.notifier, CloudApiNotifier)
    assert deps.notifier._templates == {"requirements_request": ("vd_requisitos", "es")}


def test_settings_read_the_number_and_the_templates_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VD_WHATSAPP_PHONE_NUMBER_ID", raising=False)
    monkeypatch.delenv("VD_WHATSAPP_TEMPLATES", raising=False)
    assert (Settings.from_env().whatsapp_phone_number_id, Settings.from_env().whatsapp_templates) == ("", {})
    monkeypatch.setenv("VD_WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID)
    monkeypatch.setenv("VD_WHATSAPP_TEMPLATES", "rejection=vd_rechazo")
    settings = Settings.from_env()
    assert settings.whatsapp_phone_number_id == PHONE_NUMBER_ID
    assert settings.whatsapp_templates == {"rejection": ("vd_rechazo", "es")}
