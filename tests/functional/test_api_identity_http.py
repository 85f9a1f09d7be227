"""Cases 007, 008, 009 and the missed-call clock on the local stack over HTTP (real ASL in moto)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.http_driver import ApiFailure, HttpDriver
from tests.functional.api_stack import http, served
from ventas.domain.tasks import TaskKind
from ventas.web.auth import Role

__all__ = ["http", "served"]

CASES = Path(__file__).parents[1] / "cases"


def case(folder: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((CASES / folder / name).read_text())
    return {**found, "channel_lead_id": f"{found.get('channel_lead_id', 'x')}-{uuid.uuid4().hex[:8]}"}


def refused(http: HttpDriver, path: str, body: dict[str, Any], who: str) -> ApiFailure:
    with pytest.raises(ApiFailure) as failure:
        http.call("POST", path, Role.CHANNEL, who, body=body)
    return failure.value


def test_case_007_web_landline_without_area_is_refused_and_the_ivr_gets_cochabamba(http: HttpDriver) -> None:
    failure = refused(http, "/v1/requests", case("007-phone-7-digit-landline", "lead.json"), "web")
    assert failure.status == 422
    assert "código de área" in failure.fields[0]["message"]
    call = case("007-phone-7-digit-landline", "missed-call.json")
    call.pop("channel_lead_id")
    call["called_at"] = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    answer = http.call("POST", "/v1/missed-calls", Role.CHANNEL, "ivr", body=call)
    detail = http.call("GET", f"/v1/requests/{answer['request_id']}", Role.AGENT)
    assert detail["customer"]["phone"] == "+59144200400"


def test_a_missed_call_in_the_future_is_refused(http: HttpDriver) -> None:
    call = {
        "caller": "+59171239999",
        "line": "4200400",
        "called_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    failure = refused(http, "/v1/missed-calls", call, "ivr")
    assert (failure.status, failure.fields[0]["field"]) == (422, "called_at")


@pytest.mark.parametrize("name", ["lead-00.json", "lead-0.json"])
def test_case_008_prefixes(http: HttpDriver, name: str) -> None:
    lead = case("008-phone-international-prefix", name)
    request_id = http.submit_lead(**lead)
    assert http.call("GET", f"/v1/requests/{request_id}", Role.AGENT)["customer"]["phone"] == "+59170712345"


def test_case_009_every_department_form_completes_identification(http: HttpDriver) -> None:
    forms = sorted((CASES / "009-ci-department-forms").glob("identification-*.json"))
    for n, path in enumerate(forms):
        phone = "+5916" + str(uuid.uuid4().int)[:7]
        request_id = http.submit_lead(channel="web", channel_lead_id=f"ci-{uuid.uuid4().hex[:8]}", phone=phone)
        task = http.open_task(request_id, TaskKind.IDENTIFICATION)
        http.claim(task.task_id, "agente.maria")
        body = json.loads(path.read_text())
        body["ci"] = body["ci"].replace("1234567", f"{7654300 + n}")  # one customer per form: no joining
        http.complete(task.task_id, "agente.maria", body)
        ci = http.call("GET", f"/v1/requests/{request_id}", Role.AGENT)["customer"]["ci"]
        assert (
            ci
            == f"{7654300 + n} "
            + {"BN": "BE", "CBBA": "CB", "CB": "CB", "PA": "PD", "SC": "SC"}[
                "".join(c for c in body["ci"] if c.isalpha())
            ]
        ), path.name
