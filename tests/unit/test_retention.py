"""Personal data retention on moto (DynamoDB + S3), through the scheduled function's handler.

Old closed requests lose their personal data (documents, every version, included; task results
too), recent ones and open ones are untouched, and the KPI of an old day is the same after.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.template import ROOT
from tests.fakes.aws import InMemoryWorkflow, RecordingMetrics
from tests.unit.conftest import FrozenClock
from ventas import bootstrap
from ventas.adapters.aws import S3DocumentStore
from ventas.adapters.dynamo import DynamoRequestRepository, DynamoTaskRepository, table_definitions
from ventas.config import Settings
from ventas.container import Container
from ventas.domain.models import (
    Document,
    HistoryEntry,
    Location,
    OrderState,
    Outcome,
    Reason,
    ReasonCode,
    SaleRequest,
    Step,
)
from ventas.domain.privacy import KEPT_FIELDS, PERSONAL_FIELDS
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.handler import InvalidInput
from ventas.services.reports import kpi_for_day

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=380)  # past the default period (365 days), inside the catch-up window
RECENT = NOW - timedelta(days=10)
BUCKET = "vd-documents"
CENTRO = Location(address="Calle España 123, Cochabamba", latitude=-17.39, longitude=-66.15)


PERSONAL_HISTORY: list[tuple[str, dict[str, Any]]] = [
    ("lead_received", {"channel": "web", "missed_call": False}),
    ("customer_message_received", {"type": "text", "message_ref": "ab12", "content": "Soy Ana, mi CI es 4567890"}),
    ("customer_message_sent", {"template": "sale_done", "wamid": "wamid.HBgLNTkxNzEyMzQ1MDEV"}),
    ("duplicate_reviewed", {"decision": "separate", "agent": "agente.ana", "comment": "Llamé al 71234501, es Ana"}),
]


def _history_without_personal_data(stack: Stack, request_id: str) -> None:
    history = stack.deps.requests.history(request_id)
    assert [h.event for h in history] == [event for event, _ in PERSONAL_HISTORY]  # same entries, same order
    details = {h.event: h.detail for h in history}
    assert details["lead_received"] == {"channel": "web", "missed_call": False}  # nothing personal: untouched
    assert details["customer_message_received"] == {"type": "text", "message_ref": "ab12", "redacted": True}
    assert details["customer_message_sent"] == {"template": "sale_done", "redacted": True}
    assert details["duplicate_reviewed"] == {"decision": "separate", "agent": "agente.ana", "redacted": True}


class _Context:
    function_name = "retention"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:retention"
    aws_request_id = "test"


@dataclass
class Stack:
    deps: Container
    s3: Any
    app: ModuleType

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.app.handler(event, _Context())
        return result

    def keys(self, request_id: str) -> list[str]:
        answer = self.s3.list_object_versions(Bucket=BUCKET, Prefix=f"requests/{request_id}/")
        return [v["Key"] for v in answer.get("Versions", []) + answer.get("DeleteMarkers", [])]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for definition in table_definitions("req", "tasks"):
            dynamodb.create_table(**definition)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        deps = bootstrap.build(
            Settings(requests_table="req", tasks_table="tasks", documents_bucket=BUCKET),
            clock=FrozenClock(NOW),
            requests=DynamoRequestRepository("req", dynamodb, tasks_table="tasks"),
            tasks=DynamoTaskRepository("tasks", dynamodb),
            documents=S3DocumentStore(BUCKET, s3),
            workflow=InMemoryWorkflow(),
            metrics=RecordingMetrics(),
        )
        bootstrap.use(deps)
        spec = importlib.util.spec_from_file_location("retention_app", ROOT / "functions" / "retention" / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            yield Stack(deps, s3, module)
        finally:
            bootstrap.use(None)


def _sale(stack: Stack, request_id: str, at: datetime, *, status: OrderState, outcome: Outcome | None) -> SaleRequest:
    """A request as the workflow leaves it, with two document copies (one stored twice) and a QC task."""
    documents = []
    for slot in ("CI_ANVERSO", "CI_REVERSO"):
        key = f"requests/{request_id}/{slot}/media-{slot}"
        stack.deps.documents.put(key, b"%PDF-1.7 copia de carnet", "application/pdf")
        documents.append(
            Document(
                requirement=slot, media_id=f"media-{slot}", mime_type="application/pdf", received_at=at, object_key=key
            )
        )
    stack.deps.documents.put(documents[0].object_key or "", b"%PDF-1.7 otra vez", "application/pdf")  # a 2nd version
    request = SaleRequest(
        request_id=request_id,
        channel="web",
        channel_lead_id=f"web-{request_id}",
        created_at=at,
        updated_at=at,
        phone="+59171234501",
        name="Ana Rojas",
        ci="4567890 CB",
        service_code="INTERNET_FTTH_100",
        location=CENTRO,
        documents=documents,
        status=status,
        outcome=outcome,
        step=Step.CLOSED if outcome is Outcome.SOLD else Step.DOCUMENTS,
        order_id="SF-1" if outcome is Outcome.SOLD else None,
        installed_at=at + timedelta(days=3) if outcome is Outcome.SOLD else None,
        satisfaction=5 if outcome is Outcome.SOLD else None,
        reason=Reason.of(ReasonCode.DEBT) if outcome is Outcome.REJECTED else None,
    )
    stack.deps.requests.add(request)
    for n, (event, detail) in enumerate(PERSONAL_HISTORY):
        entry = HistoryEntry(at=at + timedelta(minutes=n), step=Step.DOCUMENTS, event=event, detail=detail)
        stack.deps.requests.append_history(request_id, entry)
    for n, (kind, result) in enumerate(
        (
            (TaskKind.IDENTIFICATION, {"ci": "4567890 CB", "service_code": "INTERNET_FTTH_100", "name": "Ana Rojas"}),
            (TaskKind.QC_CALL, {"satisfaction": 5, "comment": "Ana dice que todo bien, llamar al 71234501"}),
        )
    ):
        stack.deps.tasks.add(
            HumanTask(
                task_id=f"tk-{request_id[-8:]}{n:08d}",
                request_id=request_id,
                kind=kind,
                step=Step.QC,
                status=TaskStatus.COMPLETED,
                created_at=at,
                due_at=at + timedelta(hours=8),
                assignee="agente.ana",
                completed_at=at,
                result=result,
                token="tok",
            )
        )
    return request


def test_old_closed_requests_lose_personal_data_recent_and_open_ones_keep_it(stack: Stack) -> None:
    sold = _sale(stack, "vd-old-sold-0001", OLD, status=OrderState.COMPLETED, outcome=Outcome.SOLD)
    rejected = _sale(
        stack, "vd-old-rejected-01", OLD + timedelta(hours=1), status=OrderState.REJECTED, outcome=Outcome.REJECTED
    )
    still_open = _sale(
        stack, "vd-old-open-00001", OLD + timedelta(hours=2), status=OrderState.IN_PROGRESS, outcome=None
    )
    recent = _sale(stack, "vd-recent-sold-01", RECENT, status=OrderState.COMPLETED, outcome=Outcome.SOLD)
    old_day = sold.created_at.astimezone(UTC).date()
    kpi_before = kpi_for_day(stack.deps, old_day)

    report = stack.run({"job": "retention"})

    assert report["anonymised"] == 2
    assert report["kept_open"] == [still_open.request_id]
    assert report["documents_deleted"] == 2 * 3  # two requests, three versions each
    for request in (sold, rejected):
        stored = stack.deps.requests.get(request.request_id)
        assert (stored.phone, stored.name, stored.ci, stored.location, stored.documents) == ("", None, None, None, [])
        assert stored.anonymised_at == NOW
        assert (stored.status, stored.outcome, stored.order_id, stored.reason) == (
            request.status,
            request.outcome,
            request.order_id,
            request.reason,
        )
        assert stack.keys(request.request_id) == []
        for task in stack.deps.tasks.for_request(request.request_id):
            assert not {"ci", "name", "comment"} & set(task.result or {})
        _history_without_personal_data(stack, request.request_id)
        results = [t.result for t in stack.deps.tasks.for_request(request.request_id)]
        assert {"service_code": "INTERNET_FTTH_100"} in results
        assert {"satisfaction": 5} in results
    assert report["history_redacted"] == 2 * 3
    for request in (still_open, recent):
        assert stack.deps.requests.get(request.request_id) == request
        assert [h.detail for h in stack.deps.requests.history(request.request_id)] == [d for _, d in PERSONAL_HISTORY]
        assert len(stack.keys(request.request_id)) == 3
        assert all(
            "ci" in (t.result or {}) or "comment" in (t.result or {})
            for t in stack.deps.tasks.for_request(request.request_id)
        )
    # The KPI of the old day is the same figure, from the anonymised requests.
    kpi_after = kpi_for_day(stack.deps, old_day)
    assert (kpi_after.requests, kpi_after.efficient, kpi_after.value, kpi_after.breakdown) == (
        kpi_before.requests,
        kpi_before.efficient,
        kpi_before.value,
        kpi_before.breakdown,
    )
    assert kpi_after.requests == 3

    again = stack.run({"job": "retention"})
    assert (again["anonymised"], again["already_anonymised"], again["documents_deleted"]) == (0, 2, 0)


def test_a_missed_run_is_caught_up_and_a_backfill_reaches_further(stack: Stack) -> None:
    older = _sale(
        stack, "vd-older-sold-001", OLD - timedelta(days=60), status=OrderState.COMPLETED, outcome=Outcome.SOLD
    )
    assert stack.run({"job": "retention"})["anonymised"] == 0  # outside the 31-day window
    assert stack.run({"job": "retention", "catchUpDays": 120})["anonymised"] == 1
    assert stack.deps.requests.get(older.request_id).ci is None


def test_a_customer_asks_to_be_forgotten(stack: Stack) -> None:
    recent = _sale(stack, "vd-recent-erase-1", RECENT, status=OrderState.COMPLETED, outcome=Outcome.SOLD)
    still_open = _sale(stack, "vd-open-erase-001", RECENT, status=OrderState.IN_PROGRESS, outcome=None)
    report = stack.run({"job": "erase", "requestId": recent.request_id})
    assert (report["anonymised"], report["documents_deleted"]) == (1, 3)
    assert stack.deps.requests.get(recent.request_id).phone == ""
    _history_without_personal_data(stack, recent.request_id)
    assert stack.keys(recent.request_id) == []
    with pytest.raises(ValueError, match="still open"):
        stack.run({"job": "erase", "requestId": still_open.request_id})
    assert stack.deps.requests.get(still_open.request_id) == still_open
    assert stack.run({"job": "erase", "requestId": recent.request_id})["already_anonymised"] == 1


@pytest.mark.parametrize(
    "event",
    [
        {"job": "erase"},
        {"job": "retention", "requestId": "vd-x-0001"},
        {"job": "purge"},
        {"job": "retention", "catchUpDays": 0},
    ],
)
def test_bad_events_are_refused_and_change_nothing(stack: Stack, event: dict[str, Any]) -> None:
    sold = _sale(stack, "vd-old-sold-0002", OLD, status=OrderState.COMPLETED, outcome=Outcome.SOLD)
    with pytest.raises(InvalidInput):
        stack.run(event)
    assert stack.deps.requests.get(sold.request_id) == sold


def test_every_request_field_is_either_personal_or_kept() -> None:
    assert set(SaleRequest.model_fields) == PERSONAL_FIELDS | KEPT_FIELDS
    assert not PERSONAL_FIELDS & KEPT_FIELDS


def test_what_the_api_hides_from_history_is_what_retention_removes() -> None:
    from ventas.domain.privacy import PERSONAL_DETAIL_FIELDS
    from ventas.web import views

    assert views._PERSONAL_DETAIL | {views._CUSTOMER_WORDS} <= PERSONAL_DETAIL_FIELDS
