"""Optimistic concurrency: a stage and an outside event may save the same request at once.

Each save is conditional on the version read; the loser reads again and re-applies its change.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ventas.domain.errors import ConcurrentUpdate

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
