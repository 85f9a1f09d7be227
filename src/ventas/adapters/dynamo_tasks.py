"""DynamoDB adapter of `TaskRepository` (boto3 low-level client); the key design of the tasks
table is in `ventas.adapters.dynamo`'s docstring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError
from pydantic_core import to_jsonable_python

from ventas.adapters.dynamo_base import (
    Item,
    Table,
    condition_failed,
    from_item,
    old_item,
    string_attr,
    to_item,
    to_value,
)
from ventas.adapters.dynamo_keys import INBOX_PAGE_KEY, decode_page, encode_page, task_conflict, task_document
from ventas.domain.errors import AlreadyExists, TaskNotFound
from ventas.domain.tasks import HumanTask, TaskStatus
from ventas.ports import TaskState, TaskWrite

# Fields `update` may not change: the table's and the indexes' keys (`transition` rewrites those).
FIXED_FIELDS = frozenset({"task_id", "request_id", "created_at", "due_at"})


def task_from_item(item: Item) -> HumanTask:
    return HumanTask.model_validate(from_item(item, frozenset({"inbox_sk"})))


_task = task_from_item


def state_condition(expected: Sequence[TaskState]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(ConditionExpression, names, values): the stored task is in one of the `expected` states."""
    names = {"#status": "status"}
    values: dict[str, Any] = {}
    alternatives = []
    for n, (status, assignee) in enumerate(expected):
        values[f":s{n}"] = string_attr(TaskStatus(status).value)
        if assignee is None:
            alternatives.append(f"#status = :s{n}")
        else:
            names["#assignee"] = "assignee"
            values[f":a{n}"] = string_attr(assignee)
            alternatives.append(f"#status = :s{n} AND #assignee = :a{n}")  # AND binds before OR
    if not alternatives:
        raise ValueError("expected: at least one state")
    return " OR ".join(alternatives), names, values


def update_claimant(changes: Mapping[str, object], expected: Sequence[TaskState]) -> str | None:
    """The agent an `update` acts for (the assignee it sets, else the one it expects): a task
    claimed by anyone else is "claimed_by_other" to them."""
    assignee = changes.get("assignee")
    return assignee if isinstance(assignee, str) else next((a for _, a in expected if a), None)


def task_put(table: str, write: TaskWrite) -> dict[str, Any]:
    """The Put of a `TaskWrite` (PutItem or TransactWriteItems form), with its condition."""
    put: dict[str, Any] = {"TableName": table, "Item": to_item(task_document(write.task))}
    if write.expected is None:
        put["ConditionExpression"] = "attribute_not_exists(task_id)"
        return put
    condition, names, values = state_condition([(write.expected, write.expected_assignee)])
    put |= {"ConditionExpression": condition, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    return put | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def write_refused(write: TaskWrite, stored: Item | None) -> Exception:
    """Why a `TaskWrite`'s condition failed: AlreadyExists, TaskNotFound or TaskConflict."""
    if write.expected is None:
        return AlreadyExists(f"task {write.task.task_id} already exists")
    if stored is None:
        return TaskNotFound(write.task.task_id)
    return task_conflict(_task(stored), write.task, write.expected_assignee)


class DynamoTaskRepository(Table):
    """`TaskRepository` on the tasks table (key design: module docstring)."""

    def add(self, task: HumanTask) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(task_document(task)),
                ConditionExpression="attribute_not_exists(task_id)",
            )
        except ClientError as error:
            if condition_failed(error):
                raise AlreadyExists(f"task {task.task_id} already exists") from None
            raise

    def get(self, task_id: str) -> HumanTask:
        item = self._get_item({"task_id": string_attr(task_id)})
        if item is None:
            raise TaskNotFound(task_id)
        return _task(item)

    def transition(self, task: HumanTask, expected: TaskStatus, expected_assignee: str | None = None) -> None:
        write = TaskWrite(task, expected, expected_assignee)
        try:
            self._client.put_item(**task_put(self._table, write))
        except ClientError as error:
            if not condition_failed(error):
                raise
            stored = old_item(error) or self._get_item({"task_id": string_attr(task.task_id)})
            raise write_refused(write, stored) from None

    def update(
        self,
        task_id: str,
        changes: Mapping[str, object],
        expected: Sequence[TaskState],
        unreserved_for: str | None = None,
    ) -> HumanTask:
        """UpdateItem: SET the changed fields (REMOVE the ones set to None), conditional on
        `expected` (and on no call-again reservation but `unreserved_for`'s, when given); the
        stored task comes back either way (ALL_NEW, or ALL_OLD on a refusal)."""
        fixed = FIXED_FIELDS & changes.keys()
        unknown = changes.keys() - HumanTask.model_fields.keys()
        if fixed or unknown or not changes:
            raise ValueError(f"fields that update cannot change: {sorted(fixed | unknown) or 'none given'}")
        condition, names, values = state_condition(expected)
        if unreserved_for is not None:
            names["#reserved_for"] = "reserved_for"
            values |= {":unreserved_for": string_attr(unreserved_for), ":null": string_attr("NULL")}
            # a task item keeps an unset field as a NULL attribute (`task_document`)
            reserved = (
                "attribute_not_exists(#reserved_for) OR attribute_type(#reserved_for, :null)"
                " OR #reserved_for = :unreserved_for"
            )
            condition = f"({condition}) AND ({reserved})"
        sets, removes = [], []
        for n, (field, value) in enumerate(sorted(changes.items())):
            names[f"#f{n}"] = field
            if value is None:
                removes.append(f"#f{n}")
            else:
                values[f":v{n}"] = to_value(to_jsonable_python(value))
                sets.append(f"#f{n} = :v{n}")
        clauses = ([f"SET {', '.join(sets)}"] if sets else []) + ([f"REMOVE {', '.join(removes)}"] if removes else [])
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"task_id": string_attr(task_id)},
                UpdateExpression=" ".join(clauses),
                ConditionExpression=condition,  # false for a missing task too
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            stored = old_item(error) or self._get_item({"task_id": string_attr(task_id)})
            if stored is None:
                raise TaskNotFound(task_id) from None
            current = _task(stored)
            raise task_conflict(current, current, update_claimant(changes, expected)) from None
        return _task(response["Attributes"])

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
            ExpressionAttributeValues={":status": string_attr(partition[1])},
        )
        return [_task(i) for i in items], token

    def for_request(self, request_id: str) -> list[HumanTask]:
        items = self._query_all(
            IndexName="by_request",
            KeyConditionExpression="request_id = :rid",
            ExpressionAttributeValues={":rid": string_attr(request_id)},
        )
        return [_task(i) for i in items]

    def resume_after(self, task: HumanTask) -> str:
        return encode_page({f: task_document(task)[f] for f in INBOX_PAGE_KEY})

    def open_for(self, request_id: str) -> list[HumanTask]:
        items = self._query_all(
            IndexName="by_request",
            KeyConditionExpression="request_id = :rid",
            FilterExpression="#status IN (:open, :claimed)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":rid": string_attr(request_id),
                ":open": string_attr(TaskStatus.OPEN.value),
                ":claimed": string_attr(TaskStatus.CLAIMED.value),
            },
        )
        return [_task(i) for i in items]
