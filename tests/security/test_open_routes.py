"""The routes the document leaves open to API Gateway: liveness, the document itself, and the
WhatsApp webhook, which the function checks itself (Meta's signature, the verify token)."""

from __future__ import annotations

import json

from tests.security.matrix import routes
from tests.unit.api_harness import APP_SECRET, Api, body, mint
from ventas.web.openapi import openapi_document
from ventas.web.whatsapp import sign

DELIVERY = {"object": "whatsapp_business_account", "entry": []}


def test_only_liveness_the_document_and_the_webhook_are_open() -> None:
    open_routes = {(r.method, r.operation_id) for r in routes(openapi_document()) if not r.secured}
    assert open_routes == {
        ("GET", "health"),
        ("GET", "openapi"),
        ("GET", "verifyWebhook"),
        ("POST", "receiveWebhook"),
    }


def test_liveness_and_the_document_answer_anyone_and_say_nothing_of_requests(api: Api) -> None:
    for path in ("/v1/health", "/v1/openapi.json"):
        answer = api.call("GET", path)
        assert answer.status_code == 200
        assert "vd-" not in json.dumps(body(answer)).replace("vd-00000000", "")


def test_the_webhook_takes_only_deliveries_signed_with_metas_app_secret(api: Api) -> None:
    raw = json.dumps(DELIVERY).encode()
    probes = {
        "unsigned": {},
        "another secret": {"X-Hub-Signature-256": sign("not-the-app-secret", raw)},
        "a person's token instead": {"Authorization": "Bearer " + mint("ops.luis", ["ops"])},
        "a channel key instead": {"x-api-key": "vd-unit-web-key-0001"},
        "signature of another body": {"X-Hub-Signature-256": sign(APP_SECRET, raw + b" ")},
    }
    for name, headers in probes.items():
        answer = api.call("POST", "/v1/whatsapp/webhook", raw=raw, headers=headers)
        assert answer.status_code == 401, name
    signed = api.call("POST", "/v1/whatsapp/webhook", raw=raw, headers={"X-Hub-Signature-256": sign(APP_SECRET, raw)})
    assert signed.status_code == 200


def test_the_webhook_verification_echoes_nothing_without_our_token(api: Api) -> None:
    query = "/v1/whatsapp/webhook?hub.mode=subscribe&hub.verify_token={}&hub.challenge=12345"
    assert api.call("GET", query.format("guess")).status_code == 403
    assert api.call("GET", query.format("")).status_code in (403, 422)
