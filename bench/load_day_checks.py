"""What a load day left, and the checks it must pass (bench/load_day.py).

`figures` reads the stack after the day: leads, requests, executions by status (ListExecutions,
so an extra execution would show), duplicates, lost requests, manual reviews, the KPI. `checks`
turns them into the day's verdict, each with what failed it:

- lost: an accepted lead without its request, or a request with neither an execution nor a held
  possible-duplicate state (0 expected);
- unbounded: a running execution waiting in a state with no timeout (0 expected);
- failed: a FAILED execution is allowed only when an injected fault caused it (its error is a
  back office's or WhatsApp's unavailability) and a person was told (its request is marked
  failed, which the ops page lists for a redrive); any other is a defect;
- drained: every request ended within the day's bound;
- outcomes: each request's outcome against its scenario's (every difference is listed, by
  expected -> got, with examples; they are reported, and counted in `as_expected`).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from devstack.scenarios import Scenario
from devstack.stack import ROOT, LocalStack

ASL = ROOT / "statemachine" / "ventas_digitales.asl.json"
REVIEWS = ("ReviewEligibilityFault", "ReviewCoverageFault", "ReviewSaleFault")
BOUNDS = ("TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath")
# Error names of the injected faults (ventas.adapters.local_systems.FaultSwitch), as a Lambda
# reports them (errorType) and the execution's failure carries them.
INJECTED = frozenset({"BackOfficeUnavailable", "NotifierUnavailable"})


def bounded_states() -> set[str]:
    """States a running execution may wait in: a timeout or heartbeat bounds them, or a Wait."""
    states = json.loads(ASL.read_text(encoding="utf-8"))["States"]
    return {name for name, s in states.items() if s["Type"] == "Wait" or any(b in s for b in BOUNDS)}


def _executions(stack: LocalStack) -> dict[str, dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    found: dict[str, dict[str, Any]] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn):
        found |= {e["executionArn"]: e for e in page["executions"]}
    return found


def _failures(stack: LocalStack, failed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each FAILED execution: its error and cause, whether an injected fault caused it and
    whether its request tells ops (marked failed)."""
    sfn = stack.client("stepfunctions")
    found = []
    for execution in failed:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        error = str(described.get("error") or "")
        cause = str(described.get("cause") or "")
        try:
            request = stack.deps.requests.get(execution["name"])
            told = request.outcome is not None and str(request.outcome) == "failed"
        except Exception:
            told = False
        injected = error in INJECTED or any(name in cause for name in INJECTED)
        found.append({"request_id": execution["name"], "error": error, "injected": injected, "ops_told": told})
    return found


