"""Reads for people: a request with its history, request search, the agents' inbox.

Every read goes through an index (no Scan): requests by status (GSI by_status) or by La Paz
day (GSI by_day), tasks by status ordered by due time (GSI inbox). Filters the index cannot
apply (step, channel, assignee) are applied to the pages read, with a bounded number of reads
per call; a page may then hold fewer items than asked and still carry a token to read on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import TypeVar

from ventas.container import Container
from ventas.domain.errors import InvalidQuery, RequestNotFound
from ventas.domain.models import Channel, HistoryEntry, OrderState, SaleRequest, Step
from ventas.domain.schedule import local_day
from ventas.domain.tasks import HumanTask, TaskStatus
from ventas.services.receipts import LeadReceipt, find_receipt

T = TypeVar("T")
MAX_READS = 10  # index pages read per call, at most
MAX_SEARCH_DAYS = 31
BAD_PAGE = "token de paginación no válido"


@dataclass(frozen=True)
class RequestFilter:
    status: OrderState | None = None
    step: Step | None = None
    channel: Channel | None = None
    start: date | None = None
    end: date | None = None

    def keeps(self, request: SaleRequest) -> bool:
        return (
            (self.status is None or request.status == self.status)
            and (self.step is None or request.step == self.step)
            and (self.channel is None or request.channel == self.channel)
        )


def get_request(deps: Container, request_id: str) -> tuple[SaleRequest, list[HistoryEntry]]:
    return deps.requests.get(request_id), deps.requests.history(request_id)


def channel_read(deps: Container, request_id: str) -> SaleRequest | LeadReceipt:
    """What a channel may read under `request_id`: a request, or a joined lead's receipt
    (services.receipts). Raises RequestNotFound for neither."""
    try:
        return deps.requests.get(request_id)
    except RequestNotFound:
        receipt = find_receipt(deps, request_id)
        if receipt is None:
            raise
        return receipt


def _filtered(
    fetch: Callable[[str | None], tuple[list[T], str | None]],
    keep: Callable[[T], bool],
    resume: Callable[[T], str],
    limit: int,
    start: str | None,
) -> tuple[list[T], str | None]:
    """Up to `limit` kept items over index pages; a token to resume after the last one kept."""
    found: list[T] = []
    token = start
    for _ in range(MAX_READS):
        try:
            items, following = fetch(token)
        except ValueError as exc:  # the repositories' own check of a token
            raise InvalidQuery("page", BAD_PAGE) from exc
        for position, item in enumerate(items):
            if keep(item):
                found.append(item)
                if len(found) == limit:
                    more = position < len(items) - 1 or following is not None
                    return found, resume(item) if more else None
        if following is None:
            return found, None
        token = following
    return found, token


def search_requests(
    deps: Container, query: RequestFilter, limit: int, page: str | None
) -> tuple[list[SaleRequest], str | None]:
    """By status (newest first) when no dates are given; else by day, oldest first."""
    if query.status is not None and query.start is None and query.end is None:
        status = query.status
        if page is not None and not page.startswith("s."):
            raise InvalidQuery("page", BAD_PAGE)
        items, token = _filtered(
            lambda start: deps.requests.by_status(status, limit=limit, start=start),
            query.keeps,
            deps.requests.resume_after,
            limit,
            page[2:] if page else None,
        )
        return items, f"s.{token}" if token else None
    return _search_by_day(deps, query, limit, page)


def _days(deps: Container, query: RequestFilter) -> list[date]:
    today = date.fromisoformat(local_day(deps.clock.now()))
    end = query.end or query.start or today
    start = query.start or end
    if end < start:
        raise InvalidQuery("to", "la fecha final es anterior a la inicial")
    if (end - start).days >= MAX_SEARCH_DAYS:
        raise InvalidQuery("from", f"el rango no puede superar {MAX_SEARCH_DAYS} días")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _search_by_day(
    deps: Container, query: RequestFilter, limit: int, page: str | None
) -> tuple[list[SaleRequest], str | None]:
    days = _days(deps, query)
    after_day, after_key = _day_token(page) if page else (days[0].isoformat(), "")
    found: list[SaleRequest] = []
    for day in days:
        if day.isoformat() < after_day:
            continue
        rows = [(_position(r), r) for r in deps.requests.by_day(day.isoformat())]  # oldest first
        rows = [
            row for row in sorted(rows, key=lambda row: row[0]) if day.isoformat() > after_day or row[0] > after_key
        ]
        for position, (key, request) in enumerate(rows):
            if query.keeps(request):
                found.append(request)
                if len(found) == limit:
                    more = position < len(rows) - 1 or day != days[-1]
                    return found, _encode_day_token(day.isoformat(), key) if more else None
    return found, None


def _position(request: SaleRequest) -> str:
    """Where a request stands in a day's list (creation time, then id): the search's own resume
    point, not an index key."""
    return f"{request.created_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}#{request.request_id}"


def _encode_day_token(day: str, key: str) -> str:
    return "d." + base64.urlsafe_b64encode(json.dumps({"d": day, "k": key}).encode()).decode()


def _day_token(page: str) -> tuple[str, str]:
    try:
        if not page.startswith("d."):
            raise ValueError(page)
        value = json.loads(base64.urlsafe_b64decode(page[2:].encode()))
        day, key = value["d"], value["k"]
        date.fromisoformat(day)
        if not isinstance(key, str):
            raise ValueError(key)
    except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidQuery("page", BAD_PAGE) from exc
    return day, key


def inbox(
    deps: Container,
    status: TaskStatus,
    step: Step | None,
    assignee: str | None,
    limit: int,
    page: str | None,
) -> tuple[list[HumanTask], str | None]:
    """Tasks of one status, due first. Each carries what the inbox shows of its request (its
    `glance`): a page is one Query of the `inbox` index (more only when filters drop items),
    never a read of the requests."""

    def keep(task: HumanTask) -> bool:
        return (step is None or task.step == step) and (assignee is None or task.assignee == assignee)

    return _filtered(
        lambda start: deps.tasks.inbox(status, limit=limit, start=start),
        keep,
        deps.tasks.resume_after,
        limit,
        page,
    )
