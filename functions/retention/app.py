"""Personal data retention (docs/architecture.md): daily, anonymise closed requests older than
the period; on ops' demand, erase one request's personal data now."""

from typing import Any

from ventas.container import Container
from ventas.contracts import RetentionEvent
from ventas.handler import stage_handler
from ventas.services.retention import CATCH_UP_DAYS, apply_retention, erase_request


@stage_handler(RetentionEvent, path=("requests", "tasks", "documents"))
def handler(deps: Container, event: RetentionEvent) -> dict[str, Any]:
    if event.job == "erase" and event.request_id is not None:
        return erase_request(deps, event.request_id).summary()
    return apply_retention(deps, catch_up_days=event.catch_up_days or CATCH_UP_DAYS).summary()
