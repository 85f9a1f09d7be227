"""Personal data retention: closed requests older than the period lose their personal data.

Daily (functions/retention, scheduled): every closed request created on a La Paz day older than
`retention_days` is anonymised (`ventas.domain.privacy`): its document copies are deleted from
the bucket (every version), the personal fields cleared, what agents typed into its tasks
removed, and its customer lookup keys released. What the KPI counts stays, so old days' KPI is
the same before and after. History entries stay, their personal details removed
(`privacy.PERSONAL_DETAIL_FIELDS`: a customer's WhatsApp words, agents' comments, wamids).

The run reads the requests of the `catch_up_days` days before the cutoff (index `by_day`, no
Scan), so a missed run is caught up the next day; anonymised requests are skipped, which makes
a run idempotent. A request still open past the period is kept and reported (ops closes it).

On request (a customer asks to be forgotten): `erase_request` does the same at once for one
request, whatever its age (docs/architecture.md, "Deleting a customer's data").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ventas.container import Container
from ventas.domain.errors import RequestNotFound
from ventas.domain.models import SaleRequest
from ventas.domain.privacy import (
    anonymise_history_entry,
    anonymise_request,
    anonymise_task,
    has_personal_result,
)
from ventas.domain.schedule import local_day
from ventas.observability import logger
from ventas.services.concurrency import retry_on_conflict

CATCH_UP_DAYS = 31


@dataclass
class RetentionReport:
    """What one run did. `cutoff_day`: the first La Paz day kept (YYYY-MM-DD)."""

    cutoff_day: str
    days_read: int = 0
    anonymised: list[str] = field(default_factory=list)
    documents_deleted: int = 0
    tasks_cleaned: int = 0
    history_redacted: int = 0
    already_anonymised: int = 0
    kept_open: list[str] = field(default_factory=list)  # open past the period: ops should close them

    def summary(self) -> dict[str, object]:
        return {
            "cutoff_day": self.cutoff_day,
            "days_read": self.days_read,
            "anonymised": len(self.anonymised),
            "documents_deleted": self.documents_deleted,
            "tasks_cleaned": self.tasks_cleaned,
            "history_redacted": self.history_redacted,
            "already_anonymised": self.already_anonymised,
            "kept_open": self.kept_open,
        }


def documents_prefix(request_id: str) -> str:
    """Where a request's document copies live (services.events writes requests/<id>/<slot>/<media>)."""
    return f"requests/{request_id}/"


def apply_retention(
    deps: Container, retention_days: int | None = None, catch_up_days: int = CATCH_UP_DAYS
) -> RetentionReport:
    """Anonymise the closed requests of the `catch_up_days` La Paz days before the cutoff.

    `retention_days` defaults to the settings' (VD_PERSONAL_DATA_RETENTION_DAYS); at least 1.
    Raises ValueError for a period or a window below one day.
    """
    days = deps.settings.personal_data_retention_days if retention_days is None else retention_days
    if days < 1 or catch_up_days < 1:
        raise ValueError("the retention period and the catch-up window are at least one day")
    cutoff = date.fromisoformat(local_day(deps.clock.now() - timedelta(days=days)))
    report = RetentionReport(cutoff_day=cutoff.isoformat())
    for back in range(catch_up_days, 0, -1):
        day = (cutoff - timedelta(days=back)).isoformat()
        report.days_read += 1
        for request in deps.requests.by_day(day):
            if request.anonymised_at is not None:
                report.already_anonymised += 1
            elif request.is_open:
                report.kept_open.append(request.request_id)
            else:
                _forget(deps, request, report)
    logger.info("retention applied", extra=report.summary())
    return report


def erase_request(deps: Container, request_id: str) -> RetentionReport:
    """A customer's request to be forgotten, for one of their requests, now.

    Raises RequestNotFound, or ValueError when the request is still open (cancel it first).
    """
    request = deps.requests.get(request_id)
    if request.is_open:
        raise ValueError(f"request {request_id} is still open: cancel it before erasing its data")
    report = RetentionReport(cutoff_day=local_day(deps.clock.now()))
    if request.anonymised_at is not None:
        report.already_anonymised = 1
    else:
        _forget(deps, request, report)
    logger.info("request erased on demand", extra={"request_id": request_id, **report.summary()})
    return report


def _forget(deps: Container, request: SaleRequest, report: RetentionReport) -> None:
    request_id = request.request_id
    # Documents first: if a later step fails, the next run finds the request not yet anonymised.
    report.documents_deleted += deps.documents.delete_prefix(documents_prefix(request_id))
    for task in deps.tasks.for_request(request_id):
        if has_personal_result(task):
            deps.tasks.transition(anonymise_task(task), task.status)
            report.tasks_cleaned += 1
    # Before the request is marked anonymised: a failure here is redone by the next run.
    report.history_redacted += deps.requests.redact_history(request_id, anonymise_history_entry)
    for kind, value in (("phone", request.phone), ("ci", request.ci)):
        if value:  # normally released when the request closed (services.closing): make sure
            deps.requests.release_key(f"open#{deps.customer_key(kind, value)}", request_id)

    def anonymise() -> None:
        current = deps.requests.get(request_id)
        if current.anonymised_at is None:
            deps.requests.save(anonymise_request(current, deps.clock.now()))

    try:
        retry_on_conflict(anonymise)
    except RequestNotFound:
        return
    report.anonymised.append(request_id)
