"""The events each Lambda accepts: from the ASL (camelCase, as written in the state machine)
and from back-office systems. Unknown fields are refused so a typo fails loudly."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ventas.domain.models import Lead, MissedCall
from ventas.domain.tasks import TaskKind


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


RequestId = Annotated[str, Field(min_length=4, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]
Token = Annotated[str, Field(min_length=1, max_length=4096, repr=False)]


class StageEvent(Event):
    request_id: RequestId


class OpenTaskEvent(Event):
    action: Literal["open"]
    kind: TaskKind
    request_id: RequestId
    task_token: Token
    timeout_seconds: int = Field(ge=1)
    context: dict[str, str] = Field(default_factory=dict)


class ClaimTaskEvent(Event):
    action: Literal["claim", "release"]
    task_id: str = Field(min_length=1, max_length=40)
    agent: str = Field(min_length=1, max_length=120)


class CompleteTaskEvent(Event):
    action: Literal["complete"]
    task_id: str = Field(min_length=1, max_length=40)
    agent: str = Field(min_length=1, max_length=120)
    result: dict[str, object]


class TasksEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Annotated[OpenTaskEvent | ClaimTaskEvent | CompleteTaskEvent, Field(discriminator="action")]


class RequestDocumentsEvent(Event):
    action: Literal["request"]
    request_id: RequestId
    task_token: Token
    reminder: bool = False


class DocumentEvent(Event):
    """A requirement document received on WhatsApp (the webhook hands the media over)."""

    action: Literal["document"]
    phone: str = Field(min_length=8, max_length=20)
    media_id: str = Field(min_length=1, max_length=200)
    mime_type: str = Field(min_length=3, max_length=100)
    content_base64: str = Field(default="", max_length=14_000_000)
    received_at: datetime
    requirement: str | None = None


class RequirementsEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Annotated[RequestDocumentsEvent | DocumentEvent, Field(discriminator="action")]


class HandOffEvent(Event):
    action: Literal["hand_off"]
    request_id: RequestId
    task_token: Token


class InstalledEvent(Event):
    """OPR-PAS-P02 reports an installation done."""

    action: Literal["completed"]
    order_id: str = Field(min_length=1, max_length=60)
    installed_at: datetime


class InstallationEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Annotated[HandOffEvent | InstalledEvent, Field(discriminator="action")]


class NotifyEvent(Event):
    action: Literal["reject", "abandon"]
    request_id: RequestId
    error: str | None = None


class CloseEvent(Event):
    action: Literal["close"]
    request_id: RequestId


class IntakeEvent(BaseModel):
    """A lead or a missed call, as channels hand them to the intake function."""

    model_config = ConfigDict(extra="forbid")
    lead: Lead | None = None
    missed_call: MissedCall | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> IntakeEvent:
        if (self.lead is None) == (self.missed_call is None):
            raise ValueError("indique exactamente uno: lead o missed_call")
        return self


class ReportEvent(Event):
    """The scheduled `kpi` function's input (the EventBridge rules' Input in infra/template.yaml)."""

    report: Literal["kpi", "overdue"]
    day: date | None = None  # kpi only: another day than yesterday (a manual re-run)


class RetentionEvent(Event):
    """The `retention` function's input: the daily schedule's `{"job": "retention"}` (a wider
    `catch_up_days` for a back-fill), or ops' `{"job": "erase", "requestId": ...}`."""

    job: Literal["retention", "erase"]
    catch_up_days: int | None = Field(default=None, ge=1, le=800)
    request_id: RequestId | None = None

    @model_validator(mode="after")
    def _erase_names_a_request(self) -> RetentionEvent:
        if (self.job == "erase") != (self.request_id is not None):
            raise ValueError("requestId va con job erase, y solo con él")
        return self
