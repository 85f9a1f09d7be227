"""The API contract as data: every operation's path, roles, inputs and answer.

The Chalice app registers exactly these operations (a test compares them) and the OpenAPI
document is generated from them, so the code and the document cannot drift apart.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ventas.domain.execution_graph import ExecutionGraph
from ventas.domain.installation import InstallationEvent
from ventas.domain.instants import Day
from ventas.domain.models import Channel, Lead, MissedCall, OrderState, Step
from ventas.domain.tasks import RESULT_MODELS, CallAgain, TaskStatus
from ventas.web.auth import Role
from ventas.web.config import DEFAULT_MAX_BODY, WEBHOOK_MAX_BODY
from ventas.web.views import (
    Accepted,
    Health,
    InstallationReceiptView,
    KpiSeries,
    KpiView,
    RequestDetail,
    RequestPage,
    TaskPage,
    TaskView,
)
from ventas.web.whatsapp import WaDelivery

REQUEST_ID = r"^[A-Za-z0-9_-]{4,80}$"
TASK_ID = r"^tk-[0-9a-f]{16}$"
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{8,100}$"
Page = Field(None, min_length=1, max_length=2000, description="`next_page` of the previous answer")


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class TasksQuery(Query):
    status: TaskStatus = TaskStatus.OPEN
    step: Step | None = None
    assignee: str | None = Field(None, min_length=1, max_length=120)
    limit: int = Field(25, ge=1, le=100)
    page: str | None = Page


class RequestsQuery(Query):
    status: OrderState | None = None
    step: Step | None = None
    channel: Channel | None = None
    start: Day | None = Field(None, alias="from", description="first La Paz day (YYYY-MM-DD)")
    end: Day | None = Field(None, alias="to", description="last La Paz day (YYYY-MM-DD)")
    limit: int = Field(25, ge=1, le=100)
    page: str | None = Page


class KpiQuery(Query):
    day: Day | None = Field(None, alias="date", description="one La Paz day; default today")
    start: Day | None = Field(None, alias="from")
    end: Day | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _one_form(self) -> KpiQuery:
        """Conflicting parameters are named, one field error each (`parameters` in the ctx)."""
        if self.day is not None and (self.start or self.end):
            given = ["date", *(n for n, v in (("from", self.start), ("to", self.end)) if v is not None)]
            raise PydanticCustomError(
                "conflicting_parameters",
                "los parámetros {names} no se pueden usar juntos: indique date, o bien from y to",
                {"parameters": tuple(given), "names": ", ".join(given)},
            )
        if (self.start is None) != (self.end is None):
            missing = "to" if self.end is None else "from"
            raise PydanticCustomError(
                "missing_parameter",
                "falta el parámetro {missing}: indique from y to juntos",
                {"parameters": (missing,), "missing": missing},
            )
        return self


class WebhookVerifyQuery(Query):
    mode: str = Field(alias="hub.mode", max_length=40)
    verify_token: str = Field(alias="hub.verify_token", max_length=200)
    challenge: str = Field(alias="hub.challenge", max_length=200)


class DuplicatesQuery(Query):
    limit: int = Field(25, ge=1, le=100)


class DuplicateDecision(BaseModel):
    """An agent's decision on a request held as a possible duplicate, after verifying identity
    per protocol (Anexo 1) by calling the number on record of the other request."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    decision: Literal["separate", "merge"] = Field(
        description="separate: its own request, the workflow starts; merge: the lead joins the other request"
    )
    comment: str | None = Field(None, max_length=500)


class RedriveView(BaseModel):
    request_id: str
    status: str
    redrive_count: int


class WebhookAck(BaseModel):
    """What a delivery came to, item by item (docs/api.md, "WhatsApp webhook")."""

    recorded: int = Field(description="documents filed under a requirement")
    unclassified: int = Field(description="documents left for an agent to classify (document_review task)")
    duplicates: int = Field(description="items handled before: Meta redelivered them")
    unknown_senders: int = Field(description="messages from a number without an open request")
    ignored: int = Field(description="nothing to do: other fields, statuses of unknown messages, not WhatsApp")
    kept: int = Field(description="other messages (text, location, replies, ...) kept on the request's history")
    number_changes: int = Field(description="user_changed_number system messages applied")
    malformed: int = Field(description="messages or statuses that could not be read: counted, logged by ref")
    statuses: int = Field(description="statuses read")
    failures: int = Field(description="failed statuses recorded on their request (contact_customer task)")


