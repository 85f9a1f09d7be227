"""The supervisor's dashboard (III.2), assembled from the same services the JSON report uses.

Labels of outcomes, per-step task counts, per-agent figures, and CSV for any list.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ventas.domain.models import REASON_LABELS, ReasonCode, Step
from ventas.domain.tasks import HumanTask, TaskKind
from ventas.web.views import STEP_LABELS

POLICIES = {
    "registered": "Venta registrada en Smartflex (paso 10) y no cancelada después.",
    "installed": "Venta registrada y con instalación confirmada (paso 12).",
    "qc_done": "Venta instalada y con llamada de calidad de 4 o 5 (paso 13.1).",
}
OUTCOMES = {"sold": "Venta", "rejected": "Rechazada", "abandoned": "Abandonada", "failed": "Fallida"}


def outcome_text(label: str) -> str:
    """`rejected:DEBT` -> `Rechazada — Tiene una deuda ...`; `open:qc` -> `En curso — Control de calidad`."""
    kind, _, detail = label.partition(":")
    if kind == "open":
        try:
            return f"En curso — {STEP_LABELS[Step[detail.upper()]]}"
        except KeyError:
            return "En curso"
    text = OUTCOMES.get(kind, kind)
    if detail:
        try:
            text += f" — {REASON_LABELS[ReasonCode(detail)]}"
        except ValueError:
            text += f" — {detail}"
    return text


@dataclass(frozen=True)
class AgentFigures:
    agent: str
    done: int
    average_minutes: float | None
    qc_calls: int
    average_satisfaction: float | None


def per_agent(completed: Iterable[HumanTask]) -> list[AgentFigures]:
    """Tasks done, average time from the task's opening to its completion, QC satisfaction given."""
    minutes: dict[str, list[float]] = defaultdict(list)
    scores: dict[str, list[int]] = defaultdict(list)
    for task in completed:
        if task.assignee is None or task.completed_at is None:
            continue
        minutes[task.assignee].append((task.completed_at - task.created_at).total_seconds() / 60)
        score = (task.result or {}).get("satisfaction")
        if task.kind == TaskKind.QC_CALL and isinstance(score, int):
            scores[task.assignee].append(score)
    return [
        AgentFigures(
            agent=agent,
            done=len(values),
            average_minutes=round(sum(values) / len(values), 1) if values else None,
            qc_calls=len(scores[agent]),
            average_satisfaction=round(sum(scores[agent]) / len(scores[agent]), 2) if scores[agent] else None,
        )
        for agent, values in sorted(minutes.items())
    ]


def open_by_step(open_tasks: Sequence[HumanTask], now: datetime) -> list[tuple[str, int, int]]:
    """(step label, open tasks, overdue) per step, in the procedure's order."""
    total = Counter(t.step for t in open_tasks)
    late = Counter(t.step for t in open_tasks if t.due_at < now)
    return [(f"{s.value} · {STEP_LABELS[s]}", total[s], late[s]) for s in Step if total[s]]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV (comma, UTF-8 with BOM so spreadsheets read the accents)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
