"""One wrapper for every Lambda handler: parse the event, bind the correlation id, call a service.

Bad input raises `InvalidInput` naming every bad field; nothing is changed before that check.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ventas.bootstrap import container
from ventas.container import Container
from ventas.domain.errors import field_errors
from ventas.observability import bind_request, logger, trace_handler
from ventas.services.concurrency import retry_on_conflict

M = TypeVar("M", bound=BaseModel)
LambdaHandler = Callable[[dict[str, Any], Any], Any]


class InvalidInput(ValueError):
    """errorType seen by the caller; the message is JSON: a Spanish message and field details."""

    def __init__(self, exc: ValidationError) -> None:
        self.fields = field_errors(exc)
        super().__init__(
            json.dumps(
                {"code": "validation_error", "message": "Datos no válidos", "fields": self.fields}, ensure_ascii=False
            )
        )


def stage_handler(
    model: type[M], validation_context: Callable[[Container], dict[str, Any]] | None = None
) -> Callable[[Callable[[Container, M], Any]], LambdaHandler]:
    """`validation_context(deps)`: pydantic context for the event (e.g. the channels' phone areas)."""

    def decorate(service: Callable[[Container, M], Any]) -> LambdaHandler:
        @functools.wraps(service)
        def handler(event: dict[str, Any], context: Any) -> Any:
            try:
                extra = validation_context(container()) if validation_context else None
                parsed = model.model_validate(event, context=extra)
            except ValidationError as exc:
                raise InvalidInput(exc) from None
            inner = getattr(parsed, "event", parsed)
            bind_request(getattr(inner, "request_id", None))
            deps = container()
            try:
                return retry_on_conflict(lambda: service(deps, parsed))
            except ValidationError as exc:  # a body validated by the service (e.g. per task kind)
                raise InvalidInput(exc) from None

        wrapped: LambdaHandler = trace_handler(logger.inject_lambda_context(clear_state=True)(handler))
        return wrapped

    return decorate
