"""Step III.2: the supervisor's daily KPI, read from the requests of each La Paz day."""

from __future__ import annotations

from datetime import date, timedelta

from ventas.container import Container
from ventas.domain.errors import InvalidQuery
from ventas.domain.kpi import KpiReport, daily_kpi
from ventas.domain.schedule import local_day

MAX_SERIES_DAYS = 92
FUTURE_DAY = "la fecha {day} aún no llegó: el indicador se calcula para hoy o días pasados"


def _today(deps: Container) -> date:
    return date.fromisoformat(local_day(deps.clock.now()))


def kpi_for_day(deps: Container, day: date, parameter: str = "date") -> KpiReport:
    """The KPI of one La Paz day; `provisional` while that day is today (en curso).

    Raises InvalidQuery(`parameter`) for a day after today: nothing to report yet.
    """
    today = _today(deps)
    if day > today:
        raise InvalidQuery(parameter, FUTURE_DAY.format(day=day.strftime("%d/%m/%Y")))
    s = deps.settings
    requests = deps.requests.by_day(day.isoformat())
    return daily_kpi(day.isoformat(), requests, s.efficiency_policy, s.kpi_threshold, provisional=day == today)


def kpi_series(deps: Container, start: date, end: date) -> list[KpiReport]:
    """One KPI per day from `start` to `end`. Raises ValueError (a reversed or too long range)
    and InvalidQuery("to") for an end after today."""
    if end < start:
        raise ValueError("la fecha final es anterior a la inicial")
    if (end - start).days >= MAX_SERIES_DAYS:
        raise ValueError(f"el rango no puede superar {MAX_SERIES_DAYS} días")
    if end > _today(deps):
        raise InvalidQuery("to", FUTURE_DAY.format(day=end.strftime("%d/%m/%Y")))
    return [kpi_for_day(deps, start + timedelta(days=n)) for n in range((end - start).days + 1)]
