"""What the product logs during a test, as CloudWatch would receive it (powertools JSON lines)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ventas.observability import logger


class _Collect(logging.Handler):
    """Every line the product logs, formatted as in CloudWatch (powertools JSON)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logger.registered_formatter.format(record))


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The formatted log lines of the product's logger while the test runs."""
    collect = _Collect()
    logging.getLogger(logger.service).addHandler(collect)
    yield collect.lines
    logging.getLogger(logger.service).removeHandler(collect)
