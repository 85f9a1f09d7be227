"""Ports: what the stages need from the outside world. Adapters live in `ventas.adapters`.

Every back-office port raises `BackOfficeUnavailable` when its system does not answer, so the
workflow can Retry and then open a manual-review task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ventas.domain.catalogue import CoverageZone, Service
from ventas.domain.models import Document, HistoryEntry, Location, OrderState, ReasonCode, SaleRequest
from ventas.domain.tasks import HumanTask, TaskStatus


class Clock(Protocol):
    def now(self) -> datetime: ...


class Cartera(Protocol):
    """NAF, Paquete Accionario, opción Cartera (step 4.1): the customer's impediments."""

    def impediments(self, ci: str) -> list[ReasonCode]: ...


class Gis(Protocol):
    """GIS (step 6): every coverage zone at a point, best first (empty outside every zone)."""

    def zones_at(self, latitude: float, longitude: float) -> list[CoverageZone]: ...


class Catalogue(Protocol):
    """Product catalogue (COM-GCM-P01)."""

    def service(self, code: str) -> Service | None: ...

    def services(self) -> Sequence[Service]: ...


@dataclass(frozen=True)
class SaleRegistration:
    order_id: str
    registered_at: datetime
    form_id: str  # Solicitud de Servicio (automated form)


class Smartflex(Protocol):
    """Smartflex sale registration, "Procedimiento Venta" (step 10). Idempotent per request."""

    def register_sale(
        self,
        request_id: str,
        ci: str,
        name: str | None,
        service: Service,
        location: Location,
        documents: Sequence[Document],
    ) -> SaleRegistration: ...


class Installations(Protocol):
    """Hand-off to INSTALACIONES Y TRASLADOS (OPR-PAS-P02), step 12."""

    def hand_off(self, order_id: str, request_id: str, location: Location) -> None: ...


class Notifier(Protocol):
    """Messages to the customer (TMF681 communication message), WhatsApp in production."""

    def send(self, request_id: str, phone: str, template: str, text: str) -> str:
        """One attempt; returns Meta's message id (wamid). Raises NotifierUnavailable (try again
        later), WhatsAppRejected / MessageWindowClosed (refused), ValueError (not a recipient).
        Callers go through `ventas.services.outbound.tell_customer`, never here directly."""


class Workflow(Protocol):
    """The Step Functions execution of a request."""

    def start(self, request_id: str, execution_input: dict[str, Any]) -> bool:
        """Start the request's execution (named after it); False when it already exists."""

    def resume(self, token: str, output: dict[str, Any]) -> None:
        """SendTaskSuccess; raises WorkflowNotWaiting when the token is no longer awaited."""

    def fail(self, token: str, error: str, cause: str) -> None: ...

    def check_waiting(self, token: str) -> None:
        """SendTaskHeartbeat: returns if the workflow still waits for `token`, else raises
        WorkflowNotWaiting. Lets a caller write only for a wait that is still there."""

    # Reads and redrive for ops: an execution is named after its request id.

    def describe(self, request_id: str) -> ExecutionSummary | None:
        """DescribeExecution; None when the request has no execution."""

    def history(self, request_id: str) -> list[dict[str, Any]]:
        """GetExecutionHistory, oldest first, every page (bounded by the adapter)."""

    def definition(self, request_id: str) -> dict[str, Any]:
        """The ASL the execution runs (DescribeStateMachineForExecution), parsed."""

    def redrive(self, request_id: str) -> None:
        """RedriveExecution; NotRedrivable, ExecutionNotFound or RedriveUnsupported."""


@dataclass(frozen=True)
class ExecutionSummary:
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    started_at: datetime
    stopped_at: datetime | None = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0


class MediaSource(Protocol):
    """WhatsApp media content by media id (Graph API in production)."""

    def fetch(self, media_id: str) -> bytes: ...


@dataclass(frozen=True)
class TaskWrite:
    """A task item written in the same unit as a request's save (`RequestRepository.save`):
    new (`expected` None: only if no task has its id, else `AlreadyExists`) or changed (only if
    its stored status is still `expected`, and its assignee `expected_assignee` when given,
    else `TaskConflict`)."""

    task: HumanTask
    expected: TaskStatus | None = None
    expected_assignee: str | None = None


# A condition on a stored task: its status, and its assignee unless None (any assignee).
TaskState = tuple[TaskStatus, str | None]


