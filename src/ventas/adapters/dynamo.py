"""DynamoDB adapters of `RequestRepository` and `TaskRepository` (boto3 low-level client).

Key design. No access pattern uses Scan.

Requests table (`pk` S, `sk` S). Several item types share a partition so a request's data stays
together:

=============  ====================  ==================  ==========================================
item           pk                    sk                  other attributes
=============  ====================  ==================  ==========================================
request        ``REQ#<request_id>``  ``META``            the SaleRequest fields (JSON form, numbers
                                                         as N) + index attributes below
history entry  ``REQ#<request_id>``  ``HIST#<at>#<tb>``  the HistoryEntry fields
task token     ``REQ#<request_id>``  ``TOKEN#<name>``    ``token``
claimed key    ``KEY#<key>``         ``KEY``             ``request_id``
=============  ====================  ==================  ==========================================

Index attributes of a request item (rewritten by every `save`):

- ``gsi1pk`` = ``STATUS#<status>``, ``gsi1sk`` = ``<created_at>#<request_id>``: GSI ``by_status``
  (projection ALL), read newest first, paged.
- ``gsi2pk`` = ``DAY#<YYYY-MM-DD>``: the day of ``created_at`` in America/La_Paz (UTC-4 all year),
  ``gsi2sk`` = ``<created_at>#<request_id>``: GSI ``by_day`` (projection ALL), read to the end.
- ``gsi3pk`` = ``ORDER#<order_id>``, only once the Smartflex order exists: sparse GSI
  ``by_order`` (KEYS_ONLY, then a consistent GetItem of the request).

Timestamps in keys are UTC, fixed width (``2026-11-27T02:00:00.000000Z``) so they sort as text.
``<tb>`` is a per-process sequence plus 8 random hex digits: entries with the same ``at`` keep
the order they were appended in by one process, and never overwrite each other.

`add` is PutItem if ``attribute_not_exists(pk)``; `save` overwrites. `claim_key` is PutItem if
``attribute_not_exists(pk)``; on ConditionalCheckFailed it returns the id already bound, so
concurrent claims agree on one id. `release_key` deletes only if ``request_id`` still matches.
`lookup_key` and `get_token` are consistent GetItems; `set_token(None)` deletes the item.

Tasks table (``task_id`` S). A task item holds the HumanTask fields, its Step Functions task
token included (``token``), ``created_at`` in the fixed-width form above, and:

- GSI ``inbox``: partition ``status``, sort ``inbox_sk`` = ``<due_at>#<task_id>`` (due first),
  projection ALL, paged.
- GSI ``by_request``: partition ``request_id``, sort ``created_at``, projection ALL.

`transition` is PutItem if ``#status = :expected`` (and ``#assignee = :assignee`` when an
assignee is expected); a failed condition becomes `TaskConflict` with a code for the agent.

Paging tokens are opaque: URL-safe base64 of the JSON of the last returned item's key. A page
carries a token only when more items follow (queries read ``limit + 1`` items).
GSI reads are eventually consistent; GetItem and the history Query are consistent.

The key and paging rules are functions of `ventas.adapters.memory` (no boto3 there), so the
in-memory adapters order and page exactly like these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ventas.adapters.memory import (
    INBOX_PAGE_KEY,
    REQUEST_PAGE_KEY,
    check_day,
    check_limit,
    decode_page,
    encode_page,
    history_sk,
    request_keys,
    task_conflict,
    task_document,
)
from ventas.domain.errors import AlreadyExists, ConcurrentUpdate, RequestNotFound, TaskNotFound
from ventas.domain.models import HistoryEntry, OrderState, SaleRequest
from ventas.domain.tasks import HumanTask, TaskStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]
_REQUEST_EXTRA = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk"})

__all__ = ["DynamoRequestRepository", "DynamoTaskRepository", "table_definitions"]


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


def _item(document: Mapping[str, Any]) -> Item:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in document.items()}


def _document(item: Mapping[str, Any], drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items() if k not in drop}


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _old_item(error: ClientError) -> Item | None:
    """The stored item sent back by ReturnValuesOnConditionCheckFailure=ALL_OLD."""
    return cast(dict[str, Any], error.response).get("Item") or None


class _Table:
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
            query["ExclusiveStartKey"] = {k: _s(v) for k, v in start.items()}
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


class DynamoRequestRepository(_Table):
    """`RequestRepository` on the requests table (key design: module docstring)."""

    def add(self, request: SaleRequest) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_request_item(request),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _condition_failed(error):
                raise AlreadyExists(f"request {request.request_id} already exists") from None
            raise

    def get(self, request_id: str) -> SaleRequest:
        item = self._get_item({"pk": _s(f"REQ#{request_id}"), "sk": _s("META")})
        if item is None:
            raise RequestNotFound(request_id)
        return _request(item)

    def save(self, request: SaleRequest) -> None:
        """Conditional on the version read; bumps `request.version` on success."""
        expected = request.version
        item = _request_item(request.model_copy(update={"version": expected + 1}))
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_exists(pk) AND version = :v",
                ExpressionAttributeValues={":v": {"N": str(expected)}},
            )
        except ClientError as error:
            if _condition_failed(error):
                raise ConcurrentUpdate(request.request_id) from None
            raise
        request.version = expected + 1

    def append_history(self, request_id: str, entry: HistoryEntry) -> None:
        document = entry.model_dump(mode="json")
        document |= {"pk": f"REQ#{request_id}", "sk": history_sk(entry.at)}
        self._client.put_item(TableName=self._table, Item=_item(document))

    def history(self, request_id: str) -> list[HistoryEntry]:
        items = self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :hist)",
            ExpressionAttributeValues={":pk": _s(f"REQ#{request_id}"), ":hist": _s("HIST#")},
            ConsistentRead=True,
        )
        return [HistoryEntry.model_validate(_document(i, frozenset({"pk", "sk"}))) for i in items]

    def claim_key(self, key: str, request_id: str) -> str:
        item = _item({"pk": f"KEY#{key}", "sk": "KEY", "request_id": request_id})
        for _ in range(5):  # a bound key is only ever released, so this rarely loops
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return request_id
            except ClientError as error:
                if not _condition_failed(error):
                    raise
                bound = _old_item(error) or self._get_item({"pk": item["pk"], "sk": item["sk"]})
            if bound is not None:
                return bound["request_id"]["S"]
            # released between our write and our read: claim it again
        raise RuntimeError(f"key {key!r} keeps being claimed and released")

    def release_key(self, key: str, request_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": _s(f"KEY#{key}"), "sk": _s("KEY")},
                ConditionExpression="request_id = :id",
                ExpressionAttributeValues={":id": _s(request_id)},
            )
        except ClientError as error:
            if not _condition_failed(error):  # unbound or bound to another request: keep it
                raise

    def lookup_key(self, key: str) -> str | None:
        item = self._get_item({"pk": _s(f"KEY#{key}"), "sk": _s("KEY")})
        return None if item is None else item["request_id"]["S"]

    def set_token(self, request_id: str, name: str, token: str | None) -> None:
        key = {"pk": _s(f"REQ#{request_id}"), "sk": _s(f"TOKEN#{name}")}
        if token is None:
            self._client.delete_item(TableName=self._table, Key=key)
        else:
            self._client.put_item(TableName=self._table, Item={**key, "token": _s(token)})

    def get_token(self, request_id: str, name: str) -> str | None:
        item = self._get_item({"pk": _s(f"REQ#{request_id}"), "sk": _s(f"TOKEN#{name}")})
        return None if item is None else item["token"]["S"]

    def by_status(
        self, status: OrderState, limit: int = 50, start: str | None = None
    ) -> tuple[list[SaleRequest], str | None]:
        partition = ("gsi1pk", f"STATUS#{OrderState(status).value}")
        key = None if start is None else decode_page(start, REQUEST_PAGE_KEY, partition)
        items, token = self._query_page(
            limit,
            key,
            REQUEST_PAGE_KEY,
            IndexName="by_status",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": _s(partition[1])},
            ScanIndexForward=False,
        )
        return [_request(i) for i in items], token

    def by_day(self, day: str) -> list[SaleRequest]:
        items = self._query_all(
            IndexName="by_day",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"DAY#{check_day(day)}")},
        )
        return [_request(i) for i in items]

    def by_order(self, order_id: str) -> SaleRequest | None:
        keys = self._query_all(
            IndexName="by_order",
            KeyConditionExpression="gsi3pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"ORDER#{order_id}")},
        )
        for key in keys:
            item = self._get_item({"pk": key["pk"], "sk": key["sk"]})
            # the index lags the table: trust only the consistent read
            if item is not None and (request := _request(item)).order_id == order_id:
                return request
        return None


def _request_item(request: SaleRequest) -> Item:
    return _item(request.model_dump(mode="json") | request_keys(request))


def _request(item: Item) -> SaleRequest:
    return SaleRequest.model_validate(_document(item, _REQUEST_EXTRA))


def _task(item: Item) -> HumanTask:
    return HumanTask.model_validate(_document(item, frozenset({"inbox_sk"})))


class DynamoTaskRepository(_Table):
    """`TaskRepository` on the tasks table (key design: module docstring)."""

    def add(self, task: HumanTask) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_item(task_document(task)),
                ConditionExpression="attribute_not_exists(task_id)",
            )
        except ClientError as error:
            if _condition_failed(error):
                raise AlreadyExists(f"task {task.task_id} already exists") from None
            raise

    def get(self, task_id: str) -> HumanTask:
        item = self._get_item({"task_id": _s(task_id)})
        if item is None:
            raise TaskNotFound(task_id)
        return _task(item)

    def transition(self, task: HumanTask, expected: TaskStatus, expected_assignee: str | None = None) -> None:
        condition = "#status = :expected"
        names = {"#status": "status"}
        values = {":expected": _s(TaskStatus(expected).value)}
        if expected_assignee is not None:
            condition += " AND #assignee = :assignee"
            names["#assignee"] = "assignee"
            values[":assignee"] = _s(expected_assignee)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_item(task_document(task)),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            stored = _old_item(error) or self._get_item({"task_id": _s(task.task_id)})
            if stored is None:
                raise TaskNotFound(task.task_id) from None
            raise task_conflict(_task(stored), task, expected_assignee) from None

    def inbox(
        self, status: TaskStatus, limit: int = 50, start: str | None = None
    ) -> tuple[list[HumanTask], str | None]:
        partition = ("status", TaskStatus(status).value)
        key = None if start is None else decode_page(start, INBOX_PAGE_KEY, partition)
        items, token = self._query_page(
            limit,
            key,
            INBOX_PAGE_KEY,
            IndexName="inbox",
            KeyConditionExpression="#status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": _s(partition[1])},
        )
        return [_task(i) for i in items], token

    def open_for(self, request_id: str) -> list[HumanTask]:
        items = self._query_all(
            IndexName="by_request",
            KeyConditionExpression="request_id = :rid",
            FilterExpression="#status IN (:open, :claimed)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":rid": _s(request_id),
                ":open": _s(TaskStatus.OPEN.value),
                ":claimed": _s(TaskStatus.CLAIMED.value),
            },
        )
        return [_task(i) for i in items]


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
            "AttributeDefinitions": strings("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk"),
            "KeySchema": schema("pk", "sk"),
            "GlobalSecondaryIndexes": [
                gsi("by_status", "gsi1pk", "gsi1sk", "ALL"),
                gsi("by_day", "gsi2pk", "gsi2sk", "ALL"),
                gsi("by_order", "gsi3pk", None, "KEYS_ONLY"),
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
