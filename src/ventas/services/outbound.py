"""Every message to a customer leaves through `tell_customer`: once, recorded, never fatal.

- Once per (request, message kind): a retried stage (a Lambda retry, a conflict, a Step
  Functions Retry after a timeout) never sends the same message twice. A `message#` key marks
  the message done (sent or refused); a `sending#` lease, taken before the send, keeps two
  attempts from sending at once and expires (`LEASE_SECONDS`) if its attempt died mid-way. An
  attempt that dies after Meta took the message but before the mark may, after the lease, send
  it once more: at least once, never lost.
- Recorded: the wamid Meta returns goes on the request's history (`customer_message_sent`) and
  a keyed-hash key maps it back to the request and the message kind, for the webhook's
  statuses (`message_for`). The wamid encodes the phone number: it is never a key in clear
  and never logged.
- Never fatal: a refusal (`WhatsAppRejected`, `MessageWindowClosed`, a missing access token)
  or an unusable recipient is recorded on the request (`customer_message_refused` with Meta's
  code), counted (`WhatsAppMessageFailed`), and opens a `contact_customer` task; the function
  returns and the execution goes on. `NotifierUnavailable` (Meta did not answer) is raised for
  the workflow's Retry, releasing the lease so the retry sends; on the state's last attempt
  (`final`: the ASL passes `$$.State.RetryCount`, see `last_attempt`) it is handled like a
  refusal instead (`customer_message_refused`, reason `unavailable`), so WhatsApp being down never fails a sale
  already in Smartflex, nor a rejection.
"""

from __future__ import annotations

import time
import uuid

from ventas.container import Container
from ventas.domain.errors import NotifierUnavailable, WhatsAppRejected
from ventas.domain.messages import failure_context
from ventas.domain.models import HistoryEntry, SaleRequest
from ventas.domain.tasks import TaskKind
from ventas.observability import logger

# Longer than the notifying Lambdas' 20 s timeout: an attempt holding a lease older than that is
# dead. Shorter than the ASL's NotifierUnavailable retries, so a retry after a crash goes out.
LEASE_SECONDS = 25
SENT = "sent"
REFUSED = "refused"
# The ASL's Retry of NotifierUnavailable on every notifying state: MaxAttempts (tests/infra check).
NOTIFIER_RETRIES = 4


def last_attempt(retry_count: int) -> bool:
    """True on a state's last attempt at a message: `retry_count` ($$.State.RetryCount, the
    retries of that state so far) has used up the NotifierUnavailable retries."""
    return retry_count >= NOTIFIER_RETRIES


def _done_key(request_id: str, kind: str) -> str:
    return f"message#{request_id}#{kind}"


def wamid_key(deps: Container, wamid: str) -> str:
    """The lookup key of a sent message: a keyed hash of its wamid (it encodes the phone)."""
    return deps.customer_key("wamid", wamid)


def message_for(deps: Container, wamid: str) -> tuple[str, str] | None:
    """(request id, message kind) of a message the product sent; None for an unknown wamid."""
    bound = deps.requests.lookup_key(wamid_key(deps, wamid))
    if bound is None:
        return None
    request_id, _, kind = bound.partition(" ")
    return request_id, kind or "unknown"


def tell_customer(deps: Container, request: SaleRequest, kind: str, text: str, final: bool = False) -> str | None:
    """Send message `kind` (a `messages.MESSAGE_TEMPLATES` name) to the request's customer, once.

    Returns the wamid when sent now; None when it was already sent or refused before, or is
    refused now (recorded, contact task opened). Raises NotifierUnavailable (try again later),
    unless `final` (the workflow will not retry): then it is recorded and a contact task opened.
    """
    request_id = request.request_id
    done = _done_key(request_id, kind)
    if deps.requests.lookup_key(done) is not None:
        logger.info("customer message already handled", extra={"request_id": request_id, "template": kind})
        return None
    lease = _take_lease(deps, request_id, kind)
    try:
        wamid = deps.notifier.send(request_id, request.phone, kind, text)
    except NotifierUnavailable as down:
        deps.requests.release_key(f"sending#{request_id}#{kind}", lease)
        if not final:
            raise
        _refused(deps, request, kind, down)
        deps.requests.claim_key(done, REFUSED)
        return None
    except (WhatsAppRejected, ValueError) as refusal:  # ValueError: not a WhatsApp recipient
        _refused(deps, request, kind, refusal)
        deps.requests.claim_key(done, REFUSED)
        return None
    deps.requests.claim_key(wamid_key(deps, wamid), f"{request_id} {kind}")
    _history(deps, request, "customer_message_sent", template=kind, wamid=wamid)
    deps.requests.claim_key(done, SENT)
    return wamid


def _take_lease(deps: Container, request_id: str, kind: str) -> str:
    key = f"sending#{request_id}#{kind}"
    mine = f"{time.time():.3f} {uuid.uuid4().hex}"
    for _ in range(2):
        held = deps.requests.claim_key(key, mine)
        if held == mine:
            return mine
        if time.time() - float(held.split(" ", 1)[0]) < LEASE_SECONDS:
            raise NotifierUnavailable(f"another attempt is sending {kind!r}: try again later")
        deps.requests.release_key(key, held)  # its attempt died mid-way: take over
    raise NotifierUnavailable(f"could not take the lease to send {kind!r}")


def _refused(deps: Container, request: SaleRequest, kind: str, refusal: Exception) -> None:
    from ventas.services.event_tasks import open_event_task  # stages -> outbound -> ... -> stages

    code = getattr(refusal, "code", None)
    status = getattr(refusal, "status", None)
    if isinstance(refusal, NotifierUnavailable):
        reason = "unavailable"  # still down after the workflow's retries
    else:
        reason = "refused" if isinstance(refusal, WhatsAppRejected) else "not_a_recipient"
    meta_code = str(code) if code is not None else reason
    logger.warning(
        "customer message refused: an agent will call",
        extra={"request_id": request.request_id, "template": kind, "meta_code": code, "http_status": status},
    )
    _history(deps, request, "customer_message_refused", template=kind, meta_code=code, reason=reason)
    deps.metrics.message_failed(kind, meta_code)
    open_event_task(
        deps,
        TaskKind.CONTACT_CUSTOMER,
        request.request_id,
        cause=f"refused:{kind}",
        context=failure_context("message_refused", kind, meta_code),
    )


def _history(deps: Container, request: SaleRequest, event: str, **detail: object) -> None:
    entry = HistoryEntry(at=deps.clock.now(), step=request.step, event=event, detail=dict(detail))
    deps.requests.append_history(request.request_id, entry)
