"""Optimistic concurrency: a stage and an outside event may save the same request at once.

Each save is conditional on the version read; the loser reads again and re-applies its change.
This is the product's only retry level for conflicts: a service wraps its own load-change-save
unit in `update_request` (or `retry_on_conflict`), and sends nothing to a customer inside it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from ventas.domain.errors import ConcurrentUpdate

if TYPE_CHECKING:
    from ventas.container import Container
    from ventas.domain.models import SaleRequest
    from ventas.ports import TaskWrite

T = TypeVar("T")
ATTEMPTS = 8


def retry_on_conflict(call: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run `call` again (it must re-read what it changes) while another writer wins."""
    for attempt in range(attempts):
        try:
            return call()
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # jitter: let the other writer finish
    raise AssertionError("unreachable")


def update_request(
    deps: Container,
    request_id: str,
    change: Callable[[SaleRequest], T],
    loaded: SaleRequest | None = None,
    tasks: Sequence[TaskWrite] = (),
) -> tuple[SaleRequest, T]:
    """Load the request (or take `loaded` on the first attempt), apply `change` to the
    aggregate and save state and history at once, with the task items of `tasks` (the same on
    every attempt); on `ConcurrentUpdate` read again and re-apply. Returns the saved request and
    what `change` returned. `change` must only touch the aggregate: it may run several times.
    A task's failed condition (`AlreadyExists`, `TaskConflict`) is raised as it is."""
    first = [loaded] if loaded is not None else []

    def attempt() -> tuple[SaleRequest, T]:
        request = first.pop() if first else deps.requests.get(request_id)
        result = change(request)
        if tasks:
            deps.requests.save(request, tasks)
        else:
            deps.requests.save(request)
        return request, result

    return retry_on_conflict(attempt)
