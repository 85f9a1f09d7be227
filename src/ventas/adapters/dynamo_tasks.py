"""DynamoDB adapter of `TaskRepository` (boto3 low-level client); the key design of the tasks
table is in `ventas.adapters.dynamo`'s docstring."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ventas.adapters.dynamo_base import Item, Table, condition_failed, from_item, old_item, string_attr, to_item
from ventas.adapters.dynamo_keys import INBOX_PAGE_KEY, decode_page, encode_page, task_conflict, task_document
from ventas.domain.errors import AlreadyExists, TaskNotFound
from ventas.domain.tasks import HumanTask, TaskStatus


def _task(item: Item) -> HumanTask:
    return HumanTask.model_validate(from_item(item, frozenset({"inbox_sk"})))


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
        condition = "#status = :expected"
        names = {"#status": "status"}
        values = {":expected": string_attr(TaskStatus(expected).value)}
        if expected_assignee is not None:
            condition += " AND #assignee = :assignee"
            names["#assignee"] = "assignee"
            values[":assignee"] = string_attr(expected_assignee)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(task_document(task)),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            stored = old_item(error) or self._get_item({"task_id": string_attr(task.task_id)})
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
