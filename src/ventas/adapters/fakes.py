"""In-memory stand-ins for the AWS-side ports (workflow, documents, metrics), for unit tests.

They behave like the real adapters where it matters: a token is answered once, an unknown or
expired token raises `WorkflowNotWaiting`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ventas.domain.errors import ExecutionNotFound, NotRedrivable, WorkflowNotWaiting
from ventas.ports import ExecutionSummary

REDRIVABLE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


@dataclass
class InMemoryWorkflow:
    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)  # tokens a wait is blocked on
    answers: list[tuple[str, str, Any]] = field(default_factory=list)  # (token, "success"|error, output/cause)
    statuses: dict[str, str] = field(default_factory=dict)  # request id -> execution status
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    asl: dict[str, Any] = field(default_factory=dict)
    redrives: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, request_id: str, execution_input: dict[str, Any]) -> str:
        with self._lock:
            self.started.setdefault(request_id, execution_input)
        return f"arn:aws:states:us-east-1:123456789012:execution:vd:{request_id}"

    def wait(self, token: str) -> str:
        """What the workflow does on entering a waitForTaskToken state."""
        with self._lock:
            self.waiting.add(token)
        return token

    def _answer(self, token: str, kind: str, payload: Any) -> None:
        with self._lock:
            if token not in self.waiting:
                raise WorkflowNotWaiting(token)
            self.waiting.discard(token)
            self.answers.append((token, kind, payload))

    def resume(self, token: str, output: dict[str, Any]) -> None:
        self._answer(token, "success", output)

    def fail(self, token: str, error: str, cause: str) -> None:
        self._answer(token, error, cause)

    # Ops reads: tests set `statuses`, `events` (GetExecutionHistory shape) and `asl`.

    def describe(self, request_id: str) -> ExecutionSummary | None:
        with self._lock:
            if request_id not in self.started:
                return None
            return ExecutionSummary(
                status=self.statuses.get(request_id, "RUNNING"),
                started_at=datetime(2026, 1, 1, tzinfo=UTC),
                redrive_count=self.redrives.count(request_id),
            )

    def history(self, request_id: str) -> list[dict[str, Any]]:
        if request_id not in self.started:
            raise ExecutionNotFound(request_id)
        return list(self.events.get(request_id, []))

    def definition(self, request_id: str) -> dict[str, Any]:
        if request_id not in self.started:
            raise ExecutionNotFound(request_id)
        return self.asl

    def redrive(self, request_id: str) -> None:
        with self._lock:
            if request_id not in self.started:
                raise ExecutionNotFound(request_id)
            if self.statuses.get(request_id, "RUNNING") not in REDRIVABLE:
                raise NotRedrivable(request_id)
            self.statuses[request_id] = "RUNNING"
            self.redrives.append(request_id)


@dataclass
class InMemoryDocuments:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)

    def delete_prefix(self, prefix: str) -> int:
        gone = [key for key in self.objects if key.startswith(prefix)]
        for key in gone:
            del self.objects[key]
        return len(gone)


@dataclass
class RecordingMetrics:
    outcomes: list[tuple[str, str | None]] = field(default_factory=list)
    failed_messages: list[tuple[str, str]] = field(default_factory=list)

    def outcome(self, outcome: str, reason: str | None) -> None:
        self.outcomes.append((outcome, reason))

    def message_failed(self, template: str, code: str) -> None:
        self.failed_messages.append((template, code))
