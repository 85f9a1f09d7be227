"""How a request ends: sold (13.1), rejected (14, 14.1), abandoned, or its execution ended.

Each end is decided by the aggregate and saved with its history entry first; what follows
(expiring tasks, releasing the customer's keys, the customer's message, the metric) happens
only after that save, once, by the call that made the change.
"""

from __future__ import annotations

from datetime import datetime

from ventas.container import Container
from ventas.contracts import OutcomeOutput
from ventas.domain import messages
from ventas.domain.errors import RequestNotFound
from ventas.domain.models import Outcome, ReasonCode, SaleRequest, Step
from ventas.domain.tasks import TaskKind
from ventas.observability import bind_request, logger
from ventas.services import open_tasks
from ventas.services.concurrency import update_request
from ventas.services.outbound import new_lease, offer_lease, tell_customer

# ASL error name (from a Catch) -> why the request was abandoned.
ABANDON_REASONS = {
    "CustomerUnreachable": ReasonCode.CUSTOMER_UNREACHABLE,
    "InstallationCancelled": ReasonCode.INSTALLATION_CANCELLED,
    "TaskNotWorked": ReasonCode.TASK_NOT_WORKED,
}


def after_end(deps: Container, request: SaleRequest) -> None:
    """What an end implies beyond the request item, once saved: the open tasks it lists expire
    (no query), the outcome metric goes out. (The customer's de-duplication keys were released,
    and the kept task tokens cleared, in the end's own save: `_ending`.)"""
    # A contact task stays: the customer still has to hear it, whatever the end (event_tasks).
    ending = [i for i, t in open_tasks.listed(deps, request).items() if t.kind != TaskKind.CONTACT_CUSTOMER]
    open_tasks.expire(deps, ending, deps.clock.now())
    reason = request.reason.code.value if request.reason else None
    outcome = request.outcome.value if request.outcome else "open"
    deps.metrics.outcome(outcome, reason)
    bind_request(request.request_id)
    logger.info(f"request_{outcome}", extra={"reason": reason, "status": request.status.value})


def _ending(deps: Container, request: SaleRequest, ended: bool) -> bool:
    """An end's change: when it ended the request, its save also releases the customer's
    de-duplication keys (the open# keys of its phone and CI still bound to it)."""
    if ended:
        for kind, value in (("phone", request.phone), ("ci", request.ci)):
            if value:
                request.release_key(f"open#{deps.customer_key(kind, value)}", request.request_id)
    return ended


def _outcome(request: SaleRequest) -> OutcomeOutput:
    return {"outcome": request.outcome.value if request.outcome else "open"}


def reject(deps: Container, request_id: str, final: bool = False) -> OutcomeOutput:
    """Steps 14, 14.1: say why, ask to visit an office; a normal end of the procedure."""
    now = deps.clock.now()
    lease = new_lease()

    def change(r: SaleRequest) -> bool:
        ended = r.reject(now)
        if r.outcome == Outcome.REJECTED:
            offer_lease(r, "rejection", lease)
        return _ending(deps, r, ended)

    request, ended = update_request(deps, request_id, change)
    if ended:
        after_end(deps, request)
    if request.outcome == Outcome.REJECTED and request.reason is not None:
        # Once per request (tell_customer): a retry after a crash between save and send still sends.
        tell_customer(deps, request, "rejection", messages.rejection(request.reason), lease, final=final)
    return _outcome(request)


def abandon_reason(error: str, step: Step) -> ReasonCode:
    """ASL error name -> reason; a plain States.Timeout is told apart by the step it waited at:
    the customer's documents did not come (steps 8, 9), or an agent task was not worked in time
    (nobody called: not the customer's doing, and the KPI breakdown says so)."""
    code = ABANDON_REASONS.get(error)
    if code is not None:
        return code
    if step in (Step.REQUIREMENTS, Step.DOCUMENTS):
        return ReasonCode.DOCUMENTS_NOT_RECEIVED
    return ReasonCode.TASK_NOT_WORKED


def abandon(deps: Container, request_id: str, error: str, final: bool = False) -> OutcomeOutput:
    """A wait ran out or the customer could not be reached: the request is cancelled."""
    now = deps.clock.now()
    lease = new_lease()

    def change(r: SaleRequest) -> bool:
        ended = r.abandon(now, abandon_reason(error, r.step))
        if r.outcome == Outcome.ABANDONED:
            offer_lease(r, "abandonment", lease)
        return _ending(deps, r, ended)

    request, ended = update_request(deps, request_id, change)
    if ended:
        after_end(deps, request)
    if request.outcome == Outcome.ABANDONED and request.reason is not None:
        tell_customer(deps, request, "abandonment", messages.abandonment(request.reason), lease, final=final)
    return _outcome(request)


def conclude(deps: Container, request: SaleRequest, now: datetime) -> bool:
    """Step 13.1 inside the change that records the QC call's result: the sale closes in that
    same save. True when this ended the request (then `after_end`, once saved)."""
    return _ending(deps, request, request.close(now))


def close_sale(deps: Container, request_id: str) -> OutcomeOutput:
    """Step 13.1: the procedure concludes. The agent's QC result closed the sale already (the
    usual way: `conclude`): one read, nothing written. A QC call nobody made in time: the sale
    closes here, without a score."""
    now = deps.clock.now()
    request = deps.requests.get(request_id)
    if request.outcome is not None:
        return _outcome(request)
    request, ended = update_request(deps, request_id, lambda r: _ending(deps, r, r.close(now)), request)
    if ended:
        after_end(deps, request)
    return _outcome(request)


def execution_ended(deps: Container, request_id: str, status: str, cause: str | None) -> bool:
    """A Step Functions execution ended ABORTED, FAILED or TIMED_OUT: the request shows it
    (TMF622 cancelled or failed, with the cause), its tasks close and the customer's keys are
    released so a new lead starts a new request. False when the request had already ended
    (or is unknown). No customer message: ops decide what to tell the customer."""
    now = deps.clock.now()
    try:
        request, ended = update_request(
            deps, request_id, lambda r: _ending(deps, r, r.end_execution(now, status, cause))
        )
    except RequestNotFound:
        return False  # not one of ours (or its intake never completed): nothing to mark
    if ended:
        after_end(deps, request)
    return ended
