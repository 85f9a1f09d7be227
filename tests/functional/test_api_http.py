"""The HTTP API over real HTTP, against the local stack in a subprocess (real ASL in moto)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from devstack.api_server import LocalApi
from devstack.http_driver import ApiFailure, HttpDriver, document_delivery
from tests.functional.api_stack import http, served
from tests.unit.test_api_auth import CHANNEL_FOR, EXAMPLES, EXPECTED_ROLES
from ventas.domain.models import OrderState, Outcome, Step
from ventas.domain.schedule import local_day
from ventas.domain.tasks import TaskKind
from ventas.web.auth import Role
from ventas.web.whatsapp import sign

__all__ = ["http", "served"]

CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}


def phone() -> str:
    return "+5917" + str(uuid.uuid4().int)[:7]


def lead(**extra: object) -> dict[str, object]:
    return {
        "channel": "web",
        "channel_lead_id": f"web-{uuid.uuid4().hex[:10]}",
        "phone": phone(),
        "name": "Ana Rojas",
        "ci": str(uuid.uuid4().int)[:8] + " CB",  # a new customer each time: no joining by CI
        "service_code": "INTERNET_FTTH_100",
        "location": CENTRO,
        **extra,
    }


def status(
    http: HttpDriver, method: str, path: str, role: Role | None, body: object = None, who: str | None = None
) -> int:
    try:
        http.call(method, path, role, who if role == Role.CHANNEL else None, body=body)
    except ApiFailure as failure:
        return failure.status
    return 200


@pytest.mark.parametrize("op_id", sorted(EXPECTED_ROLES))
def test_role_matrix_over_http(http: HttpDriver, op_id: str) -> None:
    method, path, body = EXAMPLES[op_id]
    if op_id == "submitLead":
        body = lead()
    assert status(http, method, path, None, body) == 401
    for role in Role:
        got = status(http, method, path, role, body, CHANNEL_FOR.get(op_id))
        assert (got not in (401, 403)) if role in EXPECTED_ROLES[op_id] else (got == 403), (role, got)


def _today_requests(http: HttpDriver) -> list[str]:
    day = local_day(datetime.now(UTC))
    found, page = [], None
    for _ in range(50):
        answer = http.call("GET", f"/v1/requests?from={day}&limit=100" + (f"&page={page}" if page else ""), Role.OPS)
        found += [i["request_id"] for i in answer["items"]]
        page = answer["next_page"]
        if page is None:
            return found
    raise AssertionError("too many pages")


def test_twenty_concurrent_replays_make_one_request_and_one_execution(http: HttpDriver) -> None:
    same = lead()
    before = set(_today_requests(http))
    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(lambda _: http.submit_lead(**dict(same)), range(20)))
    assert len(set(ids)) == 1
    keyed = lead()
    key = f"k-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(20) as pool:
        keyed_ids = list(pool.map(lambda _: http.submit_lead(**{**keyed, "idempotency_key": key}), range(20)))
    assert len(set(keyed_ids)) == 1
    with pytest.raises(ApiFailure) as reused:  # the same key with another body (IETF idempotency-key draft)
        http.submit_lead(**{**keyed, "channel_lead_id": "other", "idempotency_key": key})
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")
    assert set(_today_requests(http)) - before == {ids[0], keyed_ids[0]}
    for request_id in (ids[0], keyed_ids[0]):
        assert http.execution(request_id)["status"] == "RUNNING"  # exactly one execution per request name


def test_a_second_channel_joins_the_open_request(http: HttpDriver) -> None:
    first = lead()
    request_id = http.submit_lead(**first)
    answer = http.call(
        "POST",
        "/v1/requests",
        Role.CHANNEL,
        "facebook",
        body={"channel": "facebook", "channel_lead_id": "fb-join-1", "phone": first["phone"]},
    )
    # joined; another channel created the request, so the answer is that of a created request
    # under a receipt of its own (docs/architecture.md, "Contact binding")
    assert (answer["created"], answer["joined"]) == (True, False)
    assert answer["request_id"] != request_id
    assert http.call("GET", f"/v1/requests/{request_id}", Role.SUPERVISOR)["joined_leads"] == ["facebook:fb-join-1"]


def test_the_whole_procedure_over_http_with_documents_through_the_webhook(http: HttpDriver) -> None:
    data = lead()
    request_id = http.submit_lead(**data)
    for n, requirement in enumerate(("CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ")):
        answer = http.send_document(str(data["phone"]), f"media-{request_id}-{n}", requirement)
        assert answer["recorded"] == 1
    duplicate = http.send_document(str(data["phone"]), f"media-{request_id}-0", "CI_ANVERSO")
    assert duplicate == {**duplicate, "recorded": 0, "duplicates": 1}
    assert http.install(request_id) == "recorded"
    qc = http.open_task(request_id, TaskKind.QC_CALL)
    http.claim(qc.task_id, "agente.maria")
    with pytest.raises(ApiFailure) as other:
        http.claim(qc.task_id, "agente.bruno")
    assert other.value.status == 409
    assert other.value.code == "claimed_by_other"
    http.complete(qc.task_id, "agente.maria", {"satisfaction": 5, "comment": "Muy conforme"})
    with pytest.raises(ApiFailure) as twice:
        http.complete(qc.task_id, "agente.maria", {"satisfaction": 5, "comment": "Muy conforme"})
    assert twice.value.status == 409
    assert twice.value.code == "already_completed"
    assert http.finish(request_id)["status"] == "SUCCEEDED"
    request = http.request(request_id)
    assert (request.status, request.outcome, request.step) == (OrderState.COMPLETED, Outcome.SOLD, Step.CLOSED)
    assert [d.requirement for d in request.documents] == ["CI_ANVERSO", "CI_REVERSO", "FACTURA_LUZ"]
    graph = http.graph(request_id)
    nodes = {n["id"]: n["status"] for n in graph["nodes"]}
    assert nodes["CloseSale"] == "succeeded"
    assert nodes["RejectSale"] == "not_reached"
    assert "taskToken" not in json.dumps(graph)


def test_webhook_refuses_bad_signatures_and_records_nothing(http: HttpDriver, served: LocalApi) -> None:
    data = lead()
    request_id = http.submit_lead(**data)
    message = {
        "from": str(data["phone"]).lstrip("+"),
        "id": "wamid.bad-1",
        "timestamp": "1750000000",
        "type": "document",
        "document": {"mime_type": "application/pdf", "sha256": "x", "id": f"media-bad-{request_id}"},
    }
    raw = json.dumps(document_delivery([message])).encode()
    for signature in (None, "sha256=" + "0" * 64, sign("not-the-secret", raw)):
        headers = {"Content-Type": "application/json"} | ({"X-Hub-Signature-256": signature} if signature else {})
        response = requests.post(f"{served.url}/v1/whatsapp/webhook", data=raw, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
    assert http.request(request_id).documents == []
    verify = requests.get(
        f"{served.url}/v1/whatsapp/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": served.verify_token, "hub.challenge": "4242"},
        timeout=10,
    )
    assert verify.status_code == 200
    assert verify.text == "4242"


def test_cors_preflight_and_unknown_routes(served: LocalApi) -> None:
    origin = "http://127.0.0.1:5173"
    preflight = requests.options(
        f"{served.url}/v1/tasks",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    missing = requests.get(f"{served.url}/v1/nothing-here", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
