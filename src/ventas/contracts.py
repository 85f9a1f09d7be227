"""The events each Lambda accepts: from the ASL (camelCase, as written in the state machine)
and from back-office systems. Unknown fields are refused so a typo fails loudly."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ventas.domain.instants import Day
from ventas.domain.models import MissedCall
from ventas.domain.tasks import TaskKind

# --- what the stages return to the ASL (the Choice states and Wait read these names) --------


class EligibilityOutput(TypedDict):
    """CheckImpediments -> IsEligible."""

    eligible: bool
    needsLocation: bool


class CoverageOutput(TypedDict):
    """CheckCoverage -> HasTechnicalCapacity."""

    qualified: bool


class SaleOutput(TypedDict):
    """RegisterSale: the Smartflex order id."""

    orderId: str


class QcWaitOutput(TypedDict):
    """AwaitInstallation / FollowUpInstallation -> WaitForQcSlot (TimestampPath, UTC)."""

    qcWaitUntil: str


class WaitingOutput(TypedDict):
    """A stage that started a wait on the task token (its answer is not the state's output)."""

    status: Literal["waiting"]


class OutcomeOutput(TypedDict):
    """RejectSale / AbandonRequest / CloseSale: how the request ended."""

    outcome: str


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


RequestId = Annotated[str, Field(min_length=4, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]
Token = Annotated[str, Field(min_length=1, max_length=4096, repr=False)]


# $$.State.RetryCount, passed by the notifying states: how many retries that state has had.
RetryCount = Annotated[int, Field(ge=0, le=100)]


class StageEvent(Event):
    request_id: RequestId
    retry_count: RetryCount = 0


class OpenTaskEvent(Event):
    action: Literal["open"]
    kind: TaskKind
    request_id: RequestId
    task_token: Token
    timeout_seconds: int = Field(ge=1)
    context: dict[str, str] = Field(default_factory=dict)


class RequestDocumentsEvent(Event):
    action: Literal["request"]
    request_id: RequestId
    task_token: Token
    reminder: bool = False
    retry_count: RetryCount = 0


class HandOffEvent(Event):
    action: Literal["hand_off"]
    request_id: RequestId
    task_token: Token


class NotifyEvent(Event):
    action: Literal["reject", "abandon"]
    request_id: RequestId
    error: str | None = None
    retry_count: RetryCount = 0


class CloseEvent(Event):
    action: Literal["close"]
    request_id: RequestId


class IvrMissedCallEvent(BaseModel):
    """What the IVR flow sends when it invokes the intake function directly on a missed call
    (step 1.2). Leads come through the API only (POST /v1/requests)."""

    model_config = ConfigDict(extra="forbid")
    missed_call: MissedCall


class ExecutionStatusDetail(BaseModel):
    """`detail` of EventBridge's "Step Functions Execution Status Change" (the fields we read)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    execution_arn: str = Field(alias="executionArn", min_length=20, max_length=2048)
    name: RequestId  # the execution is named after its request
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    error: str | None = Field(None, max_length=256)
    cause: str | None = Field(None, max_length=32_768)


class ExecutionStatusChange(BaseModel):
    """The EventBridge event (source aws.states) the ExecutionEndFunction receives."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusDetail

    @property
    def request_id(self) -> str:
        return self.detail.name


class ReportEvent(Event):
    """The scheduled `kpi` function's input (the EventBridge rules' Input in infra/template.yaml)."""

    report: Literal["kpi", "overdue"]
    day: Day | None = None  # kpi only: another day than yesterday (a manual re-run)


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
