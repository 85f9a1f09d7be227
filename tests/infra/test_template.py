"""The final template: lint-clean, translatable, encrypted, logged and traced as infra/template.yaml says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devstack import cfn
from devstack.template import ROOT
from tests.infra.conftest import Built
from ventas.adapters.dynamo import TTL_ATTRIBUTE

DATA_KEY_ARN = {"Fn::GetAtt": ["DataKey", "Arn"]}


def test_cfn_lint_finds_nothing_in_the_template_or_its_translation(built: Built) -> None:
    # Run from the root so .cfnlintrc applies (informational checks included).
    lint = Path(sys.executable).with_name("cfn-lint")
    files = [str(built.out / "template.yaml"), str(built.out / "template.cfn.json")]
    done = subprocess.run([str(lint), "--", *files], cwd=ROOT, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def test_sam_translator_leaves_plain_cloudformation(built: Built) -> None:
    kinds = {spec["Type"] for spec in built.cfn["Resources"].values()}
    assert not [k for k in kinds if k.startswith("AWS::Serverless::")]
    assert "Transform" not in built.cfn


def test_artifacts_are_where_the_template_points(built: Built) -> None:
    for spec in built.sam["Resources"].values():
        uri = spec.get("Properties", {}).get("CodeUri") or spec.get("Properties", {}).get("ContentUri")
        if isinstance(uri, str):
            assert (built.out / uri).is_file(), uri
    for spec in cfn.functions(built.sam).values():
        assert spec["Properties"]["CodeUri"].startswith("dist/")
    state_machine = built.sam["Resources"]["VentasDigitalesStateMachine"]["Properties"]
    assert "Definition" in state_machine
    assert "DefinitionUri" not in state_machine


def test_tables_are_encrypted_with_the_stacks_key_and_recoverable(built: Built) -> None:
    tables = built.resources("AWS::DynamoDB::Table")
    assert set(tables) == {"RequestsTable", "TasksTable"}
    for logical, table in tables.items():
        props = table["Properties"]
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "DataKey"}}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain"), logical
    # Only the requests table's lookup keys expire, on the attribute the adapter writes.
    ttl = tables["RequestsTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert "TimeToLiveSpecification" not in tables["TasksTable"]["Properties"]


def test_the_documents_bucket_is_private_encrypted_tls_only_and_expires(built: Built) -> None:
    bucket = built.cfn["Resources"]["DocumentsBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": DATA_KEY_ARN}
    (lifecycle,) = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Status"] == "Enabled"
    assert lifecycle["ExpirationInDays"] == {"Ref": "DocumentsRetentionDays"}
    policy = built.cfn["Resources"]["DocumentsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    tls = next(s for s in policy if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false")
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
    assert len(tls["Resource"]) == 2  # the bucket and its objects


def test_secrets_and_log_groups_use_the_stacks_key(built: Built) -> None:
    for logical, secret in built.resources("AWS::SecretsManager::Secret").items():
        assert secret["Properties"]["KmsKeyId"] == {"Ref": "DataKey"}, logical
    for logical, group in built.resources("AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == DATA_KEY_ARN, logical
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical


def test_the_state_machine_logs_errors_without_execution_data_and_is_traced(built: Built) -> None:
    (logical,) = built.resources("AWS::StepFunctions::StateMachine")
    props = built.cfn["Resources"][logical]["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    logging = props["LoggingConfiguration"]
    assert logging["IncludeExecutionData"] is False
    assert logging["Level"] in {"ERROR", "ALL"}
    (destination,) = logging["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_every_function_is_traced_and_logs_to_its_own_group(built: Built) -> None:
    groups = []
    for logical, function in built.resources("AWS::Lambda::Function").items():
        props = function["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}, logical
        assert (props["Architectures"], props["Runtime"]) == (["arm64"], "python3.12"), logical
        groups.append(props["LoggingConfig"]["LogGroup"]["Ref"])
    assert len(groups) == len(set(groups))
