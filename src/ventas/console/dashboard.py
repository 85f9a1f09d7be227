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
    """One agent's figures: `done` tasks completed, `average_minutes` from taking a task to
    completing it over the `timed` ones (None when none was taken first), QC calls and their
    average satisfaction (1 to 5)."""

    agent: str
    done: int
    timed: int
    average_minutes: float | None
    qc_calls: int
    average_satisfaction: float | None


def handling_minutes(task: HumanTask) -> float | None:
    """Minutes from the claim (`claimed_at`) to the completion; None for a task completed
    without being taken first (no start to count from) or not completed."""
    if task.claimed_at is None or task.completed_at is None:
        return None
    return max(0.0, (task.completed_at - task.claimed_at).total_seconds() / 60)


def per_agent(completed: Iterable[HumanTask]) -> list[AgentFigures]:
    """Per agent: tasks done, average handling time (claim to completion), QC satisfaction."""
    done: Counter[str] = Counter()
    minutes: dict[str, list[float]] = defaultdict(list)
    scores: dict[str, list[int]] = defaultdict(list)
    for task in completed:
        if task.assignee is None or task.completed_at is None:
            continue
        done[task.assignee] += 1
        handled = handling_minutes(task)
        if handled is not None:
            minutes[task.assignee].append(handled)
        score = (task.result or {}).get("satisfaction")
        if task.kind == TaskKind.QC_CALL and isinstance(score, int):
            scores[task.assignee].append(score)
    return [
        AgentFigures(
            agent=agent,
            done=count,
            timed=len(minutes[agent]),
            average_minutes=round(sum(minutes[agent]) / len(minutes[agent]), 1) if minutes[agent] else None,
            qc_calls=len(scores[agent]),
            average_satisfaction=round(sum(scores[agent]) / len(scores[agent]), 2) if scores[agent] else None,
        )
        for agent, count in sorted(done.items())
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
