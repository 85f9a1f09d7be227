"""Steps 9.1, 10, 11: register the sale in Smartflex and tell the customer the estimate."""

from ventas.container import Container
from ventas.contracts import SaleOutput, StageEvent
from ventas.handler import stage_handler
from ventas.services.outbound import last_attempt
from ventas.services.stages import register_sale


@stage_handler(StageEvent, path=("requests", "catalogue", "smartflex", "notifier"))
def handler(deps: Container, event: StageEvent) -> SaleOutput:
    return register_sale(deps, event.request_id, final=last_attempt(event.retry_count))
