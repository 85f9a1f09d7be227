"""Steps 6, 7: GIS coverage, speed and special features at the customer's address."""

from ventas.container import Container
from ventas.contracts import CoverageOutput, StageEvent
from ventas.handler import stage_handler
from ventas.services.stages import check_coverage


@stage_handler(StageEvent, path=("requests", "catalogue", "gis"))
def handler(deps: Container, event: StageEvent) -> CoverageOutput:
    return check_coverage(deps, event.request_id)
