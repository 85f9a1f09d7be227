"""DynamoDB adapters of `RequestRepository` and `TaskRepository` (boto3 low-level client).

Key design. No access pattern uses Scan.

Requests table (`pk` S, `sk` S). Several item types share a partition so a request's data stays
together:

=============  ====================  ==================  ==========================================
item           pk                    sk                  other attributes
=============  ====================  ==================  ==========================================
request        ``REQ#<request_id>``  ``META``            the SaleRequest fields (JSON form, numbers
                                                         as N, absent values left out; the
                                                         workflow tokens in ``waits``, message
                                                         states in ``messages``, its open tasks
                                                         in ``open_tasks``) + index attributes
history entry  ``REQ#<request_id>``  ``HIST#<at>#<tb>``  the HistoryEntry fields
claimed key    ``KEY#<key>``         ``KEY``             ``request_id``, ``expires_at`` (TTL, below)
=============  ====================  ==================  ==========================================

Index attributes of a request item (rewritten by every `save`):

- ``gsi1pk`` = ``STATUS#<status>``, ``gsi1sk`` = ``<created_at>#<request_id>``: GSI ``by_status``
  (projection ALL), read newest first, paged.
- ``gsi2pk`` = ``DAY#<YYYY-MM-DD>``: the day of ``created_at`` in America/La_Paz (UTC-4 all year),
  ``gsi2sk`` = ``<created_at>#<request_id>``: GSI ``by_day`` (projection ALL), read to the end.
- ``gsi3pk`` = ``ORDER#<order_id>``, only once the Smartflex order exists: sparse GSI
  ``by_order`` (KEYS_ONLY, then a consistent GetItem of the request).
- ``gsi4pk`` = ``DOCS#<keyed hash of the phone>`` (``documents_from``), only while the workflow
  waits for the customer's documents: sparse GSI ``awaiting_documents`` (projection ALL), one
  Query finds the request a WhatsApp document is for. A copy a moment behind the table is
  caught by the save's version condition (the caller reads the request again).

Timestamps in keys are UTC, fixed width (``2026-11-27T02:00:00.000000Z``) so they sort as text.
``<tb>`` is a per-process sequence plus 8 random hex digits: entries with the same ``at`` keep
the order they were appended in by one process, and never overwrite each other.

`add` is PutItem if ``attribute_not_exists(pk)``; `save` overwrites if ``version`` is still the
one read. Either writes, in the same TransactWriteItems (a PutItem when there is nothing else),
the history entries the request recorded (`SaleRequest.new_history`), the keys it bound
(`new_keys`, unconditional: keys only this request can own, a wamid, a WhatsApp message id)
and, for `save`, deletes the keys it released (`released_keys`, each only if still bound to
it), puts the keys it claims (`claimed_keys`, each only if unbound; a key not as expected:
the save goes without them and each is released or claimed on its own) and writes the task
items it carries (`TaskWrite`: a new task only if absent, a changed one only if its stored
status is still the expected one) on the tasks table; `add` may also claim keys (each only
if unbound, else `KeyTaken`). So a state is never stored without its history, its keys, its
tasks or the reverse (`ventas.adapters.dynamo_units`). One unit per state change: the access
patterns and their counts are in docs/architecture.md ("Access patterns"). `claim_key` is
PutItem if ``attribute_not_exists(pk)``; on ConditionalCheckFailed it returns the id already
bound, so concurrent claims agree on one id. `release_key` deletes only if ``request_id``
still matches. `lookup_key` is a consistent GetItem.

Tasks table (``task_id`` S). A task item holds the HumanTask fields, its Step Functions task
token included (``token``), the request's glance the inbox shows (``glance``), ``created_at``
in the fixed-width form above, and:

- GSI ``inbox``: partition ``status``, sort ``inbox_sk`` = ``<due_at>#<task_id>`` (due first),
  projection ALL, paged.
- GSI ``by_request``: partition ``request_id``, sort ``created_at``, projection ALL.

`transition` is PutItem if ``#status = :expected`` (and ``#assignee = :assignee`` when an
assignee is expected); `update` (a claim, a release, an expiry) is UpdateItem of a few fields
under the same kind of condition, without a read; a failed condition becomes `TaskConflict`
with a code for the agent (from the stored item DynamoDB returns).

Paging tokens are opaque: URL-safe base64 of the JSON of the last returned item's key. A page
carries a token only when more items follow (queries read ``limit + 1`` items).
GSI reads are eventually consistent; GetItem and the history Query are consistent.

The key and paging rules are functions of `ventas.adapters.dynamo_keys` (no boto3 there), so the
in-memory adapters order and page exactly like these.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ventas.adapters.dynamo_base import (
    Item,
    Table,
    condition_failed,
    from_item,
    old_item,
    string_attr,
    table_definitions,
    to_item,
)
from ventas.adapters.dynamo_keys import (
    REQUEST_PAGE_KEY,
    awaiting_documents_key,
    check_day,
    decode_page,
    encode_page,
    request_keys,
)
from ventas.adapters.dynamo_tasks import DynamoTaskRepository, write_refused
from ventas.adapters.dynamo_units import KEY_TTL_SECONDS, TTL_ATTRIBUTE, Cancelled, SaveUnit, history_item, key_item
from ventas.domain.errors import AlreadyExists, ConcurrentUpdate, KeyTaken, RequestNotFound
from ventas.domain.models import HistoryEntry, OrderState, SaleRequest
from ventas.ports import TaskWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_GET = 100  # DynamoDB's limit of keys per BatchGetItem
BATCH_ATTEMPTS = 5
_REQUEST_EXTRA = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi4pk"})

__all__ = ["KEY_TTL_SECONDS", "TTL_ATTRIBUTE", "DynamoRequestRepository", "DynamoTaskRepository", "table_definitions"]


class DynamoRequestRepository(Table):
    """`RequestRepository` on the requests table (key design: module docstring). `tasks_table`:
    where the task items a save carries (`TaskWrite`) go, in the save's own transaction."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None, tasks_table: str | None = None) -> None:
        super().__init__(table_name, client)
        self._tasks_table = tasks_table

    def add(self, request: SaleRequest, claims: Mapping[str, str] | None = None) -> None:
        """The new request, its first history entries and the keys it claims (each only if
        unbound), in one transaction. AlreadyExists, KeyTaken: nothing written."""
        put = {"Item": _request_item(request), "ConditionExpression": "attribute_not_exists(pk)"}
        claimed = [self._claim(key, value) for key, value in (claims or {}).items()]
        try:
            self._unit(request).write(put, claimed)
        except Cancelled as cancelled:
            if cancelled.keys:
                raise KeyTaken(f"a key of request {request.request_id} is bound already") from None
            raise AlreadyExists(f"request {request.request_id} already exists") from None

    def get(self, request_id: str) -> SaleRequest:
        item = self._get_item({"pk": string_attr(f"REQ#{request_id}"), "sk": string_attr("META")})
        if item is None:
            raise RequestNotFound(request_id)
        return _request(item)

    def save(self, request: SaleRequest, tasks: Sequence[TaskWrite] = ()) -> None:
        """The new state, the history it recorded, the keys it binds and the task items of
        `tasks`, in one unit: conditional on the version read, one TransactWriteItems (one
        PutItem when there is nothing else). Bumps `request.version` and clears the pending
        history and keys on success. A task's failed condition raises its error
        (`write_refused`), a stale version `ConcurrentUpdate`; nothing is written then."""
        expected = request.version
        put = {
            "Item": _request_item(request.model_copy(update={"version": expected + 1})),
            "ConditionExpression": "attribute_exists(pk) AND version = :v",
            "ExpressionAttributeValues": {":v": {"N": str(expected)}},
        }
        conditional = [self._release(key, value) for key, value in request.released_keys.items()]
        conditional += [self._claim(key, value) for key, value in request.claimed_keys.items()]
        try:
            self._unit(request).write(put, conditional, tasks)
        except Cancelled as cancelled:
            if cancelled.task is not None:
                raise write_refused(*cancelled.task) from None
            if cancelled.request or not cancelled.keys:
                raise ConcurrentUpdate(request.request_id) from None
            # A key is not as expected (released: another request's, or gone; claimed: held):
            # save without those keys, then release or claim each on its own.
            released, claimed = request.take_conditional_keys()
            self.save(request, tasks)
            for key, value in released.items():
                self.release_key(key, value)
            for key, value in claimed.items():
                self.claim_key(key, value)
            return
        request.version = expected + 1

    def _unit(self, request: SaleRequest) -> SaveUnit:
        return SaveUnit(self._client, self._table, self._tasks_table, request)

    def _claim(self, key: str, value: str) -> dict[str, Any]:
        item = key_item(key, value)
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def _release(self, key: str, value: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": {"pk": string_attr(f"KEY#{key}"), "sk": string_attr("KEY")},
                "ConditionExpression": "request_id = :id",
                "ExpressionAttributeValues": {":id": string_attr(value)},
            }
        }

    def append_history(self, request_id: str, entry: HistoryEntry) -> None:
        """A note (an entry that changes no state): one PutItem."""
        self._client.put_item(TableName=self._table, Item=history_item(request_id, entry))

    def history(self, request_id: str) -> list[HistoryEntry]:
        items = self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :hist)",
            ExpressionAttributeValues={":pk": string_attr(f"REQ#{request_id}"), ":hist": string_attr("HIST#")},
            ConsistentRead=True,
        )
        return [HistoryEntry.model_validate(from_item(i, frozenset({"pk", "sk"}))) for i in items]

    def redact_history(self, request_id: str, redact: Callable[[HistoryEntry], HistoryEntry | None]) -> int:
        """Each changed entry put back under its own key (`sk`): order and count unchanged."""
        items = self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :hist)",
            ExpressionAttributeValues={":pk": string_attr(f"REQ#{request_id}"), ":hist": string_attr("HIST#")},
            ConsistentRead=True,
        )
        rewritten = 0
        for item in items:
            changed = redact(HistoryEntry.model_validate(from_item(item, frozenset({"pk", "sk"}))))
            if changed is None:
                continue
            document = changed.model_dump(mode="json") | {"pk": item["pk"]["S"], "sk": item["sk"]["S"]}
            self._client.put_item(TableName=self._table, Item=to_item(document))
            rewritten += 1
        return rewritten

    def claim_key(self, key: str, request_id: str) -> str:
        item = key_item(key, request_id)
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
                if not condition_failed(error):
                    raise
                bound = old_item(error) or self._get_item({"pk": item["pk"], "sk": item["sk"]})
            if bound is not None:
                return bound["request_id"]["S"]
            # released between our write and our read: claim it again
        raise RuntimeError(f"key {key!r} keeps being claimed and released")

    def release_key(self, key: str, request_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": string_attr(f"KEY#{key}"), "sk": string_attr("KEY")},
                ConditionExpression="request_id = :id",
                ExpressionAttributeValues={":id": string_attr(request_id)},
            )
        except ClientError as error:
            if not condition_failed(error):  # unbound or bound to another request: keep it
                raise

    def lookup_key(self, key: str) -> str | None:
        item = self._get_item({"pk": string_attr(f"KEY#{key}"), "sk": string_attr("KEY")})
        return None if item is None else item["request_id"]["S"]

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
            ExpressionAttributeValues={":pk": string_attr(partition[1])},
            ScanIndexForward=False,
        )
        return [_request(i) for i in items], token

    def resume_after(self, request: SaleRequest) -> str:
        return encode_page({f: request_keys(request)[f] for f in REQUEST_PAGE_KEY})

    def by_day(self, day: str) -> list[SaleRequest]:
        items = self._query_all(
            IndexName="by_day",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": string_attr(f"DAY#{check_day(day)}")},
        )
        return [_request(i) for i in items]

    def by_order(self, order_id: str) -> SaleRequest | None:
        keys = self._query_all(
            IndexName="by_order",
            KeyConditionExpression="gsi3pk = :pk",
            ExpressionAttributeValues={":pk": string_attr(f"ORDER#{order_id}")},
        )
        for key in keys:
            item = self._get_item({"pk": key["pk"], "sk": key["sk"]})
            # the index lags the table: trust only the consistent read
            if item is not None and (request := _request(item)).order_id == order_id:
                return request
        return None

    def awaiting_documents(self, phone_key: str) -> SaleRequest | None:
        """One Query of the sparse GSI `awaiting_documents` (eventually consistent)."""
        items = self._query_all(
            IndexName="awaiting_documents",
            KeyConditionExpression="gsi4pk = :pk",
            ExpressionAttributeValues={":pk": string_attr(awaiting_documents_key(phone_key))},
        )
        return _request(items[0]) if len(items) == 1 else None

    def get_many(self, request_ids: Sequence[str]) -> dict[str, SaleRequest]:
        """BatchGetItem, 100 keys a call, consistent; unprocessed keys asked again (bounded)."""
        found: dict[str, SaleRequest] = {}
        ids = list(dict.fromkeys(request_ids))
        for chunk in (ids[i : i + BATCH_GET] for i in range(0, len(ids), BATCH_GET)):
            keys: list[Item] = [{"pk": string_attr(f"REQ#{i}"), "sk": string_attr("META")} for i in chunk]
            for attempt in range(BATCH_ATTEMPTS):
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
                for item in response["Responses"].get(self._table, []):
                    request = _request(item)
                    found[request.request_id] = request
                unprocessed = response.get("UnprocessedKeys") or {}
                keys = list(unprocessed[self._table]["Keys"]) if self._table in unprocessed else []
                if not keys:
                    break
                time.sleep(0.05 * 2**attempt)  # throttled: back off, as the SDK advises
            else:
                raise RuntimeError("BatchGetItem left keys unprocessed after retries")
        return found


def _request_item(request: SaleRequest) -> Item:
    """Absent values are left out (a null attribute is bytes every write pays for); they read
    back as the model's defaults (`open_tasks` left out reads as None: `_request`)."""
    return to_item(request.model_dump(mode="json", exclude_none=True) | request_keys(request))


def _request(item: Item) -> SaleRequest:
    document = from_item(item, _REQUEST_EXTRA)
    document.setdefault("open_tasks", None)  # stored before requests listed their tasks
    return SaleRequest.model_validate(document)
