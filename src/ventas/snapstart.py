"""Lambda SnapStart for the Python runtime (infra/template.yaml; docs/architecture.md, "Cold starts").

With SnapStart, Lambda runs a published version's init once, snapshots the memory and resumes
every cold start from that snapshot. Two runtime hooks (AWS's `snapshot_restore_py`, part of
the Python 3.12+ managed runtimes) make that safe and worth it:

- before the snapshot: `prime`, the work the function's first invocation would do anyway (boto3
  imported and its clients built, reference data loaded and indexed, the event's validator built),
  so restored environments skip it. Without SnapStart the hooks never run: nothing moves to init.
- after each restore: `random` is re-seeded (every restored environment would otherwise draw the
  same numbers; ids come from `uuid4`/`secrets`, which read the OS and need nothing), and the
  boto3 clients are dropped so the next call builds them again with fresh credentials and
  connections (the snapshot's sockets and the role's credentials are not the restored VM's).
  The session's loaded service models stay: building a client again costs little.

Outside Lambda (tests, the local stack) `snapshot_restore_py` may be absent: nothing registers.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from ventas import bootstrap


def prime(parts: Iterable[str], models: Iterable[Any] = ()) -> None:
    """Build the container `parts` (names of `ventas.container.Container` fields) and the
    validators of the pydantic `models` now. Raises what building them raises."""
    deps = bootstrap.container()
    for name in parts:
        _ = getattr(deps, name).__class__  # a lazy part builds itself on first use (ventas.bootstrap)
    for model in models:
        model.model_rebuild()


def after_restore() -> None:
    """New randomness and new AWS clients for a restored environment."""
    random.seed()  # from os.urandom: each restored environment its own sequence
    bootstrap.refresh_clients()


def register(parts: Iterable[str], models: Iterable[Any] = ()) -> bool:
    """Register the hooks for this function (at import of its handler module, as AWS requires).
    False where the runtime has no SnapStart library (outside Lambda)."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    parts, models = tuple(parts), tuple(models)
    before: Callable[[], None] = lambda: prime(parts, models)  # noqa: E731
    register_before_snapshot(before)
    register_after_restore(after_restore)
    return True
