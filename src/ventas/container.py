"""The dependencies a service function receives: ports only, wired by `ventas.bootstrap`."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ventas.config import Settings
from ventas.ports import (
    Cartera,
    Catalogue,
    Clock,
    Gis,
    Installations,
    MediaSource,
    Metrics,
    Notifier,
    RequestRepository,
    Smartflex,
    TaskRepository,
    Workflow,
)


class DocumentStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`, every version of it; returns how many versions."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    clock: Clock
    requests: RequestRepository
    tasks: TaskRepository
    cartera: Cartera
    gis: Gis
    catalogue: Catalogue
    smartflex: Smartflex
    installations: Installations
    notifier: Notifier
    workflow: Workflow
    documents: DocumentStore
    metrics: Metrics
    media: MediaSource

    def customer_key(self, kind: str, value: str) -> str:
        """Keyed hash of a CI or phone: a lookup key that never holds the value in clear."""
        digest = hmac.new(self.settings.pii_key.encode(), f"{kind}:{value}".encode(), hashlib.sha256)
        return f"{kind}#{digest.hexdigest()[:32]}"
