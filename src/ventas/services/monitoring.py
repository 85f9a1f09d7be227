"""What the scheduled `kpi` function measures: yesterday's KPI (III.2) and overdue human tasks."""

from __future__ import annotations

from datetime import date, timedelta

from ventas.container import Container
from ventas.domain.kpi import KpiReport
from ventas.domain.schedule import local_day
from ventas.domain.tasks import TaskStatus
from ventas.services.reports import kpi_for_day

# Every human task's wait times out at the task's due time, and each timeout path closes or
# re-opens the task; one still open well after that belongs to a workflow that did not move on.
OVERDUE_GRACE = timedelta(minutes=15)
INBOX_PAGE = 100


def yesterday(deps: Container) -> date:
    """The La Paz day before today: complete once La Paz has passed midnight."""
    return date.fromisoformat(local_day(deps.clock.now())) - timedelta(days=1)


def daily_kpi_report(deps: Container, day: date | None = None) -> KpiReport:
    return kpi_for_day(deps, day or yesterday(deps))


def overdue_tasks(deps: Container, grace: timedelta = OVERDUE_GRACE) -> int:
    """Open or claimed tasks due more than `grace` ago, read due-first from the inbox index."""
    cutoff = deps.clock.now() - grace
    count = 0
    for status in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        start: str | None = None
        while True:
            page, start = deps.tasks.inbox(status, limit=INBOX_PAGE, start=start)
            late = sum(1 for task in page if task.due_at < cutoff)
            count += late
            if start is None or late < len(page):  # the rest of the partition is due later
                break
    return count
