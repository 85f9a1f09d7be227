"""Local stack only: act as the customer (WhatsApp documents through the signed webhook).

Refused (404) unless the console runs with local sign-in on a loopback host. The document is
posted, signed with the local app secret, to the product's own `/v1/whatsapp/webhook`: the path
a real delivery from Meta takes.
"""

from __future__ import annotations

import json
import secrets
import time
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


def _waiting_documents(call: Page) -> list[dict[str, Any]]:
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
        "local.html", title="Simular cliente (pila local)", waiting=_waiting_documents(call), result=None
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
    url = f"http://{call.host}{call.settings.base_path}/v1/whatsapp/webhook"
    post = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(credentials().app_secret, body)},
    )
    with urllib.request.urlopen(post, timeout=30) as answer:  # noqa: S310
        ack = json.loads(answer.read())
    return call.render(
        "local.html",
        title="Simular cliente (pila local)",
        waiting=_waiting_documents(call),
        result=ack,
        sent=(request.request_id, requirement),
    )
