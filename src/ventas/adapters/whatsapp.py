"""WhatsApp Business (Cloud API): credentials, media download and customer messages.

Production: the webhook hands over media ids; content is two Graph API calls away
(`GET /{media-id}` for a short-lived URL, then `GET <url>`), both with the access token.
Locally (and in tests) `LocalMediaSource` returns deterministic bytes, so nothing touches the
network. Customer messages leave through `CloudApiNotifier` when VD_WHATSAPP_PHONE_NUMBER_ID is
set (ventas.bootstrap); without it they stay in `reference.OutboxNotifier`.

Credentials come from one Secrets Manager secret (JSON with `app_secret`, `verify_token`,
`access_token`) named by `VD_WHATSAPP_SECRET_ID`, or, for local runs, from the variables
`VD_WHATSAPP_APP_SECRET`, `VD_WHATSAPP_VERIFY_TOKEN`, `VD_WHATSAPP_ACCESS_TOKEN`.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ventas.domain.errors import BackOfficeUnavailable, MessageWindowClosed, NotifierUnavailable, WhatsAppRejected
from ventas.domain.messages import MESSAGE_TEMPLATES
from ventas.observability import logger

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # Cloud API's own limit for documents is 100 MB; ours for requirements
TIMEOUT_SECONDS = 10
# Per connect and per read. The sale stage waits on Smartflex (10 s budget) before it sends,
# inside a 20 s Lambda timeout.
SEND_TIMEOUT_SECONDS: Final = 5.0
MAX_ANSWER_BYTES: Final = 64 * 1024  # a send answer is a few hundred bytes

# Meta error codes (developers.facebook.com, WhatsApp > Support > Error codes) that mean "later",
# whatever the HTTP status: unknown/service errors, throughput and pair rate limits, downtime.
TRANSIENT_CODES: Final = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
# Token and permission errors are misconfigurations even when Meta answers them with a 5xx (code 3).
PERMISSION_CODES: Final = frozenset({0, 3, 10, 190, *range(200, 300)})
WINDOW_CLOSED: Final = 131047
_E164_DIGITS: Final = re.compile(r"[1-9][0-9]{6,14}")
_UNSET: Final = frozenset({"", "SET-ME"})  # the secret's placeholder (infra/template.yaml)


@dataclass(frozen=True)
class WhatsAppCredentials:
    app_secret: str
    verify_token: str
    access_token: str = ""

    @classmethod
    def from_env(cls, secrets_client: Any | None = None) -> WhatsAppCredentials:
        secret_id = os.environ.get("VD_WHATSAPP_SECRET_ID", "")
        if secret_id:
            import boto3

            client = secrets_client or boto3.client("secretsmanager")
            values = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
            return cls(values["app_secret"], values["verify_token"], values.get("access_token", ""))
        return cls(
            os.environ.get("VD_WHATSAPP_APP_SECRET", ""),
            os.environ.get("VD_WHATSAPP_VERIFY_TOKEN", ""),
            os.environ.get("VD_WHATSAPP_ACCESS_TOKEN", ""),
        )


_credentials: WhatsAppCredentials | None = None
_credentials_lock = threading.Lock()


def credentials() -> WhatsAppCredentials:
    """Read once per container, on first use (never at import)."""
    global _credentials
    if _credentials is None:
        with _credentials_lock:
            if _credentials is None:
                _credentials = WhatsAppCredentials.from_env()
    return _credentials


def reset_credentials() -> None:
    """Forget the cached credentials (the local stack sets its own at start)."""
    global _credentials
    _credentials = None


class GraphMediaSource:
    """Downloads media from the Graph API. Faults become `BackOfficeUnavailable` (Meta retries)."""

    def __init__(
        self,
        access_token: Callable[[], str] = lambda: credentials().access_token,
        version: str = GRAPH_VERSION,
        base_url: str = GRAPH_URL,
        opener: Callable[..., Any] = urllib.request.urlopen,
    ) -> None:
        self._token = access_token
        self._version = version
        self._base = base_url.rstrip("/")
        self._open = opener

    def _get(self, url: str) -> bytes:
        if not url.startswith("https://"):
            raise BackOfficeUnavailable("media URL is not https")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._token()}"})  # noqa: S310
        try:
            with self._open(request, timeout=TIMEOUT_SECONDS) as response:
                body: bytes = response.read(MAX_MEDIA_BYTES + 1)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise BackOfficeUnavailable(f"WhatsApp media download failed: {type(exc).__name__}") from exc
        if len(body) > MAX_MEDIA_BYTES:
            raise ValueError("media larger than the accepted maximum")
        return body

    def fetch(self, media_id: str) -> bytes:
        media = urllib.parse.quote(media_id, safe="")
        meta = json.loads(self._get(f"{self._base}/{self._version}/{media}"))
        return self._get(str(meta["url"]))


class CloudApiNotifier:
    """Customer messages through the Cloud API: `POST /<version>/<phone-number-id>/messages`.

    Meta's 24-hour customer-service window: free-form text is accepted only within 24 hours of the
    customer's last message to the number. Outside it Meta wants an approved template and refuses
    text with error 131047 (`MessageWindowClosed`), synchronously or later as a failed status on
    the webhook. Most messages here start the conversation (a lead from the IVR or the web, a
    reminder two days on), so `templates` maps a message template to an approved (name, language)
    whose body has one parameter: the text, on one line (Meta refuses parameters with new lines,
    tabs or more than four spaces in a row).

    `send` makes one attempt and returns the wamid. Meta silent, a timeout, 5xx, 429 or a
    rate-limit code: `NotifierUnavailable`, which every notifying state of the ASL retries.
    Any other refusal: `WhatsAppRejected` with Meta's error code. The phone, the text and the
    wamid (it encodes the recipient's number) reach no log line and no error. Stages call it
    through `services.outbound.tell_customer` (once per request and message kind; a refusal
    becomes a `contact_customer` task); a later `failed` status reaches the webhook
    (`services.whatsapp`) and is handled the same way.
    """

    def __init__(
        self,
        phone_number_id: str,
        *,
        templates: Mapping[str, tuple[str, str]] | None = None,
        access_token: Callable[[], str] = lambda: credentials().access_token,
        version: str = GRAPH_VERSION,
        base_url: str = GRAPH_URL,
        timeout_s: float = SEND_TIMEOUT_SECONDS,
        opener: Callable[..., Any] = urllib.request.urlopen,
    ) -> None:
        if not phone_number_id.isdigit():
            raise ValueError("the WhatsApp phone number id is Meta's numeric id (VD_WHATSAPP_PHONE_NUMBER_ID)")
        unknown = sorted(set(templates or {}) - MESSAGE_TEMPLATES)
        if unknown:
            raise ValueError(f"VD_WHATSAPP_TEMPLATES maps unknown message templates {unknown}")
        self._url = f"{_checked_base(base_url)}/{version}/{phone_number_id}/messages"
        self._templates = dict(templates or {})
        self._token = access_token
        self._timeout = timeout_s
        self._open = opener

    def send(self, request_id: str, phone: str, template: str, text: str) -> str:
        # request_id stays here: the stage's log context already carries it.
        token = self._token()
        if token in _UNSET:
            raise WhatsAppRejected("the WhatsApp access token is not set (field access_token of the WhatsApp secret)")
        body = json.dumps(self._message(_recipient(phone), template, text), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - https, or http on loopback only (_checked_base)
            self._url,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            with self._open(request, timeout=self._timeout) as response:
                status, answer = response.status, response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:  # before URLError: its subclass, and an answer
            status, answer = exc.code, _error_body(exc)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # TimeoutError is an OSError
            raise NotifierUnavailable(f"WhatsApp did not answer: {type(exc).__name__}") from exc
        if 200 <= status < 300:
            return _message_id(status, answer)
        raise _refusal(status, _error_code(answer), template)

    def _message(self, recipient: str, template: str, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient}
        approved = self._templates.get(template)
        if approved is None:
            return {**message, "type": "text", "text": {"preview_url": False, "body": text}}
        name, language = approved
        parameter = {"type": "text", "text": " ".join(text.split())}
        return {
            **message,
            "type": "template",
            "template": {
                "name": name,
                "language": {"code": language},
                "components": [{"type": "body", "parameters": [parameter]}],
            },
        }


def _checked_base(base_url: str) -> str:
    from ventas.adapters.http_client import is_loopback  # the back-office client's rule, loaded only here

    parts = urllib.parse.urlsplit(base_url)
    host = parts.hostname or ""
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))
    if not host or not secure or parts.query or parts.fragment or parts.username:
        raise ValueError("the Graph API base URL must be https (plain http only on a loopback host, for tests)")
    return base_url.rstrip("/")


def _recipient(phone: str) -> str:
    """E.164 without the "+", as the Cloud API's `to` takes it."""
    digits = phone.removeprefix("+")
    if not _E164_DIGITS.fullmatch(digits):
        raise ValueError("the recipient is not an E.164 phone number")  # the number itself stays out
    return digits


def _error_body(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(MAX_ANSWER_BYTES + 1)
    except (OSError, http.client.HTTPException):
        return b""
    finally:
        exc.close()


def _json(answer: bytes) -> Any:
    if len(answer) > MAX_ANSWER_BYTES:
        return None
    try:
        return json.loads(answer)
    except ValueError:
        return None


def _message_id(status: int, answer: bytes) -> str:
    document = _json(answer)
    messages = document.get("messages") if isinstance(document, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    if not isinstance(wamid, str) or not wamid:
        raise WhatsAppRejected(f"WhatsApp answered HTTP {status} without a message id", status)
    return wamid


def _error_code(answer: bytes) -> int | None:
    """Meta's `error.code`; `message` and `error_data.details` are left alone: they may echo the input."""
    document = _json(answer)
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _refusal(status: int, code: int | None, template: str) -> Exception:
    logger.warning("whatsapp message refused", extra={"template": template, "http_status": status, "meta_code": code})
    if code == WINDOW_CLOSED:
        return MessageWindowClosed(
            f"WhatsApp refused free-form text outside the 24-hour window (Meta error {code}): "
            f"map {template!r} to an approved template in VD_WHATSAPP_TEMPLATES",
            status,
            code,
        )
    if code in TRANSIENT_CODES or ((status >= 500 or status == 429) and code not in PERMISSION_CODES):
        return NotifierUnavailable(f"WhatsApp did not take the message: HTTP {status}, Meta error {code}")
    credential = status in (401, 403) or code in PERMISSION_CODES
    hint = " (check the access token in the WhatsApp secret)" if credential else ""
    return WhatsAppRejected(f"WhatsApp refused the message: HTTP {status}, Meta error {code}{hint}", status, code)


class LocalMediaSource:
    """Deterministic content per media id: what a customer's photo would be, without Meta."""

    def fetch(self, media_id: str) -> bytes:
        digest = hashlib.sha256(media_id.encode()).hexdigest()
        return f"%PDF-1.4 documento local {digest}\n".encode()
