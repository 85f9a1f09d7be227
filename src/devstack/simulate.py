"""`make run`: one simulated working day of Ventas Digitales on the embedded local stack.

Leads arrive over the day from every channel; customers answer WhatsApp with their documents
(or not); a small pool of agents works the inbox; Instalaciones reports installations (or not);
Smartflex goes down for a while (`devstack.actors`, on scenarios from `devstack.scenarios`).

Business time is compressed: `--time-scale X` business seconds pass per real second. The run's
waits (`SIM_TIMING`) are short enough for reminders, abandonments, follow-ups and QC calls to
happen within the run. Every wait has a deadline: a request that does not end in time is
reported as stuck. The summary comes from `devstack.report`, `build/last-run.json` from
`devstack.runlog`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from devstack.actors import DEFAULT_TIME_SCALE, SIM_TIMING, SWEEP_SECONDS, Day, SimConfig
from devstack.driver import Driver
from devstack.http_driver import HttpDriver
from devstack.report import ProgressView, render_history, render_intro, render_summary
from devstack.runlog import DayResult, RequestRecord, load_run, write_run
from devstack.scenarios import Scenario, generate
from devstack.serve import HUMAN_TIME_SCALE, end_process, keep_serving
from devstack.stack import ROOT, LocalStack
from ventas.config import Settings
from ventas.domain.kpi import outcome_label
from ventas.domain.schedule import next_business_slot
from ventas.services.reports import kpi_for_day

REPORT = ROOT / "build" / "last-run.json"
LOG = ROOT / "build" / "last-run.log"


def run_day(
    driver: Driver | HttpDriver,
    config: SimConfig,
    progress: ProgressView | None = None,
    generated: list[Scenario] | None = None,
) -> DayResult:
    """Drive one day through the stack and collect what happened. The stack keeps running.

    `generated`: the day's scenarios when the caller reshaped them (bench.load_day's burst);
    by default `generate(config.leads, config.seed)`."""
    scenarios = generated if generated is not None else generate(config.leads, config.seed)
    stack = driver.stack
    original = stack.deps.settings
    stack.deps.settings = dataclasses.replace(original, time_scale=config.time_scale, timing=SIM_TIMING)
    started = datetime.now(UTC)
    day = Day(driver, config, scenarios)
    deadline = time.monotonic() + config.deadline_seconds()
    try:
        day.start()
        next_sweep = time.monotonic() + SWEEP_SECONDS
        while time.monotonic() < deadline:
            sweep = time.monotonic() >= next_sweep
            day.poll_outcomes(sweep)
            if sweep:
                next_sweep = time.monotonic() + SWEEP_SECONDS
            if progress is not None:
                progress.update(day.received, len(scenarios), Counter(day.ended.values()), day.expected_requests())
            if day.arrivals_done() and len(day.ended) >= len(day.by_request):
                break
            time.sleep(0.5)
        elapsed = round(time.monotonic() - day.t0, 1)
        day.close()
        if day.outage and "end" not in day.outage:
            driver.heal("smartflex")
        return _collect(driver, day, started, elapsed, original.efficiency_policy)
    finally:
        day.close()
        stack.deps.settings = original


def _collect(driver: Driver | HttpDriver, day: Day, started: datetime, elapsed: float, policy: str) -> DayResult:
    records: list[RequestRecord] = []
    for request_id, sc in sorted(day.by_request.items(), key=lambda item: item[1].index):
        request = driver.request(request_id)
        execution = driver.execution(request_id)["status"]
        if execution == "RUNNING" and request.outcome is not None:  # its last state is finishing
            with contextlib.suppress(TimeoutError):
                execution = driver.finish(request_id, timeout=5)["status"]
        states = [
            (e["stateEnteredEventDetails"]["name"], _iso(e["timestamp"]))
            for e in driver.history(request_id)
            if "stateEnteredEventDetails" in e
        ]
        records.append(
            RequestRecord(
                request_id=request_id,
                lead=sc.label,
                case=sc.case,
                channel=sc.channel,
                expected=sc.expected,
                outcome=outcome_label(request),
                execution=execution,
                states=states,
                satisfaction=request.satisfaction,
                stuck=request.outcome is None or execution == "RUNNING",
            )
        )
    kpis = [kpi_for_day(driver.stack.deps, date.fromisoformat(d)) for d in sorted(day.days)]
    return DayResult(
        leads=day.config.leads,
        seed=day.config.seed,
        time_scale=day.config.time_scale,
        timing=SIM_TIMING,
        policy=policy,
        started_at=started,
        elapsed=elapsed,
        records=records,
        joined=day.joined,
        work={agent: dict(kinds) for agent, kinds in day.work.items()},
        counters=dict(day.counters),
        outage=dict(day.outage),
        errors=list(day.errors),
        kpis=kpis,
    )


def _iso(value: Any) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else str(value)


@contextlib.contextmanager
def logs_to(path: Path) -> Iterator[TextIO]:
    """Send everything written to stdout/stderr (handler logs, metrics) to a file; the returned
    stream is the terminal, for what a person reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    with path.open("w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            terminal.flush()


def _qc_slot() -> datetime | None:
    """When QC calls of sales installed in the next minutes would be made, if not right away."""
    s = Settings()
    soon = datetime.now(UTC) + timedelta(hours=SIM_TIMING.qc_delay_hours, minutes=5)
    slot = next_business_slot(soon, s.business_open, s.business_close, s.business_days)
    return slot if slot > soon else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run ARGS=", description="Simulated working day of Ventas Digitales")
    parser.add_argument("--leads", type=int, default=50, help="leads of the day (default 50)")
    parser.add_argument("--seed", type=int, default=2026, help="same seed, same day (default 2026)")
    parser.add_argument(
        "--time-scale", type=float, default=DEFAULT_TIME_SCALE, help="business seconds per real second (default 1200)"
    )
    parser.add_argument("--quiet", action="store_true", help="no introduction and no progress bar")
    parser.add_argument("--show", metavar="REQUEST_ID", help="print one request's states from the last run's report")
    parser.add_argument(
        "--serve", action="store_true", help="after the day, keep the stack up and serve the console (Ctrl-C ends)"
    )
    parser.add_argument(
        "--serve-time-scale",
        type=float,
        default=HUMAN_TIME_SCALE,
        help=f"business seconds per real second while serving (default {HUMAN_TIME_SCALE:g}: human pace)",
    )
    args = parser.parse_args(argv)
    from rich.console import Console

    if args.show:
        return render_history(Console(), load_run(REPORT), args.show)
    if args.leads < 1 or args.time_scale <= 0:
        parser.error("--leads must be at least 1 and --time-scale positive")
    config = SimConfig(leads=args.leads, seed=args.seed, time_scale=args.time_scale)
    policy = os.environ.get("VD_EFFICIENCY_POLICY", "registered")
    with logs_to(LOG) as terminal:
        console = Console(file=terminal)
        if not args.quiet:
            render_intro(
                console, config.leads, config.seed, config.time_scale, SIM_TIMING, config.agents, LOG, _qc_slot()
            )
        stack = LocalStack(parameters={"TimeScale": str(config.time_scale), "EfficiencyPolicy": policy}).start()
        try:
            with ProgressView(console, enabled=not args.quiet) as progress:
                driver = HttpDriver(stack)
                driver.api.write_state()  # where `devstack.tokens` and `devstack.faults` find this stack
                result = run_day(driver, config, progress)
            write_run(REPORT, result)
            render_summary(console, result, REPORT, LOG)
            if args.serve:
                keep_serving(stack, args.serve_time_scale, terminal)
            else:
                console.print('Para trabajar en la consola sobre este día: [bold]make run ARGS="--serve"[/bold]')
        finally:
            stack.stop()
    return 1 if any(r.stuck for r in result.records) else 0


if __name__ == "__main__":
    end_process(main())  # the stack is stopped: skip finalizing its objects (devstack.serve)
