"""What the scheduled `kpi` function measures: the La Paz day before, and overdue human tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.unit.conftest import FrozenClock
from ventas.container import Container
from ventas.domain.tasks import TASK_STEPS, HumanTask, TaskKind, TaskStatus
from ventas.services.monitoring import INBOX_PAGE, OVERDUE_GRACE, daily_kpi_report, overdue_tasks, yesterday


def _task(n: int, due_at: datetime, status: TaskStatus = TaskStatus.OPEN) -> HumanTask:
    return HumanTask(
        task_id=f"tk-{n:016x}",
        request_id=f"vd-req-{n}",
        kind=TaskKind.CALL_BACK,
        step=TASK_STEPS[TaskKind.CALL_BACK],
        status=status,
        created_at=due_at - timedelta(hours=8),
        due_at=due_at,
        assignee="agente" if status == TaskStatus.CLAIMED else None,
        token=f"token-{n}",
    )


def test_yesterday_is_the_la_paz_day_before(deps: Container, clock: FrozenClock) -> None:
    clock.at = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 23:30 on the 24th in La Paz
    assert yesterday(deps) == date(2026, 11, 23)
    clock.at = datetime(2026, 11, 25, 4, 15, tzinfo=UTC)  # 00:15 on the 25th: when the rule runs
    assert yesterday(deps) == date(2026, 11, 24)
    assert daily_kpi_report(deps).day == "2026-11-24"
    assert daily_kpi_report(deps, date(2026, 11, 1)).day == "2026-11-01"


def test_overdue_counts_open_and_claimed_tasks_past_the_grace_only(deps: Container, clock: FrozenClock) -> None:
    now = clock.now()
    late = now - OVERDUE_GRACE - timedelta(minutes=1)
    deps.tasks.add(_task(1, late))
    deps.tasks.add(_task(2, late, TaskStatus.CLAIMED))
    deps.tasks.add(_task(3, now - OVERDUE_GRACE + timedelta(minutes=1)))  # within the grace
    deps.tasks.add(_task(4, now + timedelta(hours=2)))
    deps.tasks.add(_task(5, late, TaskStatus.COMPLETED))
    deps.tasks.add(_task(6, late, TaskStatus.EXPIRED))
    assert overdue_tasks(deps) == 2


def test_overdue_pages_through_the_inbox_and_stops_at_the_first_task_not_due(
    deps: Container, clock: FrozenClock
) -> None:
    late = clock.now() - timedelta(days=1)
    for n in range(INBOX_PAGE + 5):
        deps.tasks.add(_task(n, late + timedelta(seconds=n)))
    deps.tasks.add(_task(9999, clock.now() + timedelta(days=1)))
    assert overdue_tasks(deps) == INBOX_PAGE + 5