SYSTEMS = frozenset({Role.CHANNEL, Role.INSTALLATIONS})  # callers with an API key, not people
Auth = Literal["none", "bearer", "api_key", "bearer_or_api_key", "signature", "verify_token"]


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    roles: frozenset[Role] = frozenset()
    body: Any = None  # a pydantic model, or a union of models (validated by the service)
    query: type[Query] | None = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    headers: dict[str, str] = field(default_factory=dict)  # header name -> pattern
    media_type: str = "application/json"

    @property
    def auth(self) -> Auth:
        if not self.roles:
            return "none"
        if self.roles & SYSTEMS:
            return "bearer_or_api_key" if self.roles - SYSTEMS else "api_key"
        return "bearer"

    @property
    def for_people(self) -> bool:
        """Routes the browser console calls: the only ones with CORS."""
        return bool(self.roles - SYSTEMS)


PEOPLE_ERRORS = (401, 403)
ORDER_ID = r"^[A-Za-z0-9_-]{1,60}$"
_SUPERVISION = frozenset({Role.SUPERVISOR, Role.OPS})
# One of the per-kind bodies, told apart by `kind` (the OpenAPI discriminator); the body is
# validated against the task's own kind (services.tasks), so `kind` may be left out.
CompletionBody: Any = Annotated[functools.reduce(operator.or_, RESULT_MODELS.values()), Field(discriminator="kind")]

