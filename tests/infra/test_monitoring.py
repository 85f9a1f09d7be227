"""Alarms watch metrics that exist: the KPI function's output matches its alarms, every function
and the workflow are covered, and every alarm notifies the operators' topic."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from devstack.template import ROOT
from tests.fakes.aws import InMemoryDocuments, InMemoryWorkflow, RecordingMetrics
from tests.fakes.memory import in_memory_repositories
from tests.infra.conftest import Built
from ventas import bootstrap
from ventas.config import Settings
from ventas.contracts import ReportEvent


class _Context:
    function_name = "kpi"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:kpi"
    aws_request_id = "test"


@pytest.fixture
def kpi_app(monkeypatch: pytest.MonkeyPatch, built: Built) -> Iterator[ModuleType]:
    """The kpi handler on in-memory repositories, with the environment the template gives it."""
    variables = built.sam["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        monkeypatch.setenv(name, variables[name])
    stage = built.sam["Parameters"]["Stage"]["Default"]
    bootstrap.use(
        bootstrap.build(
            Settings(stage=stage),
            **in_memory_repositories(),
            workflow=InMemoryWorkflow(),
            documents=InMemoryDocuments(),
            metrics=RecordingMetrics(),
        )
    )
    spec = importlib.util.spec_from_file_location("kpi_app_under_test", ROOT / "functions" / "kpi" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    bootstrap.use(None)


def _emitted(output: str) -> list[tuple[str, str, frozenset[tuple[str, str]]]]:
    metrics = []
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        emf = json.loads(line)
        for directive in emf["_aws"]["CloudWatchMetrics"]:
            (dimensions,) = directive["Dimensions"]
            values = frozenset((d, emf[d]) for d in dimensions)
            metrics += [(directive["Namespace"], m["Name"], values) for m in directive["Metrics"]]
    return metrics


def _watched(built: Built, alarm: str) -> tuple[str, str, frozenset[tuple[str, str]]]:
    props = built.cfn["Resources"][alarm]["Properties"]
    parameters = built.sam["Parameters"]

    def value(v: Any) -> str:
        return str(parameters[v["Ref"]]["Default"]) if isinstance(v, dict) else str(v)

    dims = frozenset((d["Name"], value(d["Value"])) for d in props["Dimensions"])
    return props["Namespace"], props["MetricName"], dims


def test_the_kpi_and_overdue_alarms_watch_what_the_kpi_function_emits(
    kpi_app: ModuleType, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    for rule in ("DailyKpi", "OverdueTasks"):
        event = json.loads(built.sam["Resources"]["KpiFunction"]["Properties"]["Events"][rule]["Properties"]["Input"])
        ReportEvent.model_validate(event)  # the schedule's input is what the handler accepts
    kpi_app.handler({"report": "overdue"}, _Context())
    kpi_app.handler({"report": "kpi"}, _Context())
    emitted = _emitted(capsys.readouterr().out)
    assert _watched(built, "TasksOverdueAlarm") in emitted
    # A day without requests emits no KpiPercent (the alarm treats it as missing): same series otherwise.
    namespace, _, dims = _watched(built, "KpiBelowThresholdAlarm")
    assert (namespace, "KpiRequests", dims) in emitted


def test_every_function_and_the_workflow_have_alarms_that_notify_ops(built: Built) -> None:
    alarms = built.resources("AWS::CloudWatch::Alarm")
    for logical, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopicArn"}], logical
    watched = {(a["Properties"]["MetricName"], json.dumps(a["Properties"]["Dimensions"])) for a in alarms.values()}
    for function in built.resources("AWS::Lambda::Function"):
        for metric in ("Errors", "Throttles"):
            assert (metric, json.dumps([{"Name": "FunctionName", "Value": {"Ref": function}}])) in watched, function
    machine = json.dumps([{"Name": "StateMachineArn", "Value": {"Ref": "VentasDigitalesStateMachine"}}])
    assert {("ExecutionsFailed", machine), ("ExecutionsTimedOut", machine)} <= watched
    if "APIHandler" in built.cfn["Resources"]:
        assert any(metric == "5XXError" for metric, _ in watched)
