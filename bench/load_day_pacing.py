"""How much a load day may compress its waits on this machine: measured, not guessed.

Compression is only honest if the people of the day can still act in time: a customer's
documents must arrive within the documents wait, an agent must work a task within its
deadline, a manual review within the review wait. Under a burst, every action of theirs queues
behind the stack's backlog, so the shortest of those waits, in real seconds, must outlast the
backlog with room to spare:

    shortest human wait (business s) / time_scale  >=  MARGIN x backlog (s)
    backlog = leads x CPU per lead's up-front work / STACK_CORES

- CPU per lead's up-front work is measured here, on a fresh stack in a process of its own
  (`python -m bench.load_day_pacing`; nothing of the day is touched): `samples` identified leads
  posted at once, each followed until its execution
  waits for the customer's documents (intake, impediments, coverage and the requirements
  message: the work a burst puts on the stack at once), the process's CPU over that span.
- STACK_CORES = 1: the stack is one Python process, and its interpreter runs Python on one core
  at a time, whatever the machine has.
- MARGIN = 3: the backlog itself, the actors' own calls queued behind it, and the rest of each
  lead's work (documents, sale, installation, QC), which lands in the same hours.

The scale is then bounded to [MIN_SCALE, MAX_SCALE]: below MIN_SCALE the day would last hours.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import subprocess
import sys
import threading
import time
from datetime import time as clock_time
from typing import Any

from devstack.actors import SIM_TIMING, Day, SimConfig
from devstack.api_server import stop_api
from devstack.driver import wait_for
from devstack.http_driver import Driver
from devstack.scenarios import generate
from devstack.stack import LocalStack

STACK_CORES = 1.0
MARGIN = 3.0
MIN_SCALE, MAX_SCALE = 10.0, 240.0
# The waits a person (customer, agent, Instalaciones) must act within, in business hours.
HUMAN_WAITS = {
    "agent_task_hours": SIM_TIMING.agent_task_hours,
    "documents_hours": SIM_TIMING.documents_hours,
    "review_hours": SIM_TIMING.review_hours,
    "installation_hours": SIM_TIMING.installation_hours,
    "follow_up_hours": SIM_TIMING.follow_up_hours,
    "qc_task_hours": SIM_TIMING.qc_task_hours,
}


def all_day(stack: LocalStack) -> None:
    """Business hours all day, every day: the QC call's slot never waits for tomorrow."""
    stack.deps.settings = dataclasses.replace(
        stack.deps.settings,
        business_open=clock_time(0, 0),
        business_close=clock_time(23, 59, 59, 999999),
        business_days=frozenset(range(7)),
    )


def cpu_per_lead(samples: int = 24, seed: int = 7) -> float:
    """CPU seconds of one lead's up-front work (module docstring), measured in a process of its
    own (moto's state is the process's: a second stack in the day's would share it)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load_day_pacing", "--samples", str(samples), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    lines = [line.removeprefix("CALIBRATION ") for line in done.stdout.splitlines() if line.startswith("CALIBRATION ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"calibration failed:\n{done.stderr[-3000:]}")
    seconds: float = json.loads(lines[-1])["cpu_per_lead_s"]
    return seconds


def measure(samples: int, seed: int) -> float:
    """`cpu_per_lead`'s measure, in this process (which it leaves with a stopped stack)."""
    stack = LocalStack(stack_name="vd-calibration", parameters={"TimeScale": "1"}).start()
    try:
        all_day(stack)
        driver = Driver(stack)
        day = Day(driver, SimConfig(leads=samples, seed=seed), [])
        day.close()  # only its lead builder: no actor of its own runs
        direct = [s for s in generate(samples * 8, seed) if s.case == "direct_sale"][:samples]
        ids: list[str] = []
        lock = threading.Lock()

        def post(scenario: Any) -> None:
            request_id = driver.submit_lead(**day._lead(scenario))
            with lock:
                ids.append(request_id)

        started = time.process_time()
        threads = [threading.Thread(target=post, args=(s,)) for s in direct]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        for request_id in ids:
            wait_for(
                lambda r=request_id: "requirements_request" in driver.messages(r),
                120,
                f"documents wait of {request_id}",
                interval=0.05,
            )
        return (time.process_time() - started) / max(1, len(ids))
    finally:
        stop_api(stack)
        stack.stop()


def pace(leads: int, per_lead: float) -> dict[str, Any]:
    """The time scale for `leads` at `per_lead` CPU seconds, with the figures that justify it."""
    shortest_name, shortest_hours = min(HUMAN_WAITS.items(), key=lambda kv: kv[1])
    backlog = leads * per_lead / STACK_CORES
    derived = shortest_hours * 3600 / (MARGIN * backlog)
    scale = math.floor(10 * min(MAX_SCALE, max(MIN_SCALE, derived))) / 10  # never above the derived one
    return {
        "time_scale": scale,
        "cpu_per_lead_s": round(per_lead, 4),
        "backlog_s": round(backlog, 1),
        "shortest_human_wait": {shortest_name: shortest_hours},
        "shortest_wait_real_s": round(shortest_hours * 3600 / scale, 1),
        "margin": MARGIN,
        "derived_scale": round(derived, 1),
        "margin_held": scale <= derived,  # False: MIN_SCALE bounded it, the day may outrun its people
        "why": (
            f"{shortest_name} {shortest_hours:g} h lasts {shortest_hours * 3600 / scale:.0f} s real at {scale:g}x, "
            f">= {MARGIN:g} x the burst's backlog {backlog:.0f} s ({leads} leads x {per_lead * 1000:.0f} ms CPU, "
            f"measured)"
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_day_pacing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print("CALIBRATION " + json.dumps({"cpu_per_lead_s": measure(args.samples, args.seed)}), flush=True)


if __name__ == "__main__":
    main()
