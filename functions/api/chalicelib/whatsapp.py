"""WhatsApp Business (Cloud API) webhook: verification, and signed deliveries (step 9).

A delivery is handled item by item (`ventas.services.whatsapp`): 200 with the counts when every
item was handled (malformed ones counted), 503 when some must be retried (Meta delivers again).
"""

from __future__ import annotations

import hmac
import json

from chalice.app import Blueprint

from chalicelib.http import Call, Reply, deps, route
from ventas.adapters.whatsapp import credentials
from ventas.services.whatsapp import process_delivery
from ventas.web.errors import ApiError, unauthenticated
from ventas.web.spec import WebhookAck
from ventas.web.whatsapp import signature_valid

bp = Blueprint(__name__)


@route(bp, "verifyWebhook")
def verify(call: Call) -> Reply:
    q = call.query
    expected = credentials().verify_token
    if q.mode == "subscribe" and expected and hmac.compare_digest(q.verify_token, expected):
        return Reply(q.challenge)
    raise ApiError(403, "forbidden", "El token de verificación no es válido.")


@route(bp, "receiveWebhook", body="raw")
def receive(call: Call) -> WebhookAck:
    if not signature_valid(credentials().app_secret, call.raw_body, call.headers.get("x-hub-signature-256")):
        raise unauthenticated("La firma de la notificación no es válida.")
    try:
        document = json.loads(call.raw_body)
    except ValueError:
        document = None  # signed by Meta but not JSON: acknowledged (counted as ignored)
    return WebhookAck(**process_delivery(deps(), document).counts())
