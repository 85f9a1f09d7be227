"""What the local stack changes in moto (devstack.moto_bridge, devstack.moto_dynamodb).

DynamoDB transactions: moto's full-table copy before each TransactWriteItems is replaced by a
backup of the items the transaction names; a cancelled transaction must still leave every item
as it was, and a successful one apply every write. Task tokens: a SendTask* call on a token that
no longer waits answers AWS's 400 with its error code, not a 500."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.moto_bridge import task_token_errors
from devstack.moto_dynamodb import atomic_dynamodb_writes

TABLE = "t"


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        atomic_dynamodb_writes()
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}})
        client.put_item(TableName=TABLE, Item={"pk": {"S": "gone"}, "sk": {"S": "1"}, "v": {"N": "9"}})
        yield client


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "1"}}


def items(client: Any) -> dict[str, str]:
    return {i["pk"]["S"]: i["v"]["N"] for i in client.scan(TableName=TABLE)["Items"]}


def writes(condition_holds: bool) -> list[dict[str, Any]]:
    return [
        {"Put": {"TableName": TABLE, "Item": {**key("b"), "v": {"N": "2"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": key("a"),
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": {"N": "5"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": key("gone")}},
        {
            "Put": {
                "TableName": TABLE,
                "Item": {**key("c"), "v": {"N": "3"}},
                "ConditionExpression": "attribute_not_exists(pk)" if condition_holds else "attribute_exists(pk)",
            }
        },
    ]


def test_a_transaction_applies_every_write(ddb: Any) -> None:
    ddb.transact_write_items(TransactItems=writes(condition_holds=True))
    assert items(ddb) == {"a": "5", "b": "2", "c": "3"}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(ddb: Any) -> None:
    with pytest.raises(ClientError) as failure:
        ddb.transact_write_items(TransactItems=writes(condition_holds=False))
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert items(ddb) == {"a": "1", "gone": "9"}


def test_two_writes_to_one_item_are_refused_and_change_nothing(ddb: Any) -> None:
    twice = [
        {"Put": {"TableName": TABLE, "Item": {**key("b"), "v": {"N": "2"}}}},
        {"Put": {"TableName": TABLE, "Item": {**key("b"), "v": {"N": "3"}}}},
    ]
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=twice)
    assert items(ddb) == {"a": "1", "gone": "9"}


@pytest.mark.parametrize("name", ["TaskTimedOut", "TaskDoesNotExist"])
def test_a_token_that_no_longer_waits_is_a_400_with_its_code(name: str) -> None:
    task_token_errors()
    from moto.stepfunctions.parser import api

    error = getattr(api, name)()  # as moto's SendTask* raise them: no arguments
    assert error.code == 400
    assert json.loads(error.description)["__type"] == name


def _waiting_machine(timeout_seconds: int) -> str:
    return json.dumps(
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "vd-bridge-slow", "Payload": {"token.$": "$$.Task.Token"}},
                    "TimeoutSeconds": timeout_seconds,
                    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "TimedOut"}],
                    "End": True,
                },
                "TimedOut": {"Type": "Wait", "Seconds": 5, "End": True},  # still running: tokens are read
            },
        }
    )


def test_a_token_whose_state_timed_out_is_refused_as_aws_refuses_it() -> None:
    """The state's timer runs from the state's start; moto's wait for the token from after the
    Lambda call returned. Between the two AWS has closed the token (TaskTimedOut); moto took
    SendTaskSuccess and lost its answer while the execution went on through the Catch."""
    import time

    from moto.core.config import default_user_config

    from devstack import moto_bridge

    tokens: list[str] = []

    def slow(event: Any, _context: Any) -> None:
        tokens.append(event["token"])
        time.sleep(1.5)  # a loaded machine: the Lambda call returns late

    moto_bridge.register("vd-bridge-slow", slow)
    moto_bridge.install()
    saved: Any = dict(default_user_config.get("stepfunctions", {}))
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    try:
        with mock_aws():
            iam = boto3.client("iam", region_name="us-east-1")
            role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            boto3.client("lambda", region_name="us-east-1").create_function(
                FunctionName="vd-bridge-slow",
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": _zip()},
            )
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            machine = sfn.create_state_machine(name="m", definition=_waiting_machine(2), roleArn=role)
            arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")["executionArn"]
            deadline = time.monotonic() + 20

            def entered() -> list[str]:
                events = sfn.get_execution_history(executionArn=arn)["events"]
                return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

            while "TimedOut" not in entered() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert entered() == ["Wait", "TimedOut"]  # through the Catch: the state timed out
            assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
            (token,) = tokens
            calls: list[Callable[[], Any]] = [
                lambda: sfn.send_task_heartbeat(taskToken=token),
                lambda: sfn.send_task_success(taskToken=token, output="{}"),
            ]
            for call in calls:
                with pytest.raises(ClientError) as refused:
                    call()
                assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
    finally:
        default_user_config["stepfunctions"] = saved


def _zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()
