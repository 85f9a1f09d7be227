"""The record of a simulated day: what `devstack.simulate` collects and `devstack.report` shows,
and its JSON form, `build/last-run.json`: every request of the run with its sequence of states,
so one can be looked up after the in-process stack is gone (`make run ARGS="--show <id>"`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from devstack.diagram import ASL
from ventas.config import Timing
from ventas.domain.kpi import KpiReport
from ventas.domain.models import Step
from ventas.domain.schedule import LA_PAZ
from ventas.web.views import STEP_LABELS

TIMING_LABELS = {
    "agent_task_hours": "Tareas de agente (devolver llamada, identificar, ubicación)",
    "documents_hours": "Espera de requisitos (paso 9)",
    "documents_reminder_hours": "Espera tras el recordatorio, luego abandono",
    "installation_hours": "Espera de la instalación (paso 12), luego seguimiento",
    "follow_up_hours": "Tarea de seguimiento de instalación",
    "review_hours": "Tarea de revisión manual",
    "qc_delay_hours": "Control de calidad después de instalar (paso 13)",
    "qc_task_hours": "Llamada de control de calidad (paso 13.1)",
}
_STEPS = re.compile(r"Steps? ([0-9.]+(?:, [0-9.]+)*)")


@dataclass
class RequestRecord:
    request_id: str
    lead: str
    case: str
    channel: str
    expected: str
    outcome: str  # as `ventas.domain.kpi.outcome_label`: sold, rejected:DEBT, open:documents...
    execution: str
    states: list[tuple[str, str]]  # (state entered, UTC ISO time)
    satisfaction: int | None = None
    stuck: bool = False


@dataclass
class DayResult:
    leads: int
    seed: int
    time_scale: float
    timing: Timing
    policy: str
    started_at: datetime
    elapsed: float
    records: list[RequestRecord]
    joined: list[tuple[str, str, bool]]  # (lead, request id it joined, joined the expected one)
    work: dict[str, dict[str, int]]
    counters: dict[str, int]
    outage: dict[str, Any]
    errors: list[str]
    kpis: list[KpiReport] = field(default_factory=list)


@cache
def _state_steps() -> dict[str, tuple[str, str]]:
    """State name -> (procedure steps, Spanish label), from the ASL's comments. A state that
    does one stretch of the procedure (steps 9.1 to 11.1) is labelled after it; one that
    gathers scattered steps (the abandonment after 1.2, 3, 5, 9 or 12) is not."""
    states = json.loads(ASL.read_text(encoding="utf-8"))["States"]
    found: dict[str, tuple[str, str]] = {}
    values = {s.value: s for s in Step}
    for name, state in states.items():
        match = _STEPS.search(state.get("Comment", ""))
        numbers = match.group(1).split(", ") if match else []
        whole = sorted({int(float(n)) for n in numbers})
        one_stretch = bool(whole) and whole[-1] - whole[0] < len(whole)
        step = next((values[n] for n in numbers if n in values), None) if one_stretch else None
        found[name] = (", ".join(numbers), STEP_LABELS[step] if step else "")
    return found


def run_json(result: DayResult) -> dict[str, Any]:
    steps = _state_steps()
    return {
        "generated_at": datetime.now(LA_PAZ).isoformat(),
        "config": {"leads": result.leads, "seed": result.seed, "time_scale": result.time_scale},
        "timing_hours": {name: getattr(result.timing, name) for name in TIMING_LABELS},
        "efficiency_policy": result.policy,
        "elapsed_seconds": result.elapsed,
        "outcomes": dict(Counter(r.outcome for r in result.records)),
        "kpi": [
            {
                "day": k.day,
                "requests": k.requests,
                "efficient": k.efficient,
                "value": k.value,
                "threshold": k.threshold,
                "verdict": k.verdict,
                "policy": k.policy,
            }
            for k in result.kpis
        ],
        "agents": result.work,
        "counters": result.counters,
        "outage": result.outage,
        "joined_leads": [{"lead": lead, "request_id": rid, "as_expected": ok} for lead, rid, ok in result.joined],
        "stuck": [r.request_id for r in result.records if r.stuck],
        "errors": result.errors,
        "requests": [
            {
                "request_id": r.request_id,
                "lead": r.lead,
                "case": r.case,
                "channel": r.channel,
                "expected": r.expected,
                "outcome": r.outcome,
                "execution": r.execution,
                "satisfaction": r.satisfaction,
                "states": [
                    {
                        "state": name,
                        "at": at,
                        "step": steps.get(name, ("", ""))[0],
                        "label": steps.get(name, ("", ""))[1],
                    }
                    for name, at in r.states
                ],
            }
            for r in result.records
        ],
    }


def write_run(path: Path, result: DayResult) -> dict[str, Any]:
    data = run_json(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return data


def load_run(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
