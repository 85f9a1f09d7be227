"""Powertools logger and tracer shared by every handler (created once per container).

The correlation id is the request id; CI and phone never reach a log line (`redact`).
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Tracer

logger = Logger(service="ventas-digitales")
tracer = Tracer(service="ventas-digitales")

_PHONE = re.compile(r"\+?591\d{7,8}")
_CI = re.compile(r"\b\d{5,10}(?:-\d[A-Z])?(?: ?(?:LP|CB|SC|OR|PT|CH|TJ|BE|PD))?\b")


def redact(text: str) -> str:
    """Mask phones and CI numbers in free text before it is logged."""
    return _CI.sub("[ci]", _PHONE.sub("[phone]", text))


def bind_request(request_id: Any) -> None:
    if isinstance(request_id, str):
        logger.set_correlation_id(request_id)
