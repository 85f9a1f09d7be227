"""In-memory `RequestRepository` and `TaskRepository`, for the services' tests.

They keep the DynamoDB adapters' contract (`ventas.adapters.dynamo`): same conditional writes
and errors, same ordering, same paging tokens, by the rules of `ventas.adapters.dynamo_keys`.
A save stores the request's new state, its recorded history and the keys it bound at once, as
the transaction does.

Models are kept as JSON text, so a caller mutating what it got never changes what is stored.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from ventas.adapters.dynamo_keys import (
    INBOX_PAGE_KEY,
    OPEN_TASK_STATES,
    REQUEST_PAGE_KEY,
    awaiting_documents_key,
    check_day,
    check_limit,
    decode_page,
    encode_page,
    history_sk,
    iso,
    request_index,
    request_keys,
    task_conflict,
    task_document,
)
from ventas.adapters.dynamo_tasks import FIXED_FIELDS, update_claimant
from ventas.domain.errors import AlreadyExists, ConcurrentUpdate, KeyTaken, RequestNotFound, TaskNotFound
from ventas.domain.models import HistoryEntry, OrderState, SaleRequest
from ventas.domain.tasks import HumanTask, TaskStatus
from ventas.ports import TaskState, TaskWrite

T = TypeVar("T")


def _page(rows: list[tuple[str, T]], limit: int, key: Callable[[T], Mapping[str, str]]) -> tuple[list[T], str | None]:
    """Rows already sorted and past the start key: a token only when more rows follow."""
    check_limit(limit)
    page = [value for _, value in rows[:limit]]
    return page, encode_page(key(page[-1])) if len(rows) > limit else None


def _in_state(task: HumanTask, expected: Sequence[TaskState]) -> bool:
    return any(task.status == status and assignee in (None, task.assignee) for status, assignee in expected)


# --- adapters ------------------------------------------------------------------------------


class InMemoryRequestRepository:
    """`tasks`: the task repository a save's task items go to (in the same unit)."""

    def __init__(self, tasks: InMemoryTaskRepository | None = None) -> None:
        self._lock = threading.Lock()
        self._tasks = tasks
        self._requests: dict[str, str] = {}
        self._history: dict[str, list[tuple[str, str]]] = {}
        self._keys: dict[str, str] = {}

    def add(self, request: SaleRequest, claims: Mapping[str, str] | None = None) -> None:
        request_index(request)  # refuses naive datetimes, as the DynamoDB adapter does
        with self._lock:
            if request.request_id in self._requests:
                raise AlreadyExists(f"request {request.request_id} already exists")
            if any(key in self._keys for key in claims or {}):
                raise KeyTaken(f"a key of request {request.request_id} is bound already")
            self._keys.update(claims or {})
            self._requests[request.request_id] = request.model_dump_json()
            self._append(request)

    def get(self, request_id: str) -> SaleRequest:
        with self._lock:
            text = self._requests.get(request_id)
        if text is None:
            raise RequestNotFound(request_id)
        return SaleRequest.model_validate_json(text)

    def save(self, request: SaleRequest, tasks: Sequence[TaskWrite] = ()) -> None:
        """Conditional on the version read (and the task items' conditions, checked first);
        bumps `request.version` on success."""
        request_index(request)
        if tasks and self._tasks is None:
            raise ValueError("this repository was built without the tasks repository: it cannot save tasks")
        with self._lock, self._tasks._lock if self._tasks is not None else contextlib.nullcontext():
            for write in tasks:
                assert self._tasks is not None
                self._tasks.check(write)
            stored = self._requests.get(request.request_id)
            if stored is None or SaleRequest.model_validate_json(stored).version != request.version:
                raise ConcurrentUpdate(request.request_id)
            for write in tasks:
                assert self._tasks is not None
                self._tasks.store(write.task)
            request.version += 1
            self._requests[request.request_id] = request.model_dump_json()
            self._append(request)

    def _append(self, request: SaleRequest) -> None:
        """With the lock held: the entries the request recorded, stored with its state."""
        rows = self._history.setdefault(request.request_id, [])
        rows.extend((history_sk(entry.at), entry.model_dump_json()) for entry in request.new_history)
        self._keys.update(request.new_keys)
        for key, value in request.released_keys.items():
            if self._keys.get(key) == value:
                del self._keys[key]
        for key, value in request.claimed_keys.items():
            self._keys.setdefault(key, value)
        request.history_saved()

    def append_history(self, request_id: str, entry: HistoryEntry) -> None:
        with self._lock:
            self._history.setdefault(request_id, []).append((history_sk(entry.at), entry.model_dump_json()))

    def history(self, request_id: str) -> list[HistoryEntry]:
        with self._lock:
            rows = sorted(self._history.get(request_id, []))
        return [HistoryEntry.model_validate_json(text) for _, text in rows]

    def redact_history(self, request_id: str, redact: Callable[[HistoryEntry], HistoryEntry | None]) -> int:
        rewritten = 0
        with self._lock:
            rows = self._history.get(request_id, [])
            for position, (sk, text) in enumerate(rows):
                changed = redact(HistoryEntry.model_validate_json(text))
                if changed is not None:
                    rows[position] = (sk, changed.model_dump_json())
                    rewritten += 1
        return rewritten

    def claim_key(self, key: str, request_id: str) -> str:
        with self._lock:
            return self._keys.setdefault(key, request_id)

    def release_key(self, key: str, request_id: str) -> None:
        with self._lock:
            if self._keys.get(key) == request_id:
                del self._keys[key]

    def lookup_key(self, key: str) -> str | None:
        with self._lock:
            return self._keys.get(key)

    def by_status(
        self, status: OrderState, limit: int = 50, start: str | None = None
    ) -> tuple[list[SaleRequest], str | None]:
        partition = ("gsi1pk", f"STATUS#{OrderState(status).value}")
        after = None if start is None else decode_page(start, REQUEST_PAGE_KEY, partition)
        rows = [
            (keys["gsi1sk"], request)
            for request in self._all()
            if (keys := request_keys(request))["gsi1pk"] == partition[1]
        ]
        rows.sort(key=lambda row: row[0], reverse=True)  # newest first
        if after is not None:
            rows = [row for row in rows if row[0] < after["gsi1sk"]]
        return _page(rows, limit, lambda r: {f: request_keys(r)[f] for f in REQUEST_PAGE_KEY})

    def resume_after(self, request: SaleRequest) -> str:
        return encode_page({f: request_keys(request)[f] for f in REQUEST_PAGE_KEY})

    def by_day(self, day: str) -> list[SaleRequest]:
        partition = f"DAY#{check_day(day)}"
        rows = [(index["gsi2sk"], r) for r in self._all() if (index := request_index(r))["gsi2pk"] == partition]
        return [request for _, request in sorted(rows, key=lambda row: row[0])]

    def by_order(self, order_id: str) -> SaleRequest | None:
        return next((r for r in self._all() if r.order_id == order_id), None)

    def awaiting_documents(self, phone_key: str) -> SaleRequest | None:
        partition = awaiting_documents_key(phone_key)
        found = [r for r in self._all() if request_index(r).get("gsi4pk") == partition]
        return found[0] if len(found) == 1 else None

    def get_many(self, request_ids: Sequence[str]) -> dict[str, SaleRequest]:
        with self._lock:
            texts = {i: self._requests[i] for i in dict.fromkeys(request_ids) if i in self._requests}
        return {i: SaleRequest.model_validate_json(text) for i, text in texts.items()}

    def _all(self) -> list[SaleRequest]:
        with self._lock:
            texts = list(self._requests.values())
        return [SaleRequest.model_validate_json(text) for text in texts]


class InMemoryTaskRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, str] = {}

    def add(self, task: HumanTask) -> None:
        task_document(task)  # refuses naive datetimes, as the DynamoDB adapter does
        with self._lock:
            if task.task_id in self._tasks:
                raise AlreadyExists(f"task {task.task_id} already exists")
            self._tasks[task.task_id] = task.model_dump_json()

    def get(self, task_id: str) -> HumanTask:
        with self._lock:
            text = self._tasks.get(task_id)
        if text is None:
            raise TaskNotFound(task_id)
        return HumanTask.model_validate_json(text)

    def transition(self, task: HumanTask, expected: TaskStatus, expected_assignee: str | None = None) -> None:
        with self._lock:
            self.check(TaskWrite(task, expected, expected_assignee))
            self.store(task)

    def check(self, write: TaskWrite) -> None:
        """With the lock held: AlreadyExists, TaskNotFound or TaskConflict when `write`'s
        condition does not hold (as `dynamo_tasks.write_refused`)."""
        task_document(write.task)  # refuses naive datetimes, as the DynamoDB adapter does
        text = self._tasks.get(write.task.task_id)
        if write.expected is None:
            if text is not None:
                raise AlreadyExists(f"task {write.task.task_id} already exists")
            return
        if text is None:
            raise TaskNotFound(write.task.task_id)
        stored = HumanTask.model_validate_json(text)
        if not _in_state(stored, [(write.expected, write.expected_assignee)]):
            raise task_conflict(stored, write.task, write.expected_assignee)

    def store(self, task: HumanTask) -> None:
        """With the lock held."""
        self._tasks[task.task_id] = task.model_dump_json()

    def update(
        self,
        task_id: str,
        changes: Mapping[str, object],
        expected: Sequence[TaskState],
        unreserved_for: str | None = None,
    ) -> HumanTask:
        if FIXED_FIELDS & changes.keys() or changes.keys() - HumanTask.model_fields.keys() or not changes:
            raise ValueError(f"fields that update cannot change: {sorted(changes)}")
        with self._lock:
            text = self._tasks.get(task_id)
            if text is None:
                raise TaskNotFound(task_id)
            stored = HumanTask.model_validate_json(text)
            reserved = unreserved_for is not None and stored.reserved_for not in (None, unreserved_for)
            if reserved or not _in_state(stored, expected):
                raise task_conflict(stored, stored, update_claimant(changes, expected))
            changed = HumanTask.model_validate(stored.model_dump() | dict(changes))
            self.store(changed)
        return changed

    def inbox(
        self, status: TaskStatus, limit: int = 50, start: str | None = None
    ) -> tuple[list[HumanTask], str | None]:
        partition = ("status", TaskStatus(status).value)
        after = None if start is None else decode_page(start, INBOX_PAGE_KEY, partition)
        rows = [(task_document(t)["inbox_sk"], t) for t in self._all() if t.status == partition[1]]
        rows.sort(key=lambda row: row[0])  # due first
        if after is not None:
            rows = [row for row in rows if row[0] > after["inbox_sk"]]
        return _page(rows, limit, lambda t: {f: task_document(t)[f] for f in INBOX_PAGE_KEY})

    def resume_after(self, task: HumanTask) -> str:
        return encode_page({f: task_document(task)[f] for f in INBOX_PAGE_KEY})

    def open_for(self, request_id: str) -> list[HumanTask]:
        tasks = [t for t in self._all() if t.request_id == request_id and t.status in OPEN_TASK_STATES]
        return sorted(tasks, key=lambda t: iso(t.created_at))

    def for_request(self, request_id: str) -> list[HumanTask]:
        return sorted((t for t in self._all() if t.request_id == request_id), key=lambda t: iso(t.created_at))

    def _all(self) -> list[HumanTask]:
        with self._lock:
            texts = list(self._tasks.values())
        return [HumanTask.model_validate_json(text) for text in texts]


def in_memory_repositories() -> dict[str, InMemoryRequestRepository | InMemoryTaskRepository]:
    """`requests` and `tasks` for a container: a save's task items go to that task repository."""
    tasks = InMemoryTaskRepository()
    return {"requests": InMemoryRequestRepository(tasks), "tasks": tasks}
