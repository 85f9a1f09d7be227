"""A day at scale on the local stack: a burst of leads, replays, flaky back offices, an outage.

The simulated day of `make run` (`devstack.actors.Day`, driven by `devstack.simulate.run_day`),
loaded the way a bad day loads production:

- every lead of the day (default 1,000, mixed channels and cases as `devstack.scenarios` builds
  them) arrives in a burst at the start, instead of over ten business hours;
- 5% of the channels' leads are delivered twice at once (same channel lead id, same body, two
  concurrent POSTs): both answers must name the same request;
- NAF, GIS, Smartflex and Instalaciones fail 20% of their calls (`flaky`), and Smartflex goes
  down for one sale until a manual review opens (longer than the workflow's retries), then
  comes back (flaky again). Both through the development-only fault route, `/_local/faults`
  (`devstack.faults`), as a person would switch them from another shell;
- agents work the inbox, customers answer WhatsApp, Instalaciones reports; waits compressed
  (`--time-scale`).

It reports leads, requests, executions by status (from ListExecutions, so an extra execution
would show), duplicates (replays answered with the same request, second contacts joined), lost
requests (an accepted lead without its request, or a request with neither an execution nor a
held possible-duplicate state: expected 0), manual reviews opened and resolved, the KPI, and the
time to take the burst in and to drain; and checks that every execution ended or waits in a
state with a timeout. Exit status 1 when something was lost, an execution failed or waits
unbounded, or the day did not drain in its (bounded) time.

    .venv/bin/python -m bench.load_day [--leads 1000] [--seed 2026] [--time-scale 240]

Writes bench/results/load_day.json. On 2 shared cores 1,000 leads take tens of minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import threading
import time
from collections import Counter
from datetime import time as clock_time
from typing import Any

import requests
from rich.console import Console

from bench.common import write_result
from bench.cpu_sampler import CpuSampler
from devstack.actors import AGENTS, SimConfig
from devstack.faults import HEADER, HEADER_VALUE, PATH
from devstack.http_driver import Driver, HttpDriver
from devstack.report import ProgressView
from devstack.scenarios import Scenario, generate
from devstack.simulate import logs_to, run_day
from devstack.stack import ROOT, LocalStack
from ventas.adapters.local_systems import SYSTEMS

ASL = ROOT / "statemachine" / "ventas_digitales.asl.json"
LOG = ROOT / "build" / "load-day.log"
REVIEWS = ("ReviewEligibilityFault", "ReviewCoverageFault", "ReviewSaleFault")
CHANNEL_TRIES = 3
BOUNDS = ("TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath")


class LoadDriver(Driver):
    """The simulated day's driver (actions over HTTP, state read straight from the stack, as
    benches do), with two things a bad day adds: some leads are delivered twice at once, and
    faults are switched through the local API's fault route."""

    def __init__(self, stack: LocalStack, replayed: set[str], flaky_rate: float, seed: int) -> None:
        super().__init__(stack)
        self.replayed = replayed  # scenario labels whose lead is posted twice at once
        self.flaky_rate = flaky_rate
        self.seed = seed
        self.replays: list[tuple[str, str, str]] = []  # (label, first answer, second answer)
        self.replay_errors: list[str] = []
        self.last_accepted = 0.0  # monotonic time of the last lead accepted
        self.channel_retries = 0
        self._lock = threading.Lock()

    def submit_lead(self, **lead: Any) -> str:
        label = str(lead.get("channel_lead_id", "")).rsplit("-", 1)[-1]
        if label not in self.replayed:
            return self._accepted(self._post(lead))
        answers: list[str] = ["", ""]
        barrier = threading.Barrier(2)

        def post(slot: int) -> None:
            barrier.wait(timeout=30)
            try:
                answers[slot] = self._post(lead)
            except Exception as exc:  # reported: a replay must never fail
                with self._lock:
                    self.replay_errors.append(f"{label}: {exc}"[:200])

        twin = threading.Thread(target=post, args=(1,), name=f"replay-{label}")
        twin.start()
        post(0)
        twin.join(timeout=120)
        with self._lock:
            self.replays.append((label, answers[0], answers[1]))
        return self._accepted(answers[0] or answers[1])

    def _post(self, lead: dict[str, Any]) -> str:
        """POST the lead as a channel does: a timeout is retried with the same body (same
        channel lead id), at most CHANNEL_TRIES times."""
        for attempt in range(1, CHANNEL_TRIES + 1):
            try:
                return HttpDriver.submit_lead(self, **dict(lead))
            except requests.RequestException:
                if attempt == CHANNEL_TRIES:
                    raise
                with self._lock:
                    self.channel_retries += 1
        raise AssertionError("unreachable")

    def _accepted(self, request_id: str) -> str:
        with self._lock:
            self.last_accepted = time.monotonic()
        return request_id

    def faults(self, body: dict[str, Any]) -> Any:
        """One call to the development-only fault route (`devstack.faults`)."""
        return self.call("POST", PATH, body=body, headers={HEADER: HEADER_VALUE})

    def flaky_all(self) -> None:
        for n, system in enumerate(sorted(SYSTEMS)):
            self.faults({"action": "flaky", "system": system, "rate": self.flaky_rate, "seed": self.seed + n})

    def outage(self, system: str, times: int | None = None) -> None:
        self.faults({"action": "fail", "system": system} | ({} if times is None else {"times": times}))

    def heal(self, system: str) -> None:
        """The outage ends; the system stays as flaky as the rest of the day."""
        self.faults({"action": "heal", "system": system})
        self.faults({"action": "flaky", "system": system, "rate": self.flaky_rate, "seed": self.seed + 99})


