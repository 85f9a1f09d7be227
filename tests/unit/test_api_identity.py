"""Cases 007, 008, 009 over HTTP: phones and CI numbers as channels and agents write them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.unit.api_harness import Api, api, body
from tests.unit.conftest import FrozenClock
from ventas.domain.models import Lead
from ventas.domain.tasks import TaskKind
from ventas.services import intake, tasks
from ventas.web.auth import Role

__all__ = ["api"]

CASES = Path(__file__).parents[1] / "cases"
AFTER_CASE_007 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 11:00 in La Paz, after the missed call


def case(folder: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((CASES / folder / name).read_text())
    return found


def submit(api: Api, lead: dict[str, Any], path: str = "/v1/requests", who: str = "web") -> Any:
    return api.call("POST", path, Role.CHANNEL, lead, who=who)


def stored(api: Api, request_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = body(api.call("GET", f"/v1/requests/{request_id}", Role.AGENT))
    return detail


def test_case_007_a_web_lead_with_a_7_digit_landline_is_refused_asking_for_the_area(api: Api) -> None:
    response = submit(api, case("007-phone-7-digit-landline", "lead.json"))
    assert response.status_code == 422
    (error,) = body(response)["error"]["fields"]
    assert error["field"] == "phone"
    assert "código de área" in error["message"]
    assert "4 4200400" in error["message"]  # says how to write it
    assert api.deps.workflow.started == {}  # type: ignore[attr-defined]


def test_case_007_an_ivr_missed_call_takes_the_ivr_lines_area(api: Api, clock: FrozenClock) -> None:
    clock.at = AFTER_CASE_007
    response = submit(api, case("007-phone-7-digit-landline", "missed-call.json"), "/v1/missed-calls", who="ivr")
    assert response.status_code == 202
    assert stored(api, body(response)["request_id"])["customer"]["phone"] == "+59144200400"


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("44200400", "+59144200400"),  # the forms case 007 calls fine
        ("+591 4 4200400", "+59144200400"),
        ("+591 (4) 4200400", "+59144200400"),
        ("0059170712345", "+59170712345"),  # case 008
        ("070712345", "+59170712345"),  # case 008
        ("(591) 7-071-2345", "+59170712345"),
        ("00591 2.212.3456", "+59122123456"),
        ("0 3 3123456", "+59133123456"),
    ],
)
def test_phones_as_channels_write_them_are_stored_in_e164(api: Api, phone: str, e164: str) -> None:
    response = submit(api, {"channel": "web", "channel_lead_id": f"p-{phone}", "phone": phone})
    assert response.status_code == 202, body(response)
    assert stored(api, body(response)["request_id"])["customer"]["phone"] == e164


@pytest.mark.parametrize("name", ["lead-00.json", "lead-0.json"])
def test_case_008_international_and_trunk_prefixes(api: Api, name: str) -> None:
    response = submit(api, case("008-phone-international-prefix", name))
    assert response.status_code == 202
    assert stored(api, body(response)["request_id"])["customer"]["phone"] == "+59170712345"


@pytest.mark.parametrize(
    ("phone", "words"),
    [
        ("4200400", "código de área"),
        ("+54 11 4444 5555", "Bolivia"),
        ("800100000", "fijos o celulares"),
        ("7123-ABCD", "no válido"),
    ],
)
def test_phones_that_are_not_a_bolivian_line_are_refused_in_spanish(api: Api, phone: str, words: str) -> None:
    response = submit(api, {"channel": "web", "channel_lead_id": "bad-phone", "phone": phone})
    assert response.status_code == 422
    (error,) = body(response)["error"]["fields"]
    assert (error["field"], words in error["message"]) == ("phone", True)


def test_the_same_phone_written_two_ways_is_one_customer(api: Api) -> None:
    first = body(submit(api, {"channel": "web", "channel_lead_id": "two-1", "phone": "0059170712345"}))
    again = body(submit(api, {"channel": "web", "channel_lead_id": "two-2", "phone": "7071 2345"}))
    assert again["request_id"] == first["request_id"]


CASE_009 = {
    "identification-beni-bn.json": "1234567 BE",
    "identification-cbba.json": "1234567 CB",
    "identification-ext-with-dash.json": "1234567 CB",
    "identification-pando-pa.json": "1234567 PD",
    "identification-prefix-joined.json": "1234567 SC",
    "identification-prefix-space.json": "1234567 SC",
}


@pytest.mark.parametrize(("name", "canonical"), sorted(CASE_009.items()))
def test_case_009_identification_completes_with_every_department_form(api: Api, name: str, canonical: str) -> None:
    lead = Lead(channel="web", channel_lead_id="ci-1", phone="+59171234501")
    request_id = intake.submit_lead(api.deps, lead).request_id
    api.deps.workflow.wait("tok-009")  # type: ignore[attr-defined]
    task = tasks.open_task(api.deps, TaskKind.IDENTIFICATION, request_id, "tok-009", 3600)
    response = api.call("POST", f"/v1/tasks/{task.task_id}/complete", Role.AGENT, case("009-ci-department-forms", name))
    assert response.status_code == 200, body(response)
    assert stored(api, request_id)["customer"]["ci"] == canonical


@pytest.mark.parametrize(
    ("ci", "canonical"),
    [
        *((case("009-ci-department-forms", n)["ci"], c) for n, c in sorted(CASE_009.items())),
        ("lp-4567890-1a", "4567890-1A LP"),
        ("E-1234567 scz", "E-1234567 SC"),
        ("4.567.890 Cbba", "4567890 CB"),
        ("7654321 TJ", "7654321 TJ"),
    ],
)
def test_a_lead_stores_the_canonical_ci(api: Api, ci: str, canonical: str) -> None:
    lead = {"channel": "web", "channel_lead_id": f"ci-{ci}", "phone": "+59171234502", "ci": ci}
    response = submit(api, lead)
    assert response.status_code == 202, body(response)
    assert stored(api, body(response)["request_id"])["customer"]["ci"] == canonical


@pytest.mark.parametrize("ci", ["SC 1234567 LP", "1234567 XX", "12", "1234567-1A-2B"])
def test_a_ci_that_is_no_ci_is_refused_in_spanish(api: Api, ci: str) -> None:
    response = submit(api, {"channel": "web", "channel_lead_id": "bad-ci", "phone": "+59171234503", "ci": ci})
    assert response.status_code == 422
    (error,) = body(response)["error"]["fields"]
    assert error["field"] == "ci"
    assert error["message"].startswith("carnet de identidad no válido")


def test_the_same_ci_written_two_ways_hashes_alike(api: Api) -> None:
    first = submit(api, {"channel": "web", "channel_lead_id": "h-1", "phone": "+59171234504", "ci": "SC1234567"})
    request_id = body(first)["request_id"]
    second = submit(api, {"channel": "web", "channel_lead_id": "h-2", "phone": "+59171234504", "ci": "1234567-scz"})
    assert body(second)["request_id"] == request_id
    key = api.deps.customer_key("ci", "1234567 SC")
    assert api.deps.requests.lookup_key(f"open#{key}") == request_id


@pytest.mark.parametrize(
    ("called_at", "status"),
    [
        ("2026-11-24T10:00:00-04:00", 202),  # now, in La Paz
        ("2026-11-24T10:01:30-04:00", 202),  # within the IVR's clock skew
        ("2026-11-24T10:05:00-04:00", 422),
        ("2026-11-25T09:00:00-04:00", 422),
        ("2027-01-01T00:00:00Z", 422),
    ],
)
def test_a_missed_call_in_the_future_is_refused_in_spanish(api: Api, called_at: str, status: int) -> None:
    call = {"caller": "+59171234567", "line": "4322205", "called_at": called_at}
    response = submit(api, call, "/v1/missed-calls", who="ivr")
    assert response.status_code == status
    if status == 422:
        (error,) = body(response)["error"]["fields"]
        assert error["field"] == "called_at"
        assert "futuro" in error["message"]
        assert api.deps.workflow.started == {}  # type: ignore[attr-defined]


def test_a_missed_call_without_its_offset_is_refused(api: Api) -> None:
    call = {"caller": "+59171234567", "line": "4322205", "called_at": "2026-11-24T09:00:00"}
    response = submit(api, call, "/v1/missed-calls", who="ivr")
    assert response.status_code == 422
    (error,) = body(response)["error"]["fields"]
    assert (error["field"], error["message"]) == (
        "called_at",
        "indique la zona horaria (ejemplo: 2026-11-30T10:15:00-04:00)",
    )
