"""Agent console: the inbox, a task page that guides the call, a request's page and its PDFs."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import ValidationError

from chalicelib.console_http import Page, page
from chalicelib.http import deps
from ventas.console import forms
from ventas.console.drawings import coverage_map, legend
from ventas.console.render import point_text
from ventas.console.timeline import context_rows, requirement_names, timeline
from ventas.domain.call_again import latest_call_again
from ventas.domain.errors import (
    CallAgainRefused,
    InvalidValue,
    RequestNotFound,
    RequirementAlreadyReceived,
    UnknownRequirement,
    UnknownService,
)
from ventas.domain.models import Step
from ventas.domain.tasks import CALL_AGAIN_KINDS, HumanTask, TaskKind, TaskStatus
from ventas.services import paperwork, queries, tasks
from ventas.web.auth import Role
from ventas.web.errors import ApiError
from ventas.web.views import STEP_LABELS, TaskView, request_detail, task_view

bp = Blueprint(__name__)
AGENT = (Role.AGENT,)
PEOPLE_READING = (Role.AGENT, Role.SUPERVISOR, Role.OPS)
INBOX_LIMIT = 200


def _inbox(call: Page) -> dict[str, Any]:
    """My claimed tasks and the unassigned ones, due soonest first (the JSON inbox's service)."""
    assert call.principal is not None
    d = deps()
    mine, _ = queries.inbox(d, TaskStatus.CLAIMED, None, call.user, INBOX_LIMIT, None)
    free, _ = queries.inbox(d, TaskStatus.OPEN, None, None, INBOX_LIMIT, None)
    rows = [task_view(task, None, call.principal) for task in [*mine, *free]]
    rows.sort(key=lambda t: t.due_at)
    now = d.clock.now()
    order = list(Step)
    counts = Counter(t.step.code for t in rows)
    return {
        "rows": rows,
        "now": now,
        "counts": [(STEP_LABELS[step], counts[step]) for step in sorted(counts, key=order.index)],
        "overdue": sum(1 for t in rows if t.due_at < now),
        "service_names": {s.code: s.name for s in d.catalogue.services()},
    }


@page(bp, "/console/inbox", roles=AGENT)
def inbox(call: Page) -> Response:
    return call.render("inbox.html", title="Bandeja de tareas", **_inbox(call))


@page(bp, "/console/inbox/rows", roles=AGENT)
def inbox_rows(call: Page) -> Response:
    """The inbox's table alone: htmx polls it."""
    return call.render("_inbox_rows.html", **_inbox(call))


def _script(view: TaskView, agent: str) -> list[str]:
    """Anexo 1 for this step, with the agent's name where the protocol leaves it blank."""
    return [line.replace("…", agent) for line in view.protocol]


def _task_context(call: Page, task_id: str) -> dict[str, Any]:
    assert call.principal is not None
    d = deps()
    task = d.tasks.get(task_id)
    try:
        request, history = queries.get_request(d, task.request_id)
    except RequestNotFound:
        request, history = None, []
    view = task_view(task, request, call.principal)
    detail = request_detail(request, history, call.principal) if request else None
    service = d.catalogue.service(request.service_code) if request and request.service_code else None
    received = {doc.requirement for doc in request.documents} if request else set()
    requirements = [(q.label, q.code in received) for q in (service.requirements if service else [])]
    point = (request.location.latitude, request.location.longitude) if request and request.location else None
    # What is missing now, not when the task opened: a document may have come since.
    pending = [(q.code, q.label) for q in (service.requirements if service else []) if q.code not in received]
    context = dict(view.context)
    if task.kind == TaskKind.DOCUMENT_REVIEW and service is not None:
        context["missing"] = ",".join(code for code, _ in pending)
    return {
        "task": view,
        "request": request,
        "detail": detail,
        "service": service,
        "requirements": requirements,
        "script": _script(view, call.user),
        "context_rows": context_rows(context, requirement_names(d.catalogue.services(), service)),
        "services": d.catalogue.services(),
        "map": coverage_map(point, call.settings.tiles_url, "map-help") if view.kind == TaskKind.LOCATION else None,
        "legend": legend(),
        "reasons": forms.REVIEW_REASONS,
        "review_options": pending,
        "mine": view.assignee == call.user,
        "reserved_other": task.reserved_for not in (None, call.user)
        and task.reserved_until is not None
        and d.clock.now() < task.reserved_until,
        "workable": view.status in (TaskStatus.OPEN, TaskStatus.CLAIMED),
        "now": d.clock.now(),
        "call_again": _call_again_limits(task, d.clock.now()) if task.kind in CALL_AGAIN_KINDS else None,
        "values": {},
        "errors": {},
    }


def _call_again_limits(task: HumanTask, now: datetime) -> dict[str, Any]:
    """What the call-back form says about "volver a llamar": earliest, latest, times left."""
    rules = tasks.call_again_rules(deps().settings)
    latest = latest_call_again(task.wait_deadline, rules)
    return {
        "min": forms.local_input(now),
        "max": forms.local_input(latest),
        "latest": latest,
        "left": max(0, rules.max_call_agains - task.call_agains),
        "hours": rules.business_hours.describe() if rules.business_hours else None,
    }


@page(bp, "/console/tasks/{task_id}", roles=AGENT)
def task_page(call: Page) -> Response:
    ctx = _task_context(call, call.params["task_id"])
    return call.render("task.html", title=ctx["task"].kind_label, **ctx)


@page(bp, "/console/tasks/{task_id}/claim", roles=AGENT, methods=("POST",))
def claim(call: Page) -> Response:
    tasks.claim(deps(), call.params["task_id"], call.user)
    return call.redirect(f"/console/tasks/{call.params['task_id']}")


@page(bp, "/console/tasks/{task_id}/release", roles=AGENT, methods=("POST",))
def release(call: Page) -> Response:
    tasks.release(deps(), call.params["task_id"], call.user)
    return call.redirect("/console/inbox")


@page(bp, "/console/tasks/{task_id}/complete", roles=AGENT, methods=("POST",))
def complete(call: Page) -> Response:
    task_id = call.params["task_id"]
    task = deps().tasks.get(task_id)
    if task.kind in CALL_AGAIN_KINDS and call.form.get("reached") == forms.CALL_AGAIN:
        return _call_again(call, task_id)
    body = forms.task_body(task.kind, call.form)
    try:
        done = tasks.complete(deps(), task_id, call.user, body)
    except (ValidationError, InvalidValue, UnknownService, UnknownRequirement, RequirementAlreadyReceived) as exc:
        if isinstance(exc, ValidationError):
            errors = forms.spanish_errors(exc)
        elif isinstance(exc, InvalidValue):  # a well-formed value the step cannot take (e.g. a future time)
            errors = {exc.field: forms.sentence(str(exc))}
        elif isinstance(exc, UnknownService):
            errors = {"service_code": "El servicio no existe en el catálogo."}
        elif isinstance(exc, RequirementAlreadyReceived):
            errors = {"requirement": str(exc)}
        else:
            errors = {"requirement": "Ese requisito no corresponde al servicio solicitado."}
        return _refused(call, task_id, errors)
    return call.render(
        "task_done.html",
        title="Tarea completada",
        task=task_view(done, None, call.principal) if call.principal else None,
        next_text=forms.what_next(task.kind, body if task.kind != TaskKind.CALL_BACK else call.form),
    )


def _refused(call: Page, task_id: str, errors: dict[str, str]) -> Response:
    """The task page again, with what the agent typed and a Spanish message beside each field."""
    ctx = _task_context(call, task_id)
    ctx.update(values=call.form, errors=errors)
    return call.render("task.html", status=422, title=ctx["task"].kind_label, **ctx)


def _call_again(call: Page, task_id: str) -> Response:
    """Step 1.2: the customer asked to be called again at the time typed (La Paz)."""
    try:
        again = tasks.call_again(deps(), task_id, call.user, forms.call_again_body(call.form))
    except ValidationError as exc:
        return _refused(call, task_id, forms.spanish_errors(exc, forms.CALL_AGAIN_MESSAGES))
    except CallAgainRefused as exc:
        return _refused(call, task_id, {exc.field: str(exc)})
    return call.render(
        "task_done.html",
        title="Llamada reprogramada",
        task=task_view(again, None, call.principal) if call.principal else None,
        done_text="La llamada quedó reprogramada.",
        next_text=forms.call_again_next(again),
    )


VIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})


