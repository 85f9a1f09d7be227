"""Powertools logger and tracer shared by every handler (created once per container).

The correlation id is the request id. CI and phone never reach a log line: code logs ids only
(a functional test reads every line a sale writes to make sure).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

logger = Logger(service="ventas-digitales")
tracer = Tracer(service="ventas-digitales")


def bind_request(request_id: Any) -> None:
    if isinstance(request_id, str):
        logger.set_correlation_id(request_id)
