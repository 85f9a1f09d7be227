"""Billable Step Functions transitions, Lambda invocations, DynamoDB and S3 requests per request
path, counted on the local stack, and the cost of one sale at AWS list prices.

Paths, one request each, run one after the other so every count belongs to one request:

- happy_path_sale          identified web lead -> 4 -> 7 -> 8/9 -> 10/11 -> 12 -> 13 -> 13.1
- missed_call_sale         missed call -> call-back task -> location task -> ... -> sold
- rejection_impediment     a debtor in the NAF cartera -> 14
- rejection_no_coverage    an address outside every GIS zone -> 14
- abandoned_no_documents   documents never come -> reminder -> abandoned

Transitions are the execution history's StateEntered events: AWS bills Standard workflows per
state transition, "each time a step of your workflow is executed", retries included. Lambda
invocations are the workflow's (TaskScheduled of lambda) plus the outside world's events
(lead, documents, agent actions, installation; in AWS the API's or the stage's function).
DynamoDB requests are the handlers' calls, with request units estimated from item sizes
(`bench.common.Meter`); S3 puts are the documents stored.

    .venv/bin/python -m bench.transitions

Writes bench/results/transitions.json (also read by bench/monthly_cost.py: `per_request`).
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.common import CENTRO, SERVICE, VINTO, Meter, ci, documents_for, finish_sale, phone, start_stack, write_result
from devstack.driver import Driver
from devstack.scenarios import allocate
from devstack.simulate import logs_to
from devstack.stack import ROOT
from ventas.domain.tasks import TaskKind

# us-east-1 list prices, USD, as checked on the date below (each service's public pricing page).
# DynamoDB on-demand: the rates in force since the price cut of 1 November 2024.
PRICES_AS_OF = "2026-11-27"
PRICES = {
    "stepfunctions_standard_per_transition": 0.025 / 1_000,
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "lambda_memory_gb": 0.25,  # MemorySize 256 in infra/template.yaml
    "dynamodb_on_demand_per_wru": 0.625 / 1_000_000,
    "dynamodb_on_demand_per_rru": 0.125 / 1_000_000,
    "s3_standard_per_put": 0.005 / 1_000,
}
LOG = ROOT / "build" / "bench-transitions.log"  # the handlers' log lines
DEBTOR = "3456789 CB"  # naf_cartera.json: DEBT
# Which measured path stands for each case of the simulated day (devstack.scenarios.MIX).
CASE_PATH = {
    "missed_call": "missed_call_sale",
    "unreachable": "missed_call_sale",
    "impediment": "rejection_impediment",
    "no_coverage": "rejection_no_coverage",
    "speed": "rejection_no_coverage",
    "feature": "rejection_no_coverage",
    "partial_documents": "abandoned_no_documents",
    "no_documents": "abandoned_no_documents",
    "duplicate": "",  # joins an open request: no request of its own
}


def _lead(driver: Driver, n: int, **extra: Any) -> str:
    fields = {"channel": "web", "channel_lead_id": f"transitions-{n}", "phone": phone(n), "name": "Cliente de prueba"}
    return driver.submit_lead(**(fields | extra))


def happy_path_sale(driver: Driver, n: int) -> str:
    request_id = _lead(driver, n, ci=ci(n), service_code=SERVICE, location=CENTRO)
    finish_sale(driver, n, request_id, documents_for(driver.stack))
    return request_id


def missed_call_sale(driver: Driver, n: int) -> str:
    request_id = driver.missed_call(phone(n), line="4322205")
    for kind, body in (
        (TaskKind.CALL_BACK, {"reached": True, "ci": ci(n), "service_code": SERVICE, "name": "Cliente de prueba"}),
        (TaskKind.LOCATION, {"location": CENTRO}),
    ):
        task = driver.open_task(request_id, kind, timeout=60)
        driver.claim(task.task_id, "agente.bench")
        driver.complete(task.task_id, "agente.bench", body)
    finish_sale(driver, n, request_id, documents_for(driver.stack))
    return request_id


def rejection_impediment(driver: Driver, n: int) -> str:
    request_id = _lead(driver, n, ci=DEBTOR, service_code=SERVICE, location=CENTRO)
    driver.finish(request_id, timeout=60)
    return request_id


def rejection_no_coverage(driver: Driver, n: int) -> str:
    request_id = _lead(driver, n, ci=ci(n), service_code=SERVICE, location=VINTO)
    driver.finish(request_id, timeout=60)
    return request_id


def abandoned_no_documents(driver: Driver, n: int) -> str:
    deps = driver.stack.deps
    patient = deps.settings
    # Both document waits end after one (scaled) second; everything else stays patient.
    hours = float(patient.time_scale) / 3600
    deps.settings = dataclasses.replace(
        patient, timing=dataclasses.replace(patient.timing, documents_hours=hours, documents_reminder_hours=hours)
    )
    try:
        request_id = _lead(driver, n, ci=ci(n), service_code=SERVICE, location=CENTRO)
    finally:
        deps.settings = patient
    driver.finish(request_id, timeout=60)
    return request_id


PATHS: dict[str, Callable[[Driver, int], str]] = {
    "happy_path_sale": happy_path_sale,
    "missed_call_sale": missed_call_sale,
    "rejection_impediment": rejection_impediment,
    "rejection_no_coverage": rejection_no_coverage,
    "abandoned_no_documents": abandoned_no_documents,
}


def measure(driver: Driver, meter: Meter, name: str, n: int) -> dict[str, Any]:
    before, units_before, calls_before = meter.snapshot()
    request_id = PATHS[name](driver, n)
    history = driver.history(request_id)
    after, units_after, _ = meter.snapshot()
    counts, units = after - before, units_after - units_before
    seconds = meter.lambda_seconds[calls_before:]
    states = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    workflow = sum(1 for e in history if e.get("taskScheduledEventDetails", {}).get("resourceType") == "lambda")
    invocations = workflow + counts["lambda_events"]
    gb_seconds = sum(seconds) * PRICES["lambda_memory_gb"]
    result: dict[str, Any] = {
        "outcome": driver.request(request_id).outcome,
        "transitions": sum(1 for e in history if e["type"].endswith("StateEntered")),
        "lambda_invocations": invocations,
        "workflow_lambda_invocations": workflow,
        "event_lambda_invocations": counts["lambda_events"],
        "lambda_ms_mean": round(1000 * sum(seconds) / len(seconds), 1) if seconds else 0.0,
        "lambda_gb_seconds": round(gb_seconds, 4),
        "dynamodb_reads": counts["dynamodb_reads"],
        "dynamodb_writes": counts["dynamodb_writes"],
        "dynamodb_rru": units["rru"],
        "dynamodb_wru": units["wru"],
        "s3_puts": counts["s3_puts"],
        "states": states,
    }
    result["cost_usd"] = cost(result)
    return result


def cost(path: dict[str, Any]) -> float:
    p = PRICES
    return round(
        path["transitions"] * p["stepfunctions_standard_per_transition"]
        + path["lambda_invocations"] * p["lambda_per_request"]
        + path["lambda_gb_seconds"] * p["lambda_arm64_per_gb_second"]
        + path["dynamodb_wru"] * p["dynamodb_on_demand_per_wru"]
        + path["dynamodb_rru"] * p["dynamodb_on_demand_per_rru"]
        + path["s3_puts"] * p["s3_standard_per_put"],
        8,
    )


def per_request(paths: dict[str, dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """The paths weighted by the simulated day's mix of cases (50 leads), in monthly_cost's keys."""
    mix = Counter(CASE_PATH.get(case, "happy_path_sale") for case in allocate(50))
    mix.pop("", None)
    total = sum(mix.values())
    weights = {name: mix[name] / total for name in paths}
    keys = {
        "state_transitions": "transitions",
        "lambda_invocations": "lambda_invocations",
        "lambda_gb_seconds": "lambda_gb_seconds",
        "dynamodb_read_request_units": "dynamodb_rru",
        "dynamodb_write_request_units": "dynamodb_wru",
        "api_requests": "event_lambda_invocations",
        "s3_puts": "s3_puts",
    }
    averaged = {key: round(sum(weights[n] * paths[n][field] for n in paths), 3) for key, field in keys.items()}
    return averaged, {name: round(w, 3) for name, w in weights.items()}


def main() -> int:
    meter = Meter()
    meter.install()
    with logs_to(LOG) as terminal:
        stack = start_stack()
        try:
            meter.learn_indexes(stack)
            driver = Driver(stack)
            happy_path_sale(driver, 900)  # warm-up: cold starts stay out of the measured durations
            paths = {name: measure(driver, meter, name, n) for n, name in enumerate(PATHS, start=1)}
        finally:
            stack.stop()
        averaged, weights = per_request(paths)
        data = {
            "generated_at": datetime.now(UTC).isoformat(),
            "paths": paths,
            "prices": {"as_of": PRICES_AS_OF, "region": "us-east-1", **PRICES},
            "cost_per_sale_usd": paths["happy_path_sale"]["cost_usd"],
            "per_request": averaged,
            "scenarios": {name: {k: v for k, v in p.items() if k != "states"} for name, p in paths.items()},
            "mix": weights,
            "notes": [
                "transitions: StateEntered events; AWS bills each step executed, retries included",
                "DynamoDB units estimated from item sizes (moto reports no consumed capacity)",
                "Lambda durations measured locally (Invoke round trip through moto), billed at 256 MB arm64",
            ],
        }
        path = write_result("transitions.json", data)
        _print(terminal, paths, data, path)
    return 0


def _print(out: Any, paths: dict[str, dict[str, Any]], data: dict[str, Any], path: Any) -> None:
    header = (
        f"{'Camino':26} {'Trans.':>6} {'Lambda':>6} {'DDB lect.':>9} {'DDB escr.':>9} "
        f"{'RRU':>6} {'WRU':>6} {'S3':>3} {'USD':>10}"
    )
    print(header, file=out)
    for name, p in paths.items():
        print(
            f"{name:26} {p['transitions']:>6} {p['lambda_invocations']:>6} {p['dynamodb_reads']:>9} "
            f"{p['dynamodb_writes']:>9} {p['dynamodb_rru']:>6.1f} {p['dynamodb_wru']:>6.0f} {p['s3_puts']:>3} "
            f"{p['cost_usd']:>10.6f}",
            file=out,
        )
    print(f"Costo de una venta (us-east-1, precios al {PRICES_AS_OF}): USD {data['cost_per_sale_usd']:.6f}", file=out)
    print(f"Por solicitud, según la mezcla del día simulado: {data['per_request']}", file=out)
    print(f"Escrito en {path}", file=out)


if __name__ == "__main__":
    sys.exit(main())
