"""WhatsApp Cloud API webhook: verification, signature, Meta's payload shapes, duplicates."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from tests.unit.api_harness import APP_SECRET, VERIFY_TOKEN, Api, api, body
from ventas.domain.models import Lead, Location
from ventas.services import intake
from ventas.services.stages import request_documents
from ventas.web.whatsapp import sign

__all__ = ["api"]

PHONE = "+59171234501"
WA_ID = "59171234501"
CENTRO = Location(address="Calle España 123, Cochabamba", latitude=-17.3935, longitude=-66.157)


def delivery(*changes: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """Meta's envelope: whatsapp_business_account, entries, each with changes (field messages)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": f"10229012934039{n}", "changes": [{"value": c, "field": "messages"} for c in changes]}
            for n in range(entries)
        ],
    }


def value(messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    v: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    }
    if messages is not None:
        v["contacts"] = [{"profile": {"name": "Sheena Nelson"}, "wa_id": messages[0]["from"]}]
        v["messages"] = messages
    if statuses is not None:
        v["statuses"] = statuses
    return v


def document(media_id: str, ts: int, caption: str | None = None, sender: str = WA_ID) -> dict[str, Any]:
    return {
        "from": sender,
        "id": f"wamid.{media_id}",
        "timestamp": str(ts),
        "type": "document",
        "document": {
            "caption": caption,
            "filename": "carnet.pdf",
            "mime_type": "application/pdf",
            "sha256": "a3b2c1",
            "id": media_id,
        },
    }


def image(media_id: str, ts: int, caption: str | None = None) -> dict[str, Any]:
    return {
        "from": WA_ID,
        "id": f"wamid.{media_id}",
        "timestamp": str(ts),
        "type": "image",
        "image": {"caption": caption, "mime_type": "image/jpeg", "sha256": "81d3bd8a", "id": media_id},
    }


TEXT = {
    "from": WA_ID,
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    "timestamp": "1749416383",
    "type": "text",
    "text": {"body": "Buenos días, le envío mis documentos"},
}
STATUS = {
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA",
    "status": "delivered",
    "timestamp": "1750030073",
    "recipient_id": WA_ID,
    "conversation": {"id": "abc", "origin": {"type": "utility"}},
    "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"},
}


def post(api: Api, payload: Any, secret: str = APP_SECRET, signature: str | None = None) -> Any:
    raw = json.dumps(payload).encode()
    header = signature if signature is not None else sign(secret, raw)
    return api.call("POST", "/v1/whatsapp/webhook", raw=raw, headers={"X-Hub-Signature-256": header})


@pytest.fixture
def waiting(api: Api) -> str:
    """A request at step 9: identified, located, asked for its documents (token kept)."""
    lead = Lead(
        channel="web",
        channel_lead_id="wa-1",
        phone=PHONE,
        ci="4567890 CB",
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
    )
    request_id = intake.submit_lead(api.deps, lead).request_id
    api.deps.workflow.wait("tok-documents")  # type: ignore[attr-defined]
    request_documents(api.deps, request_id, "tok-documents", reminder=False)
    return request_id


def documents_of(api: Api, request_id: str) -> list[tuple[str, str]]:
    return [(d.requirement, d.media_id) for d in api.deps.requests.get(request_id).documents]


