"""Every message to a customer leaves through `tell_customer`: once, recorded, never fatal.

- Once per (request, message kind): a retried stage (a Lambda retry, a conflict, a Step
  Functions Retry after a timeout) never sends the same message twice. The request item itself
  holds each kind's state (`SaleRequest.messages`): a sending lease, taken by a save
  conditional on the version read before the send, keeps two attempts from sending at once and
  expires (`LEASE_SECONDS`) if its attempt died mid-way; "sent" or "refused" marks it done. An
  attempt that dies after Meta took the message but before the mark may, after the lease, send
  it once more: at least once, never lost.
- Recorded: the mark, the history entry with the wamid Meta returns
  (`customer_message_sent`) and a keyed-hash key mapping the wamid back to the request and the
  message kind (for the webhook's statuses, `message_for`) are one save (one
  TransactWriteItems). The wamid encodes the phone number: it is never a key in clear and
  never logged. A message costs two writes and no read beyond the caller's.
- Never fatal: a refusal (`WhatsAppRejected`, `MessageWindowClosed`, a missing access token)
  or an unusable recipient is recorded on the request (`customer_message_refused` with Meta's
  code), counted (`WhatsAppMessageFailed`), and opens a `contact_customer` task; the function
  returns and the execution goes on. Only `NotifierUnavailable` (Meta did not answer) is
  raised, for the workflow's Retry; it releases the lease so the retry sends.
"""

from __future__ import annotations

import time
import uuid

from ventas.container import Container
from ventas.domain.errors import NotifierUnavailable, WhatsAppRejected
from ventas.domain.messages import failure_context
from ventas.domain.models import SaleRequest
from ventas.domain.tasks import TaskKind
from ventas.observability import logger
from ventas.services.concurrency import update_request

# Longer than the notifying Lambdas' 20 s timeout: an attempt holding a lease older than that is
# dead. Shorter than the ASL's NotifierUnavailable retries, so a retry after a crash goes out.
LEASE_SECONDS = 25
SENT = "sent"
REFUSED = "refused"
SENDING = "sending"
# The ASL's Retry of NotifierUnavailable on every notifying state: MaxAttempts (tests/infra check).
NOTIFIER_RETRIES = 4


def last_attempt(retry_count: int) -> bool:
    """True on a state's last attempt at a message: `retry_count` ($$.State.RetryCount, the
    retries of that state so far) has used up the NotifierUnavailable retries."""
    return retry_count >= NOTIFIER_RETRIES


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


def new_lease() -> str:
    """A sending lease: when it was taken (epoch seconds) and by which attempt."""
    return f"{SENDING} {time.time():.3f} {uuid.uuid4().hex}"


def offer_lease(request: SaleRequest, kind: str, lease: str) -> None:
    """Take the lease of message `kind` in the caller's own save (the state change that explains
    the message), when no attempt has handled it yet: `tell_customer` then writes nothing before
    the send."""
    if kind not in request.messages:
        request.messages[kind] = lease


def tell_customer(
    deps: Container, request: SaleRequest, kind: str, text: str, lease: str | None = None, final: bool = False
) -> str | None:
    """Send message `kind` (a `messages.MESSAGE_TEMPLATES` name) to the request's customer, once.

    `request` is the caller's latest copy (a stale one costs a re-read); `lease`, one the caller
    offered in its save (`offer_lease`): held, no write precedes the send. Returns the wamid when
    sent now; None when it was already sent or refused before, or is refused now (recorded,
    contact task opened). Raises NotifierUnavailable (another attempt is sending, or Meta did
    not answer: try again later), unless `final` (the workflow will not retry: `last_attempt`):
    then WhatsApp being down is recorded like a refusal and a contact task opened.
    """
    request_id = request.request_id
    if request.messages.get(kind) in (SENT, REFUSED):
        logger.info("customer message already handled", extra={"request_id": request_id, "template": kind})
        return None
    if lease is None or request.messages.get(kind) != lease:
        lease = new_lease()
        request, free = update_request(deps, request_id, lambda r: _take_lease(r, kind, lease), request)
        if not free:
            logger.info("customer message already handled", extra={"request_id": request_id, "template": kind})
            return None
    try:
        wamid = deps.notifier.send(request_id, request.phone, kind, text)
    except NotifierUnavailable as down:
        if final:  # still down after the workflow's retries: a person takes over
            _refused(deps, request, kind, down)
            return None
        update_request(deps, request_id, lambda r: _release(r, kind, lease), request)
        raise
    except (WhatsAppRejected, ValueError) as refusal:  # ValueError: not a WhatsApp recipient
        _refused(deps, request, kind, refusal)
        return None
    now = deps.clock.now()

    def sent(current: SaleRequest) -> None:
        current.messages[kind] = SENT
        current.note(now, "customer_message_sent", template=kind, wamid=wamid)
        current.bind_key(wamid_key(deps, wamid), f"{request_id} {kind}")

    update_request(deps, request_id, sent, request)
    return wamid


def _take_lease(request: SaleRequest, kind: str, lease: str) -> bool:
    """Mark `kind` as being sent by `lease`; False when it is done, NotifierUnavailable when
    another live attempt holds it (a dead one's lease, older than LEASE_SECONDS, is taken over)."""
    held = request.messages.get(kind)
    if held in (SENT, REFUSED):
        return False
    if held is not None and time.time() - float(held.split(" ")[1]) < LEASE_SECONDS:
        raise NotifierUnavailable(f"another attempt is sending {kind!r}: try again later")
    request.messages[kind] = lease
    return True


def _release(request: SaleRequest, kind: str, lease: str) -> None:
    if request.messages.get(kind) == lease:
        del request.messages[kind]


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
    now = deps.clock.now()

    def refused(current: SaleRequest) -> None:
        current.messages[kind] = REFUSED
        current.note(now, "customer_message_refused", template=kind, meta_code=code, reason=reason)

    update_request(deps, request.request_id, refused, request)
    deps.metrics.message_failed(kind, meta_code)
    open_event_task(
        deps,
        TaskKind.CONTACT_CUSTOMER,
        request.request_id,
        cause=f"refused:{kind}",
        context=failure_context("message_refused", kind, meta_code),
    )