@page(bp, "/console/tasks/{task_id}/document", roles=AGENT)
def review_document(call: Page) -> Response:
    """The document a review task is about, as the customer sent it (WhatsApp media)."""
    task = deps().tasks.get(call.params["task_id"])
    media_id = task.context.get("media_id")
    if task.kind != TaskKind.DOCUMENT_REVIEW or not media_id:
        raise ApiError(404, "not_found", "Esta tarea no tiene un documento.")
    mime = task.context.get("mime_type", "")
    response = call.respond(deps().media.fetch(media_id), 200, mime if mime in VIEWABLE else "application/octet-stream")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = "inline" if mime in VIEWABLE else "attachment"
    return response


def _request_context(call: Page, request_id: str) -> dict[str, Any]:
    assert call.principal is not None
    d = deps()
    request, history = queries.get_request(d, request_id)
    detail = request_detail(request, history, call.principal)
    service = d.catalogue.service(request.service_code) if request.service_code else None
    open_tasks = [task_view(t, request, call.principal) for t in d.tasks.open_for(request_id)]
    names = requirement_names(d.catalogue.services(), service)
    return {
        "r": detail,
        "timeline": timeline(detail.history, names, d.settings.time_scale),
        "time_scale": d.settings.time_scale,
        "requirement_names": names,
        "request": request,
        "service": service,
        "open_tasks": open_tasks,
        "contract": paperwork.contract_in(history),
        "steps": STEP_LABELS,
        "can_record": call.has(Role.AGENT),
    }


