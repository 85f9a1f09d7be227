"""The automated stages the workflow calls: steps 4, 6-7, 10-11 and 12's hand-off."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from ventas.container import Container
from ventas.contracts import CoverageOutput, EligibilityOutput, QcWaitOutput, SaleOutput
from ventas.domain import messages
from ventas.domain.catalogue import CoverageZone, Service
from ventas.domain.errors import UnknownService, WorkflowNotWaiting
from ventas.domain.models import (
    Qualification,
    Reason,
    ReasonCode,
    SaleRequest,
    Step,
)
from ventas.domain.schedule import expected_completion, format_local, next_business_slot
from ventas.observability import bind_request, logger
from ventas.services.concurrency import update_request
from ventas.services.outbound import new_lease, offer_lease, tell_customer

# When NAF reports several impediments, the customer hears the one an office must solve first.
IMPEDIMENT_PRIORITY = (ReasonCode.CENTRAL_DE_RIESGOS, ReasonCode.DEBT, ReasonCode.EQUIPMENT_TO_RETURN)


def advance(
    deps: Container,
    request_id: str,
    step: Step,
    event: str,
    loaded: SaleRequest | None = None,
    why: Reason | None = None,
    **detail: object,
) -> SaleRequest:
    """Move a request to a step and save it with its history entry, in one write (re-read and
    re-applied on a conflict). `why`: the reason the request cannot go on, recorded with it."""
    now = deps.clock.now()

    def change(request: SaleRequest) -> None:
        request.advance(now, step, event, why=why, **detail)

    request, _ = update_request(deps, request_id, change, loaded)
    # Ids, steps and codes only: history details never hold CI, phone or names.
    bind_request(request_id)
    logger.info(event, extra={"step": step.value, "status": request.status.value})
    return request


def service_of(deps: Container, request: SaleRequest) -> Service:
    service = deps.catalogue.service(request.service_code or "")
    if service is None:
        raise UnknownService(request.service_code or "")
    return service


def check_impediments(deps: Container, request_id: str) -> EligibilityOutput:
    """Steps 4.1-4.2: NAF cartera. Raises BackOfficeUnavailable when NAF does not answer."""
    request = deps.requests.get(request_id)
    if request.ci is None:
        raise ValueError("request reached step 4 without a CI")
    found = set(deps.cartera.impediments(request.ci))
    blocking = next((code for code in IMPEDIMENT_PRIORITY if code in found), None)
    if blocking is not None:
        advance(
            deps,
            request_id,
            Step.IMPEDIMENTS,
            "impediment_found",
            request,
            Reason.of(blocking),
            reason=blocking.value,
            all=sorted(found),
        )
        return {"eligible": False, "needsLocation": False}
    request = advance(deps, request_id, Step.IMPEDIMENTS, "no_impediment", request)
    return {"eligible": True, "needsLocation": request.location is None}


def qualify(service: Service, zones: Sequence[CoverageZone], catalogue: Sequence[Service]) -> Qualification:
    """Step 7.1, as TMF645: coverage, supported speed and special features at the address.

    Several networks may overlap at a point: the first zone (best first) whose technology can
    deliver the service decides; without one, the best zone explains the rejection.
    """
    zone = next((z for z in zones if z.technology in service.technologies), zones[0] if zones else None)

    def alternate() -> str | None:
        if zone is None:
            return None
        options = [
            s
            for s in catalogue
            if s.kind == service.kind
            and zone.technology in s.technologies
            and (s.speed_mbps or 0) <= zone.max_speed_mbps
            and set(s.special_features) <= set(zone.features)
        ]
        best = max(options, key=lambda s: s.speed_mbps or 0, default=None)
        return best.code if best else None

    def unqualified(code: ReasonCode) -> Qualification:
        alt = alternate()
        return Qualification(
            qualification_result="alternate" if alt else "unqualified",
            reason=Reason.of(code),
            zone_id=zone.zone_id if zone else None,
            technology=zone.technology if zone else None,
            max_speed_mbps=zone.max_speed_mbps if zone else None,
            alternate_service_code=alt,
        )

    if zone is None or zone.technology not in service.technologies:
        return unqualified(ReasonCode.NO_COVERAGE)
    if (service.speed_mbps or 0) > zone.max_speed_mbps:
        return unqualified(ReasonCode.SPEED_NOT_SUPPORTED)
    if not set(service.special_features) <= set(zone.features):
        return unqualified(ReasonCode.FEATURE_NOT_AVAILABLE)
    return Qualification(
        qualification_result="qualified",
        zone_id=zone.zone_id,
        technology=zone.technology,
        max_speed_mbps=zone.max_speed_mbps,
    )


def check_coverage(deps: Container, request_id: str) -> CoverageOutput:
    """Steps 6-7: GIS at the customer's location. Raises BackOfficeUnavailable when GIS is down."""
    request = deps.requests.get(request_id)
    if request.location is None:
        raise ValueError("request reached step 7 without a location")
    service = service_of(deps, request)
    zones = deps.gis.zones_at(request.location.latitude, request.location.longitude)
    result = qualify(service, zones, deps.catalogue.services())
    qualified = result.qualification_result == "qualified"
    detail = result.model_dump(mode="json", exclude_none=True)
    advance(
        deps, request_id, Step.COVERAGE, "coverage_checked", request, None if qualified else result.reason, **detail
    )
    return {"qualified": qualified}


