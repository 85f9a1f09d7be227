"""Business-time rules: calls to customers only in business hours (America/La_Paz)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

LA_PAZ = ZoneInfo("America/La_Paz")
ESTIMATE_MIN_DAYS = 2  # step 11.1: "de 2 a 15 días"
ESTIMATE_MAX_DAYS = 15


def local_day(at: datetime) -> str:
    """The La Paz calendar day of a UTC instant (the KPI's day)."""
    return at.astimezone(LA_PAZ).date().isoformat()


def next_business_slot(at: datetime, opens: time, closes: time, days: frozenset[int]) -> datetime:
    """The first instant at or after `at` inside business hours, in UTC."""
    local = at.astimezone(LA_PAZ)
    for _ in range(15):
        start = local.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
        end = local.replace(hour=closes.hour, minute=closes.minute, second=0, microsecond=0)
        if local.weekday() in days:
            if local < start:
                return start.astimezone(UTC)
            if local < end:
                return local.astimezone(UTC)
        local = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    raise ValueError("no business day within two weeks: check the business-days configuration")


def expected_completion(registered_at: datetime) -> tuple[datetime, datetime]:
    """Step 11.1: the installation window told to the customer (2 to 15 days)."""
    return registered_at + timedelta(days=ESTIMATE_MIN_DAYS), registered_at + timedelta(days=ESTIMATE_MAX_DAYS)


def format_local(at: datetime) -> str:
    """How a person reads a time: La Paz, day/month/year."""
    return at.astimezone(LA_PAZ).strftime("%d/%m/%Y %H:%M")
