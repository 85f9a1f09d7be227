"""Supervisor's dashboard (III.2): today's KPI, 30 days, outcomes, requests against, tasks, agents."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.console_http import Page, page
from chalicelib.http import deps
from ventas.console import dashboard
from ventas.console.drawings import kpi_chart
from ventas.domain.instants import parse_day
from ventas.domain.schedule import local_day
from ventas.domain.tasks import TaskStatus
from ventas.services import queries, reports
from ventas.web.auth import Role
from ventas.web.errors import ApiError
from ventas.web.views import request_summary

bp = Blueprint(__name__)
SUPERVISOR = (Role.SUPERVISOR,)
CHART_DAYS = 30
TASKS_READ = 500  # per status, at most, for the task figures


def _context(call: Page) -> dict[str, Any]:
    assert call.principal is not None
    d = deps()
    now = d.clock.now()
    today = date.fromisoformat(local_day(now))
    try:
        day = parse_day(call.query["day"]) if call.query.get("day") else today
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"La fecha no es válida: {exc}.") from None
    if day > today:
        raise ApiError(422, "validation_error", "Esa fecha aún no llegó: elija hoy o un día pasado.")
    series = reports.kpi_series(d, today - timedelta(days=CHART_DAYS - 1), today)
    report = next((r for r in series if r.day == day.isoformat()), None) or reports.kpi_for_day(d, day)
    against = d.requests.get_many(report.against)
    open_items = [
        task
        for status in (TaskStatus.OPEN, TaskStatus.CLAIMED)
        for task in queries.inbox(d, status, None, None, TASKS_READ, None)[0]
    ]
    completed = queries.inbox(d, TaskStatus.COMPLETED, None, None, TASKS_READ, None)[0]
    return {
        "day": day,
        "today": today,
        "report": report,
        "chart": kpi_chart(series, report.threshold),
        "breakdown": sorted(
            ((dashboard.outcome_text(k), k, v) for k, v in report.breakdown.items()), key=lambda row: -row[2]
        ),
        "against": [request_summary(against[i], call.principal) for i in report.against if i in against],
        "by_step": dashboard.open_by_step(open_items, now),
        "overdue": sum(1 for t in open_items if t.due_at < now),
        "agents": dashboard.per_agent(completed),
        "policy_text": dashboard.POLICIES.get(report.policy, report.policy),
    }


@page(bp, "/console/supervisor", roles=SUPERVISOR)
def supervisor(call: Page) -> Response:
    return call.render("supervisor.html", title="Tablero del supervisor (III.2)", **_context(call))


@page(bp, "/console/supervisor/export.csv", roles=SUPERVISOR)
def export(call: Page) -> Response:
    ctx = _context(call)
    which = call.query.get("list", "against")
    if which == "against":
        body = dashboard.to_csv(
            ["solicitud", "ingreso", "canal", "estado", "paso", "motivo"],
            (
                [r.request_id, r.created_at_local, r.channel, r.state, r.step.label, r.reason.label if r.reason else ""]
                for r in ctx["against"]
            ),
        )
    elif which == "breakdown":
        body = dashboard.to_csv(["resultado", "código", "solicitudes"], ctx["breakdown"])
    elif which == "steps":
        body = dashboard.to_csv(["paso", "abiertas", "vencidas"], ctx["by_step"])
    elif which == "agents":
        body = dashboard.to_csv(
            [
                "agente",
                "tareas",
                "tareas tomadas antes de completarlas",
                "minutos promedio desde que la tomó",
                "llamadas de control de calidad",
                "satisfacción promedio",
            ],
            ([a.agent, a.done, a.timed, a.average_minutes, a.qc_calls, a.average_satisfaction] for a in ctx["agents"]),
        )
    elif which == "days":
        days = reports.kpi_series(deps(), ctx["today"] - timedelta(days=CHART_DAYS - 1), ctx["today"])
        body = dashboard.to_csv(
            ["día", "solicitudes", "eficientes", "indicador %", "resultado"],
            ([r.day, r.requests, r.efficient, r.value, r.verdict if r.requests else "sin solicitudes"] for r in days),
        )
    else:
        raise ApiError(404, "not_found", "No existe esa lista para exportar.")
    response = call.respond(body, 200, "text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{which}-{ctx["day"].isoformat()}.csv"'
    return response
