"""Supervisors: the daily KPI of step III.2, for one day or a series."""

from __future__ import annotations

from datetime import date

from chalice.app import Blueprint

from chalicelib.http import Call, deps, route
from ventas.domain.errors import InvalidQuery
from ventas.domain.schedule import local_day
from ventas.services import reports
from ventas.web.views import KpiSeries, KpiView, kpi_view

bp = Blueprint(__name__)


@route(bp, "getKpi")
def kpi(call: Call) -> KpiView | KpiSeries:
    q = call.query
    d = deps()
    if q.start is not None and q.end is not None:
        try:
            series = reports.kpi_series(d, q.start, q.end)
        except ValueError as exc:
            raise InvalidQuery("from", str(exc)) from None
        return KpiSeries(days=[kpi_view(r) for r in series])
    day = q.day or date.fromisoformat(local_day(d.clock.now()))
    return kpi_view(reports.kpi_for_day(d, day))
