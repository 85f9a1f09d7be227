"""An execution graph (ventas.domain.execution_graph) drawn as SVG with an automatic layered layout.

Layout (Sugiyama style, simplified): edges that close a cycle (found by depth-first search from
StartAt) are set aside, each state goes to the layer of its longest path from StartAt, states in
a layer are ordered by the mean position of their predecessors (a few sweeps), and every
coordinate follows from layer and order. No coordinate is written by hand, so a change to the
ASL changes the drawing; `tests/unit/test_console_drawings.py` keeps the two in step.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass

from markupsafe import Markup, escape

from ventas.domain.execution_graph import ExecutionGraph, GraphEdge, GraphNode

NODE_W, NODE_H = 190, 54
GAP_X, GAP_Y = 40, 70
MARGIN = 30
WRAP = 30  # characters per line inside a node
STATUS_FILL = {
    "not_reached": "#eeeeee",
    "waiting": "#ffd866",
    "running": "#8cc8f0",
    "succeeded": "#9fdcb8",
    "failed": "#f08c80",
}
STATUS_TEXT = {
    "not_reached": "no alcanzado",
    "waiting": "en espera",
    "running": "en ejecución",
    "succeeded": "completado",
    "failed": "falló",
}


@dataclass(frozen=True)
class Placed:
    node: GraphNode
    layer: int
    order: int
    x: float
    y: float


def _forward_edges(start: str, nodes: list[str], edges: list[GraphEdge]) -> set[tuple[str, str]]:
    """Edges kept for layering: every edge but retries and those closing a cycle."""
    out: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        if e.kind != "retry" and e.source != e.target:
            out[e.source].append(e.target)
    kept: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(n: str) -> None:
        state[n] = 1
        for m in out[n]:
            if state.get(m) == 1:
                continue  # back edge: closes a cycle
            kept.add((n, m))
            if m not in state:
                visit(m)
        state[n] = 2

    for root in [start, *nodes]:
        if root not in state:
            visit(root)
    return kept


def layout(graph: ExecutionGraph) -> dict[str, Placed]:
    """Each state's layer, order and top-left corner (SVG units), by state name."""
    names = [n.id for n in graph.nodes]
    forward = _forward_edges(graph.start_at, names, graph.edges)
    preds: dict[str, list[str]] = defaultdict(list)
    for s, t in forward:
        preds[t].append(s)
    layer: dict[str, int] = {}

    def depth(n: str, seen: frozenset[str] = frozenset()) -> int:
        if n in layer:
            return layer[n]
        ps = [p for p in preds[n] if p not in seen]
        layer[n] = 0 if not ps else 1 + max(depth(p, seen | {n}) for p in ps)
        return layer[n]

    for n in names:
        depth(n)
    rows: dict[int, list[str]] = defaultdict(list)
    for n in names:  # ASL order first: a stable start
        rows[layer[n]].append(n)
    for _ in range(4):  # barycentre sweeps
        position = {n: i for row in rows.values() for i, n in enumerate(row)}
        for k in sorted(rows):
            if k == 0:
                continue
            rows[k].sort(key=lambda n: sum(position[p] for p in preds[n]) / max(1, len(preds[n])))
            position.update({n: i for i, n in enumerate(rows[k])})
    widest = max(len(r) for r in rows.values())
    by_id = {n.id: n for n in graph.nodes}
    placed: dict[str, Placed] = {}
    for k, row in rows.items():
        offset = (widest - len(row)) * (NODE_W + GAP_X) / 2
        for i, n in enumerate(row):
            x = MARGIN + offset + i * (NODE_W + GAP_X)
            y = MARGIN + k * (NODE_H + GAP_Y)
            placed[n] = Placed(by_id[n], k, i, x, y)
    return placed


