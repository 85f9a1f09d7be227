"""WhatsApp Business (Cloud API) webhook: verification, and signed deliveries (step 9)."""

from __future__ import annotations

import dataclasses
import hmac
import json

from chalice.app import Blueprint
from pydantic import ValidationError

from chalicelib.http import Call, Reply, deps, route
from ventas.adapters.whatsapp import credentials
from ventas.observability import logger
from ventas.services.whatsapp import process_delivery
from ventas.web.errors import ApiError, unauthenticated
from ventas.web.spec import WebhookAck
from ventas.web.whatsapp import WaDelivery, signature_valid

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
        delivery = WaDelivery.model_validate(json.loads(call.raw_body))
    except (ValueError, ValidationError):
        # Signed by Meta but not a shape we know: acknowledged, or Meta would retry for days.
        logger.warning("whatsapp delivery not understood")
        return WebhookAck(recorded=0, duplicates=0, unknown_senders=0, ignored=1, statuses=0)
    return WebhookAck(**dataclasses.asdict(process_delivery(deps(), delivery)))