def register_sale(deps: Container, request_id: str, final: bool = False) -> SaleOutput:
    """Steps 9.1, 10, 11: Smartflex registration (idempotent per request), then tell the customer.

    `final`: the state's last attempt (outbound.last_attempt): WhatsApp still down opens a
    contact task instead of failing a sale that is already in Smartflex."""
    request = deps.requests.get(request_id)
    if request.ci is None or request.location is None:
        raise ValueError("request reached step 10 without CI or location")
    service = service_of(deps, request)
    registration = deps.smartflex.register_sale(
        request_id, request.ci, request.name, service, request.location, request.documents
    )
    earliest, latest = expected_completion(registration.registered_at)
    now = deps.clock.now()

    lease = new_lease()

    def change(current: SaleRequest) -> None:
        current.register_order(now, registration.order_id, registration.form_id, latest)
        offer_lease(current, "sale_done", lease)

    # Saved before the message: a conflict re-applies the change, never the message.
    request, _ = update_request(deps, request_id, change, request)
    bind_request(request_id)
    logger.info("sale_registered", extra={"step": request.step.value, "status": request.status.value})
    text = messages.sale_done(service, registration.order_id, format_local(earliest)[:10], format_local(latest)[:10])
    tell_customer(deps, request, "sale_done", text, lease, final=final)
    return {"orderId": registration.order_id}


def hand_off_installation(deps: Container, request_id: str, token: str) -> None:
    """Step 12: hand the order to OPR-PAS-P02; the wait's token is kept on the request, in the
    same save as the hand-off. An installation reported before that save (a conflict re-reads
    it) resumes the workflow at once instead."""
    request = deps.requests.get(request_id)
    if request.order_id is None or request.location is None:
        raise ValueError("request reached step 12 without an order")
    deps.installations.hand_off(request.order_id, request_id, request.location)
    now = deps.clock.now()

    def change(current: SaleRequest) -> bool:
        current.advance(now, Step.INSTALLATION, "installation_handed_off", order_id=current.order_id)
        if current.qc_at is not None:  # Instalaciones reported before the hand-off was recorded
            return True
        current.await_event("installation", token)
        return False

    request, installed = update_request(deps, request_id, change, request)
    bind_request(request_id)
    logger.info("installation_handed_off", extra={"step": Step.INSTALLATION.value})
    if installed and request.qc_at is not None:
        with contextlib.suppress(WorkflowNotWaiting):
            deps.workflow.resume(token, dict(qc_wait_output(deps, request.qc_at)))


def qc_slot(deps: Container, installed_at: datetime) -> datetime:
    """Step 13: the QC call's slot: the first business-hours instant (America/La_Paz) at or
    after the later of now (the report) and `installed_at` plus the configured delay."""
    s = deps.settings
    earliest = max(deps.clock.now(), installed_at + timedelta(hours=s.timing.qc_delay_hours))
    slot = next_business_slot(earliest, s.business_open, s.business_close, s.business_days)
    # Whole seconds, as the Wait state's timestamp: the request and the workflow name one instant.
    return slot.replace(microsecond=0) + (timedelta(seconds=1) if slot.microsecond else timedelta(0))


def qc_wait_output(deps: Container, qc_at: datetime) -> QcWaitOutput:
    """What the workflow's Wait state reads: the instant it ends. With a compressed clock
    (`time_scale` > 1, local runs only) the wait from now is scaled; in production
    (`time_scale` 1) it is `qc_at` itself, the instant the request shows."""
    now = deps.clock.now()
    until = now + max(qc_at - now, timedelta(0)) / deps.settings.time_scale
    return {"qcWaitUntil": until.strftime("%Y-%m-%dT%H:%M:%SZ")}


def missing_requirements(service: Service, request: SaleRequest) -> list[str]:
    received = {d.requirement for d in request.documents}
    return [r.code for r in service.requirements if r.code not in received]


def request_documents(deps: Container, request_id: str, token: str, reminder: bool, final: bool = False) -> None:
    """Steps 8, 8.1 (and the step 9 reminder): ask by WhatsApp and keep the wait's token.

    The token is kept on the request in the same save as the step (conditional on the version
    read): a document arriving meanwhile makes that save conflict, and the checklist is read
    again; complete, the workflow is resumed here. Once the token is saved, the document that
    completes the checklist takes it and resumes the workflow itself.
    """
    request = deps.requests.get(request_id)
    service = service_of(deps, request)
    now = deps.clock.now()
    step, event = (
        (Step.DOCUMENTS, "documents_reminder_sent") if reminder else (Step.REQUIREMENTS, "requirements_requested")
    )

    kind = "requirements_reminder" if reminder else "requirements_request"
    lease = new_lease()

    def change(current: SaleRequest) -> list[str]:
        missing = missing_requirements(service, current)
        if missing:
            current.advance(now, step, event, missing=missing)
            current.await_documents(token, deps.customer_key("phone", current.phone))
            offer_lease(current, kind, lease)
        return missing

    if not missing_requirements(service, request):
        missing: list[str] = []
    else:
        request, missing = update_request(deps, request_id, change, request)
    if not missing:
        with contextlib.suppress(WorkflowNotWaiting):  # the document's own event resumed it first
            deps.workflow.resume(token, {})
        return
    bind_request(request_id)
    logger.info(event, extra={"step": step.value, "status": request.status.value})
    pending = [r for r in service.requirements if r.code in missing]
    if reminder:
        text = messages.requirements_reminder(service, pending)
        tell_customer(deps, request, "requirements_reminder", text, lease, final=final)
    else:
        text = messages.requirements_request(service, pending)
        tell_customer(deps, request, "requirements_request", text, lease, final=final)
