"""Step III.2: the supervisor's daily KPI, read from the requests of each La Paz day."""

from __future__ import annotations

from datetime import date, timedelta

from ventas.container import Container
from ventas.domain.kpi import KpiReport, daily_kpi

MAX_SERIES_DAYS = 92


def kpi_for_day(deps: Container, day: date) -> KpiReport:
    s = deps.settings
    return daily_kpi(day.isoformat(), deps.requests.by_day(day.isoformat()), s.efficiency_policy, s.kpi_threshold)


def kpi_series(deps: Container, start: date, end: date) -> list[KpiReport]:
    if end < start:
        raise ValueError("la fecha final es anterior a la inicial")
    if (end - start).days >= MAX_SERIES_DAYS:
        raise ValueError(f"el rango no puede superar {MAX_SERIES_DAYS} días")
    return [kpi_for_day(deps, start + timedelta(days=n)) for n in range((end - start).days + 1)]
