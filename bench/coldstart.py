"""Cold start of every function: init, and init plus its first real event, against the floor.

What a caller waits for on a cold start is the function's init plus its first invocation, so
that is the main figure. Each sample is a whole fresh interpreter (a subprocess) that:

- imports the handler the way Lambda does (`app` from the function's folder, with the
  environment infra/template.yaml gives it, X-Ray subsegments off as by default): that is init;
- handles ONE real event (the one the workflow, a rule or a channel sends) against a local
  DynamoDB endpoint: a moto server this bench starts, with the template's tables provisioned and
  what each event needs seeded (through the product's own services; bench/coldstart_stack.py).

The floor is a fresh interpreter that imports boto3, creates one DynamoDB client (its init) and
makes one GetItem against the same endpoint. The figure is CPU time of the child (user + system,
read by the child itself with getrusage, so interpreter start-up counts on both sides), medians
over `--repeat` samples; samples interleave the floor and the functions so drift hits all alike.
Init alone is reported too: moving work from init into the first call is no gain, and the ratio
of init + first event is the one the targets (TARGETS) are about.

Two references, not targets: the floor plus importing pydantic (what any function that validates
with it pays before its first model), and the floor with garbage collection off (the product
pauses it during a cold start, ventas.coldstart: this says how much of a ratio that buys).
Then one instrumented sample per function says where its CPU goes (bench/coldstart_profile.py).

    .venv/bin/python -m bench.coldstart [--repeat 7] [--only eligibility,api]

Writes bench/results/coldstart.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import coldstart_profile
from bench.coldstart_stack import EVENTS, REGION, STACK, Endpoint, Seeder, logical_ids
from devstack.template import ROOT

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = (
    "intake",
    "eligibility",
    "coverage",
    "requirements",
    "sale",
    "installation",
    "tasks",
    "qc",
    "notify",
    "executions",
    "kpi",
    "retention",
)
# Ratio of init + first event to the floor's (issue 11, point 3).
TARGETS = {**dict.fromkeys(STAGES, 1.3), "api": 1.6}

_CPU = """import resource
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
"""
FLOOR = (
    _CPU
    + """import json, sys
import boto3
client = boto3.client("dynamodb")
init = _cpu()
client.get_item(TableName=sys.argv[1], Key=json.loads(sys.argv[2]))
print(json.dumps({"init": init, "total": _cpu()}))
"""
)
# References (module docstring): pydantic's import as the domain does it (no model yet), and the
# floor without garbage collection.
REFERENCES = {
    "floor_with_pydantic": FLOOR.replace(
        "import boto3\n", "import boto3\nfrom pydantic import AwareDatetime, BaseModel, ConfigDict, Field\n"
    ),
    "floor_gc_paused": "import gc\ngc.disable()\n" + FLOOR,
}
COLD_START = (
    _CPU
    + """import importlib.util, json, sys
folder, event = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, folder)
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
handler = getattr(module, sys.argv[3])
init = _cpu()

class Context:
    function_name = "bench"
    function_version = "1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench:live"
    memory_limit_in_mb = 256
    aws_request_id = "bench-request"
    log_group_name = "/vd/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 20000