def figures(stack: LocalStack, driver: Any, result: Any, scenarios: list[Scenario]) -> dict[str, Any]:
    """What the day left, checked: every accepted lead's request and execution."""
    executions = _executions(stack)
    statuses = {arn: e["status"] for arn, e in executions.items()}
    records = {r.request_id: r for r in result.records}
    accepted = set(records) | {rid for _, a, b in driver.replays for rid in (a, b) if rid}
    accepted |= {rid for _, rid, _ in result.joined}
    lost: list[str] = []
    held = 0
    for request_id in sorted(accepted):
        try:
            request = stack.deps.requests.get(request_id)
        except Exception:
            lost.append(f"{request_id}: no request")
            continue
        if request.possible_duplicate_of is not None:
            held += 1
        elif stack.deps.workflow.execution_arn(request_id) not in statuses:
            lost.append(f"{request_id}: no execution")
    lost += driver.replay_errors
    waiting = bounded_states()
    running = [r for r in result.records if r.execution == "RUNNING"]
    unbounded = [
        f"{r.request_id} in {r.states[-1][0] if r.states else '?'}"
        for r in running
        if not r.states or r.states[-1][0] not in waiting
    ]
    opened = sum(1 for r in result.records for name, _ in r.states if name in REVIEWS)
    resolved = sum(kinds.get("manual_review", 0) for kinds in result.work.values())
    same = sum(1 for _, a, b in driver.replays if a and a == b)
    kpis = [
        {"day": k.day, "requests": k.requests, "efficient": k.efficient, "kpi": k.value, "verdict": k.verdict}
        for k in result.kpis
    ]
    differ = [r for r in result.records if r.outcome != r.expected]
    pairs = Counter(f"{r.expected} -> {r.outcome}" for r in differ)
    examples: dict[str, list[str]] = {}
    for r in differ:
        examples.setdefault(f"{r.expected} -> {r.outcome}", []).append(f"{r.lead} ({r.case}) {r.request_id}")
    return {
        "leads": len(scenarios),
        "requests": len(records),
        "executions": len(executions),
        "executions_by_status": dict(Counter(statuses.values())),
        "failed_executions": _failures(stack, [e for e in executions.values() if e["status"] == "FAILED"]),
        "outcomes": dict(Counter(r.outcome.split(":")[0] for r in result.records)),
        "as_expected": len(result.records) - len(differ),
        "outcome_differences": {pair: {"count": n, "examples": examples[pair][:3]} for pair, n in pairs.items()},
        "replays": {"delivered_twice": len(driver.replays), "same_request": same},
        "second_contacts": {"total": len(result.joined), "joined": sum(1 for _, _, ok in result.joined if ok)},
        "held_possible_duplicates": held,
        "lost": len(lost),
        "lost_detail": lost[:20],
        "manual_reviews": {"opened": opened, "resolved": resolved},
        "outage": result.outage,
        "still_running": len(running),
        "unbounded": unbounded[:20],
        "stuck": sum(1 for r in result.records if r.stuck),
        "drained": not any(r.stuck for r in result.records),
        "kpi": kpis,
        "actor_errors": len(result.errors),
        "actor_error_examples": result.errors[:5],
        "counters": result.counters,
    }


def checks(report: dict[str, Any]) -> dict[str, bool]:
    """The day's verdict, check by check (module docstring); all True for a good day."""
    failures = report["failed_executions"]
    return {
        "nothing_lost": report["lost"] == 0,
        "every_wait_bounded": not report["unbounded"],
        "failed_only_by_injected_faults_and_told": all(f["injected"] and f["ops_told"] for f in failures),
        "drained": report["drained"],
        "no_actor_gave_up": report["actor_errors"] == 0,
    }


def print_report(r: dict[str, Any], out: Any) -> None:
    kpi = ", ".join(f"{k['day']}: {k['kpi']}% {k['verdict']} ({k['efficient']}/{k['requests']})" for k in r["kpi"])
    differences = "; ".join(f"{pair}: {d['count']}" for pair, d in r["outcome_differences"].items()) or "none"
    lines = [
        f"leads {r['leads']} -> requests {r['requests']}, executions {r['executions']} {r['executions_by_status']}",
        f"outcomes {r['outcomes']}; as the scenario expected: {r['as_expected']}; differences: {differences}",
        f"replays: {r['replays']['same_request']} of {r['replays']['delivered_twice']} answered with the same request;"
        f" second contacts joined: {r['second_contacts']['joined']} of {r['second_contacts']['total']}",
        f"lost: {r['lost']}; still running: {r['still_running']} (unbounded: {len(r['unbounded'])});"
        f" stuck: {r['stuck']}; failed executions: {r['failed_executions'][:5]}",
        f"manual reviews: {r['manual_reviews']['opened']} opened, {r['manual_reviews']['resolved']} resolved;"
        f" outage {r['outage']}",
        f"KPI {kpi}",
        f"time scale {r['time_scale']} ({r['pacing']['why']})",
        f"burst taken in {r['burst_accepted_s']} s; drained in {r['drain_s']} s (bound {r['deadline_s']} s);"
        f" actor errors {r['actor_errors']}, actor retries {r['actor_retries']}",
        f"checks: {r['checks']}",
    ]
    print("\n".join(lines), file=out, flush=True)