class RequestRepository(Protocol):
    """Requests table. Access patterns: docs/architecture.md."""

    def add(self, request: SaleRequest, claims: Mapping[str, str] | None = None) -> None:
        """Store a new request with the history it recorded, at once; `AlreadyExists`. With
        `claims` (key -> value), those lookup keys are bound in the same unit, each only if
        unbound: `KeyTaken` (nothing written) when one is bound already."""

    def get(self, request_id: str) -> SaleRequest: ...

    def save(self, request: SaleRequest, tasks: Sequence[TaskWrite] = ()) -> None:
        """Store the request's new state and the history entries it recorded (`new_history`)
        in one unit, if its version is still the one read; else `ConcurrentUpdate` and nothing
        is written. The lookup keys it bound (`new_keys`) and the task items of `tasks` are
        stored in that same unit: a task's failed condition (`AlreadyExists`, `TaskConflict`,
        reported before a stale version) writes nothing either. Keys it releases or claims
        only if free (`released_keys`, `claimed_keys`) go in the unit too, unless one is not
        as expected: then the state is saved without them and each is released or claimed on
        its own. Bumps `version` and clears `new_history` and the pending keys on success."""

    def append_history(self, request_id: str, entry: HistoryEntry) -> None:
        """Store one history entry that changes no state of the request (a note: a customer
        message sent or kept, a status Meta reported, a task opened): one write. A change of
        state records its entry through the aggregate and `save`, never through this."""

    def history(self, request_id: str) -> list[HistoryEntry]: ...

    def redact_history(self, request_id: str, redact: Callable[[HistoryEntry], HistoryEntry | None]) -> int:
        """Rewrite in place (same position) each entry `redact` returns a new version of (None:
        unchanged); personal-data retention only. Returns how many entries were rewritten."""

    def claim_key(self, key: str, request_id: str) -> str:
        """Bind an idempotency or customer key to a request id, once. Returns the bound id."""

    def release_key(self, key: str, request_id: str) -> None: ...

    def lookup_key(self, key: str) -> str | None: ...

    def by_status(
        self, status: OrderState, limit: int = 50, start: str | None = None
    ) -> tuple[list[SaleRequest], str | None]: ...

    def resume_after(self, request: SaleRequest) -> str:
        """The opaque `start` of a `by_status` read that resumes after `request` (a caller that
        filters a page stops at the item it kept last)."""

    def by_day(self, day: str) -> list[SaleRequest]: ...

    def by_order(self, order_id: str) -> SaleRequest | None: ...

    def awaiting_documents(self, phone_key: str) -> SaleRequest | None:
        """The open request that waits for documents from the phone whose keyed hash is
        `phone_key`, as an index holds it: possibly a moment behind the table (a save of it,
        conditional on its version, then fails and the caller reads it again); None when the
        index holds none (or, passing, more than one)."""

    def get_many(self, request_ids: Sequence[str]) -> dict[str, SaleRequest]:
        """Several requests in one read (BatchGetItem); unknown ids are left out."""


class TaskRepository(Protocol):
    """Tasks table: human tasks with their task token, never shown outside the backend."""

    def add(self, task: HumanTask) -> None: ...

    def get(self, task_id: str) -> HumanTask: ...

    def transition(self, task: HumanTask, expected: TaskStatus, expected_assignee: str | None = None) -> None:
        """Conditional write: saves `task` only if the stored one is still `expected`."""

    def update(
        self,
        task_id: str,
        changes: Mapping[str, object],
        expected: Sequence[TaskState],
        unreserved_for: str | None = None,
    ) -> HumanTask:
        """Change some fields of a stored task without reading it first (one conditional write),
        if its stored state is one of `expected` and, with `unreserved_for`, no call-again holds
        it for another agent (`HumanTask.reserved_for`); returns the task as stored after. `changes`:
        field -> new value (None removes it); the key fields (`task_id`, `request_id`,
        `created_at`, `due_at`) cannot change here (ValueError: `transition` them). Raises
        TaskNotFound, or TaskConflict (the agent's reason, from the stored task)."""

    def inbox(
        self, status: TaskStatus, limit: int = 50, start: str | None = None
    ) -> tuple[list[HumanTask], str | None]: ...

    def resume_after(self, task: HumanTask) -> str:
        """The opaque `start` of an `inbox` read that resumes after `task`."""

    def open_for(self, request_id: str) -> list[HumanTask]: ...

    def for_request(self, request_id: str) -> list[HumanTask]:
        """Every task of a request, whatever its status, oldest first (retention, erasure)."""


class Metrics(Protocol):
    def outcome(self, outcome: str, reason: str | None) -> None: ...

    def message_failed(self, template: str, code: str) -> None:
        """A customer message WhatsApp refused or reported failed (`code`: Meta's error code)."""
