"""Step 13.1: the procedure concludes. The agent's QC result closed the sale already (one read
here); a QC call nobody made in time closes it here, without a score."""

from ventas.container import Container
from ventas.contracts import CloseEvent, OutcomeOutput
from ventas.handler import stage_handler
from ventas.services.closing import close_sale


@stage_handler(CloseEvent, path=("requests", "tasks"))
def handler(deps: Container, event: CloseEvent) -> OutcomeOutput:
    return close_sale(deps, event.request_id)
