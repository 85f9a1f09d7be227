"""What both DynamoDB repositories share: (de)serialisation, paged queries, table definitions.

The key design is in `ventas.adapters.dynamo`'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ventas.adapters.dynamo_keys import check_limit, encode_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]

# --- (de)serialisation ---------------------------------------------------------------------

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    """JSON form to what TypeSerializer accepts: it refuses float, so floats become Decimal."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    """Back to JSON form: Decimal would leak into `dict[str, Any]` fields and dump as text."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        integral = isinstance(exponent, int) and exponent >= 0
        return int(value) if integral else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


def to_item(document: Mapping[str, Any]) -> Item:
    return {k: to_value(v) for k, v in document.items()}


def to_value(value: Any) -> AttributeValueTypeDef:
    """One value in JSON form (floats allowed) as a DynamoDB attribute value."""
    return _serializer.serialize(_to_dynamo(value))


def from_item(item: Mapping[str, Any], drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items() if k not in drop}


def string_attr(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def old_item(error: ClientError) -> Item | None:
    """The stored item sent back by ReturnValuesOnConditionCheckFailure=ALL_OLD."""
    return cast(dict[str, Any], error.response).get("Item") or None


class Table:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")

    def _get_item(self, key: Item) -> Item | None:
        response = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        return response.get("Item")

    def _query_all(self, **query: Any) -> list[Item]:
        items: list[Item] = []
        while True:
            response = self._client.query(TableName=self._table, **query)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query_page(
        self, limit: int, start: dict[str, str] | None, fields: Sequence[str], **query: Any
    ) -> tuple[list[Item], str | None]:
        """Up to `limit` items, and a token only if more follow (reads `limit + 1`)."""
        check_limit(limit)
        items: list[Item] = []
        if start is not None:
            query["ExclusiveStartKey"] = {k: string_attr(v) for k, v in start.items()}
        while len(items) <= limit:
            response = self._client.query(TableName=self._table, Limit=limit + 1 - len(items), **query)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        if len(items) <= limit:
            return items, None
        page = items[:limit]
        return page, encode_page({f: page[-1][f]["S"] for f in fields})


def table_definitions(requests_table: str, tasks_table: str) -> list[dict[str, Any]]:
    """CreateTable arguments of both tables, for tests (the SAM template is the real one)."""

    def strings(*names: str) -> list[dict[str, str]]:
        return [{"AttributeName": n, "AttributeType": "S"} for n in names]

    def schema(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
        keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        return keys + ([{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else [])

    def gsi(name: str, hash_key: str, range_key: str | None, projection: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": schema(hash_key, range_key),
            "Projection": {"ProjectionType": projection},
        }

    return [
        {
            "TableName": requests_table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": strings("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi4pk"),
            "KeySchema": schema("pk", "sk"),
            "GlobalSecondaryIndexes": [
                gsi("by_status", "gsi1pk", "gsi1sk", "ALL"),
                gsi("by_day", "gsi2pk", "gsi2sk", "ALL"),
                gsi("by_order", "gsi3pk", None, "KEYS_ONLY"),
                gsi("awaiting_documents", "gsi4pk", None, "ALL"),
            ],
        },
        {
            "TableName": tasks_table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": strings("task_id", "status", "inbox_sk", "request_id", "created_at"),
            "KeySchema": schema("task_id"),
            "GlobalSecondaryIndexes": [
                gsi("inbox", "status", "inbox_sk", "ALL"),
                gsi("by_request", "request_id", "created_at", "ALL"),
            ],
        },
    ]
