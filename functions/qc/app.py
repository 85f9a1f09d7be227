"""Step 13.1: the QC call concludes the procedure; the sale closes with its QC result."""

from ventas.container import Container
from ventas.contracts import CloseEvent, OutcomeOutput
from ventas.handler import stage_handler
from ventas.services.closing import close_sale


@stage_handler(CloseEvent, path=("requests", "tasks"))
def handler(deps: Container, event: CloseEvent) -> OutcomeOutput:
    return close_sale(deps, event.request_id)