def burst(scenarios: list[Scenario], share: float, seed: int) -> tuple[list[Scenario], set[str]]:
    """Every first contact at the opening; second contacts keep their delay after the first.
    Returns the scenarios and the labels of the `share` of channel leads delivered twice."""
    rng = random.Random(seed)
    offsets = {s.index: s.arrival_minutes for s in scenarios}
    moved = [
        dataclasses.replace(s, arrival_minutes=0.0)
        if s.duplicate_of is None
        else dataclasses.replace(s, arrival_minutes=round(s.arrival_minutes - offsets[s.duplicate_of], 1))
        for s in scenarios
    ]
    leads = [s.label for s in moved if s.entry != "missed" and s.duplicate_of is None]
    return moved, set(rng.sample(leads, round(share * len(scenarios))))


def bounded_states() -> set[str]:
    """States a running execution may wait in: a timeout or heartbeat bounds them, or a Wait."""
    states = json.loads(ASL.read_text(encoding="utf-8"))["States"]
    return {name for name, s in states.items() if s["Type"] == "Wait" or any(b in s for b in BOUNDS)}


def figures(stack: LocalStack, driver: LoadDriver, result: Any, scenarios: list[Scenario]) -> dict[str, Any]:
    """What the day left, checked: every accepted lead's request and execution."""
    sfn = stack.client("stepfunctions")
    executions: dict[str, str] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn):
        executions |= {e["executionArn"]: e["status"] for e in page["executions"]}
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
        elif stack.deps.workflow.execution_arn(request_id) not in executions:
            lost.append(f"{request_id}: no execution")
    lost += driver.replay_errors
    waiting = bounded_states()
    running = [r for r in result.records if r.execution == "RUNNING"]
    unbounded = [f"{r.request_id} in {r.states[-1][0] if r.states else '?'}" for r in running]
    unbounded = [u for u, r in zip(unbounded, running, strict=True) if not r.states or r.states[-1][0] not in waiting]
    opened = sum(1 for r in result.records for name, _ in r.states if name in REVIEWS)
    resolved = sum(kinds.get("manual_review", 0) for kinds in result.work.values())
    same = sum(1 for _, a, b in driver.replays if a and a == b)
    kpis = [
        {"day": k.day, "requests": k.requests, "efficient": k.efficient, "kpi": k.value, "verdict": k.verdict}
        for k in result.kpis
    ]
    outcomes = Counter(r.outcome.split(":")[0] for r in result.records)
    return {
        "leads": len(scenarios),
        "requests": len(records),
        "executions": len(executions),
        "executions_by_status": dict(Counter(executions.values())),
        "outcomes": dict(outcomes),
        "as_expected": sum(1 for r in result.records if r.outcome == r.expected),
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


def run(
    leads: int,
    seed: int,
    time_scale: float,
    agents: int,
    replay_share: float,
    flaky: float,
    max_minutes: float,
    progress: ProgressView,
    profile: bool = False,
) -> dict[str, Any]:
    scenarios, replayed = burst(generate(leads, seed), replay_share, seed)
    config = SimConfig(
        leads=leads,
        seed=seed,
        time_scale=time_scale,
        agents=AGENTS + tuple(f"agente.carga{n:02d}" for n in range(max(0, agents - len(AGENTS)))),
        workers=32,
        channel_workers=16,  # the channels' concurrent deliveries; the customers keep their own threads
        poll_seconds=2.0,  # a thousand customers looking at WhatsApp four times a second is the bench's own load
        max_seconds=60 * max_minutes,
    )
    stack = LocalStack(parameters={"TimeScale": str(time_scale)}).start()
    try:
        # Business hours all day: the QC call's slot never waits for tomorrow, whenever this runs.
        stack.deps.settings = dataclasses.replace(
            stack.deps.settings,
            business_open=clock_time(0, 0),
            business_close=clock_time(23, 59, 59, 999999),
            business_days=frozenset(range(7)),
        )
        driver = LoadDriver(stack, replayed, flaky, seed)
        driver.flaky_all()
        started = time.monotonic()
        sampler = CpuSampler().start() if profile else None
        with progress:
            result = run_day(driver, config, progress, generated=scenarios)
        if sampler is not None:
            write_result("load_day_profile.json", {"leads": leads, **sampler.stop()})
        report = figures(stack, driver, result, scenarios)
        report["faults"] = driver.call("GET", PATH)
    finally:
        stack.stop()
    report |= {
        "seed": seed,
        "time_scale": time_scale,
        "agents": len(config.agents),
        "flaky_rate": flaky,
        "deadline_s": round(config.deadline_seconds()),
        "burst_accepted_s": round(driver.last_accepted - started, 1),
        "channel_retries": driver.channel_retries,
        "drain_s": result.elapsed,
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1000, help="leads of the day (default 1000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--time-scale", type=float, default=120.0, help="business seconds per real second")
    parser.add_argument("--agents", type=int, default=16, help="agents working the inbox (default 16)")
    parser.add_argument("--replays", type=float, default=0.05, help="share of leads delivered twice at once")
    parser.add_argument("--flaky", type=float, default=0.2, help="share of back-office calls that fail")
    parser.add_argument(
        "--max-minutes", type=float, default=45.0, help="bound on the day (default 45): what is open then is reported"
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample where the CPU goes (bench/results/load_day_profile.json)"
    )
    args = parser.parse_args(argv)
    if args.leads < 20:
        parser.error("--leads must be at least 20")
    with logs_to(LOG) as terminal:
        print(f"{args.leads} leads in a burst; stack logs in {LOG}", file=terminal, flush=True)
        progress = ProgressView(Console(file=terminal))
        report = run(
            args.leads,
            args.seed,
            args.time_scale,
            args.agents,
            args.replays,
            args.flaky,
            args.max_minutes,
            progress,
            args.profile,
        )
        print_report(report, terminal)
    path = write_result("load_day.json", report)
    print(f"Resultados: {path}")
    failed = report["executions_by_status"].get("FAILED")
    failed = failed or report["lost"] or report["unbounded"] or not report["drained"]
    return 1 if failed else 0


def print_report(r: dict[str, Any], out: Any) -> None:
    kpi = ", ".join(f"{k['day']}: {k['kpi']}% {k['verdict']} ({k['efficient']}/{k['requests']})" for k in r["kpi"])
    lines = [
        f"leads {r['leads']} -> requests {r['requests']}, executions {r['executions']} {r['executions_by_status']}",
        f"outcomes {r['outcomes']}; as the scenario expected: {r['as_expected']}",
        f"replays: {r['replays']['same_request']} of {r['replays']['delivered_twice']} answered with the same request;"
        f" second contacts joined: {r['second_contacts']['joined']} of {r['second_contacts']['total']}",
        f"lost: {r['lost']}; still running: {r['still_running']} (unbounded: {len(r['unbounded'])});"
        f" stuck: {r['stuck']}",
        f"manual reviews: {r['manual_reviews']['opened']} opened, {r['manual_reviews']['resolved']} resolved;"
        f" outage {r['outage']}",
        f"KPI {kpi}",
        f"burst taken in {r['burst_accepted_s']} s; drained in {r['drain_s']} s (bound {r['deadline_s']} s);"
        f" actor errors {r['actor_errors']}",
    ]
    print("\n".join(lines), file=out, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
