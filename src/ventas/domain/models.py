"""Domain model of a digital sale request (procedure VENTAS DIGITALES v1, steps 1 to 14).

Pure pydantic: no AWS import here. Names follow TM Forum Open APIs where they fit
(TMF622 order states, TMF645 qualification results).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from ventas.domain.errors import InstallationConflict, RequestEnded

# The inputs live in ventas.domain.inputs; re-exported here for the model's users.
from ventas.domain.inputs import Channel as Channel  # noqa: PLC0414 - explicit re-export
from ventas.domain.inputs import Identification as Identification  # noqa: PLC0414 - explicit re-export
from ventas.domain.inputs import IvrLine as IvrLine  # noqa: PLC0414 - explicit re-export
from ventas.domain.inputs import Lead as Lead  # noqa: PLC0414 - explicit re-export
from ventas.domain.inputs import Location as Location  # noqa: PLC0414 - explicit re-export
from ventas.domain.inputs import MissedCall as MissedCall  # noqa: PLC0414 - explicit re-export
from ventas.domain.inputs import Strict as Strict  # noqa: PLC0414 - explicit re-export
from ventas.domain.open_tasks import ListsOpenTasks
from ventas.domain.pending import PendingKeys

# The reasons live in ventas.domain.reasons; re-exported here for the model's users.
from ventas.domain.reasons import REASON_LABELS as REASON_LABELS  # noqa: PLC0414 - explicit re-export
from ventas.domain.reasons import REJECTION_REASONS as REJECTION_REASONS  # noqa: PLC0414 - explicit re-export
from ventas.domain.reasons import Outcome as Outcome  # noqa: PLC0414 - explicit re-export
from ventas.domain.reasons import Reason as Reason  # noqa: PLC0414 - explicit re-export
from ventas.domain.reasons import ReasonCode as ReasonCode  # noqa: PLC0414 - explicit re-export


class OrderState(StrEnum):
    """TMF622 product order states, used as the request status."""

    ACKNOWLEDGED = "acknowledged"
    PENDING = "pending"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


OPEN_STATES = frozenset({OrderState.ACKNOWLEDGED, OrderState.PENDING, OrderState.IN_PROGRESS})


class Step(StrEnum):
    """Where a request stands, named after the procedure's steps."""

    INTAKE = "1"
    CALL_BACK = "1.2"
    IDENTIFICATION = "3"
    IMPEDIMENTS = "4"
    LOCATION = "5"
    COVERAGE = "7"
    REQUIREMENTS = "8"
    DOCUMENTS = "9"
    SALE = "10"
    CONFIRMATION = "11"
    INSTALLATION = "12"
    QC = "13"  # the QC call is scheduled (the workflow's Wait state)
    QC_CALL = "13.1"  # an agent calls the customer, "concluyendo el procedimiento"
    CLOSED = "13.1"  # alias of QC_CALL: a sold request ends at 13.1
    REJECTION = "14"


class Document(BaseModel):
    """A requirement document received over WhatsApp (step 9)."""

    requirement: str
    media_id: str
    mime_type: str
    received_at: datetime
    object_key: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    step: Step
    event: str
    detail: dict[str, Any] = Field(default_factory=dict)


