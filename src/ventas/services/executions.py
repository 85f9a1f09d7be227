"""Ops: a request's execution graph, and redriving a failed execution."""

from __future__ import annotations

from ventas.container import Container
from ventas.domain.errors import ExecutionNotFound, NotRedrivable
from ventas.domain.execution_graph import ExecutionGraph, build_graph
from ventas.domain.schedule import format_local
from ventas.observability import logger
from ventas.ports import ExecutionSummary
from ventas.services.concurrency import update_request

REDRIVABLE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def execution_graph(deps: Container, request_id: str) -> ExecutionGraph:
    deps.requests.get(request_id)  # RequestNotFound before asking Step Functions
    summary = deps.workflow.describe(request_id)
    if summary is None:
        raise ExecutionNotFound(request_id)
    return build_graph(
        request_id,
        deps.workflow.definition(request_id),
        deps.workflow.history(request_id),
        status=summary.status,
        started_at=summary.started_at,
        stopped_at=summary.stopped_at,
        redrive_count=summary.redrive_count,
        local_time=format_local,
    )


def redrive(deps: Container, request_id: str, actor: str) -> ExecutionSummary:
    """Restart a failed execution from the state that failed (RedriveExecution)."""
    request = deps.requests.get(request_id)
    summary = deps.workflow.describe(request_id)
    if summary is None:
        raise ExecutionNotFound(request_id)
    if summary.status not in REDRIVABLE:
        raise NotRedrivable(request_id)
    deps.workflow.redrive(request_id)
    now = deps.clock.now()
    update_request(
        deps, request_id, lambda r: r.note(now, "execution_redriven", by=actor, previous_status=summary.status), request
    )
    logger.info("execution redriven", extra={"request_id": request_id})
    return deps.workflow.describe(request_id) or summary
