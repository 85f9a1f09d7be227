"""Garbage collection during a Lambda cold start: paused, then the survivors frozen.

A cold start allocates hundreds of thousands of objects that live as long as the environment
(modules, classes, botocore's service models, pydantic's validators) and almost no garbage. CPython's
collector still runs, and its full passes walk every one of them: measured by bench/coldstart.py,
about 45 ms of CPU of a function's init plus first event (a sixth of it), 16 ms of the floor's.

So, in a Lambda runtime only (LAMBDA_TASK_ROOT set, as `ventas.observability` decides it too):

- `pause()` (when `ventas` is first imported, the first thing every handler imports) turns the
  collector off for init and the first invocation;
- `resume()` (after the first invocation, success or error: `resume_after` around every
  stage handler in `ventas.handler`, the API's middleware in functions/api/app.py) moves every
  object alive then to the collector's permanent generation (`gc.freeze()`, so later passes of
  warm invocations never walk them again) and turns it back on.

What is frozen is kept for the environment's life: the first invocation's few cyclic leftovers
with it (measured: about 950 objects of 115,000, 0.3-0.4 MB shallow size). Outside Lambda (tests, the
local stack, the console's server) nothing changes.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_paused = False


def pause() -> bool:
    """Turn the collector off if this is a Lambda runtime's cold start. True if it did."""
    global _paused
    if _paused or not os.environ.get("LAMBDA_TASK_ROOT") or not gc.isenabled():
        return False
    gc.disable()
    _paused = True
    return True


def resume() -> bool:
    """Freeze what is alive and turn the collector back on, once. True if it was paused."""
    global _paused
    if not _paused:
        return False
    _paused = False
    gc.freeze()
    gc.enable()
    return True


def resume_after(handler: F) -> F:
    """`handler` that calls `resume()` when it returns or raises (a no-op after the first call)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            if _paused:
                resume()

    return wrapper  # type: ignore[return-value]