def _edge(e: GraphEdge, a: Placed, b: Placed) -> str:
    taken = e.taken > 0
    colour = "#b03a2e" if e.kind == "catch" else "#1f3b57" if taken else "#8a8a8a"
    width = 3 if taken else 1.2
    dash = ' stroke-dasharray="6 4"' if e.kind == "catch" else ""
    marker = "url(#arrow-catch)" if e.kind == "catch" else "url(#arrow-taken)" if taken else "url(#arrow)"
    if e.kind == "retry" or e.source == e.target:
        x, y = a.x + NODE_W, a.y + NODE_H / 2
        d = f"M{x:.0f},{y - 10:.0f} C{x + 45:.0f},{y - 40:.0f} {x + 45:.0f},{y + 40:.0f} {x:.0f},{y + 10:.0f}"
    else:
        x1, y1 = a.x + NODE_W / 2, a.y + NODE_H
        x2, y2 = b.x + NODE_W / 2, b.y
        if b.layer <= a.layer:  # back edge: around the side
            x1, y1, x2, y2 = a.x, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
            bend = min(a.x, b.x) - 60
            d = f"M{x1:.0f},{y1:.0f} C{bend:.0f},{y1:.0f} {bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        else:
            mid = (y1 + y2) / 2
            d = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2:.0f}"
    what = {"next": "siguiente", "choice": "opción", "default": "por defecto", "catch": "captura", "retry": "reintento"}
    label = e.label or ", ".join(e.errors)
    title = f"{e.source} → {e.target}: {what[e.kind]}{' (' + label + ')' if label else ''}; recorrido {e.taken} veces"
    return (
        f'<path class="edge edge-{e.kind}{" taken" if taken else ""}" data-source="{escape(e.source)}" '
        f'data-target="{escape(e.target)}" data-kind="{e.kind}" data-taken="{e.taken}" d="{d}" fill="none" '
        f'stroke="{colour}" stroke-width="{width}"{dash} marker-end="{marker}"><title>{escape(title)}</title></path>'
    )


def _node(p: Placed, waits_for: str | None) -> str:
    n = p.node
    fill = STATUS_FILL[n.status]
    stroke = "#7a5a00" if n.status == "waiting" else "#333"
    width = 3 if n.status in ("waiting", "failed") else 1
    rx = 22 if n.type == "Choice" else 4
    status = STATUS_TEXT[n.status]
    if n.retries:
        status += f", reintentado {n.retries} {'vez' if n.retries == 1 else 'veces'}"
    steps = f"paso {', '.join(n.steps)}" if n.steps else n.type
    lines = [f"{'⏳ ' if n.status == 'waiting' else ''}{n.id}", f"{steps} · {status}"]
    if n.status == "waiting" and waits_for:
        lines += textwrap.wrap(f"espera: {waits_for}", WRAP)[:3]
    height = NODE_H + 15 * max(0, len(lines) - 2)
    text = "".join(
        f'<text x="{p.x + 8:.0f}" y="{p.y + 18 + 15 * i:.0f}" font-size="{12 if i == 0 else 10.5}" '
        f'font-weight="{700 if i == 0 else 400}" fill="#111">{escape(line)} </text>'
        for i, line in enumerate(lines)
    )
    title = f"{n.id}: {status}; entradas {n.visits}" + (f"; error {n.error}" if n.error else "")
    return (
        f'<g class="node status-{n.status}" data-state="{escape(n.id)}" data-status="{n.status}" '
        f'data-retries="{n.retries}"><title>{escape(title)}</title>'
        f'<rect x="{p.x:.0f}" y="{p.y:.0f}" width="{NODE_W}" height="{height}" rx="{rx}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{width}"/>{text}</g>'
    )


def render_graph(graph: ExecutionGraph, waits_for: str | None = None) -> Markup:
    """The graph as SVG: states coloured by status, taken edges bold, Catch edges dashed red."""
    placed = layout(graph)
    width = max(p.x for p in placed.values()) + NODE_W + MARGIN + 60
    height = max(p.y for p in placed.values()) + NODE_H + MARGIN + 20
    arrows = "".join(
        f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
        f'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for name, colour in (("arrow", "#8a8a8a"), ("arrow-taken", "#1f3b57"), ("arrow-catch", "#b03a2e"))
    )
    edges = "".join(_edge(e, placed[e.source], placed[e.target]) for e in graph.edges if e.target in placed)
    nodes = "".join(_node(p, waits_for) for p in placed.values())
    return Markup(  # noqa: S704 - names and labels are escaped, the rest are numbers
        f'<svg class="graph" id="execution-graph" viewBox="{-60} 0 {width + 60:.0f} {height:.0f}" role="img" '
        f'aria-labelledby="graph-title" xmlns="http://www.w3.org/2000/svg"><title id="graph-title">Grafo de la '
        f"ejecución de {escape(graph.request_id)}: {escape(graph.status)}</title><defs>{arrows}</defs>"
        f"{edges}{nodes}</svg>"
    )
