"""What a channel system sees of a request (`GET /v1/requests/{id}` with a channel's key): where
it stands and nothing personal, nothing of other channels' leads or of other requests
(docs/architecture.md, "Channels and their keys"). Split from `ventas.web.views`, whose models
it answers with."""

from __future__ import annotations

from datetime import datetime

from ventas.domain.models import OrderState, SaleRequest, Step
from ventas.services.receipts import LeadReceipt
from ventas.web.views import CustomerView, RequestDetail, StepView, local


def channel_request_view(request: SaleRequest) -> RequestDetail:
    """What a channel system sees of a request its lead created: where it stands, nothing
    personal (no name, CI, phone, service, reason or documents), nothing of other channels'
    leads or of other requests (docs/architecture.md, "Channels and their keys").

    A request held as a possible duplicate shows as any request waiting for an agent to
    identify the customer (in progress, step 3, which is what happens next): staying
    `acknowledged` at step 1 would tell the channel that another customer's request matched.
    """
    held = request.possible_duplicate_of is not None and request.is_open
    return _channel_view(
        request.request_id,
        request.channel.value,
        request.channel_lead_id,
        request.created_at,
        request.updated_at,
        OrderState.IN_PROGRESS if held else request.status,
        Step.IDENTIFICATION if held else request.step,
        outcome=request.outcome.value if request.outcome else None,
        expected_completion_date=request.expected_completion_date,
        installed_at=request.installed_at,
    )


def channel_receipt_view(receipt: LeadReceipt) -> RequestDetail:
    """What a channel sees of its lead that joined a request another channel created
    (services.receipts): what it sent, in progress at identification (step 3), and nothing of
    the request it joined."""
    at = receipt.received_at
    return _channel_view(
        receipt.receipt_id,
        receipt.channel.value,
        receipt.channel_lead_id,
        at,
        at,
        OrderState.IN_PROGRESS,
        Step.IDENTIFICATION,
    )


def _channel_view(
    request_id: str,
    channel: str,
    channel_lead_id: str,
    created_at: datetime,
    updated_at: datetime,
    state: OrderState,
    step: Step,
    outcome: str | None = None,
    expected_completion_date: datetime | None = None,
    installed_at: datetime | None = None,
) -> RequestDetail:
    return RequestDetail(
        request_id=request_id,
        href=f"/v1/requests/{request_id}",
        state=state,
        step=StepView.of(step),
        channel=channel,
        channel_lead_id=channel_lead_id,
        service_code=None,
        created_at=created_at,
        created_at_local=local(created_at),
        updated_at=updated_at,
        outcome=outcome,
        reason=None,
        customer=CustomerView(name=None, phone=None, ci=None),
        order_id=None,
        expected_completion_date=expected_completion_date,
        expected_completion_date_local=local(expected_completion_date),
        installed_at=installed_at,
        qc_at=None,
        satisfaction=None,
        documents=[],
        joined_leads=[],
        history=[],
    )