answer = handler(event, Context())
status = answer.get("statusCode", 200) if isinstance(answer, dict) else 200
print(json.dumps({"init": init, "total": _cpu(), "status": status}))
"""
)


# --- sampling ------------------------------------------------------------------------------------


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VD_", "POWERTOOLS_", "LAMBDA_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(code: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    """{"init": CPU seconds, "total": CPU seconds} of one fresh interpreter running `code`."""
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cold-start sample failed:\n{done.stderr[-3000:]}")
    answer: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if answer.get("status", 200) >= 400:
        raise RuntimeError(f"the event was refused ({answer['status']}):\n{done.stdout[-3000:]}")
    return answer


def _profile(code: str, args: list[str], env: dict[str, str]) -> dict[str, dict[str, float]]:
    done = subprocess.run(
        [sys.executable, "-c", coldstart_profile.instrumented(code), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"instrumented sample failed:\n{done.stderr[-3000:]}")
    return coldstart_profile.parse(done.stdout)


def measure(repeat: int, only: list[str]) -> dict[str, Any]:
    """Medians of `repeat` interleaved rounds (after one dropped), then one instrumented round."""
    endpoint = Endpoint()
    try:
        seeder = Seeder()
        logical = logical_ids(endpoint.res)
        common = {
            **_base_env(),
            "AWS_ENDPOINT_URL": endpoint.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        children: dict[str, tuple[str, dict[str, str]]] = {}
        for name in only:
            folder = str(ROOT / "functions" / name)
            own = endpoint.api_environment() if name == "api" else endpoint.environment(logical[name])
            env = {**common, **own, "LAMBDA_TASK_ROOT": folder, "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{name}"}
            children[name] = (folder, env)
        table = endpoint.res.physical["RequestsTable"]
        key = json.dumps({"pk": {"S": "bench#floor"}, "sk": {"S": "bench#floor"}})

        def args(name: str) -> list[str]:
            return [children[name][0], json.dumps(EVENTS[name][1](seeder)), "app" if name == "api" else "handler"]

        samples: dict[str, list[dict[str, float]]] = {"floor": [], **{k: [] for k in REFERENCES}}
        for _ in range(repeat + 1):  # the first round warms the disk cache and is dropped
            samples["floor"].append(_run(FLOOR, [table, key], common))
            for reference, code in REFERENCES.items():
                samples[reference].append(_run(code, [table, key], common))
            for name in only:
                samples.setdefault(name, []).append(_run(COLD_START, args(name), children[name][1]))
        profiles = {"floor": _profile(FLOOR, [table, key], common)}
        for name in only:
            profiles[name] = _profile(COLD_START, args(name), children[name][1])
    finally:
        endpoint.stop()

    def median(key: str, part: str) -> float:
        return statistics.median(s[part] for s in samples[key][1:])

    floor = {"init": median("floor", "init"), "total": median("floor", "total")}
    functions: dict[str, Any] = {}
    for name in only:
        init, total = median(name, "init"), median(name, "total")
        functions[name] = {
            "init_cpu_seconds": round(init, 4),
            "init_ratio": round(init / floor["total"], 3),
            "total_cpu_seconds": round(total, 4),
            "first_event_cpu_seconds": round(total - init, 4),
            "ratio": round(total / floor["total"], 3),
            "target": TARGETS[name],
            "met": total / floor["total"] <= TARGETS[name],
            "profile_cpu_seconds": coldstart_profile.summary(profiles[name]),
        }
    references = {
        reference: {
            "total_cpu_seconds": round(median(reference, "total"), 4),
            "ratio": round(median(reference, "total") / floor["total"], 3),
        }
        for reference in REFERENCES
    }
    return {
        "floor": {
            "init_cpu_seconds": round(floor["init"], 4),
            "total_cpu_seconds": round(floor["total"], 4),
            "profile_cpu_seconds": coldstart_profile.summary(profiles["floor"]),
        },
        **references,
        "repeat": repeat,
        "functions": functions,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default=",".join(EVENTS), help="comma-separated functions (default: all)")
    parser.add_argument("--output", default=str(RESULTS / "coldstart.json"))
    args = parser.parse_args(argv)
    only = [name for name in args.only.split(",") if name]
    unknown = set(only) - set(EVENTS)
    if unknown:
        parser.error(f"unknown functions: {sorted(unknown)}")
    result = measure(args.repeat, only)
    result["python"] = sys.version.split()[0]
    result["cores"] = os.cpu_count()
    result["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")

    floor = result["floor"]
    print(
        f"floor (import boto3, one client, one GetItem): {floor['total_cpu_seconds'] * 1000:.0f} ms CPU "
        f"(init {floor['init_cpu_seconds'] * 1000:.0f} ms); medians of {args.repeat}; ratios to the floor's total"
    )
    for reference, label in (
        ("floor_with_pydantic", "the floor plus importing pydantic alone"),
        ("floor_gc_paused", "the floor with garbage collection off"),
    ):
        print(f"{label}: {result[reference]['total_cpu_seconds'] * 1000:.0f} ms, {result[reference]['ratio']:.2f}x")
    print(f"{'function':<13}{'init':>16}{'init + 1st event':>22}{'target':>9}")
    for name, f in result["functions"].items():
        print(
            f"{name:<13}{f['init_cpu_seconds'] * 1000:>7.0f} ms {f['init_ratio']:>5.2f}x"
            f"{f['total_cpu_seconds'] * 1000:>12.0f} ms {f['ratio']:>5.2f}x"
            f"{'<=' if f['met'] else '> '}{f['target']:>4.1f}x"
        )
    print("\nwhere the CPU goes (one instrumented sample each; init + first event; x = share of the floor):")
    profiles = {"floor": result["floor"]["profile_cpu_seconds"]}
    profiles.update({name: f["profile_cpu_seconds"] for name, f in result["functions"].items()})
    for line in coldstart_profile.table(profiles, floor["total_cpu_seconds"]):
        print(line)


if __name__ == "__main__":
    main()
