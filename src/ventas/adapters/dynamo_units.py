"""One save of a request as one DynamoDB write: the items that go with it and why one failed.

A save writes the request item (conditional on its version, or on its absence for `add`), the
history entries it recorded, the lookup keys it bound, conditional key writes (released, or
claimed only if free) and the task items it carries (`TaskWrite`, on the tasks table), all in
one TransactWriteItems; a request item alone is one PutItem. Whatever condition fails, nothing
is written, and `Cancelled` says which ones failed. The key design is in
`ventas.adapters.dynamo`'s docstring.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ventas.adapters.dynamo_base import Item, condition_failed, string_attr, to_item
from ventas.adapters.dynamo_keys import history_sk
from ventas.adapters.dynamo_tasks import task_put
from ventas.domain.models import HistoryEntry, SaleRequest
from ventas.ports import TaskWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# The table's TTL attribute (infra/template.yaml). Only claimed keys carry it: they expire after
# any execution that could still need them (a Standard execution lives at most a year).
TTL_ATTRIBUTE = "expires_at"
KEY_TTL_SECONDS = 400 * 24 * 3600


def key_item(key: str, value: str) -> Item:
    expires = int(time.time()) + KEY_TTL_SECONDS
    return to_item({"pk": f"KEY#{key}", "sk": "KEY", "request_id": value, TTL_ATTRIBUTE: expires})


def history_item(request_id: str, entry: HistoryEntry) -> Item:
    document = entry.model_dump(mode="json") | {"pk": f"REQ#{request_id}", "sk": history_sk(entry.at)}
    return to_item(document)


class Cancelled(Exception):
    """Nothing was written because a condition failed: the request item's (`request`), a
    conditional key write's (`keys`), or a task item's (`task`: the first such write and the
    stored task item, None when there is none)."""

    def __init__(self, request: bool, keys: bool = False, task: tuple[TaskWrite, Item | None] | None = None) -> None:
        super().__init__("save cancelled")
        self.request = request
        self.keys = keys
        self.task = task


class SaveUnit:
    """The writes of one save of `request` (tables by name; `tasks_table` None: a save that
    carries task items raises ValueError)."""

    def __init__(self, client: DynamoDBClient, table: str, tasks_table: str | None, request: SaleRequest) -> None:
        self._client = client
        self._table = table
        self._tasks_table = tasks_table
        self._request = request

    def write(self, put: dict[str, Any], conditional: Sequence[Any] = (), tasks: Sequence[TaskWrite] = ()) -> None:
        """Write the request item (`put`: PutItem arguments but the table) with `conditional`
        key writes, the task items of `tasks`, the request's new history entries and the keys
        it bound, at once; then the request's pending history and keys are cleared. Raises
        `Cancelled` when a condition fails (nothing written)."""
        if tasks and self._tasks_table is None:
            raise ValueError("this repository was built without the tasks table: it cannot save tasks")
        request = self._request
        plain = [history_item(request.request_id, entry) for entry in request.new_history]
        plain += [key_item(key, value) for key, value in request.new_keys.items()]
        entries: list[tuple[str, Any]] = [("request", {"Put": {"TableName": self._table, **put}})]
        entries += [("key", write) for write in conditional]
        entries += [("task", {"Put": task_put(cast(str, self._tasks_table), write)}) for write in tasks]
        entries += [("plain", {"Put": {"TableName": self._table, "Item": item}}) for item in plain]
        try:
            if len(entries) == 1:
                self._client.put_item(TableName=self._table, **put)
            else:
                self._client.transact_write_items(TransactItems=[entry for _, entry in entries])
        except ClientError as error:
            if condition_failed(error):
                raise Cancelled(request=True) from None
            failed = _failed_positions(error)
            if not failed:
                raise
            raise self._cancelled(entries, failed, tasks) from None
        request.history_saved()

    def _cancelled(
        self, entries: list[tuple[str, Any]], failed: dict[int, Item | None], tasks: Sequence[TaskWrite]
    ) -> Cancelled:
        tags = [tag for tag, _ in entries]
        first_task = tags.index("task") if "task" in tags else len(tags)
        task = None
        for position in sorted(failed):
            if tags[position] == "task":
                write = tasks[position - first_task]
                stored = failed[position]
                if stored is None and write.expected is not None:  # not sent back: read it
                    key = {"task_id": string_attr(write.task.task_id)}
                    table = cast(str, self._tasks_table)
                    stored = self._client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
                task = (write, stored)
                break
        return Cancelled(request=0 in failed, keys=any(tags[n] == "key" for n in failed), task=task)


def _failed_positions(error: ClientError) -> dict[int, Item | None]:
    """TransactWriteItems cancelled by failed conditions: position -> the stored item when
    DynamoDB sent it back (ReturnValuesOnConditionCheckFailure); empty for any other error."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return {}
    reasons = cast(dict[str, Any], error.response).get("CancellationReasons") or []
    return {n: r.get("Item") or None for n, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