class SaleRequest(PendingKeys, ListsOpenTasks):
    """The aggregate: one sale request from the first contact to the QC call. It lists its open
    human tasks (`open_tasks`, `ventas.domain.open_tasks`)."""

    request_id: str
    channel: Channel
    channel_lead_id: str
    status: OrderState = OrderState.ACKNOWLEDGED
    step: Step = Step.INTAKE
    created_at: datetime
    updated_at: datetime
    phone: str
    name: str | None = None
    ci: str | None = None
    service_code: str | None = None
    location: Location | None = None
    missed_call: bool = False
    documents: list[Document] = Field(default_factory=list)
    order_id: str | None = None
    expected_completion_date: datetime | None = None
    installed_at: datetime | None = None
    qc_at: datetime | None = None
    satisfaction: int | None = None
    outcome: Outcome | None = None
    reason: Reason | None = None
    manual_reviews: int = 0
    joined_leads: list[str] = Field(default_factory=list)
    anonymised_at: datetime | None = None  # personal data removed (ventas.domain.privacy)
    # Contact binding (docs/architecture.md): a lead whose CI matches another open request is
    # its own request, held until an agent verifies identity and keeps it apart or merges it.
    possible_duplicate_of: str | None = None
    merged_into: str | None = None
    # Installation events already applied (OPR-PAS-P02's own event ids -> kind): a replay is
    # recognised in the same write that applied the event.
    installation_events: dict[str, str] = Field(default_factory=dict)
    # Step Functions task tokens an outside event answers ("documents", "installation"): kept on
    # the request, server side only, written and cleared in the saves that change the state.
    waits: dict[str, str] = Field(default_factory=dict, repr=False)
    # While the documents wait is kept: the keyed hash of the phone they are awaited from
    # (`Container.customer_key`, never the phone in clear), under which the request is found.
    documents_from: str | None = None
    # Customer messages by kind (services.outbound): "sent", "refused" or a sending lease.
    messages: dict[str, str] = Field(default_factory=dict)
    version: int = 0  # optimistic concurrency: each save requires the version it read

    # History entries recorded by the transitions below and not yet saved: the repository's
    # `save` writes them with the new state in one unit (a DynamoDB transaction), then clears them.
    _new_history: list[HistoryEntry] = PrivateAttr(default_factory=list)
    # Lookup keys bound and released in that same unit: `PendingKeys`.

    @property
    def identified(self) -> bool:
        return self.ci is not None and self.service_code is not None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    # --- transitions: the aggregate decides and records what happened -------------------------

    @property
    def new_history(self) -> tuple[HistoryEntry, ...]:
        """Entries recorded since the last save (oldest first)."""
        return tuple(self._new_history)

    def history_saved(self) -> None:
        """Called by the repository once the state, `new_history` and the pending keys are
        stored together."""
        self._new_history.clear()
        self.keys_saved()

    def await_event(self, name: str, token: str) -> None:
        """Keep the token of a workflow wait that an outside event answers."""
        self.waits[name] = token

    def await_documents(self, token: str, phone_key: str) -> None:
        """Keep the documents wait's token and the keyed hash of the phone the documents are
        awaited from (`documents_from`, until the wait is taken or the request ends)."""
        self.await_event("documents", token)
        self.documents_from = phone_key

    def take_wait(self, name: str) -> str | None:
        """The token of a wait, removed: whoever saves this answers the workflow."""
        if name == "documents":
            self.documents_from = None
        return self.waits.pop(name, None)

    def note(self, now: datetime, event: str, **detail: object) -> None:
        """Record an event at the current step without moving the request.

        Details hold ids, steps and codes only: never CI, phone or names.
        """
        self._new_history.append(HistoryEntry(at=now, step=self.step, event=event, detail=dict(detail)))
        self.updated_at = now

    def advance(self, now: datetime, step: Step, event: str, why: Reason | None = None, **detail: object) -> None:
        """Move to `step` (an acknowledged request is then in progress) and record `event`.

        `why`: the reason the request cannot go on (step 4 or 7), kept for step 14.
        Raises `RequestEnded` (nothing changed) when the request has already ended.
        """
        self._check_open(event)
        if why is not None:
            self.reason = why
        self.step = step
        if self.status == OrderState.ACKNOWLEDGED:
            self.status = OrderState.IN_PROGRESS
        self.note(now, event, **detail)

    def join_lead(self, now: datetime, channel: Channel, channel_lead_id: str, missed_call: bool) -> None:
        """Another lead of the same customer joins this open request (steps 1, 1.1)."""
        self.joined_leads.append(f"{channel.value}:{channel_lead_id}")
        self.note(now, "lead_joined", channel=channel.value, channel_lead_id=channel_lead_id, missed_call=missed_call)

    def identify(self, ci: str | None, service_code: str | None, name: str | None) -> None:
        """Steps 3.1, 3.2: what an agent learnt on the call (None keeps what is known)."""
        self.ci = ci or self.ci
        self.service_code = service_code or self.service_code
        self.name = name or self.name

    def register_order(self, now: datetime, order_id: str, form_id: str, expected_completion: datetime) -> None:
        """Steps 10, 11: the sale is in Smartflex; the customer is told the latest date."""
        self.order_id = order_id
        self.expected_completion_date = expected_completion
        self.advance(
            now,
            Step.CONFIRMATION,
            "sale_registered",
            order_id=order_id,
            form_id=form_id,
            expected_completion_date=expected_completion.isoformat(),
        )

    def record_installation(self, installed_at: datetime, qc_at: datetime) -> None:
        """Step 12 ends, step 13's QC call is scheduled at `qc_at` (UTC)."""
        if self.order_id is None:
            raise ValueError("an installation needs a registered order")
        self.installed_at = installed_at
        self.qc_at = qc_at

    # --- step 12: what Instalaciones (OPR-PAS-P02) reports, once per event id ----------------

    def _installation_event(self, event_id: str, kind: str) -> bool:
        """False for a replay of an applied event; InstallationConflict when the order cannot
        take this event (no order yet, the request ended, the installation already done)."""
        seen = self.installation_events.get(event_id)
        if seen is not None:
            if seen != kind:
                raise InstallationConflict(f"El evento {event_id} ya fue registrado como {seen}.")
            return False
        if self.order_id is None or self.step not in (Step.CONFIRMATION, Step.INSTALLATION):
            raise InstallationConflict("El pedido no está en espera de instalación.")
        if self.outcome is not None:
            raise InstallationConflict("La solicitud de este pedido ya concluyó.")
        if self.installed_at is not None:
            raise InstallationConflict("La instalación de este pedido ya fue registrada.")
        self.installation_events[event_id] = kind
        return True

    def installation_completed(self, now: datetime, event_id: str, installed_at: datetime, qc_at: datetime) -> bool:
        """Step 12 ends; the QC call (13) is scheduled at `qc_at`. False for a replay."""
        if not self._installation_event(event_id, "completed"):
            return False
        self.record_installation(installed_at, qc_at)
        self.advance(
            now,
            Step.INSTALLATION,
            "installed",
            event_id=event_id,
            installed_at=installed_at.isoformat(),
            qc_at=qc_at.isoformat(),
        )
        return True

    def installation_cancelled(self, now: datetime, event_id: str, cause: str) -> bool:
        """Instalaciones cancelled the order; the workflow then abandons the request. False for
        a replay. `cause` is the installer's text (no personal data expected), kept shortened."""
        if not self._installation_event(event_id, "cancelled"):
            return False
        self.advance(now, Step.INSTALLATION, "installation_cancelled", event_id=event_id, cause=cause[:200])
        return True

    def installation_rescheduled(self, now: datetime, event_id: str, scheduled_for: datetime) -> bool:
        """A new installation date: the expected completion date follows it. False for a replay."""
        if not self._installation_event(event_id, "rescheduled"):
            return False
        self.expected_completion_date = scheduled_for
        self.advance(
            now,
            Step.INSTALLATION,
            "installation_rescheduled",
            event_id=event_id,
            scheduled_for=scheduled_for.isoformat(),
        )
        return True

    # --- contact binding (services.duplicates, services.whatsapp) -------------------------------

    def keep_apart(self, now: datetime, **detail: object) -> None:
        """An agent verified that a held possible duplicate is another customer: it goes on."""
        self._check_open("duplicate_reviewed")
        self.possible_duplicate_of = None
        self.note(now, "duplicate_reviewed", **detail)

    def merge_into(self, now: datetime, other_id: str, **detail: object) -> None:
        """An agent verified that a held lead is the customer of `other_id`: this request is
        cancelled pointing there; with no outcome of its own it leaves the KPI."""
        self._check_open("duplicate_merged")
        self.possible_duplicate_of = None
        self.merged_into = other_id
        self.status = OrderState.CANCELLED
        self.note(now, "duplicate_merged", **detail)

    def change_phone(self, now: datetime, phone: str, phone_key: str) -> bool:
        """The customer's WhatsApp number changed (Meta's `user_changed_number`); `phone_key` is
        its keyed hash (the documents, if awaited, are now awaited from it). False if it already
        was `phone` (a replay)."""
        if self.phone == phone:
            return False
        self.phone = phone
        if self.documents_from is not None:
            self.documents_from = phone_key
        self.note(now, "customer_number_changed", moved=True)
        return True

    def reject(self, now: datetime, reason: Reason | None = None) -> bool:
        """Steps 14, 14.1: a business rejection. False when the request had already ended."""
        if self.outcome is not None:
            return False
        self.reason = reason or self.reason or Reason.of(ReasonCode.MANUAL_REJECTION)
        self._end(now, OrderState.REJECTED, Outcome.REJECTED, Step.REJECTION)
        return True

    def abandon(self, now: datetime, code: ReasonCode) -> bool:
        """A wait ran out or nobody could act: the request is cancelled with `code`."""
        if self.outcome is not None:
            return False
        self.reason = Reason.of(code)
        self._end(now, OrderState.CANCELLED, Outcome.ABANDONED, self.step)
        return True

    def close(self, now: datetime) -> bool:
        """Step 13.1: the QC call concludes the sale."""
        if self.outcome is not None:
            return False
        self._end(now, OrderState.COMPLETED, Outcome.SOLD, Step.CLOSED)
        return True

    def end_execution(self, now: datetime, execution_status: str, cause: str | None) -> bool:
        """The workflow ended without closing the request (ABORTED, FAILED or TIMED_OUT).

        TMF622: an operator's stop is `cancelled`, a failure or a timeout `failed`. False when
        the request had already ended (its own end came first).
        """
        if self.outcome is not None:
            return False
        code = EXECUTION_END_REASONS[execution_status]
        self.reason = Reason.of(code)
        status = OrderState.CANCELLED if code == ReasonCode.EXECUTION_STOPPED else OrderState.FAILED
        self.status = status
        self.outcome = Outcome.FAILED
        self._stop_waiting()
        self.note(now, f"execution_{execution_status.lower()}", reason=code.value, cause=(cause or "")[:200])
        return True

    def _end(self, now: datetime, status: OrderState, outcome: Outcome, step: Step) -> None:
        self.status = status
        self.outcome = outcome
        self.step = step
        self._stop_waiting()
        reason = {"reason": self.reason.code.value} if self.reason else {}  # a sale has none
        self.note(now, f"request_{outcome.value}", **reason)

    def _stop_waiting(self) -> None:
        """Nothing waits on an ended request."""
        self.waits.clear()
        self.documents_from = None

    def _check_open(self, event: str) -> None:
        if self.outcome is not None:
            raise RequestEnded(self.request_id, event)


# Step Functions execution status (EventBridge "Execution Status Change") -> why the request ended.
EXECUTION_END_REASONS: dict[str, ReasonCode] = {
    "FAILED": ReasonCode.EXECUTION_FAILED,
    "TIMED_OUT": ReasonCode.EXECUTION_TIMED_OUT,
    "ABORTED": ReasonCode.EXECUTION_STOPPED,
}


class Qualification(BaseModel):
    """TMF645 service qualification result for one address (step 7)."""

    qualification_result: str  # qualified | alternate | unqualified
    reason: Reason | None = None
    zone_id: str | None = None
    technology: str | None = None
    max_speed_mbps: int | None = None
    alternate_service_code: str | None = None
