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
- agents work the inbox, customers answer WhatsApp, Instalaciones reports.

Waits are compressed as far as this machine lets the people of the day still act in time: the
time scale is derived from the stack's CPU per lead, measured first on a stack of its own
(bench/load_day_pacing.py says how), unless `--time-scale` fixes it. Every actor's call that
times out or loses its connection is retried with the same body (a channel, Meta and a browser
all do), at most TRIES times with backoff; a call still failing then is an actor error, and a
day with actor errors fails its checks.

It reports leads, requests, executions by status, duplicates, lost requests, manual reviews, the
KPI, the time to take the burst in and to drain, the pacing, and the checks of
bench/load_day_checks.py: nothing lost, every wait bounded, FAILED only from an injected fault
and told to ops, drained, no actor gave up; outcome differences from the scenarios are listed.
Exit status 1 when a check fails.

    .venv/bin/python -m bench.load_day [--leads 1000] [--seed 2026] [--time-scale auto] [--profile]

Writes bench/results/load_day.json. On 2 shared cores 1,000 leads take tens of minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import threading
import time
from typing import Any

import requests
from rich.console import Console

from bench.common import write_result
from bench.cpu_sampler import CpuSampler
from bench.load_day_checks import checks, figures, print_report
from bench.load_day_pacing import all_day, cpu_per_lead, pace
from devstack.actors import AGENTS, SimConfig
from devstack.faults import HEADER, HEADER_VALUE, PATH
from devstack.http_driver import ApiFailure, Driver, HttpDriver
from devstack.report import ProgressView
from devstack.scenarios import Scenario, generate
from devstack.simulate import logs_to, run_day
from devstack.stack import ROOT, LocalStack
from ventas.adapters.local_systems import SYSTEMS

LOG = ROOT / "build" / "load-day.log"
TRIES = 6  # an actor's call: the first and five retries, 1 + 2 + 4 + 8 + 16 s apart (plus each timeout)


class LoadDriver(Driver):
    """The simulated day's driver (actions over HTTP, state read straight from the stack, as
    benches do), with what a bad day adds: some leads are delivered twice at once, faults are
    switched through the local API's fault route, and a call that times out is tried again."""

    def __init__(self, stack: LocalStack, replayed: set[str], flaky_rate: float, seed: int) -> None:
        super().__init__(stack)
        self.replayed = replayed  # scenario labels whose lead is posted twice at once
        self.flaky_rate = flaky_rate
        self.seed = seed
        self.replays: list[tuple[str, str, str]] = []  # (label, first answer, second answer)
        self.replay_errors: list[str] = []
        self.last_accepted = 0.0  # monotonic time of the last lead accepted
        self.retries: dict[str, int] = {}  # path kind -> calls tried again after a timeout
        self._lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        role: Any = None,
        who: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any:
        """`HttpDriver.call`, tried again with the same request when it times out or the
        connection fails, at most TRIES times (module docstring). Every route an actor calls
        answers a repeat as the first: a lead by its channel lead id, a document by its message
        id, an installation report by its event id, a claim by its agent; a completion that
        went through before its answer was lost answers "already completed", which is success."""
        for attempt in range(1, TRIES + 1):
            try:
                return HttpDriver.call(self, method, path, role, who, body, headers, data)
            except ApiFailure as failure:
                if attempt > 1 and failure.code == "already_completed" and path.endswith("/complete"):
                    return None
                raise
            except requests.RequestException:
                if attempt == TRIES:
                    raise
                kind = path.split("?", 1)[0].strip("/").split("/")[1 if path.startswith("/v1/") else 0]
                with self._lock:
                    self.retries[kind] = self.retries.get(kind, 0) + 1
                time.sleep(2 ** (attempt - 1))
        raise AssertionError("unreachable")

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
        """POST the lead as a channel does (a timeout is tried again by `call`, same body)."""
        return HttpDriver.submit_lead(self, **dict(lead))

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


def run(
    leads: int,
    seed: int,
    time_scale: float | None,
    agents: int,
    replay_share: float,
    flaky: float,
    max_minutes: float,
    progress: ProgressView,
    profile: bool = False,
) -> dict[str, Any]:
    """One day; `time_scale` None: derived from the stack's measured CPU per lead (pacing)."""
    pacing = pace(leads, cpu_per_lead()) if time_scale is None else {"time_scale": time_scale, "why": "fixed"}
    time_scale = float(pacing["time_scale"])
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
        patience_seconds=120.0,  # Instalaciones looks for the hand-off for two minutes on a busy stack
    )
    stack = LocalStack(parameters={"TimeScale": str(time_scale)}).start()
    try:
        all_day(stack)  # the QC call's slot never waits for tomorrow, whenever this runs
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
        "pacing": pacing,
        "agents": len(config.agents),
        "flaky_rate": flaky,
        "deadline_s": round(config.deadline_seconds()),
        "burst_accepted_s": round(driver.last_accepted - started, 1),
        "actor_retries": dict(driver.retries),
        "drain_s": result.elapsed,
    }
    report["checks"] = checks(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1000, help="leads of the day (default 1000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--time-scale",
        type=lambda v: None if v == "auto" else float(v),
        default=None,
        help="business seconds per real second; default auto: derived from the measured CPU per lead",
    )
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
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
