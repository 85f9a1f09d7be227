"""Local stack only: act as the customer (WhatsApp documents through the signed webhook).

Refused (404) unless the console runs with local sign-in on a loopback host. The document is
posted, signed with the local app secret, to the product's own `/v1/whatsapp/webhook`: the path
a real delivery from Meta takes.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.console_http import Page, page
from chalicelib.http import deps
from ventas.adapters.whatsapp import credentials
from ventas.console.customer_sim import document_delivery, document_message
from ventas.console.session import is_loopback
from ventas.domain.models import Step
from ventas.services import queries
from ventas.web.auth import PEOPLE
from ventas.web.errors import ApiError
from ventas.web.whatsapp import sign

bp = Blueprint(__name__)


def _local_only(call: Page) -> None:
    if not call.settings.local or not is_loopback(call.host):
        raise ApiError(404, "not_found", "No encontramos el recurso solicitado.")


def _waiting_documents() -> list[dict[str, Any]]:
    """Today's requests waiting for requirements (steps 8 and 9), with those still missing."""
    d = deps()
    found, _ = queries.search_requests(d, queries.RequestFilter(), 200, None)
    rows = []
    for r in found:
        if r.step not in (Step.REQUIREMENTS, Step.DOCUMENTS):
            continue
        service = d.catalogue.service(r.service_code) if r.service_code else None
        got = {doc.requirement for doc in r.documents}
        missing = [(q.code, q.label) for q in (service.requirements if service else []) if q.code not in got]
        rows.append({"request_id": r.request_id, "name": r.name, "missing": missing})
    return rows


@page(bp, "/console/local", roles=PEOPLE)
def local_tools(call: Page) -> Response:
    _local_only(call)
    return call.render(
        "local.html",
        title="Simular cliente (pila local)",
        result=None,
        **_lists(),
    )


def _post_self(call: Page, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST to this product's own route on loopback (checked by `_local_only`)."""
    url = f"http://{call.host}{call.settings.base_path}{path}"
    post = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(post, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def _channel_key(system: str) -> str:
    keys: dict[str, str] = json.loads(os.environ.get("VD_CONSOLE_LOCAL_CHANNEL_KEYS", "{}"))
    return keys.get(system, "")


def _awaiting_installation() -> list[dict[str, Any]]:
    """Today's requests handed to Instalaciones (step 12) and not installed yet."""
    found, _ = queries.search_requests(deps(), queries.RequestFilter(step=Step.INSTALLATION), 100, None)
    return [
        {"request_id": r.request_id, "name": r.name, "order_id": r.order_id}
        for r in found
        if r.order_id and r.installed_at is None
    ]


@page(bp, "/console/local/installation", roles=PEOPLE, methods=("POST",))
def report_installation(call: Page) -> Response:
    """As Instalaciones (OPR-PAS-P02): the installation-completed event, through the route
    Instalaciones uses (`POST /v1/orders/{order_id}/installation-events`, its own key)."""
    _local_only(call)
    request = deps().requests.get(call.form.get("request_id", ""))
    if not request.order_id:
        raise ApiError(409, "not_registered", "La solicitud todavía no tiene una orden de instalación.")
    event = {
        "kind": "completed",
        "event_id": f"opr-console-{secrets.token_hex(6)}",
        "installed_at": deps().clock.now().isoformat(),
    }
    key = os.environ.get("VD_CONSOLE_LOCAL_INSTALLATIONS_KEY", "")
    status, answer = _post_self(
        call, f"/v1/orders/{request.order_id}/installation-events", json.dumps(event).encode(), {"x-api-key": key}
    )
    if status >= 400:  # the API's own answer (e.g. 409: already registered), as it gave it
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        outcome = f"no registrada. {error.get('message') or 'La API no respondió como se esperaba.'}"
    else:
        outcome = "ya estaba registrada (mismo aviso)." if answer.get("duplicate") else "registrada."
    return call.render(
        "local.html",
        title="Simular cliente (pila local)",
        **_lists(),
        installed=(request.request_id, outcome, status >= 400),
        status=status if status >= 400 else 200,
    )


def _lists() -> dict[str, Any]:
    return {
        "waiting": _waiting_documents(),
        "installing": _awaiting_installation(),
        "services": deps().catalogue.services(),
    }


@page(bp, "/console/local/lead", roles=PEOPLE, methods=("POST",))
def new_lead(call: Page) -> Response:
    """A missed call from the IVR, or a web-page lead, through the channels' own routes."""
    _local_only(call)
    f = call.form
    if f.get("kind") == "missed":
        system, path = "ivr", "/v1/missed-calls"
        lead: dict[str, Any] = {
            "caller": f.get("phone", ""),
            "line": "4200400",
            "called_at": deps().clock.now().isoformat(),
        }
    else:
        system, path = "web", "/v1/requests"
        lead = {"channel": "web", "channel_lead_id": f"web-console-{secrets.token_hex(5)}", "phone": f.get("phone", "")}
        lead |= {k: f[k].strip() for k in ("name", "ci", "service_code") if f.get(k, "").strip()}
    status, answer = _post_self(call, path, json.dumps(lead).encode(), {"x-api-key": _channel_key(system)})
    return call.render(
        "local.html",
        title="Simular cliente (pila local)",
        result=None,
        **_lists(),
        lead=(status, answer),
        status=status if status >= 400 else 200,
    )


@page(bp, "/console/local/whatsapp", roles=PEOPLE, methods=("POST",))
def send_document(call: Page) -> Response:
    _local_only(call)
    request = deps().requests.get(call.form.get("request_id", ""))
    requirement = call.form.get("requirement") or None
    message = document_message(
        request.phone,
        f"local-media-{secrets.token_hex(6)}",
        requirement,
        f"wamid.console-{secrets.token_hex(8)}",
        int(time.time()),
    )
    body = json.dumps(document_delivery([message])).encode()
    _, ack = _post_self(
        call, "/v1/whatsapp/webhook", body, {"X-Hub-Signature-256": sign(credentials().app_secret, body)}
    )
    service = deps().catalogue.service(request.service_code or "")
    named = service.requirement(requirement) if service and requirement else None
    return call.render(
        "local.html",
        title="Simular cliente (pila local)",
        **_lists(),
        result=ack,
        sent=(request.request_id, f"«{named.label}»" if named else "sin título (sin clasificar)"),
    )
