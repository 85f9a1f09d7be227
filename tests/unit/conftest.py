"""Unit tier: services wired with in-memory fakes behind the same ports as production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.aws import InMemoryDocuments, InMemoryWorkflow, RecordingMetrics
from tests.fakes.memory import in_memory_repositories
from ventas.adapters import reference
from ventas.bootstrap import build
from ventas.config import Settings
from ventas.container import Container

# A Tuesday, 10:00 in La Paz.
T0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


@dataclass
class FrozenClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def deps(clock: FrozenClock) -> Container:
    return build(
        Settings(),
        clock=clock,
        **in_memory_repositories(),
        workflow=InMemoryWorkflow(),
        documents=InMemoryDocuments(),
        metrics=RecordingMetrics(),
        smartflex=reference.LocalSmartflex(clock=clock),
        installations=reference.LocalInstallations(clock=clock),
        notifier=reference.OutboxNotifier(clock=clock),
    )