def test_verification_echoes_the_challenge_only_for_our_token(api: Api) -> None:
    ok = api.call(
        "GET", f"/v1/whatsapp/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    )
    assert ok.status_code == 200
    assert ok.body == b"1158201444"
    bad = api.call("GET", "/v1/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")
    assert bad.status_code == 403
    assert body(bad)["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("secret", "signature"),
    [("another-secret", None), (APP_SECRET, ""), (APP_SECRET, "sha256=" + "0" * 64), (APP_SECRET, "md5=abc")],
)
def test_unsigned_or_wrongly_signed_deliveries_are_401_and_record_nothing(
    api: Api, waiting: str, secret: str, signature: str | None
) -> None:
    response = post(api, delivery(value([document("media-1", 1750000000, "CI_ANVERSO")])), secret, signature)
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "unauthenticated"
    assert documents_of(api, waiting) == []


def test_meta_shapes_several_entries_and_changes_fill_the_checklist_and_resume(api: Api, waiting: str) -> None:
    payload = delivery(
        value([TEXT, image("media-2", 1750000002, "CI reverso")]),
        value(statuses=[STATUS]),
        value([document("media-1", 1750000001, "CI anverso")]),
    )
    first = body(post(api, payload))
    assert first == {
        "recorded": 2,
        "unclassified": 0,
        "duplicates": 0,
        "unknown_senders": 0,
        "ignored": 1,  # the status of a message we did not send
        "kept": 1,  # the text, on the history
        "number_changes": 0,
        "malformed": 0,
        "statuses": 1,
        "failures": 0,
    }
    assert documents_of(api, waiting) == [("CI_ANVERSO", "media-1"), ("CI_REVERSO", "media-2")]
    assert api.deps.workflow.answers == []  # type: ignore[attr-defined]  # FACTURA_LUZ still missing
    stored = api.deps.documents.objects  # type: ignore[attr-defined]
    assert stored[f"requests/{waiting}/CI_ANVERSO/media-1"][1] == "application/pdf"
    last = body(post(api, delivery(value([document("media-3", 1750000003, "Factura de luz")]))))
    assert last["recorded"] == 1
    assert api.deps.workflow.answers == [("tok-documents", "success", {})]  # type: ignore[attr-defined]


def test_duplicates_out_of_order_and_strangers_are_answered_200_without_double_counting(api: Api, waiting: str) -> None:
    payload = delivery(
        value([document("media-9", 1750000009, "carnet reverso"), document("media-8", 1750000008, "carnet anverso")]),
        entries=2,
    )
    answer = body(post(api, payload))
    assert answer["recorded"] == 2
    assert answer["duplicates"] == 2
    assert [m for _, m in documents_of(api, waiting)] == ["media-8", "media-9"]  # the customer's order
    again = post(api, payload)
    assert again.status_code == 200
    assert body(again)["duplicates"] == 4
    stranger = body(post(api, delivery(value([document("media-x", 1750000010, sender="59170000000")]))))
    assert stranger["unknown_senders"] == 1
    odd = body(post(api, delivery(value([{**TEXT, "type": "sticker", "sticker": {"id": "s"}}]))))
    assert odd["kept"] == 1  # on the history, for the agent
    assert len(documents_of(api, waiting)) == 2


def test_a_signed_delivery_of_an_unknown_shape_is_acknowledged(api: Api) -> None:
    response = post(api, {"object": "page", "something": []})
    assert response.status_code == 200
    assert body(response)["ignored"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "whatsapp_business_account", "entry": {}},
        {"object": "whatsapp_business_account", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "x"},
    ],
)
def test_a_signed_delivery_without_entries_is_counted_ignored_and_logged(
    api: Api, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    response = post(api, payload)
    assert response.status_code == 200
    assert body(response)["ignored"] == 1
    assert "whatsapp delivery not understood" in caplog.text


def test_an_entry_without_a_changes_list_is_malformed_and_costs_the_others_nothing(api: Api, waiting: str) -> None:
    payload = delivery(value([document("media-1", 1750000001, "CI anverso")]))
    payload["entry"].append({"id": "1", "changes": {}})
    payload["entry"].append("not an entry")
    answer = body(post(api, payload))
    assert (answer["recorded"], answer["malformed"]) == (1, 2)


def test_a_document_dated_in_the_future_is_received_now(api: Api, waiting: str) -> None:
    now = api.deps.clock.now()
    ahead = int((now + timedelta(days=400)).timestamp())
    answer = body(post(api, delivery(value([document("media-f", ahead, "CI anverso")]))))
    assert answer["recorded"] == 1
    (received,) = api.deps.requests.get(waiting).documents
    assert received.received_at == now  # never later than when it reached us
    far = body(post(api, delivery(value([document("media-g", 999_999_999_999, "CI reverso")]))))
    assert far["recorded"] == 1
    assert api.deps.requests.get(waiting).documents[-1].received_at == now


def test_a_document_finds_the_request_awaiting_it_with_one_index_read(
    api: Api, waiting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a request waits for the customer's documents, the sparse `awaiting_documents`
    index finds it: no read of the phone's open# key."""

    def no_key(key: str) -> str | None:
        raise AssertionError(f"looked up {key.split('#', maxsplit=1)[0]}# key")

    monkeypatch.setattr(api.deps.requests, "lookup_key", no_key)
    assert body(post(api, delivery(value([document("media-1", 1750000001, "CI anverso")]))))["recorded"] == 1
    assert documents_of(api, waiting) == [("CI_ANVERSO", "media-1")]


def test_a_stale_copy_from_the_index_is_read_again_before_anything_is_kept(
    api: Api, waiting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index may be a moment behind the table: the document's save, conditional on the
    version, refuses the stale copy and the request is read again."""
    stale = api.deps.requests.get(waiting)
    current = api.deps.requests.get(waiting)
    current.note(stale.updated_at, "meanwhile")
    api.deps.requests.save(current)
    monkeypatch.setattr(api.deps.requests, "awaiting_documents", lambda phone_key: stale.model_copy(deep=True))

    assert body(post(api, delivery(value([document("media-1", 1750000001, "CI anverso")]))))["recorded"] == 1

    assert documents_of(api, waiting) == [("CI_ANVERSO", "media-1")]
    events = [h.event for h in api.deps.requests.history(waiting)]
    assert events[-2:] == ["meanwhile", "document_received"]
