"""The API's adapters: Graph API media download, Step Functions reads and redrive, the graph."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ventas.adapters.aws import SfnWorkflow
from ventas.adapters.whatsapp import GraphMediaSource, LocalMediaSource
from ventas.domain.errors import BackOfficeUnavailable, ExecutionNotFound, NotRedrivable, RedriveUnsupported
from ventas.domain.execution_graph import build_graph

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:vd-ventas-digitales"


class FakeOpener:
    def __init__(self, answers: dict[str, bytes | Exception]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str | None, float]] = []

    def __call__(self, request: Any, timeout: float) -> Any:
        self.seen.append((request.full_url, request.get_header("Authorization"), timeout))
        answer = self.answers[request.full_url]
        if isinstance(answer, Exception):
            raise answer
        return io.BytesIO(answer)


def test_graph_media_is_two_authorised_calls_with_timeouts() -> None:
    opener = FakeOpener(
        {
            "https://graph.test/v21.0/123%2F4": json.dumps({"url": "https://cdn.test/m/123"}).encode(),
            "https://cdn.test/m/123": b"%PDF-1.4 carnet",
        }
    )
    source = GraphMediaSource(access_token=lambda: "tok", base_url="https://graph.test", opener=opener)
    assert source.fetch("123/4") == b"%PDF-1.4 carnet"
    assert [(url, auth) for url, auth, _ in opener.seen] == [
        ("https://graph.test/v21.0/123%2F4", "Bearer tok"),
        ("https://cdn.test/m/123", "Bearer tok"),
    ]
    assert all(timeout > 0 for _, _, timeout in opener.seen)


def test_graph_media_faults_are_back_office_unavailable() -> None:
    down = FakeOpener({"https://graph.test/v21.0/1": TimeoutError("slow")})
    with pytest.raises(BackOfficeUnavailable):
        GraphMediaSource(access_token=lambda: "t", base_url="https://graph.test", opener=down).fetch("1")
    plain = FakeOpener({"https://graph.test/v21.0/1": json.dumps({"url": "http://cdn.test/x"}).encode()})
    with pytest.raises(BackOfficeUnavailable):
        GraphMediaSource(access_token=lambda: "t", base_url="https://graph.test", opener=plain).fetch("1")


def test_local_media_is_deterministic_per_media_id() -> None:
    local = LocalMediaSource()
    assert local.fetch("a") == local.fetch("a") != local.fetch("b")


class FakeSfn:
    """The few calls of the Step Functions client SfnWorkflow makes for ops."""

    exceptions = type("Exceptions", (), {"ClientError": ClientError})

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _fail(self, operation: str) -> None:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "x"}}, operation)

    def redrive_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("redrive_execution", kwargs))
        self._fail("RedriveExecution")
        return {"redriveDate": datetime.now(UTC)}

    def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
        self._fail("DescribeExecution")
        return {"status": "FAILED", "startDate": datetime.now(UTC), "error": "States.TaskFailed", "redriveCount": 2}


def test_redrive_names_the_execution_after_the_request_and_maps_errors() -> None:
    sfn = FakeSfn()
    SfnWorkflow(ARN, client=sfn).redrive("vd-20261124-abc")
    assert sfn.calls == [
        ("redrive_execution", {"executionArn": ARN.replace(":stateMachine:", ":execution:") + ":vd-20261124-abc"})
    ]
    for code, error in [
        ("ExecutionNotRedrivable", NotRedrivable),
        ("ExecutionDoesNotExist", ExecutionNotFound),
        ("500", RedriveUnsupported),
    ]:
        with pytest.raises(error):
            SfnWorkflow(ARN, client=FakeSfn(code)).redrive("vd-1")
    with pytest.raises(ClientError):
        SfnWorkflow(ARN, client=FakeSfn("ThrottlingException")).redrive("vd-1")


def test_describe_reads_status_and_redrive_count_and_none_when_missing() -> None:
    summary = SfnWorkflow(ARN, client=FakeSfn()).describe("vd-1")
    assert summary is not None
    assert (summary.status, summary.error, summary.redrive_count) == ("FAILED", "States.TaskFailed", 2)
    assert SfnWorkflow(ARN, client=FakeSfn("ExecutionDoesNotExist")).describe("vd-1") is None


def test_a_caught_failure_and_a_failed_execution_in_the_graph() -> None:
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Task",
                "Comment": "Step 4: NAF.",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["BackOfficeUnavailable"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["BackOfficeUnavailable"], "Next": "Review"}],
                "Next": "Sell",
            },
            "Review": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Check"},
            "Sell": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True},
        },
    }
    t0 = datetime(2026, 11, 24, 14, tzinfo=UTC)

    def event(n: int, kind: str, **details: Any) -> dict[str, Any]:
        return {"id": n, "type": kind, "timestamp": t0 + timedelta(seconds=n), **details}

    history = [
        event(1, "ExecutionStarted"),
        event(2, "TaskStateEntered", stateEnteredEventDetails={"name": "Check"}),
        event(3, "TaskScheduled"),
        event(4, "TaskFailed", taskFailedEventDetails={"error": "BackOfficeUnavailable", "cause": "NAF"}),
        event(5, "TaskScheduled"),
        event(6, "TaskFailed", taskFailedEventDetails={"error": "BackOfficeUnavailable", "cause": "NAF"}),
        event(7, "TaskScheduled"),
        event(8, "TaskFailed", taskFailedEventDetails={"error": "BackOfficeUnavailable", "cause": "NAF"}),
        event(9, "TaskStateExited", stateExitedEventDetails={"name": "Check"}),
        event(10, "TaskStateEntered", stateEnteredEventDetails={"name": "Review"}),
        event(11, "TaskScheduled"),
        event(12, "TaskFailed", taskFailedEventDetails={"error": "KeyError", "cause": "'x'"}),
        event(13, "ExecutionFailed", executionFailedEventDetails={"error": "KeyError", "cause": "'x'"}),
    ]
    graph = build_graph("vd-1", definition, history, "FAILED", t0, t0 + timedelta(seconds=13), 0, lambda _: None)
    nodes = {n.id: n for n in graph.nodes}
    assert (nodes["Check"].status, nodes["Check"].retries, nodes["Check"].error) == (
        "failed",
        2,
        "BackOfficeUnavailable",
    )
    assert nodes["Check"].steps == ["4"]
    assert (nodes["Review"].status, nodes["Review"].error) == ("failed", "KeyError")
    assert nodes["Sell"].status == "not_reached"
    taken = {(e.source, e.target, e.kind): e.taken for e in graph.edges}
    assert taken[("Check", "Review", "catch")] == 1
    assert taken[("Check", "Sell", "next")] == 0
    assert taken[("Check", "Check", "retry")] == 2


def test_get_many_reads_requests_in_one_batch_on_both_repositories() -> None:
    import boto3
    from moto import mock_aws

    from tests.fakes.memory import InMemoryRequestRepository
    from ventas.adapters.dynamo import DynamoRequestRepository, table_definitions
    from ventas.domain.models import SaleRequest

    t0 = datetime(2026, 11, 24, 14, tzinfo=UTC)
    made = [
        SaleRequest(
            request_id=f"vd-{n:04d}",
            channel="web",
            channel_lead_id=str(n),
            created_at=t0,
            updated_at=t0,
            phone="+59171234501",
        )
        for n in range(120)
    ]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for definition in table_definitions("req", "tasks"):
            client.create_table(**definition)
        for repository in (InMemoryRequestRepository(), DynamoRequestRepository("req", client)):
            for request in made:
                repository.add(request)
            wanted = [r.request_id for r in made[::-1]] + ["vd-missing", made[0].request_id]
            found = repository.get_many(wanted)
            assert set(found) == {r.request_id for r in made}
            assert found["vd-0007"] == made[7]
            assert repository.get_many([]) == {}
