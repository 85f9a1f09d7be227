"""Every execution's end is on its request: EventBridge "Step Functions Execution Status Change"
(ABORTED, FAILED, TIMED_OUT) marks the request failed or cancelled, closes its tasks and frees
the customer's keys (infra/template.yaml wires the rule; the local stack feeds the same event)."""

from ventas.container import Container
from ventas.contracts import ExecutionStatusChange
from ventas.handler import stage_handler
from ventas.services.closing import execution_ended

ENDS = frozenset({"ABORTED", "FAILED", "TIMED_OUT"})


@stage_handler(ExecutionStatusChange, path=("requests", "tasks"))
def handler(deps: Container, event: ExecutionStatusChange) -> dict[str, object]:
    detail = event.detail
    if detail.status not in ENDS:  # the rule filters these; a wider rule changes nothing here
        return {"requestId": detail.name, "changed": False}
    cause = " ".join(part for part in (detail.error, detail.cause) if part) or None
    return {"requestId": detail.name, "changed": execution_ended(deps, detail.name, detail.status, cause)}
