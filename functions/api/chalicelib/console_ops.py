"""Ops view: search requests, a request's execution graph and events, failed executions, redrive."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.console_http import Page, page
from chalicelib.http import deps
from ventas.console import dashboard
from ventas.console.graph_svg import STATUS_FILL, STATUS_TEXT, render_graph
from ventas.console.render import STATE_LABELS
from ventas.domain.errors import ExecutionNotFound
from ventas.domain.instants import parse_day
from ventas.domain.models import Channel, OrderState, Outcome, Step
from ventas.domain.schedule import format_local
from ventas.services import executions, queries
from ventas.web.auth import Role
from ventas.web.errors import ApiError
from ventas.web.views import KIND_LABELS, STEP_LABELS, RequestSummary, request_summary

bp = Blueprint(__name__)
OPS = (Role.OPS,)
PAGE_SIZE = 50


def _choice(call: Page, name: str, kind: Any) -> Any:
    """The query parameter `name` read by `kind` (an enum, or `parse_day` for a date); None
    when blank; 422 naming the parameter otherwise (a date's Spanish reason in the message)."""
    value = call.query.get(name) or None
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError as exc:
        message = str(exc) if kind is parse_day else "valor no admitido"
        raise ApiError(
            422,
            "validation_error",
            "Los datos enviados no son válidos: revise los campos indicados.",
            [{"field": name, "message": message, "type": "date_parsing" if kind is parse_day else "enum"}],
        ) from None


def _search(call: Page) -> tuple[dict[str, Any], list[RequestSummary], str | None]:
    assert call.principal is not None
    f = queries.RequestFilter(
        status=_choice(call, "status", OrderState),
        step=_choice(call, "step", Step),
        channel=_choice(call, "channel", Channel),
        start=_choice(call, "from", parse_day),
        end=_choice(call, "to", parse_day),
    )
    found, token = queries.search_requests(deps(), f, PAGE_SIZE, call.query.get("page") or None)
    return dict(call.query), [request_summary(r, call.principal) for r in found], token


@page(bp, "/console/ops", roles=OPS)
def ops(call: Page) -> Response:
    assert call.principal is not None
    values, found, token = _search(call)
    # Executions that ended abnormally: failed or timed out (request failed), stopped (cancelled);
    # an abandonment is also cancelled, but its execution succeeded (outcome abandoned).
    failed = [
        r
        for status in (OrderState.FAILED, OrderState.CANCELLED)
        for r in queries.search_requests(deps(), queries.RequestFilter(status=status), 50, None)[0]
        if r.outcome == Outcome.FAILED
    ][:20]
    return call.render(
        "ops.html",
        title="Operaciones",
        values=values,
        found=found,
        next_page=token,
        failed=[request_summary(r, call.principal) for r in failed],
        states=STATE_LABELS,
        steps=STEP_LABELS,
        channels=[c.value for c in Channel],
        outcome_text=dashboard.outcome_text,
    )


@page(bp, "/console/ops/export.csv", roles=OPS)
def export(call: Page) -> Response:
    _, found, _ = _search(call)
    body = dashboard.to_csv(
        ["solicitud", "ingreso", "canal", "estado", "paso", "resultado", "motivo"],
        (
            [
                r.request_id,
                r.created_at_local,
                r.channel,
                r.state,
                r.step.code,
                r.outcome,
                r.reason.code if r.reason else "",
            ]
            for r in found
        ),
    )
    response = call.respond(body, 200, "text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="solicitudes.csv"'
    return response


def _waits_for(request_id: str, graph_states: dict[str, str]) -> str | None:
    """What the waiting state waits for: the open task, else the outside event its Comment names."""
    tasks = deps().tasks.open_for(request_id)
    if tasks:
        t = tasks[-1]
        return f"tarea «{KIND_LABELS[t.kind]}» ({t.assignee or 'sin asignar'}), vence {format_local(t.due_at)}"
    waiting = next((name for name, status in graph_states.items() if status == "waiting"), None)
    if waiting in ("RequestDocuments", "RemindDocuments"):
        return "documentos del cliente por WhatsApp"
    if waiting == "AwaitInstallation":
        return "aviso de Instalaciones (OPR-PAS-P02)"
    if waiting == "WaitForQcSlot":
        return "horario hábil para la llamada de calidad"
    return "un evento externo" if waiting else None


@page(bp, "/console/ops/requests/{request_id}", roles=OPS)
def execution(call: Page) -> Response:
    request_id = call.params["request_id"]
    try:
        graph = executions.execution_graph(deps(), request_id)
    except ExecutionNotFound:
        graph = None
    context: dict[str, Any] = {
        "request_id": request_id,
        "graph": graph,
        "legend": STATUS_FILL,
        "legend_text": STATUS_TEXT,
    }
    if graph is not None:
        waits = _waits_for(request_id, {n.id: n.status for n in graph.nodes})
        context["svg"] = render_graph(graph, waits)
        context["waits_for"] = waits
        context["path"] = [e for e in graph.edges if e.taken and e.kind != "retry"]
        context["redrivable"] = graph.status in executions.REDRIVABLE
        link = call.settings.execution_link
        context["aws_link"] = link.replace("{request_id}", request_id) if link else None
    return call.render("ops_request.html", title=f"Ejecución de {request_id}", **context)


@page(bp, "/console/ops/requests/{request_id}/redrive", roles=OPS, methods=("POST",))
def redrive(call: Page) -> Response:
    executions.redrive(deps(), call.params["request_id"], call.user)
    return call.redirect(f"/console/ops/requests/{call.params['request_id']}")
