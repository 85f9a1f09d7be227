"""The composition root: the one place that picks adapters. Called once per container.

`container()` builds from the environment on first use (so imports stay cheap); the local stack
and tests hand in their own pieces with `use()`.
"""

from __future__ import annotations

import threading
from typing import Any

from ventas.config import Settings
from ventas.container import Container, SystemClock

_lock = threading.Lock()
_current: Container | None = None


def build(settings: Settings, **overrides: Any) -> Container:
    """Wire the product for `settings`; any port can be replaced by keyword (tests, local stack)."""
    from ventas.adapters.aws import PowertoolsMetrics, S3DocumentStore, SfnWorkflow
    from ventas.adapters.dynamo import DynamoRequestRepository, DynamoTaskRepository

    clock = overrides.pop("clock", None) or SystemClock()
    parts: dict[str, Any] = {"settings": settings, "clock": clock}
    lazy = {
        "requests": lambda: DynamoRequestRepository(settings.requests_table),
        "tasks": lambda: DynamoTaskRepository(settings.tasks_table),
        "workflow": lambda: SfnWorkflow(settings.state_machine_arn),
        "documents": lambda: S3DocumentStore(settings.documents_bucket),
        "metrics": PowertoolsMetrics,
        **_backoffice(settings, clock),
    }
    for name, factory in lazy.items():
        parts[name] = overrides.pop(name) if name in overrides else factory()
    if overrides:
        raise TypeError(f"unknown container parts: {sorted(overrides)}")
    return Container(**parts)


def _backoffice(settings: Settings, clock: Any) -> dict[str, Any]:
    if settings.backoffice != "reference":
        raise ValueError(f"back office {settings.backoffice!r} is not available in this build")
    from ventas.adapters import reference

    return {
        "cartera": reference.ReferenceCartera,
        "gis": reference.ReferenceGis,
        "catalogue": reference.ReferenceCatalogue,
        "smartflex": lambda: reference.LocalSmartflex(clock=clock),
        "installations": lambda: reference.LocalInstallations(clock=clock),
        "notifier": lambda: reference.OutboxNotifier(clock=clock),
    }


def container() -> Container:
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = build(Settings.from_env())
    return _current


def use(deps: Container | None) -> None:
    """Install a container for this process (local stack, tests); None rebuilds from env."""
    global _current
    _current = deps
