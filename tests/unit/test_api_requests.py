"""Channels and people on requests: intake, idempotency, joining, search, KPI, errors."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.unit.api_harness import Api, api, body
from ventas.observability import logger
from ventas.web.auth import Role

__all__ = ["api"]

LEAD = {
    "channel": "web",
    "channel_lead_id": "web-2001",
    "phone": "+59171234501",
    "name": "Ana Rojas",
    "ci": "4567890 CB",
    "service_code": "INTERNET_FTTH_100",
    "location": {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.157},
}


def submit(api: Api, lead: dict[str, object], **headers: str) -> tuple[int, dict[str, object]]:
    response = api.call("POST", "/v1/requests", Role.CHANNEL, lead, headers=headers)
    return response.status_code, body(response)


def test_a_lead_is_accepted_with_a_status_link_and_starts_one_execution(api: Api) -> None:
    response = api.call("POST", "/v1/requests", Role.CHANNEL, LEAD)
    answer = body(response)
    assert response.status_code == 202
    assert answer["created"] is True
    assert response.headers["Location"] == answer["status_url"] == f"/v1/requests/{answer['request_id']}"
    assert list(api.deps.workflow.started) == [answer["request_id"]]  # type: ignore[attr-defined]
    detail = body(api.call("GET", answer["status_url"], Role.OPS))
    assert detail["state"] == "acknowledged"
    assert detail["step"] == {"code": "1", "label": "Ingreso de la solicitud"}
    assert [h["event"] for h in detail["history"]] == ["lead_received"]
    assert detail["history"][0]["at_local"].endswith(":00")  # shown in La Paz time


def test_replays_return_the_same_request_and_never_a_second_execution(api: Api) -> None:
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: submit(api, LEAD), range(20)))
    assert {status for status, _ in answers} <= {202, 409}  # 409: the first is still being created
    accepted = [a for status, a in answers if status == 202]
    assert len({a["request_id"] for a in accepted}) == 1
    assert sum(a["created"] for a in accepted) == 1
    assert submit(api, LEAD)[1]["request_id"] == accepted[0]["request_id"]
    assert len(api.deps.workflow.started) == 1  # type: ignore[attr-defined]


def test_the_idempotency_key_names_the_request_of_its_body(api: Api) -> None:
    first = submit(api, {**LEAD, "channel_lead_id": "a-1"}, **{"Idempotency-Key": "retry-0001-abc"})[1]
    again = submit(api, {**LEAD, "channel_lead_id": "a-1"}, **{"Idempotency-Key": "retry-0001-abc"})[1]
    assert again["request_id"] == first["request_id"]
    assert again["created"] is False
    status, bad = submit(api, LEAD, **{"Idempotency-Key": "no spaces!"})
    assert status == 422
    assert bad["error"]["fields"][0]["field"] == "Idempotency-Key"


def test_another_channel_for_the_same_customer_joins_the_open_request(api: Api) -> None:
    first = submit(api, LEAD)[1]
    joined = api.call(
        "POST",
        "/v1/requests",
        Role.CHANNEL,
        {"channel": "facebook", "channel_lead_id": "fb-77", "phone": "+59171234501"},
        who="facebook",
    )
    answer = body(joined)
    assert joined.status_code == 202
    # joined, but another channel created the request: answered under a receipt of its own
    assert answer == {**answer, "joined": False, "created": True}
    assert answer["request_id"] != first["request_id"]
    detail = body(api.call("GET", f"/v1/requests/{first['request_id']}", Role.SUPERVISOR))
    assert detail["joined_leads"] == ["facebook:fb-77"]
    assert len(api.deps.workflow.started) == 1  # type: ignore[attr-defined]
    # a replay of the joined lead answers the same receipt
    replay = api.call(
        "POST",
        "/v1/requests",
        Role.CHANNEL,
        {"channel": "facebook", "channel_lead_id": "fb-77", "phone": "+59171234501"},
        who="facebook",
    )
    assert body(replay)["request_id"] == answer["request_id"]


def test_a_missed_call_becomes_a_call_back_request(api: Api) -> None:
    call = {"caller": "71234599", "line": "4322205", "called_at": "2026-11-24T13:00:00Z"}
    response = api.call("POST", "/v1/missed-calls", Role.CHANNEL, call, who="ivr")
    request_id = body(response)["request_id"]
    assert response.status_code == 202
    assert api.deps.workflow.started[request_id]["entry"]["missedCall"] is True  # type: ignore[attr-defined]
    assert body(api.call("POST", "/v1/missed-calls", Role.CHANNEL, call, who="ivr"))["request_id"] == request_id


def test_bad_input_gets_one_error_shape_and_changes_nothing(api: Api) -> None:
    unknown = submit(api, {**LEAD, "coupon": "X"})
    assert unknown[0] == 422
    assert unknown[1]["error"]["code"] == "validation_error"
    assert unknown[1]["error"]["fields"] == [
        {"field": "coupon", "message": "este dato no está admitido", "type": "extra_forbidden"}
    ]
    phone = submit(api, {**LEAD, "phone": "12"})
    assert phone[0] == 422
    assert phone[1]["error"]["fields"][0]["field"] == "phone"
    service = submit(api, {**LEAD, "service_code": "NO_SUCH"})
    assert service[0] == 422
    assert service[1]["error"]["code"] == "unknown_service"
    not_json = api.call("POST", "/v1/requests", Role.CHANNEL, raw=b"{nope")
    assert not_json.status_code == 400
    assert body(not_json)["error"]["code"] == "bad_request"
    too_big = api.call("POST", "/v1/requests", Role.CHANNEL, raw=json.dumps({**LEAD, "name": "A" * 20000}).encode())
    assert too_big.status_code == 413
    assert body(too_big)["error"]["code"] == "payload_too_large"
    xml = api.call("POST", "/v1/requests", Role.CHANNEL, raw=b"<lead/>", headers={"Content-Type": "text/xml"})
    assert xml.status_code == 415
    assert body(xml)["error"]["code"] == "unsupported_media_type"
    wrong_method = api.call("DELETE", "/v1/requests", Role.OPS)
    assert wrong_method.status_code == 405
    assert body(wrong_method)["error"]["code"] == "method_not_allowed"
    assert api.deps.workflow.started == {}  # type: ignore[attr-defined]
    assert body(api.call("GET", "/v1/requests/vd-nope-000", Role.OPS))["error"]["code"] == "request_not_found"


def test_search_by_status_step_channel_and_days_with_pages(api: Api) -> None:
    ids = [
        submit(api, {**LEAD, "channel_lead_id": f"s-{n}", "phone": f"+5917123460{n}", "ci": None})[1] for n in range(5)
    ]
    fb = body(
        api.call(
            "POST",
            "/v1/requests",
            Role.CHANNEL,
            {"channel": "facebook", "channel_lead_id": "f", "phone": "+59171234699"},
            who="facebook",
        )
    )
    by_status = body(api.call("GET", "/v1/requests?status=acknowledged&limit=2", Role.SUPERVISOR))
    assert len(by_status["items"]) == 2
    assert by_status["next_page"]
    seen = [i["request_id"] for i in by_status["items"]]
    page = by_status["next_page"]
    while page:
        more = body(api.call("GET", f"/v1/requests?status=acknowledged&limit=2&page={page}", Role.SUPERVISOR))
        seen += [i["request_id"] for i in more["items"]]
        page = more["next_page"]
    assert sorted(seen) == sorted([i["request_id"] for i in ids] + [fb["request_id"]])
    facebook = body(api.call("GET", "/v1/requests?from=2026-11-24&to=2026-11-24&channel=facebook", Role.OPS))
    assert [i["request_id"] for i in facebook["items"]] == [fb["request_id"]]
    assert facebook["items"][0]["customer"]["phone"] == "+591******99"
    day = body(api.call("GET", "/v1/requests?from=2026-11-24&limit=4", Role.OPS))
    rest = body(api.call("GET", f"/v1/requests?from=2026-11-24&limit=4&page={day['next_page']}", Role.OPS))
    assert len(day["items"]) == 4
    assert len(rest["items"]) == 2
    assert rest["next_page"] is None
    none = body(api.call("GET", "/v1/requests?status=acknowledged&step=9", Role.OPS))
    assert none == {"items": [], "next_page": None}


def test_search_refuses_what_it_cannot_answer(api: Api) -> None:
    for query, field in [
        ("status=nope", "status"),
        ("page=garbage&status=pending", "page"),
        ("from=2026-01-01&to=2026-03-01", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("colour=red", "colour"),
        ("limit=0", "limit"),
    ]:
        answer = api.call("GET", f"/v1/requests?{query}", Role.OPS)
        assert answer.status_code == 422, query
        assert body(answer)["error"]["fields"][0]["field"] == field, query


def test_kpi_for_a_day_and_a_series(api: Api) -> None:
    submit(api, LEAD)
    day = body(api.call("GET", "/v1/reports/kpi?date=2026-11-24", Role.SUPERVISOR))
    assert day["requests"] == 1
    assert day["verdict"] == "Observado"
    assert day["breakdown"] == {"open:intake": 1}
    series = body(api.call("GET", "/v1/reports/kpi?from=2026-11-22&to=2026-11-24", Role.SUPERVISOR))
    assert [d["requests"] for d in series["days"]] == [0, 0, 1]
    assert (
        api.call("GET", "/v1/reports/kpi?date=2026-11-24&from=2026-11-23&to=2026-11-25", Role.SUPERVISOR).status_code
        == 422
    )
    assert api.call("GET", "/v1/reports/kpi?from=2026-01-01&to=2026-11-24", Role.SUPERVISOR).status_code == 422


def test_an_api_log_line_names_its_own_request_or_none(api: Api) -> None:
    request_id = submit(api, LEAD)[1]["request_id"]
    api.call("GET", f"/v1/requests/{request_id}", Role.OPS)
    assert logger.get_correlation_id() == request_id
    api.call("GET", "/v1/health")  # a warm API function: the previous call's request must not stick
    assert logger.get_correlation_id() is None
