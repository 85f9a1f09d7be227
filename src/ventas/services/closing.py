"""How a request ends: sold (13.1), rejected (14, 14.1) or abandoned. Each end is recorded once."""

from __future__ import annotations

from ventas.container import Container
from ventas.domain import messages
from ventas.domain.models import OrderState, Outcome, Reason, ReasonCode, SaleRequest, Step
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.services.outbound import tell_customer
from ventas.services.stages import advance

# ASL error name (from a Catch) -> why the request was abandoned.
ABANDON_REASONS = {
    "CustomerUnreachable": ReasonCode.CUSTOMER_UNREACHABLE,
    "InstallationCancelled": ReasonCode.INSTALLATION_CANCELLED,
}


def _finish(deps: Container, request: SaleRequest, status: OrderState, outcome: Outcome, step: Step) -> dict[str, str]:
    if request.outcome is not None:  # a Lambda retry after the end was recorded
        return {"outcome": request.outcome.value}
    now = deps.clock.now()
    request.status = status
    request.outcome = outcome
    for task in deps.tasks.open_for(request.request_id):
        if task.kind == TaskKind.CONTACT_CUSTOMER:
            continue  # the customer still has to hear it, whatever the end (services.event_tasks)
        expired = task.model_copy(update={"status": TaskStatus.EXPIRED, "completed_at": now})
        deps.tasks.transition(expired, task.status)
    for kind, value in (("phone", request.phone), ("ci", request.ci)):
        if value:
            deps.requests.release_key(f"open#{deps.customer_key(kind, value)}", request.request_id)
    for name in ("documents", "installation"):
        deps.requests.set_token(request.request_id, name, None)
    reason = request.reason.code.value if request.reason else None
    advance(deps, request, step, f"request_{outcome.value}", reason=reason)
    deps.metrics.outcome(outcome.value, reason)
    return {"outcome": outcome.value}


def reject(deps: Container, request_id: str) -> dict[str, str]:
    """Steps 14, 14.1: say why, ask to visit an office; a normal end of the procedure."""
    request = deps.requests.get(request_id)
    if request.outcome is None:
        request.reason = request.reason or Reason.of(ReasonCode.MANUAL_REJECTION)
        tell_customer(deps, request, "rejection", messages.rejection(request.reason))
    return _finish(deps, request, OrderState.REJECTED, Outcome.REJECTED, Step.REJECTION)


def abandon(deps: Container, request_id: str, error: str) -> dict[str, str]:
    """A wait ran out or the customer could not be reached: the request is cancelled."""
    request = deps.requests.get(request_id)
    if request.outcome is None:
        code = ABANDON_REASONS.get(error)
        if code is None:  # States.Timeout: which wait ran out tells why
            code = (
                ReasonCode.DOCUMENTS_NOT_RECEIVED
                if request.step in (Step.REQUIREMENTS, Step.DOCUMENTS)
                else ReasonCode.CUSTOMER_UNREACHABLE
            )
        request.reason = Reason.of(code)
        tell_customer(deps, request, "abandonment", messages.abandonment(request.reason))
    return _finish(deps, request, OrderState.CANCELLED, Outcome.ABANDONED, request.step)


def close_sale(deps: Container, request_id: str) -> dict[str, str]:
    """Step 13.1: the QC call concludes the procedure (with or without a score)."""
    request = deps.requests.get(request_id)
    return _finish(deps, request, OrderState.COMPLETED, Outcome.SOLD, Step.CLOSED)
