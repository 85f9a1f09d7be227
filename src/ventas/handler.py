"""One wrapper for every Lambda handler: parse the event, bind the correlation id, call a service.

Bad input raises `InvalidInput` naming every bad field; nothing is changed before that check.
No retry here: a service retries its own load-change-save unit on a conflict (one level), so a
message it sends after its save is never sent again by a retry of the whole service.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ventas import coldstart, snapstart
from ventas.bootstrap import container
from ventas.container import Container
from ventas.domain.errors import field_errors
from ventas.domain.models import SaleRequest
from ventas.observability import bind_request, logger, trace_handler

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
    model: type[M],
    validation_context: Callable[[Container], dict[str, Any]] | None = None,
    path: Sequence[str] = ("requests",),
) -> Callable[[Callable[[Container, M], Any]], LambdaHandler]:
    """`validation_context(deps)`: pydantic context for the event (e.g. the channels' phone areas).

    `path`: the container parts (ventas.container.Container fields) the function's invocations
    use. Nothing is built at import; under SnapStart they are built before the snapshot, with the
    event's and the request's validators (ventas.snapstart), so a restored function starts warm.
    """
    snapstart.register(path, (model, SaleRequest))

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
                return service(deps, parsed)
            except ValidationError as exc:  # a body validated by the service (e.g. per task kind)
                raise InvalidInput(exc) from None

        wrapped: LambdaHandler = trace_handler(logger.inject_lambda_context(clear_state=True)(handler))
        return coldstart.resume_after(wrapped)

    return decorate
