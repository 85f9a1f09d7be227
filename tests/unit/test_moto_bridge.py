"""What the local stack changes in moto (devstack.moto_bridge).

DynamoDB transactions: moto's full-table copy before each TransactWriteItems is replaced by a
backup of the items the transaction names; a cancelled transaction must still leave every item
as it was, and a successful one apply every write. Task tokens: a SendTask* call on a token that
no longer waits answers AWS's 400 with its error code, not a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.moto_bridge import atomic_dynamodb_writes, task_token_errors

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
