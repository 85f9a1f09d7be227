"""Pure domain rules: identity formats, business hours, the KPI, configuration, handler input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from devstack.moto_bridge import LambdaContext
from ventas.config import Settings
from ventas.contracts import OpenTaskEvent, StageEvent
from ventas.domain.kpi import ACEPTADO, OBSERVADO, daily_kpi, is_efficient
from ventas.domain.models import Lead, Outcome, Reason, ReasonCode, SaleRequest
from ventas.domain.schedule import local_day, next_business_slot
from ventas.handler import InvalidInput, stage_handler

MON_SAT = frozenset(range(6))


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("4567890 cb", "4567890 CB"),
        ("4567890CB", "4567890 CB"),
        ("7894561-1a  LP", "7894561-1A LP"),
        ("123456", "123456"),
    ],
)
def test_ci_is_normalised(raw: str, normal: str) -> None:
    assert Lead(channel="web", channel_lead_id="x", phone="71234567", ci=raw).ci == normal


@pytest.mark.parametrize("raw", ["abc", "12", "4567890 XX", "4567890-AA CB"])
def test_bad_ci_is_refused_in_spanish(raw: str) -> None:
    with pytest.raises(ValidationError) as bad:
        Lead(channel="web", channel_lead_id="x", phone="71234567", ci=raw)
    assert "carnet de identidad" in str(bad.value)


@pytest.mark.parametrize(("raw", "e164"), [("71234567", "+59171234567"), ("+591 4 4250000", "+59144250000")])
def test_phone_is_e164(raw: str, e164: str) -> None:
    assert Lead(channel="web", channel_lead_id="x", phone=raw).phone == e164


@pytest.mark.parametrize(
    ("at", "slot"),
    [
        (datetime(2026, 11, 24, 14, 0, tzinfo=UTC), datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),  # Tue 10:00 open
        (datetime(2026, 11, 24, 11, 0, tzinfo=UTC), datetime(2026, 11, 24, 12, 30, tzinfo=UTC)),  # 07:00: opens 08:30
        (datetime(2026, 11, 24, 23, 0, tzinfo=UTC), datetime(2026, 11, 25, 12, 30, tzinfo=UTC)),  # 19:00: next day
        (datetime(2026, 11, 29, 15, 0, tzinfo=UTC), datetime(2026, 11, 30, 12, 30, tzinfo=UTC)),  # Sunday: Monday
    ],
)
def test_calls_only_in_business_hours_la_paz(at: datetime, slot: datetime) -> None:
    assert next_business_slot(at, time(8, 30), time(18, 30), MON_SAT) == slot


def test_the_kpi_day_is_the_la_paz_day() -> None:
    assert local_day(datetime(2026, 11, 28, 2, 0, tzinfo=UTC)) == "2026-11-27"


def _req(n: int, **fields: object) -> SaleRequest:
    at = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    base: dict[str, object] = {"request_id": f"r{n}", "channel": "web", "channel_lead_id": f"l{n}", "created_at": at}
    return SaleRequest.model_validate(base | {"updated_at": at, "phone": "+59171234567"} | fields)


def test_kpi_follows_the_procedures_formula_and_threshold() -> None:
    installed = datetime(2026, 11, 25, tzinfo=UTC)
    sold = [
        _req(n, order_id=f"SF-{n}", outcome=Outcome.SOLD, installed_at=installed, satisfaction=5) for n in range(19)
    ]
    debt = _req(99, outcome=Outcome.REJECTED, reason=Reason.of(ReasonCode.DEBT))
    report = daily_kpi("2026-11-24", [*sold, debt], "registered", 95.0)
    assert (report.requests, report.efficient, report.value, report.verdict) == (20, 19, 95.0, OBSERVADO)
    assert report.against == ["r99"]
    assert report.breakdown == {"sold": 19, "rejected:DEBT": 1}
    assert daily_kpi("d", sold, "registered", 95.0).verdict == ACEPTADO  # "mayor a 95%"


def test_efficiency_policies() -> None:
    registered = _req(1, order_id="SF-1")
    installed = _req(2, order_id="SF-2", installed_at=datetime(2026, 11, 25, tzinfo=UTC), satisfaction=3)
    abandoned_after_sale = _req(3, order_id="SF-3", outcome=Outcome.ABANDONED)
    assert [is_efficient(r, "registered") for r in (registered, installed, abandoned_after_sale)] == [True, True, False]
    assert [is_efficient(r, "installed") for r in (registered, installed)] == [False, True]
    assert is_efficient(installed, "qc_done") is False  # satisfaction 3 < 4


def test_settings_from_env_scale_waits_and_refuse_unknown_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VD_TIME_SCALE", "3600")
    monkeypatch.setenv("VD_DOCUMENTS_HOURS", "2")
    settings = Settings.from_env()
    assert settings.execution_timing()["documents"] == 2
    assert settings.execution_timing()["agentTask"] == 8
    monkeypatch.setenv("VD_EFFICIENCY_POLICY", "todo")
    with pytest.raises(ValueError, match="VD_EFFICIENCY_POLICY"):
        Settings.from_env()


def test_handler_refuses_bad_events_naming_each_field() -> None:
    calls: list[object] = []

    @stage_handler(OpenTaskEvent)
    def handler(deps: object, event: OpenTaskEvent) -> None:
        calls.append(event)

    event = {"action": "open", "kind": "nap", "requestId": "r 1", "timeoutSeconds": 0, "taskToken": "secret-tok"}
    with pytest.raises(InvalidInput) as bad:
        handler(event, LambdaContext("vd-tasks", "arn:aws:lambda:us-east-1:123456789012:function:vd-tasks"))
    fields = {f["field"] for f in json.loads(str(bad.value))["fields"]}
    assert fields == {"kind", "requestId", "timeoutSeconds"}
    assert calls == []
    assert "secret-tok" not in str(bad.value)  # input values never echoed: they may be tokens or personal data


def test_stage_event_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        StageEvent.model_validate({"requestId": "vd-1", "ci": "4567890"})
