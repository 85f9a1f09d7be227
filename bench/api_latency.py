"""API latency under 32 concurrent clients on the local stack, as ratios to a no-op route.

The local stack with its API runs in a child process (`devstack.serve`), the clients here, so
client and server do not share an interpreter lock. Each of 32 clients (one thread, one
keep-alive session) makes the same bounded number of calls to one route at a time:

- GET  /v1/health                    the no-op route: the server's own floor
- POST /v1/requests                  a channel's lead: claims, writes, StartExecution
- GET  /v1/tasks                     an agent's inbox page (25 tasks with their requests)
- POST /v1/tasks/{id}/complete       identification of an open task: conditional write,
                                     request update, SendTaskSuccess

p50 and p99 of each are reported with their ratio to the no-op route's, measured in the same
run (before and after the others; the two runs are pooled). Absolute milliseconds depend on
the machine; the ratios are what to compare.

    .venv/bin/python -m bench.api_latency [--calls 10]

Writes bench/results/api_latency.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.common import write_result
from devstack.api_server import LocalApi
from devstack.http_driver import HttpDriver
from devstack.serve import served_in_subprocess
from ventas.web.auth import Role

CLIENTS = 32
PATIENT = {"AgentTaskHours": "100000", "DocumentsHours": "100000"}  # nothing times out during the run
IDENTIFY = {"ci": "4567890 CB", "service_code": "INTERNET_FTTH_100"}

Call = Callable[[requests.Session, int, int], requests.Response]


def measure(calls_per_client: int, call: Call) -> list[float]:
    """Latencies (ms) of CLIENTS threads, each making `calls_per_client` calls after a barrier."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def client(number: int) -> None:
        session = requests.Session()
        mine: list[float] = []
        barrier.wait(timeout=60)
        for n in range(calls_per_client):
            started = time.perf_counter()
            response = call(session, number, n)
            mine.append(1000 * (time.perf_counter() - started))
            if response.status_code >= 400:
                errors.append(f"{response.status_code} {response.text[:120]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, e.g. {errors[0]}")
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def open_tasks(http: HttpDriver, wanted: int, timeout: float = 120) -> list[str]:
    """Ids of `wanted` open identification tasks (leads without CI wait at step 3)."""
    deadline = time.monotonic() + timeout
    found: list[str] = []
    while len(found) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(found)} of {wanted} tasks opened")
        found, page = [], None
        for _ in range(wanted // 100 + 2):
            answer = http.call(
                "GET", "/v1/tasks?status=open&step=3&limit=100" + (f"&page={page}" if page else ""), Role.AGENT
            )
            found += [t["task_id"] for t in answer["items"]]
            page = answer["next_page"]
            if page is None:
                break
        time.sleep(0.5)
    return found[:wanted]


def run(api: LocalApi, calls: int) -> dict[str, Any]:
    http = HttpDriver(api)
    url = api.url
    channel = http.headers(Role.CHANNEL)
    agents = [http.headers(Role.AGENT, f"agente.bench{n}") for n in range(CLIENTS)]
    total = CLIENTS * calls

    def health(session: requests.Session, client: int, n: int) -> requests.Response:
        return session.get(f"{url}/v1/health", timeout=30)

    def submit(session: requests.Session, client: int, n: int) -> requests.Response:
        lead = {
            "channel": "web",
            "channel_lead_id": f"bench-{uuid.uuid4().hex}",
            "phone": f"+5917{client:03d}{n:04d}",
            "name": "Cliente de prueba",
        }
        return session.post(f"{url}/v1/requests", json=lead, headers=channel, timeout=30)

    def inbox(session: requests.Session, client: int, n: int) -> requests.Response:
        return session.get(f"{url}/v1/tasks?status=open", headers=agents[client], timeout=30)

    measure(1, health)  # warm-up: connections, JWKS, container parts
    first_noop = measure(calls, health)
    results = {"submit_lead": measure(calls, submit)}
    tasks = open_tasks(http, total)  # the leads above, waiting for identification
    results["list_tasks"] = measure(calls, inbox)

    def complete(session: requests.Session, client: int, n: int) -> requests.Response:
        task = tasks[client * calls + n]
        return session.post(f"{url}/v1/tasks/{task}/complete", json=IDENTIFY, headers=agents[client], timeout=30)

    results["complete_task"] = measure(calls, complete)
    noop = first_noop + measure(calls, health)
    base50, base99 = percentile(noop, 0.5), percentile(noop, 0.99)
    report: dict[str, Any] = {
        "clients": CLIENTS,
        "calls_per_client": calls,
        "noop": {"route": "GET /v1/health", "p50_ms": round(base50, 2), "p99_ms": round(base99, 2), "n": len(noop)},
        "routes": {},
    }
    routes = {
        "submit_lead": "POST /v1/requests",
        "list_tasks": "GET /v1/tasks",
        "complete_task": "POST /v1/tasks/{id}/complete",
    }
    for name, values in results.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        report["routes"][name] = {
            "route": routes[name],
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
            "p50_ratio": round(p50 / base50, 2),
            "p99_ratio": round(p99 / base99, 2),
            "mean_ms": round(statistics.fmean(values), 2),
            "n": len(values),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_latency")
    parser.add_argument("--calls", type=int, default=5, help="calls per client and route (32 clients)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, served_in_subprocess(Path(folder), "3600", PATIENT) as api:
        report = run(api, args.calls)
    noop = report["noop"]
    print(f"{CLIENTS} clients, {args.calls} calls each per route; no-op {noop['route']}: ", end="")
    print(f"p50 {noop['p50_ms']} ms, p99 {noop['p99_ms']} ms")
    print(f"{'route':32} {'p50 ms':>8} {'x no-op':>8} {'p99 ms':>8} {'x no-op':>8}")
    for row in report["routes"].values():
        p50, p99 = f"{row['p50_ms']:8.1f} {row['p50_ratio']:8.1f}", f"{row['p99_ms']:8.1f} {row['p99_ratio']:8.1f}"
        print(f"{row['route']:32} {p50} {p99}")
    write_result("api_latency.json", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
