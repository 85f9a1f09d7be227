"""An execution as ops read it: the ASL's states and transitions, each coloured by the history.

Nodes are the states; edges are `next`, `choice` (with its condition), `default`, `catch`
(with the error names) and `retry` (a self-edge with the retrier's settings). Each node's
status comes from GetExecutionHistory: not_reached, waiting (a task token or a Wait state),
running, succeeded or failed, with how many times it was entered and retried. Only event
types, times, state names, error names and (redacted, truncated) causes are exposed: never
inputs, outputs or parameters, which carry task tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

NodeStatus = Literal["not_reached", "waiting", "running", "succeeded", "failed"]
EdgeKind = Literal["next", "choice", "default", "catch", "retry"]
CAUSE_LIMIT = 300
_STEP = re.compile(r"Steps? ([0-9][0-9.]*(?:, [0-9][0-9.]*)*)")
_ENDED = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
_FAILURES = {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "ExecutionFailed"}
_ATTEMPTS = {"TaskScheduled", "LambdaFunctionScheduled"}
# Causes are our own error messages, but a cause must never carry a phone, a CI or a token.
_SCRUB = (
    (re.compile(r"\+?591\d{7,8}"), "[teléfono]"),
    (re.compile(r"(?<!vd-)\b\d{5,10}(?:-\d[A-Z])?(?: ?(?:LP|CB|SC|OR|PT|CH|TJ|BE|PD))?\b"), "[ci]"),  # not a request id
    (re.compile(r"[A-Za-z0-9+/=_-]{60,}"), "[…]"),
)


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text[:CAUSE_LIMIT]


class GraphNode(BaseModel):
    id: str
    type: str
    comment: str | None
    steps: list[str] = Field(description="procedure step numbers named in the state's Comment")
    status: NodeStatus
    visits: int
    retries: int
    entered_at: datetime | None
    exited_at: datetime | None
    error: str | None


class GraphEdge(BaseModel):
    source: str
    target: str
    kind: EdgeKind
    label: str | None = None
    errors: list[str] = Field(default_factory=list)
    max_attempts: int | None = None
    taken: int = Field(0, description="how many times the execution went this way")


class GraphEvent(BaseModel):
    id: int
    type: str
    timestamp: datetime
    timestamp_local: str | None = None
    state: str | None = None
    error: str | None = None
    cause: str | None = None


class ExecutionGraph(BaseModel):
    request_id: str
    status: str
    start_at: str
    started_at: datetime
    stopped_at: datetime | None
    redrive_count: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    events: list[GraphEvent]


def _condition(rule: dict[str, Any]) -> str:
    """A Choice rule as text: `$.x == true`, with And/Or/Not spelled out."""
    for op in ("And", "Or"):
        if op in rule:
            return f" {op.lower()} ".join(f"({_condition(r)})" for r in rule[op])
    if "Not" in rule:
        return f"not ({_condition(rule['Not'])})"
    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key not in ("Variable", "Next"):
            return f"{variable} {key} {value!r}" if not key.endswith("Equals") else f"{variable} == {value!r}"
    return str(variable)


def edges_of(states: dict[str, dict[str, Any]]) -> list[GraphEdge]:
    edges: list[GraphEdge] = []
    for name, state in states.items():
        for choice in state.get("Choices", []):
            edges.append(GraphEdge(source=name, target=choice["Next"], kind="choice", label=_condition(choice)))
        if "Default" in state:
            edges.append(GraphEdge(source=name, target=state["Default"], kind="default"))
        if "Next" in state:
            edges.append(GraphEdge(source=name, target=state["Next"], kind="next"))
        for catcher in state.get("Catch", []):
            edges.append(
                GraphEdge(source=name, target=catcher["Next"], kind="catch", errors=list(catcher["ErrorEquals"]))
            )
        for retrier in state.get("Retry", []):
            edges.append(
                GraphEdge(
                    source=name,
                    target=name,
                    kind="retry",
                    errors=list(retrier["ErrorEquals"]),
                    max_attempts=retrier.get("MaxAttempts", 3),
                    label=f"{retrier.get('IntervalSeconds', 1)}s x{retrier.get('BackoffRate', 2.0)}",
                )
            )
    return edges


class _Visit:
    def __init__(self, entered: datetime) -> None:
        self.entered = entered
        self.exited: datetime | None = None
        self.attempts = 0
        self.waiting = False
        self.error: str | None = None


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def build_graph(
    request_id: str,
    definition: dict[str, Any],
    history: Iterable[dict[str, Any]],
    status: str,
    started_at: datetime,
    stopped_at: datetime | None,
    redrive_count: int,
    local_time: Callable[[datetime], str | None],
) -> ExecutionGraph:
    states: dict[str, dict[str, Any]] = definition.get("States", {})
    waits_for_token = {n for n, s in states.items() if str(s.get("Resource", "")).endswith(".waitForTaskToken")}
    visits: dict[str, list[_Visit]] = {}
    taken: dict[tuple[str, str], list[bool]] = {}  # (from, to) -> for each pass: left on an error?
    current: str | None = None
    last_exit: tuple[str, bool] | None = None
    events: list[GraphEvent] = []
    for event in sorted(history, key=lambda e: int(e["id"])):
        kind, at, details = str(event["type"]), event["timestamp"], _details(event)
        name = details.get("name") if kind.endswith(("StateEntered", "StateExited")) else None
        if kind.endswith("StateEntered") and name in states:
            if last_exit is not None:
                taken.setdefault((last_exit[0], name), []).append(last_exit[1])
            visits.setdefault(name, []).append(_Visit(at))
            current = name
        visit = visits[current][-1] if current else None
        if visit is not None:
            if kind in _ATTEMPTS:
                visit.attempts += 1
            elif kind in ("TaskSubmitted", "TaskStarted", "WaitStateEntered") and current in waits_for_token | {
                n for n, s in states.items() if s.get("Type") == "Wait"
            }:
                visit.waiting = True
            elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
                visit.waiting = False
                visit.error = None
            elif kind in _FAILURES:
                visit.waiting = False
                visit.error = details.get("error") or kind
        if kind.endswith("StateExited") and name in states and visit is not None:
            visit.exited = at
            visit.waiting = False
            last_exit = (name, visit.error is not None)
            current = None
        cause = details.get("cause")
        events.append(
            GraphEvent(
                id=int(event["id"]),
                type=kind,
                timestamp=at,
                timestamp_local=local_time(at),
                state=name or (current if kind not in _ENDED else None),
                error=details.get("error"),
                cause=scrub(str(cause)) if cause else None,
            )
        )
    ended = status != "RUNNING"
    nodes = [_node(n, s, visits.get(n, []), ended) for n, s in states.items()]
    edges = edges_of(states)
    for edge in edges:
        passes = taken.get((edge.source, edge.target), [])
        if edge.kind == "catch":
            edge.taken = sum(passes)
        elif edge.kind != "retry":
            caught_too = any(e.kind == "catch" and e.source == edge.source and e.target == edge.target for e in edges)
            edge.taken = sum(1 for failed in passes if not (failed and caught_too))
        else:
            edge.taken = sum(max(0, v.attempts - 1) for v in visits.get(edge.source, []))
    return ExecutionGraph(
        request_id=request_id,
        status=status,
        start_at=str(definition.get("StartAt", "")),
        started_at=started_at,
        stopped_at=stopped_at,
        redrive_count=redrive_count,
        nodes=nodes,
        edges=edges,
        events=events,
    )


def _node(name: str, state: dict[str, Any], visits: list[_Visit], ended: bool) -> GraphNode:
    comment = state.get("Comment")
    steps = _STEP.search(comment or "")
    last = visits[-1] if visits else None
    status: NodeStatus
    if last is None:
        status = "not_reached"
    elif last.exited is None:
        status = "failed" if ended else ("waiting" if last.waiting else "running")
    else:
        status = "failed" if last.error else "succeeded"
    return GraphNode(
        id=name,
        type=str(state.get("Type", "")),
        comment=comment,
        steps=steps.group(1).split(", ") if steps else [],
        status=status,
        visits=len(visits),
        retries=sum(max(0, v.attempts - 1) for v in visits),
        entered_at=last.entered if last else None,
        exited_at=last.exited if last else None,
        error=last.error if last else None,
    )
