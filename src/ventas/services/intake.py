"""Steps 1, 1.1, 1.2, 2: a lead or a missed call starts (or joins) one sale request."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from ventas.container import Container
from ventas.domain.errors import RequestNotFound, UnknownService
from ventas.domain.models import Channel, Lead, MissedCall, SaleRequest, Step
from ventas.domain.schedule import local_day
from ventas.observability import logger
from ventas.services.concurrency import update_request

SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class IntakeResult:
    request_id: str
    created: bool  # False: a replay of the same lead, or joined to an open request
    joined: bool = False


def new_request_id(day: str) -> str:
    """Sortable, unguessable, free of personal data: it names the execution too."""
    return f"vd-{day.replace('-', '')}-{secrets.token_hex(5)}"


def _customer_keys(deps: Container, lead: Lead) -> list[str]:
    keys = [deps.customer_key("phone", lead.phone)]
    if lead.ci:
        keys.append(deps.customer_key("ci", lead.ci))
    return keys


def _join_open_request(deps: Container, lead: Lead, candidate: str) -> str | None:
    """Claim the customer's keys for `candidate`; if one is held by an open request, join it.

    When a lead joins (say, by CI from a new phone), its other keys are bound to the open
    request too, so that phone's WhatsApp documents find the request.
    """
    claimed: list[str] = []
    keys = _customer_keys(deps, lead)
    for key in keys:
        bound = deps.requests.claim_key(f"open#{key}", candidate)
        if bound == candidate:
            claimed.append(key)
            continue
        try:
            holder = deps.requests.get(bound)
        except RequestNotFound:
            holder = None
        if holder is not None and not holder.is_open:
            # A stale key of a closed request: take it over.
            deps.requests.release_key(f"open#{key}", bound)
            if deps.requests.claim_key(f"open#{key}", candidate) == candidate:
                claimed.append(key)
                continue
        for own in claimed:
            deps.requests.release_key(f"open#{own}", candidate)
        for other in keys:
            if other != key:
                deps.requests.claim_key(f"open#{other}", bound)
        return bound
    return None


def _claim_lead(deps: Container, keys: list[str], candidate: str) -> tuple[str, list[str]]:
    """Bind the lead's keys (Idempotency-Key first, then channel + lead id) to `candidate`.

    Returns the request the lead belongs to and the keys this call bound. A key already bound
    means a replay: the keys this call took are moved to the request that key names.
    """
    claimed: list[str] = []
    for key in keys:
        bound = deps.requests.claim_key(key, candidate)
        if bound != candidate:
            _rebind(deps, claimed, candidate, bound)
            return bound, []
        claimed.append(key)
    return candidate, claimed


def _rebind(deps: Container, keys: list[str], old: str, new: str) -> None:
    for key in keys:
        deps.requests.release_key(key, old)
        deps.requests.claim_key(key, new)


def _settled(deps: Container, key: str, bound: str) -> str:
    """A replay's answer: the request its key names once that request exists.

    Concurrent deliveries of one lead race for its key; the winner writes the request (or,
    joining an open request, moves the key there) a few milliseconds later. Bounded wait.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            deps.requests.get(bound)
            return bound
        except RequestNotFound:
            pass
        current = deps.requests.lookup_key(key)
        if current is not None and current != bound:
            bound = current
            continue
        if time.monotonic() > deadline:
            return bound  # still being written: the id is final all the same
        time.sleep(0.02)


def submit_lead(
    deps: Container, lead: Lead, missed_call: bool = False, idempotency_key: str | None = None
) -> IntakeResult:
    """Validate, de-duplicate, persist and start the workflow.

    Idempotent per channel lead id and, when given, per `idempotency_key` (already scoped to
    the caller by the API): a replay returns the same request and never starts a second one.
    """
    if lead.service_code and deps.catalogue.service(lead.service_code) is None:
        raise UnknownService(lead.service_code)
    now = deps.clock.now()
    candidate = new_request_id(local_day(now))
    keys = [f"lead#{lead.channel.value}#{lead.channel_lead_id}"]
    if idempotency_key:
        keys.insert(0, f"idem#{idempotency_key}")
    bound, claimed = _claim_lead(deps, keys, candidate)
    if bound != candidate:
        bound = _settled(deps, keys[0], bound)
        logger.info("lead replayed", extra={"request_id": bound})
        _ensure_started(deps, bound)
        return IntakeResult(bound, created=False)

    holder = _join_open_request(deps, lead, candidate)
    if holder is not None:
        _rebind(deps, claimed, candidate, holder)  # replays of this lead answer the open request
        update_request(
            deps, holder, lambda existing: existing.join_lead(now, lead.channel, lead.channel_lead_id, missed_call)
        )
        logger.info("lead joined an open request", extra={"request_id": holder})
        return IntakeResult(holder, created=False, joined=True)

    request = SaleRequest(
        request_id=candidate,
        channel=lead.channel,
        channel_lead_id=lead.channel_lead_id,
        created_at=now,
        updated_at=now,
        phone=lead.phone,
        name=lead.name,
        ci=lead.ci,
        service_code=lead.service_code,
        location=lead.location,
        missed_call=missed_call,
    )
    request.note(now, "lead_received", channel=lead.channel.value, missed_call=missed_call)
    deps.requests.add(request)  # the request and its first history entry, at once
    _start(deps, request)
    return IntakeResult(candidate, created=True)


def report_missed_call(deps: Container, call: MissedCall, idempotency_key: str | None = None) -> IntakeResult:
    """Step 1.2: a lost IVR call becomes a request whose first step is a call-back task."""
    caller = deps.customer_key("phone", call.caller).split("#", 1)[1][:12]
    lead = Lead(
        channel=Channel.IVR,
        channel_lead_id=f"missed-{call.line.value}-{call.called_at.isoformat()}-{caller}",
        phone=call.caller,
    )
    return submit_lead(deps, lead, missed_call=True, idempotency_key=idempotency_key)


def execution_input(deps: Container, request: SaleRequest) -> dict[str, object]:
    """What the execution starts with: ids, routing flags and waits. No personal data."""
    return {
        "requestId": request.request_id,
        "entry": {
            "missedCall": request.missed_call,
            "identified": request.identified,
            "hasLocation": request.location is not None,
        },
        "timing": deps.settings.execution_timing(),
    }


def _start(deps: Container, request: SaleRequest) -> None:
    if deps.workflow.start(request.request_id, execution_input(deps, request)):
        logger.info("workflow started", extra={"request_id": request.request_id})


def _ensure_started(deps: Container, request_id: str) -> None:
    """A replay after a failed start starts the workflow; the execution name makes it once."""
    try:
        request = deps.requests.get(request_id)
    except RequestNotFound:
        return  # the first delivery is still being written
    if request.step == Step.INTAKE and request.is_open:
        _start(deps, request)  # a no-op when the execution exists (the name makes it once)
