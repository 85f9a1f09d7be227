"""Powertools logger and tracer shared by every handler (created once per container).

The correlation id is the request id. CI and phone never reach a log line: code logs ids only
(a functional test reads every line a sale writes to make sure).

Tracing: the Lambda service itself records every invocation in X-Ray (`Tracing: Active` in
infra/template.yaml). The X-Ray SDK adds subsegments for the AWS calls inside a function but
costs about a third of a second per cold start (it builds its own botocore client), so it loads
only where tracing is on: in Lambda, unless POWERTOOLS_TRACE_DISABLED (template parameter
TraceSubsegments). Outside Lambda powertools disables it anyway.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "ventas-digitales"
F = TypeVar("F", bound=Callable[..., Any])

logger = Logger(service=SERVICE)


def tracing_enabled() -> bool:
    """Powertools' own rule, read without importing the SDK: in Lambda and not disabled."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in {"1", "true", "yes", "on"}
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled


@functools.cache
def get_tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    # botocore only: the AWS calls are what a trace of this product needs to show.
    return Tracer(service=SERVICE, patch_modules=["botocore"])


def trace_handler(handler: F) -> F:
    """`Tracer.capture_lambda_handler` where tracing is on; the handler unchanged elsewhere."""
    if not tracing_enabled():
        return handler
    return cast(F, get_tracer().capture_lambda_handler(handler))


def __getattr__(name: str) -> Any:
    # `from ventas.observability import tracer` keeps working, building the tracer on demand.
    if name == "tracer":
        return get_tracer()
    raise AttributeError(name)


def bind_request(request_id: Any) -> None:
    if isinstance(request_id, str):
        logger.set_correlation_id(request_id)