OPERATIONS: tuple[Operation, ...] = (
    Operation("health", "GET", "/v1/health", "No-op liveness probe", response=Health),
    Operation("openapi", "GET", "/v1/openapi.json", "This OpenAPI document"),
    Operation(
        "submitLead",
        "POST",
        "/v1/requests",
        (
            "A channel hands over a lead (steps 1, 1.1, 2); idempotent per channel lead id or Idempotency-Key: "
            "the same key with another body answers 422, while the first is being created 409"
        ),
        roles=frozenset({Role.CHANNEL}),
        body=Lead,
        response=Accepted,
        status=202,
        errors=(400, 401, 403, 409, 413, 415, 422),
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    ),
    Operation(
        "reportMissedCall",
        "POST",
        "/v1/missed-calls",
        "The IVR reports a lost call: a call-back task (step 1.2)",
        roles=frozenset({Role.CHANNEL}),
        body=MissedCall,
        response=Accepted,
        status=202,
        errors=(400, 401, 403, 409, 413, 415, 422),
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    ),
    Operation(
        "reportInstallation",
        "POST",
        "/v1/orders/{order_id}/installation-events",
        "Instalaciones (OPR-PAS-P02) reports on an order (step 12): completed, cancelled or rescheduled;"
        " idempotent per event_id",
        roles=frozenset({Role.INSTALLATIONS}),
        body=InstallationEvent,
        response=InstallationReceiptView,
        status=202,
        errors=(400, 401, 403, 404, 409, 413, 415, 422),
    ),
    Operation(
        "searchRequests",
        "GET",
        "/v1/requests",
        "Search requests by status, step, channel and La Paz days (index reads only)",
        roles=_SUPERVISION,
        query=RequestsQuery,
        response=RequestPage,
        errors=(401, 403, 422),
    ),
    Operation(
        "getRequest",
        "GET",
        "/v1/requests/{request_id}",
        "A request's state (TMF622), step, expected completion date and history",
        roles=frozenset({Role.CHANNEL, Role.AGENT, Role.SUPERVISOR, Role.OPS}),
        response=RequestDetail,
        errors=(401, 403, 404),
    ),
    Operation(
        "listDuplicates",
        "GET",
        "/v1/duplicates",
        "Requests held as possible duplicates (a CI matching another phone's open request), oldest first",
        roles=frozenset({Role.AGENT, Role.SUPERVISOR}),
        query=DuplicatesQuery,
        response=RequestPage,
        errors=(401, 403, 422),
    ),
    Operation(
        "reviewDuplicate",
        "POST",
        "/v1/requests/{request_id}/duplicate",
        "An agent keeps a held request apart (its workflow starts) or merges it into the other request",
        roles=frozenset({Role.AGENT}),
        body=DuplicateDecision,
        response=RequestDetail,
        errors=(400, 401, 403, 404, 409, 413, 415, 422),
    ),
    Operation(
        "getExecution",
        "GET",
        "/v1/requests/{request_id}/execution",
        "The execution graph: ASL states and transitions coloured by the execution history",
        roles=_SUPERVISION,
        response=ExecutionGraph,
        errors=(401, 403, 404),
    ),
    Operation(
        "redriveExecution",
        "POST",
        "/v1/requests/{request_id}/redrive",
        "Redrive a failed execution from the state that failed",
        roles=frozenset({Role.OPS}),
        response=RedriveView,
        status=202,
        errors=(401, 403, 404, 409, 501),
    ),
    Operation(
        "listTasks",
        "GET",
        "/v1/tasks",
        "The agents' inbox: by status, step and assignee, due first, paged",
        roles=frozenset({Role.AGENT, Role.SUPERVISOR}),
        query=TasksQuery,
        response=TaskPage,
        errors=(401, 403, 422),
    ),
    Operation(
        "claimTask",
        "POST",
        "/v1/tasks/{task_id}/claim",
        "Take a task",
        roles=frozenset({Role.AGENT}),
        response=TaskView,
        errors=(401, 403, 404, 409, 410),
    ),
    Operation(
        "releaseTask",
        "POST",
        "/v1/tasks/{task_id}/release",
        "Give a claimed task back to the inbox",
        roles=frozenset({Role.AGENT}),
        response=TaskView,
        errors=(401, 403, 404, 409, 410),
    ),
    Operation(
        "completeTask",
        "POST",
        "/v1/tasks/{task_id}/complete",
        "Complete a task; the body depends on the task's kind; the workflow resumes "
        "(contact_customer, document_review: recorded on the request)",
        roles=frozenset({Role.AGENT}),
        body=CompletionBody,
        response=TaskView,
        errors=(400, 401, 403, 404, 409, 410, 413, 415, 422),
    ),
    Operation(
        "callTaskAgain",
        "POST",
        "/v1/tasks/{task_id}/call-again",
        "Step 1.2: the customer answered and asked to be called again at `call_again_at`. The same "
        "call-back task goes back to the inbox due then, reserved for this agent until a grace passes; the "
        "workflow keeps waiting. 422 on `call_again_at` (type not_in_future, after_deadline, "
        "outside_business_hours or too_many_call_agains) with the latest time allowed in the message",
        roles=frozenset({Role.AGENT}),
        body=CallAgain,
        response=TaskView,
        errors=(400, 401, 403, 404, 409, 410, 413, 415, 422),
    ),
    Operation(
        "getKpi",
        "GET",
        "/v1/reports/kpi",
        "Daily KPI (step III.2) for a La Paz day, or a series with from and to",
        roles=frozenset({Role.SUPERVISOR}),
        query=KpiQuery,
        response=KpiView | KpiSeries,
        errors=(401, 403, 422),
    ),
    Operation(
        "verifyWebhook",
        "GET",
        "/v1/whatsapp/webhook",
        "Meta's webhook verification (hub.mode, hub.verify_token, hub.challenge)",
        query=WebhookVerifyQuery,
        errors=(403, 422),
        media_type="text/plain",
    ),
    Operation(
        "receiveWebhook",
        "POST",
        "/v1/whatsapp/webhook",
        "WhatsApp Cloud API deliveries, signed with X-Hub-Signature-256; each message and status "
        "handled on its own; 503 when some must be delivered again",
        body=WaDelivery,
        response=WebhookAck,
        errors=(401, 413, 415, 503),
        max_body=WEBHOOK_MAX_BODY,
        headers={"X-Hub-Signature-256": r"^sha256=[0-9a-f]{64}$"},
    ),
)

BY_ID = {op.id: op for op in OPERATIONS}
