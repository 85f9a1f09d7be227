"""An idempotency key is bound to its body (IETF draft-ietf-httpapi-idempotency-key-header).

The channel lead id and the Idempotency-Key header both name one request: the same key with the
same body answers that request; with another body, 422; while the first is still being created, 409.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.unit.api_harness import Api, api, body
from ventas.domain.models import SaleRequest
from ventas.web.auth import Role

__all__ = ["api"]

LEAD = {"channel": "web", "channel_lead_id": "idem-1", "phone": "+59171234511", "service_code": "INTERNET_FTTH_100"}
KEY = {"Idempotency-Key": "idem-key-0001"}


def submit(api: Api, lead: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = api.call("POST", "/v1/requests", Role.CHANNEL, lead, headers=headers)
    return response.status_code, body(response)


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "+59171234599"},
        {"name": "Otra Persona"},
        {"service_code": "INTERNET_FTTH_300"},
        {"ci": "1234567 LP"},
    ],
)
def test_the_same_lead_id_with_another_body_is_refused_and_changes_nothing(api: Api, change: dict[str, str]) -> None:
    status, first = submit(api, LEAD)
    assert status == 202
    status, refused = submit(api, {**LEAD, **change})
    assert status == 422
    assert refused["error"]["code"] == "idempotency_key_reused"
    assert refused["error"]["fields"][0]["field"] == "channel_lead_id"
    assert "datos distintos" in refused["error"]["message"]
    assert list(api.deps.workflow.started) == [first["request_id"]]  # type: ignore[attr-defined]
    assert submit(api, LEAD)[1]["request_id"] == first["request_id"]  # the first body still replays


def test_the_same_body_written_another_way_is_a_replay(api: Api) -> None:
    first = submit(api, {**LEAD, "ci": "SC 1234567"})[1]
    status, again = submit(api, {**LEAD, "phone": "71234511", "ci": "1234567-scz"})
    assert (status, again["request_id"], again["created"]) == (202, first["request_id"], False)


def test_the_idempotency_key_with_another_body_is_refused(api: Api) -> None:
    first = submit(api, LEAD, KEY)[1]
    status, refused = submit(api, {**LEAD, "channel_lead_id": "idem-2"}, KEY)
    assert status == 422
    assert refused["error"]["fields"][0]["field"] == "Idempotency-Key"
    # the new lead id was given back: the same lead without the reused key creates its request
    status, fresh = submit(api, {**LEAD, "channel_lead_id": "idem-2", "phone": "+59171234512"})
    assert status == 202
    assert fresh["created"] is True
    assert fresh["request_id"] != first["request_id"]


def test_a_replay_while_the_first_is_being_created_answers_409_then_the_request(api: Api) -> None:
    """A new customer's lead is one atomic write (no window); a lead whose CI is another phone's
    open request takes the key-by-key path, where a replay can meet a request being written."""
    store = api.deps.requests
    assert submit(api, {**LEAD, "channel_lead_id": "idem-0", "phone": "+59171234522", "ci": "7654321 CB"})[0] == 202
    lead = {**LEAD, "ci": "7654321 CB"}
    writing, go_on = threading.Event(), threading.Event()
    add = store.add

    def slow_add(request: SaleRequest, claims: dict[str, str] | None = None) -> None:
        if claims is None:  # the key-by-key path's write
            writing.set()
            go_on.wait(5)
        add(request, claims)

    store.add = slow_add  # type: ignore[method-assign]
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(submit, api, lead, KEY)
        assert writing.wait(5)
        status, busy = submit(api, lead, KEY)
        assert status == 409
        assert busy["error"]["code"] == "request_in_progress"
        go_on.set()
        created = first.result(5)[1]
    status, replay = submit(api, lead, KEY)
    assert (status, replay["request_id"], replay["created"]) == (202, created["request_id"], False)


def test_a_request_that_could_not_be_written_gives_its_keys_back(api: Api) -> None:
    store = api.deps.requests
    add = store.add

    def failing_add(request: SaleRequest, claims: dict[str, str] | None = None) -> None:
        raise RuntimeError("DynamoDB unavailable")

    store.add = failing_add  # type: ignore[method-assign]
    assert submit(api, LEAD, KEY)[0] == 500
    store.add = add  # type: ignore[method-assign]
    status, created = submit(api, LEAD, KEY)
    assert (status, created["created"]) == (202, True)


def test_the_request_shows_the_channels_lead_id(api: Api) -> None:
    request_id = submit(api, LEAD)[1]["request_id"]
    assert body(api.call("GET", f"/v1/requests/{request_id}", Role.SUPERVISOR))["channel_lead_id"] == "idem-1"
    day = "2026-11-24"
    (item,) = body(api.call("GET", f"/v1/requests?from={day}", Role.SUPERVISOR))["items"]
    assert item["channel_lead_id"] == "idem-1"
