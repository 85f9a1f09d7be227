"""The composition root: the one place that picks adapters. Called once per container.

`container()` builds from the environment on first use (so imports stay cheap); the local stack
and tests hand in their own pieces with `use()`.

Parts are built on first use, not with the container: a function builds only the adapters its
path touches (coverage loads the GIS zones, intake never does), and one boto3 client per service
serves every adapter of the container. That is most of a cold start (bench/coldstart.py).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable
from typing import Any

from ventas.config import Settings
from ventas.container import Container, SystemClock

_lock = threading.Lock()
_build_lock = threading.RLock()  # boto3 client creation is not thread safe; parts may nest
_current: Container | None = None
# The parts that hold a boto3 client, and every container's client cache (refresh_clients).
_CLIENT_PARTS = ("requests", "tasks", "workflow", "documents")
_client_caches: list[Any] = []


class _Lazy:
    """Stands for a part until its first use, then delegates every attribute to it."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        object.__setattr__(self, "_factory", factory)
        object.__setattr__(self, "_target", None)

    def _part(self) -> Any:
        target = object.__getattribute__(self, "_target")
        if target is None:
            with _build_lock:
                target = object.__getattribute__(self, "_target")
                if target is None:
                    target = object.__getattribute__(self, "_factory")()
                    object.__setattr__(self, "_target", target)
        return target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._part(), name)

    def _forget(self) -> None:
        """Build the part again on its next use."""
        with _build_lock:
            object.__setattr__(self, "_target", None)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._part(), name, value)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the part's class
        return type(self._part())

    def __repr__(self) -> str:
        return f"_Lazy({self._part()!r})"


def build(settings: Settings, **overrides: Any) -> Container:
    """Wire the product for `settings`; any port can be replaced by keyword (tests, local stack)."""
    from ventas.adapters.aws import PowertoolsMetrics, S3DocumentStore, SfnWorkflow
    from ventas.adapters.dynamo import DynamoRequestRepository, DynamoTaskRepository

    settings = _with_secrets(settings)
    clock = overrides.pop("clock", None) or SystemClock()
    client = _clients()
    parts: dict[str, Any] = {"settings": settings, "clock": clock}
    lazy = {
        "requests": lambda: DynamoRequestRepository(
            settings.requests_table, client("dynamodb"), tasks_table=settings.tasks_table
        ),
        "tasks": lambda: DynamoTaskRepository(settings.tasks_table, client("dynamodb")),
        "workflow": lambda: SfnWorkflow(settings.state_machine_arn, client("stepfunctions")),
        "documents": lambda: S3DocumentStore(settings.documents_bucket, client("s3")),
        "metrics": PowertoolsMetrics,
        "media": _media,
        **_backoffice(settings, clock),
    }
    for name, factory in lazy.items():
        parts[name] = overrides.pop(name) if name in overrides else _Lazy(factory)
    if overrides:
        raise TypeError(f"unknown container parts: {sorted(overrides)}")
    return Container(**parts)


def _clients() -> Callable[[str], Any]:
    @functools.cache
    def client(service: str) -> Any:
        import boto3

        with _build_lock:
            return boto3.client(service)  # type: ignore[call-overload]

    _client_caches.append(client)
    return client


def refresh_clients() -> None:
    """Drop every boto3 client (and the parts holding one) so the next use builds them again,
    from a new default session: new credentials and new connections. The service models
    already loaded are kept (the new session shares the old one's loader), so that costs little.
    Called after a SnapStart restore (ventas.snapstart); a no-op before any client exists."""
    import sys

    boto3 = sys.modules.get("boto3")
    with _build_lock:
        for cache in _client_caches:
            cache.cache_clear()
        if _current is not None:
            for name in _CLIENT_PARTS:
                part = _current.__dict__.get(name)
                if type(part) is _Lazy:
                    part._forget()
        if boto3 is not None and boto3.DEFAULT_SESSION is not None:
            import botocore.session

            fresh = botocore.session.get_session()
            old = boto3.DEFAULT_SESSION._session  # the botocore session behind boto3's
            fresh.register_component("data_loader", old.get_component("data_loader"))
            boto3.setup_default_session(botocore_session=fresh)


def _with_secrets(settings: Settings) -> Settings:
    """In AWS the PII hashing key is a secret, read once per container; locally VD_PII_KEY."""
    if not settings.pii_key_secret:
        return settings
    from ventas.adapters.secrets import secret_string

    return dataclasses.replace(settings, pii_key=secret_string(settings.pii_key_secret))


def _media() -> Any:
    from ventas.adapters.whatsapp import GraphMediaSource

    return GraphMediaSource()


def _backoffice(settings: Settings, clock: Any) -> dict[str, Any]:
    if settings.backoffice not in ("reference", "http"):
        raise ValueError(f"back office {settings.backoffice!r} is not available in this build")
    from ventas.adapters import reference

    if settings.backoffice == "http":
        # Deferred: only the HTTP back office loads its client. The catalogue stays reference data.
        @functools.cache
        def ports() -> dict[str, object]:
            from ventas.adapters.http_backoffice import http_backoffice

            if settings.backoffice_secret:
                from ventas.adapters.secrets import json_secret_field

                return http_backoffice(settings, clock, token=json_secret_field(settings.backoffice_secret))
            return http_backoffice(settings, clock)

        return {
            **{name: (lambda name=name: ports()[name]) for name in ("cartera", "gis", "smartflex", "installations")},
            "catalogue": reference.ReferenceCatalogue,
            "notifier": _notifier(settings, clock),
        }
    return {
        "cartera": reference.ReferenceCartera,
        "gis": reference.ReferenceGis,
        "catalogue": reference.ReferenceCatalogue,
        "smartflex": lambda: reference.LocalSmartflex(clock=clock),
        "installations": lambda: reference.LocalInstallations(clock=clock),
        "notifier": _notifier(settings, clock),
    }


def _notifier(settings: Settings, clock: Any) -> Callable[[], Any]:
    """WhatsApp once a Cloud API number is configured (in either back-office mode), else the outbox."""
    if not settings.whatsapp_phone_number_id:
        from ventas.adapters import reference

        return lambda: reference.OutboxNotifier(clock=clock)

    def cloud_api() -> Any:
        # Deferred: only a function that sends loads the HTTP stack, and the token is read on
        # the first send (once per container).
        from ventas.adapters.whatsapp import CloudApiNotifier

        return CloudApiNotifier(settings.whatsapp_phone_number_id, templates=settings.whatsapp_templates)

    return cloud_api


def container() -> Container:
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = build(Settings.from_env())
    return _current


def current() -> Container | None:
    """The process's container if one is built or installed, else None (nothing is built)."""
    return _current


def use(deps: Container | None) -> None:
    """Install a container for this process (local stack, tests); None rebuilds from env."""
    global _current
    _current = deps
