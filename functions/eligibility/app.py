"""Step 4: impediments in NAF (Paquete Accionario, opción Cartera)."""

from ventas.container import Container
from ventas.contracts import EligibilityOutput, StageEvent
from ventas.handler import stage_handler
from ventas.services.stages import check_impediments


@stage_handler(StageEvent, path=("requests", "cartera"))
def handler(deps: Container, event: StageEvent) -> EligibilityOutput:
    return check_impediments(deps, event.request_id)
