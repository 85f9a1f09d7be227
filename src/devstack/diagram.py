"""Draw the state machine as a Mermaid flowchart, from the ASL itself (README keeps a copy).

`python -m devstack.diagram` prints it; a test fails when README.md's copy drifts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "ventas_digitales.asl.json"
_STEP = re.compile(r"Steps? ([0-9.]+(?:, [0-9.]+)*)")

_SHAPES = {"Choice": ("{", "}"), "Wait": ("([", "])")}


def _label(name: str, state: dict[str, Any]) -> str:
    match = _STEP.search(state.get("Comment", ""))
    step = f"<br/><small>paso {match.group(1)}</small>" if match else ""
    human = "waitForTaskToken" in state.get("Resource", "")
    icon = "⏳ " if human else ""
    return f'"{icon}{name}{step}"'


def edges(states: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(from, to, label) for Next, Default, Choice branches and Catch; Retry noted on nodes."""
    out: list[tuple[str, str, str]] = []
    for name, state in states.items():
        if "Next" in state:
            out.append((name, state["Next"], ""))
        for choice in state.get("Choices", []):
            cond = next(k for k in choice if k not in ("Variable", "Next"))
            value = json.dumps(choice[cond])
            out.append((name, choice["Next"], f"{choice['Variable'].split('.')[-1]} = {value}"))
        if "Default" in state:
            out.append((name, state["Default"], "default"))
        for catch in state.get("Catch", []):
            errors = ", ".join(e.replace("States.", "") for e in catch["ErrorEquals"])
            out.append((name, catch["Next"], errors))
    return out


def mermaid(asl_path: Path = ASL) -> str:
    asl = json.loads(asl_path.read_text(encoding="utf-8"))
    states: dict[str, dict[str, Any]] = asl["States"]
    lines = ["flowchart TD", f"    start((inicio)) --> {asl['StartAt']}"]
    for name, state in states.items():
        left, right = _SHAPES.get(state["Type"], ("[", "]"))
        lines.append(f"    {name}{left}{_label(name, state)}{right}")
        if state.get("End"):
            lines.append(f"    {name} --> fin((fin))")
    for source, target, label in edges(states):
        arrow = f"-->|{label}|" if label else "-->"
        if label and label not in ("default",) and "=" not in label:
            arrow = f"-.->|{label}|"  # Catch edges dotted
        lines.append(f"    {source} {arrow} {target}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