@page(bp, "/console/requests/{request_id}", roles=PEOPLE_READING)
def request_page(call: Page) -> Response:
    ctx = _request_context(call, call.params["request_id"])
    return call.render("request.html", title=f"Solicitud {call.params['request_id']}", **ctx)


@page(bp, "/console/requests/{request_id}/contract", roles=AGENT, methods=("POST",))
def record_contract(call: Page) -> Response:
    paperwork.record_contract(deps(), call.params["request_id"], call.user)
    return call.redirect(f"/console/requests/{call.params['request_id']}")


def _pdf(call: Page, kind: str) -> Response:
    from ventas.console.pdf import requirements_bundle, solicitud_de_servicio  # fpdf2 (and Pillow) on use only

    assert call.principal is not None
    d = deps()
    request, history = queries.get_request(d, call.params["request_id"])
    detail = request_detail(request, history, call.principal)
    service = d.catalogue.service(request.service_code) if request.service_code else None
    if kind == "solicitud":
        loc = request.location
        point = point_text(loc.latitude, loc.longitude) if loc else None
        body = solicitud_de_servicio(detail, service, loc.address if loc else None, point, d.clock.now())
    else:
        body = requirements_bundle(detail, service, d.clock.now())
    response = call.respond(body, 200, "application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{kind}-{request.request_id}.pdf"'
    return response


@page(bp, "/console/requests/{request_id}/solicitud.pdf", roles=PEOPLE_READING)
def solicitud_pdf(call: Page) -> Response:
    return _pdf(call, "solicitud")


@page(bp, "/console/requests/{request_id}/requisitos.pdf", roles=PEOPLE_READING)
def requisitos_pdf(call: Page) -> Response:
    return _pdf(call, "requisitos")
