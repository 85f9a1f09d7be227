"""Monthly AWS cost of the stack at 100, 1,000 and 10,000 requests a day, at us-east-1 list prices.

Usage-driven charges come from what a request measurably does on the local stack, read from
bench/results/transitions.json (written by bench/transitions.py):

    {"per_request": {                      # averaged over the simulated mix of outcomes
        "state_transitions": 27.4,         # billable Step Functions transitions
        "lambda_invocations": 12.1,
        "lambda_gb_seconds": 0.41,         # sum over invocations of duration (s) x memory (GB)
        "dynamodb_read_request_units": 38.0,
        "dynamodb_write_request_units": 31.0,
        "api_requests": 6.0,               # optional: API Gateway calls (channel, agents, webhook)
        "s3_puts": 1.2},                   # optional: documents stored
     "scenarios": {...}}                   # optional: the same keys per outcome, shown as is

Fixed charges (key, secrets, alarms, dashboard, custom metrics) are counted from
infra/template.yaml. Free tiers are ignored: the figures are what the stack costs on an account
that already uses them up. CloudWatch Logs and X-Ray are estimated from the assumptions below.

    .venv/bin/python -m bench.monthly_cost [--transitions PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import write_result
from devstack.template import load_template

RESULTS = Path(__file__).resolve().parent / "results"
DAYS_PER_MONTH = 30
VOLUMES = (100, 1_000, 10_000)
REQUIRED = (
    "state_transitions",
    "lambda_invocations",
    "lambda_gb_seconds",
    "dynamodb_read_request_units",
    "dynamodb_write_request_units",
)

# us-east-1 list prices in USD (each service's public pricing page; no free tier), as written down
# on the date below. DynamoDB on-demand is at the rates in force since November 2024. Check the
# pages before quoting: a changed price is one line here.
PRICES_AS_OF = "2026-11-27"
PRICES = {
    "stepfunctions_standard_per_1k_transitions": 0.025,
    "lambda_per_1m_requests": 0.20,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "dynamodb_on_demand_per_1m_wru": 0.625,
    "dynamodb_on_demand_per_1m_rru": 0.125,
    "apigateway_rest_per_1m_requests": 3.50,
    "s3_standard_per_1k_put": 0.005,
    "kms_key_per_month": 1.00,
    "kms_per_10k_requests": 0.03,
    "secretsmanager_secret_per_month": 0.40,
    "secretsmanager_per_10k_calls": 0.05,
    "cloudwatch_custom_metric_per_month": 0.30,
    "cloudwatch_standard_alarm_per_month": 0.10,
    "cloudwatch_dashboard_per_month": 3.00,
    "cloudwatch_logs_ingestion_per_gb": 0.50,
    "xray_per_1m_traces_recorded": 5.00,
}
# Estimates, not measurements: change them here and the output says what was used.
ASSUMPTIONS = {
    "log_bytes_per_lambda_invocation": 1_500,  # powertools JSON lines, START/END/REPORT
    "kms_requests_per_lambda_invocation": 0.05,  # DynamoDB and S3 cache data keys for minutes
    "secret_reads_per_lambda_invocation": 0.02,  # one per cold start of the functions that hash PII
    "traces_per_request": 1.0,  # the default sampling rule keeps nearly all at these rates
    "custom_metric_series": 20,  # KPI and overdue series + outcome series by reason code
}


def load_measurements(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SystemExit(
            f"{path} is missing: run `.venv/bin/python -m bench.transitions` first "
            "(it measures transitions, invocations and DynamoDB requests per request on the local stack)"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if k not in data.get("per_request", {})]
    if missing:
        raise SystemExit(f"{path} has no per_request {', '.join(missing)}: see this script's docstring")
    return data


def fixed_counts() -> dict[str, int]:
    """What the template declares that is billed by the month."""
    resources = load_template()["Resources"]
    kinds = [spec["Type"] for spec in resources.values()]
    functions = kinds.count("AWS::Serverless::Function") + 1  # + the Chalice API's handler
    return {
        "kms_keys": kinds.count("AWS::KMS::Key"),
        "secrets": kinds.count("AWS::SecretsManager::Secret"),
        "alarms": kinds.count("AWS::CloudWatch::Alarm") + 3,  # + the API's 5xx, errors, throttles
        "dashboards": kinds.count("AWS::CloudWatch::Dashboard"),
        "functions": functions,
    }


def monthly(per_request: dict[str, float], per_day: int, fixed: dict[str, int]) -> dict[str, float]:
    p, a = PRICES, ASSUMPTIONS
    n = per_day * DAYS_PER_MONTH
    invocations = per_request["lambda_invocations"] * n
    cost = {
        "step_functions": per_request["state_transitions"] * n / 1_000 * p["stepfunctions_standard_per_1k_transitions"],
        "lambda_requests": invocations / 1e6 * p["lambda_per_1m_requests"],
        "lambda_compute": per_request["lambda_gb_seconds"] * n * p["lambda_arm64_per_gb_second"],
        "dynamodb": per_request["dynamodb_write_request_units"] * n / 1e6 * p["dynamodb_on_demand_per_1m_wru"]
        + per_request["dynamodb_read_request_units"] * n / 1e6 * p["dynamodb_on_demand_per_1m_rru"],
        "api_gateway": per_request.get("api_requests", 0.0) * n / 1e6 * p["apigateway_rest_per_1m_requests"],
        "s3_requests": per_request.get("s3_puts", 0.0) * n / 1_000 * p["s3_standard_per_1k_put"],
        "kms": fixed["kms_keys"] * p["kms_key_per_month"]
        + invocations * a["kms_requests_per_lambda_invocation"] / 10_000 * p["kms_per_10k_requests"],
        "secrets_manager": fixed["secrets"] * p["secretsmanager_secret_per_month"]
        + invocations * a["secret_reads_per_lambda_invocation"] / 10_000 * p["secretsmanager_per_10k_calls"],
        "cloudwatch_metrics_alarms_dashboard": a["custom_metric_series"] * p["cloudwatch_custom_metric_per_month"]
        + fixed["alarms"] * p["cloudwatch_standard_alarm_per_month"]
        + fixed["dashboards"] * p["cloudwatch_dashboard_per_month"],
        "cloudwatch_logs": invocations
        * a["log_bytes_per_lambda_invocation"]
        / 1e9
        * p["cloudwatch_logs_ingestion_per_gb"],
        "xray": n * a["traces_per_request"] / 1e6 * p["xray_per_1m_traces_recorded"],
    }
    cost = {k: round(v, 2) for k, v in cost.items()}
    cost["total"] = round(sum(cost.values()), 2)
    return cost


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transitions", type=Path, default=RESULTS / "transitions.json")
    args = parser.parse_args(argv)
    measured = load_measurements(args.transitions)
    per_request = {k: float(v) for k, v in measured["per_request"].items() if isinstance(v, int | float)}
    fixed = fixed_counts()
    table = {str(volume): monthly(per_request, volume, fixed) for volume in VOLUMES}
    result = {
        "prices_usd_us_east_1": PRICES,
        "prices_as_of": PRICES_AS_OF,
        "assumptions": ASSUMPTIONS,
        "fixed_counts": fixed,
        "per_request": per_request,
        "days_per_month": DAYS_PER_MONTH,
        "monthly_usd_by_requests_per_day": table,
    }
    write_result("monthly_cost.json", result, where="AWS list prices (us-east-1) applied to local counts")

    print(f"Monthly cost, USD, us-east-1 list prices of {PRICES_AS_OF}, no free tier, {DAYS_PER_MONTH}-day month")
    print(f"{'':<38}" + "".join(f"{f'{v:,}/day':>14}" for v in VOLUMES))
    for item in table[str(VOLUMES[0])]:
        print(f"{item:<38}" + "".join(f"{table[str(v)][item]:>14,.2f}" for v in VOLUMES))
    per_sale = {v: table[str(v)]["total"] / (v * DAYS_PER_MONTH) for v in VOLUMES}
    print(f"{'per request':<38}" + "".join(f"{per_sale[v]:>14,.4f}" for v in VOLUMES))
    print("prices:", ", ".join(f"{k}={v}" for k, v in PRICES.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
