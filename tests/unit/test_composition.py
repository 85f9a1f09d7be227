"""The composition root's cold-start behaviour: parts built on first use, secrets read once,
the X-Ray SDK only where tracing is on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.fakes.memory import InMemoryRequestRepository
from ventas import bootstrap, observability
from ventas.adapters import reference
from ventas.adapters.secrets import json_secret_field
from ventas.config import Settings


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    credentials = {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in credentials.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def test_a_part_is_built_on_first_use_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    class CountingGis(reference.ReferenceGis):
        def __init__(self) -> None:
            built.append(self)
            super().__init__()

    monkeypatch.setattr(reference, "ReferenceGis", CountingGis)
    deps = bootstrap.build(Settings(), requests=InMemoryRequestRepository())
    assert built == []  # the container alone loads no zones
    deps.gis.zones_at(-17.3935, -66.1570)
    deps.gis.zones_at(-17.3935, -66.1570)
    assert len(built) == 1
    assert isinstance(deps.gis, reference.ReferenceGis)  # the proxy is invisible to callers


def test_one_client_per_service_serves_every_adapter(aws: None) -> None:
    client = bootstrap._clients()
    assert client("dynamodb") is client("dynamodb")
    deps = bootstrap.build(Settings())
    assert deps.requests._client is deps.tasks._client


def test_in_aws_the_pii_key_comes_from_its_secret(aws: None) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="vd/pii-key", SecretString="k" * 64)["ARN"]
    deps = bootstrap.build(Settings(pii_key_secret=arn))
    local = bootstrap.build(Settings())
    assert deps.settings.pii_key == "k" * 64
    assert deps.customer_key("phone", "+59171234501") != local.customer_key("phone", "+59171234501")


def test_back_office_tokens_are_fields_of_one_secret(aws: None) -> None:
    tokens = {"naf": "t-naf", "gis": "t-gis", "smartflex": "", "installations": "t-inst"}
    arn = boto3.client("secretsmanager").create_secret(Name="vd/bo", SecretString=json.dumps(tokens))["ARN"]
    token = json_secret_field(arn)
    assert token("naf") == "t-naf"
    with pytest.raises(ValueError, match="smartflex"):
        token("smartflex")  # an empty token is a misconfiguration, not a bearer ""


def test_the_xray_sdk_wraps_a_handler_only_in_lambda_with_tracing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: Any, context: Any) -> Any:
        return event

    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert observability.trace_handler(handler) is handler
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert observability.trace_handler(handler) is handler
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert observability.tracing_enabled()
