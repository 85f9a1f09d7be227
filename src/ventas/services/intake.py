"""Steps 1, 1.1, 1.2, 2: a lead or a missed call starts (or joins) one sale request."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ventas.container import Container
from ventas.domain.errors import (
    IdempotencyKeyReused,
    InvalidValue,
    KeyTaken,
    RequestInProgress,
    RequestNotFound,
    UnknownService,
)
from ventas.domain.models import Channel, Lead, MissedCall, SaleRequest, Step
from ventas.domain.schedule import local_day
from ventas.observability import logger
from ventas.services.concurrency import update_request
from ventas.services.receipts import LeadReceipt, find_receipt, record_receipt

CLOCK_SKEW = timedelta(minutes=2)  # the IVR's clock may run a little ahead of ours


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


def _claim_open(deps: Container, key: str, candidate: str) -> str:
    """Claim an `open#` customer key for `candidate`; a key left by a closed request is taken over.

    Returns the request holding the key (`candidate` when this call holds it).
    """
    bound = deps.requests.claim_key(key, candidate)
    if bound == candidate:
        return candidate
    try:
        holder: SaleRequest | None = deps.requests.get(bound)
    except RequestNotFound:
        holder = None  # still being created: it holds the key
    if holder is not None and not holder.is_open:
        deps.requests.release_key(key, bound)
        return deps.requests.claim_key(key, candidate)
    return bound


def _place_lead(deps: Container, lead: Lead, candidate: str) -> tuple[str | None, str | None]:
    """Where a lead goes: (open request it joins, open request it may duplicate).

    Contact binding (issue 9): a lead joins an open request only from that request's own
    contact, the same phone. A CI is not a secret: a lead whose CI matches another phone's open
    request becomes its own request, flagged as a possible duplicate of that one. No key of a
    lead is ever bound to someone else's request here (an agent's merge does that).
    """
    phone_key = f"open#{deps.customer_key('phone', lead.phone)}"
    holder = _claim_open(deps, phone_key, candidate)
    if holder != candidate:
        return holder, None
    if lead.ci:
        ci_holder = _claim_open(deps, f"open#{deps.customer_key('ci', lead.ci)}", candidate)
        if ci_holder != candidate:
            return None, ci_holder
    return None, None


def lead_keys(deps: Container, lead: Lead, idempotency_key: str | None = None) -> list[str]:
    """The keys naming a lead: Idempotency-Key (when given) first, then channel + lead id.

    Keyed hashes (`Container.customer_key`), never the values: chatbots and WhatsApp
    integrations often use the customer's phone as the conversation (lead) id, and an
    Idempotency-Key may hold anything. `idem#<hash>`, `lead#<hash>`.
    """
    keys = [deps.customer_key("lead", f"{lead.channel.value}#{lead.channel_lead_id}")]
    if idempotency_key:
        keys.insert(0, deps.customer_key("idem", idempotency_key))
    return keys


def body_fingerprint(deps: Container, lead: Lead, missed_call: bool) -> str:
    """Keyed hash of the canonical body (the validated lead: phone in E.164, canonical CI), so
    the same lead written two ways is one body; keyed, as the body holds a phone."""
    canonical = json.dumps(
        {"lead": lead.model_dump(mode="json"), "missed_call": missed_call}, sort_keys=True, separators=(",", ":")
    )
    return deps.customer_key("body", canonical).split("#", 1)[1]


def _binding(request_id: str, fingerprint: str) -> str:
    """What a lead key is bound to: the request id and the fingerprint of the body that took it."""
    return f"{request_id}@{fingerprint}"


def _unbind(value: str) -> tuple[str, str | None]:
    request_id, _, fingerprint = value.partition("@")
    return request_id, fingerprint or None  # keys bound before fingerprints: no body to compare


def _claim_lead(deps: Container, keys: list[str], mine: str) -> tuple[str, list[str]]:
    """Bind the lead's keys (Idempotency-Key first, then channel + lead id) to `mine`, a binding.

    Returns the binding the lead belongs to and the keys this call bound. A key already bound
    with the same body means a replay: the keys this call took are moved to that binding. A
    key bound with another body raises IdempotencyKeyReused (IETF idempotency-key draft: 422),
    after giving back the keys this call took.
    """
    claimed: list[str] = []
    fingerprint = _unbind(mine)[1]
    for key in keys:
        bound = deps.requests.claim_key(key, mine)
        if bound == mine:
            claimed.append(key)
            continue
        theirs = _unbind(bound)[1]
        if theirs is not None and theirs != fingerprint:
            for own in claimed:
                deps.requests.release_key(own, mine)
            raise IdempotencyKeyReused("Idempotency-Key" if key.startswith("idem#") else "channel_lead_id")
        _rebind(deps, claimed, mine, bound)
        return bound, []
    return mine, claimed


def _rebind(deps: Container, keys: list[str], old: str, new: str) -> None:
    for key in keys:
        deps.requests.release_key(key, old)
        deps.requests.claim_key(key, new)


def _settled(deps: Container, key: str, bound: str) -> str:
    """A replay's answer: the request its key names, once that request exists.

    A key moves at most once (a lead that joins an open request), so the key is read again
    once. A request still being written answers RequestInProgress (409: retry shortly), per
    the IETF idempotency-key draft, instead of holding the caller.
    """
    for _ in range(2):
        request_id = _unbind(bound)[0]
        try:
            deps.requests.get(request_id)
            return request_id
        except RequestNotFound:
            if find_receipt(deps, request_id) is not None:
                return request_id  # a lead that joined another channel's request: its receipt
        current = deps.requests.lookup_key(key)
        if current is None or current == bound:
            break
        bound = current
    raise RequestInProgress()


def submit_lead(
    deps: Container, lead: Lead, missed_call: bool = False, idempotency_key: str | None = None
) -> IntakeResult:
    """Validate, de-duplicate, persist and start the workflow.

    Idempotent per channel lead id and, when given, per `idempotency_key` (already scoped to
    the caller by the API): a replay of the same body returns the same request and never starts
    a second one. Raises IdempotencyKeyReused (another body under a used key), RequestInProgress
    (the first delivery is still being written), UnknownService. A lead from an open request's
    own phone joins it; one whose CI matches another phone's open request is created held, as a
    possible duplicate, its workflow not started (services.duplicates).
    """
    if lead.service_code and deps.catalogue.service(lead.service_code) is None:
        raise UnknownService(lead.service_code)
    now = deps.clock.now()
    candidate = new_request_id(local_day(now))
    keys = lead_keys(deps, lead, idempotency_key)
    fingerprint = body_fingerprint(deps, lead, missed_call)
    mine = _binding(candidate, fingerprint)
    # The common case, a new customer's first lead, is one write: the request, its history and
    # every key it needs (lead, Idempotency-Key, the customer's open# keys), each only if
    # unbound. A bound key (a replay, an open request of this customer, a key left by a closed
    # one) writes nothing, and the claims below sort it out one key at a time.
    first = _new_request(lead, candidate, now, missed_call, None)
    claims = dict.fromkeys(keys, mine) | {f"open#{key}": candidate for key in _customer_keys(deps, lead)}
    try:
        deps.requests.add(first, claims)
    except KeyTaken:
        pass
    else:
        start(deps, first)
        return IntakeResult(candidate, created=True)
    bound, claimed = _claim_lead(deps, keys, mine)
    if bound != mine:
        replayed = _settled(deps, keys[0], bound)
        logger.info("lead replayed", extra={"request_id": replayed})
        _ensure_started(deps, replayed)
        return IntakeResult(replayed, created=False)

    holder, duplicate_of = _place_lead(deps, lead, candidate)
    if holder is not None:
        return _join(deps, lead, missed_call, holder, candidate, claimed, fingerprint)

    request = _new_request(lead, candidate, now, missed_call, duplicate_of)
    try:
        deps.requests.add(request)  # the request and its first history entries, at once
    except Exception:
        # Nothing was created: give the keys back, so a retry creates it instead of a 409.
        for key in claimed:
            deps.requests.release_key(key, mine)
        for key in _customer_keys(deps, lead):
            deps.requests.release_key(f"open#{key}", candidate)
        raise
    if duplicate_of is not None:
        _flag_possible_duplicate(deps, request, duplicate_of)
        return IntakeResult(candidate, created=True)  # the channel is not told of the other request
    start(deps, request)
    return IntakeResult(candidate, created=True)


def _new_request(
    lead: Lead, request_id: str, now: datetime, missed_call: bool, duplicate_of: str | None
) -> SaleRequest:
    request = SaleRequest(
        request_id=request_id,
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
        possible_duplicate_of=duplicate_of,
    )
    request.note(now, "lead_received", channel=lead.channel.value, missed_call=missed_call)
    if duplicate_of is not None:
        request.note(now, "possible_duplicate", of=duplicate_of, match="ci")
    return request


def _join(
    deps: Container, lead: Lead, missed_call: bool, holder: str, candidate: str, claimed: list[str], fingerprint: str
) -> IntakeResult:
    """The lead comes from an open request's own phone: it joins that request.

    The channel that created the request is told so (`joined`, that request's id). Any other
    channel gets the answer of a created request, under a receipt of its own
    (services.receipts): the answer never tells a channel that another request exists.
    """
    now = deps.clock.now()
    try:
        creator: Channel | None = deps.requests.get(holder).channel
    except RequestNotFound:
        creator = None  # still being created by its first lead: not known to be this channel's
    if creator != lead.channel:
        # The receipt first: a replay of this lead finds it (services.intake._settled).
        record_receipt(deps, LeadReceipt(candidate, lead.channel, lead.channel_lead_id, now, holder))
    else:
        _rebind(deps, claimed, _binding(candidate, fingerprint), _binding(holder, fingerprint))
    update_request(
        deps, holder, lambda existing: existing.join_lead(now, lead.channel, lead.channel_lead_id, missed_call)
    )
    logger.info("lead joined an open request", extra={"request_id": holder})
    if creator != lead.channel:
        return IntakeResult(candidate, created=True)
    return IntakeResult(holder, created=False, joined=True)


def _flag_possible_duplicate(deps: Container, request: SaleRequest, other: str) -> None:
    """Held, not started, until an agent verifies identity (services.duplicates); the other
    request's history says a possible duplicate arrived."""
    update_request(
        deps, other, lambda r: r.note(request.created_at, "possible_duplicate_lead", request_id=request.request_id)
    )
    logger.info("lead held as a possible duplicate", extra={"request_id": request.request_id})


def report_missed_call(deps: Container, call: MissedCall, idempotency_key: str | None = None) -> IntakeResult:
    """Step 1.2: a lost IVR call becomes a request whose first step is a call-back task.

    Raises InvalidValue("called_at") for a call later than now (beyond CLOCK_SKEW): nothing is created.
    """
    if call.called_at > deps.clock.now() + CLOCK_SKEW:
        raise InvalidValue(
            "called_at", "la hora de la llamada perdida está en el futuro: indique cuándo llamó el cliente"
        )
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


def start(deps: Container, request: SaleRequest) -> None:
    """StartExecution named after the request id (one execution per request); a no-op when
    that execution already exists."""
    if deps.workflow.start(request.request_id, execution_input(deps, request)):
        logger.info("workflow started", extra={"request_id": request.request_id})


def _ensure_started(deps: Container, request_id: str) -> None:
    """A replay after a failed start starts the workflow; the execution name makes it once."""
    try:
        request = deps.requests.get(request_id)
    except RequestNotFound:
        return  # the first delivery is still being written
    if request.step == Step.INTAKE and request.is_open and request.possible_duplicate_of is None:
        start(deps, request)  # a no-op when the execution exists (the name makes it once)
