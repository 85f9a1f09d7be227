"""moto's Query without sorting the whole table (devstack.moto_dynamodb, point 3): the same
answers as moto's own, on the base table and on an index, in both orders, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from devstack import moto_dynamodb

TABLE = "q"


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gpk", "gsk")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [
                        {"AttributeName": "gpk", "KeyType": "HASH"},
                        {"AttributeName": "gsk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(60):  # partitions p0..p5, ten items each; index partitions g0..g2, not every item
            item = {"pk": {"S": f"p{n % 6}"}, "sk": {"S": f"{n:03d}"}}
            if n % 4:
                item |= {"gpk": {"S": f"g{n % 3}"}, "gsk": {"S": f"{(n * 7) % 60:03d}"}}
            client.put_item(TableName=TABLE, Item=item)
        yield client


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p2"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {
        "KeyConditionExpression": "pk = :p AND sk > :s",
        "ExpressionAttributeValues": {":p": {"S": "p3"}, ":s": {"S": "020"}},
        "ScanIndexForward": False,
    },
    {"IndexName": "by-g", "KeyConditionExpression": "gpk = :g", "ExpressionAttributeValues": {":g": {"S": "g1"}}},
    {
        "IndexName": "by-g",
        "KeyConditionExpression": "gpk = :g AND gsk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":g": {"S": "g2"}, ":a": {"S": "010"}, ":b": {"S": "050"}},
        "ScanIndexForward": False,
    },
]


def pages(client: Any, query: dict[str, Any], limit: int) -> list[list[str]]:
    """Every page's items (pk/sk), following LastEvaluatedKey."""
    found: list[list[str]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE, "Limit": limit, **query}
    while True:
        page = client.query(**kwargs)
        found.append([i["pk"]["S"] + "/" + i["sk"]["S"] for i in page["Items"]])
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_answers_as_moto_does_page_by_page(
    ddb: Any, query: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_dynamodb.partition_queries()
    with monkeypatch.context() as moto_own:  # moto's own Query, kept by the patch
        original_query, original_all_items = Table._vd_queries  # type: ignore[attr-defined]
        moto_own.setattr(Table, "query", original_query)
        moto_own.setattr(Table, "all_items", original_all_items)
        expected = pages(ddb, query, limit=3)
    assert Table.query is not original_query
    assert pages(ddb, query, limit=3) == expected
    assert pages(ddb, query, limit=100) == [[item for page in expected for item in page]]


def test_a_query_walks_its_partition_only_and_a_scan_the_whole_table(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moto_dynamodb.partition_queries()
    walked: list[int] = []
    patched = Table.all_items

    def counting(self: Any) -> list[Any]:
        found: list[Any] = patched(self)
        walked.append(len(found))
        return found

    monkeypatch.setattr(Table, "all_items", counting)
    ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p1"}})
    ddb.query(  # an index: every item once, unsorted (moto keeps those that carry its keys)
        TableName=TABLE,
        IndexName="by-g",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": {"S": "g0"}},
    )
    ddb.scan(TableName=TABLE)  # moto's sorted walk, as before
    assert walked == [10, 60, 60]
