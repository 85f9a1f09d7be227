"""AWS adapters on moto (in-process mock): Step Functions callbacks, S3 documents, EMF metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ventas.adapters.aws import PowertoolsMetrics, S3DocumentStore, SfnWorkflow
from ventas.domain.errors import WorkflowNotWaiting


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def test_an_answer_to_a_token_nobody_waits_for_is_reported_as_not_waiting(aws: None) -> None:
    workflow = SfnWorkflow("arn:aws:states:us-east-1:123456789012:stateMachine:vd")
    with pytest.raises(WorkflowNotWaiting):
        workflow.resume("no-such-token", {})
    with pytest.raises(WorkflowNotWaiting):
        workflow.fail("no-such-token", "CustomerUnreachable", "x")


def test_start_names_the_execution_after_the_request(aws: None) -> None:
    sfn = boto3.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(
        name="vd", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    workflow = SfnWorkflow(arn, sfn)
    assert workflow.start("vd-20261127-abc", {"requestId": "vd-20261127-abc"}) is True
    assert sfn.describe_execution(executionArn=workflow.execution_arn("vd-20261127-abc"))["name"] == "vd-20261127-abc"
    # A second start of the same request: AWS's ExecutionAlreadyExists becomes False, no error.
    assert workflow.start("vd-20261127-abc", {"requestId": "vd-20261127-abc", "other": 1}) is False


def test_documents_are_stored_with_their_type_under_the_buckets_own_key(aws: None) -> None:
    # As infra/template.yaml configures the bucket: default encryption with the stack's key.
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="docs")
    s3.put_bucket_encryption(
        Bucket="docs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )
    S3DocumentStore("docs", s3).put("requests/r1/CI_ANVERSO/m1", b"%PDF", "application/pdf")
    head = s3.head_object(Bucket="docs", Key="requests/r1/CI_ANVERSO/m1")
    assert (head["ContentType"], head["ServerSideEncryption"]) == ("application/pdf", "aws:kms")
    assert head["SSEKMSKeyId"] == key


def test_one_business_metric_per_outcome_with_the_reason_as_dimension(capsys: pytest.CaptureFixture[str]) -> None:
    PowertoolsMetrics().outcome("rejected", "DEBT")
    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Metrics"] == [{"Name": "Request_rejected", "Unit": "Count"}]
    assert (directive["Namespace"], directive["Dimensions"]) == ("VentasDigitales", [["reason"]])
    assert (emf["reason"], emf["Request_rejected"]) == ("DEBT", [1.0])
