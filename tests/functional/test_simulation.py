"""`make run`'s simulated day, small: the same code path (`devstack.simulate.run_day`) on the
session's stack. Every request ends, the outcomes cover the procedure's three ends, and the
day's KPI is the procedure's formula over the day's requests."""

from __future__ import annotations

from datetime import date

from devstack.actors import SimConfig
from devstack.driver import Driver
from devstack.scenarios import generate
from devstack.simulate import run_day
from ventas.domain.models import Outcome
from ventas.services.reports import kpi_for_day

LEADS, SEED = 12, 7


def test_a_small_day_ends_every_request_and_reports_the_kpi(driver: Driver) -> None:
    result = run_day(driver, SimConfig(leads=LEADS, seed=SEED, time_scale=2400))

    assert [r.request_id for r in result.records if r.stuck] == []
    assert not result.errors
    assert len(result.records) == sum(1 for s in generate(LEADS, SEED) if s.duplicate_of is None)
    assert {r.execution for r in result.records} == {"SUCCEEDED"}  # a business end is not a failure
    assert {r.outcome.split(":")[0] for r in result.records} >= {"sold", "rejected", "abandoned"}
    assert all(r.states[0][0] == "RouteEntry" for r in result.records)

    assert result.kpis
    for reported in result.kpis:
        assert reported.policy == "registered"
        assert reported.requests >= len(result.records)  # the stack's day may hold other tests' requests
        _assert_formula(driver, reported.day)


def _assert_formula(driver: Driver, day: str) -> None:
    """KPI = efficient sales / requests x 100, "Aceptado" above 95 %, recomputed here by hand.
    Other tests' requests may still move while we read: compare two reads taken back to back."""
    deps = driver.stack.deps
    for _ in range(3):
        requests = deps.requests.by_day(day)
        kpi = kpi_for_day(deps, date.fromisoformat(day))
        efficient = [r for r in requests if r.order_id is not None and r.outcome != Outcome.ABANDONED]
        if kpi.requests == len(requests) and kpi.efficient == len(efficient):
            break
    assert kpi.requests == len(requests)
    assert kpi.efficient == len(efficient)
    assert kpi.value == round(100 * len(efficient) / len(requests), 2)
    assert kpi.verdict == ("Aceptado" if kpi.value > 95 else "Observado")
