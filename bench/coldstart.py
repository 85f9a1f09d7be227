"""Cold start of every function, as a ratio to a fresh interpreter that imports boto3 and makes one client.

Each sample is a whole fresh interpreter (a subprocess), so interpreter start-up counts on both
sides of the ratio. The ratio is of CPU time (user + system of the child), which other load on a
shared machine barely moves; wall time is recorded beside it. The function side does what a cold start does before
the service code runs: import the handler module the way Lambda does (`app` from the function's
folder), with the environment infra/template.yaml gives it, then build the container parts its
first invocation touches (`PATHS`: boto3 clients, reference data). Two configurations:
the template's default (X-Ray subsegments off: Lambda and Step Functions still trace) and
TraceSubsegments=true (the X-Ray SDK loaded and botocore patched). Samples interleave the
baseline and the functions so drift hits both; medians are reported.

    .venv/bin/python -m bench.coldstart [--repeat 7]

Writes bench/results/coldstart.json; package sizes come from build/sizes.json (`make package`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack.template import ROOT, Resolver, load_template

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 1.25

# The container parts each function's usual first invocation builds (see src/ventas/services).
PATHS: dict[str, tuple[str, ...]] = {
    "intake": ("requests", "catalogue", "workflow"),
    "eligibility": ("requests", "cartera"),
    "coverage": ("requests", "catalogue", "gis"),
    "requirements": ("requests", "catalogue", "notifier"),
    "sale": ("requests", "catalogue", "smartflex", "notifier"),
    "installation": ("requests", "installations"),
    "tasks": ("tasks", "requests"),
    "qc": ("requests", "tasks", "metrics"),
    "notify": ("requests", "tasks", "notifier", "metrics"),
    "kpi": ("requests", "tasks"),
    "api": ("requests", "tasks", "workflow"),  # the Chalice app: its routes touch all three
}

BASELINE = "import boto3\nboto3.client('dynamodb')\n"
COLD_START = """
import importlib.util, sys
folder, parts = sys.argv[1], sys.argv[2:]
sys.path.insert(0, folder)
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
from ventas import bootstrap
deps = bootstrap.container()
for part in parts:
    type(getattr(deps, part).__class__)  # builds a lazy part
"""


def function_environments() -> dict[str, dict[str, str]]:
    """Each function's variables from infra/template.yaml, with made-up physical names."""
    resolver = Resolver(load_template(), stack_name="vd-bench")
    for logical in ("RequestsTable", "TasksTable", "DocumentsBucket"):
        resolver.physical[logical] = f"vd-bench-{logical.lower()}"
    resolver.physical["VentasDigitalesStateMachine"] = (
        "arn:aws:states:us-east-1:123456789012:stateMachine:vd-bench-ventas-digitales"
    )
    globals_only = {
        k: str(resolver.resolve(v))
        for k, v in resolver.template["Globals"]["Function"]["Environment"]["Variables"].items()
    }
    envs: dict[str, dict[str, str]] = {"api": globals_only}  # the API's own variables are in infra/api.yaml
    for logical, spec in resolver.resources("AWS::Serverless::Function").items():
        name = Path(spec["Properties"]["CodeUri"]).name
        env = resolver.function_environment(logical)
        env.pop("VD_PII_KEY_SECRET_ARN", None)  # a network call, not start-up work
        envs[name] = env
    return envs


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VD_", "POWERTOOLS_", "LAMBDA_"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one fresh interpreter running `code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def measure(repeat: int) -> dict[str, Any]:
    envs = function_environments()
    base = _base_env()
    modes = {"default": "true", "with_subsegments": "false"}  # POWERTOOLS_TRACE_DISABLED
    samples: dict[str, list[tuple[float, float]]] = {"baseline": []}
    for _ in range(repeat + 1):  # the first round warms the disk cache and is dropped
        samples["baseline"].append(_run(BASELINE, [], base))
        for name, parts in PATHS.items():
            folder = str(ROOT / "functions" / name)
            for mode, disabled in modes.items():
                env = {**base, **envs[name], "LAMBDA_TASK_ROOT": folder, "POWERTOOLS_TRACE_DISABLED": disabled}
                samples.setdefault(f"{name}/{mode}", []).append(_run(COLD_START, [folder, *parts], env))
    cpu = {key: statistics.median(s[0] for s in values[1:]) for key, values in samples.items()}
    wall = {key: statistics.median(s[1] for s in values[1:]) for key, values in samples.items()}
    baseline, baseline_wall = cpu.pop("baseline"), wall.pop("baseline")
    functions: dict[str, Any] = {}
    for key, seconds in cpu.items():
        name, mode = key.split("/")
        functions.setdefault(name, {})[mode] = {
            "cpu_seconds": round(seconds, 4),
            "ratio": round(seconds / baseline, 3),
            "wall_seconds": round(wall[key], 4),
            "wall_ratio": round(wall[key] / baseline_wall, 3),
        }
    return {
        "baseline": {"cpu_seconds": round(baseline, 4), "wall_seconds": round(baseline_wall, 4)},
        "repeat": repeat,
        "functions": functions,
    }


def _sizes() -> dict[str, Any]:
    path = ROOT / "build" / "sizes.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    result = measure(args.repeat)
    sizes = _sizes()
    result["target_ratio"] = TARGET_RATIO
    result["python"] = sys.version.split()[0]
    result["package_sizes"] = sizes or "run `make package` first"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "coldstart.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")

    baseline = result["baseline"]
    print(
        f"baseline (import boto3 + one client): {baseline['cpu_seconds'] * 1000:.0f} ms CPU, "
        f"{baseline['wall_seconds'] * 1000:.0f} ms wall; medians of {args.repeat}; ratios of CPU time"
    )
    print(f"{'function':<13}{'default':>16}{'+subsegments':>18}{'package (zip)':>16}")
    for name, modes in result["functions"].items():
        default, traced = modes["default"], modes["with_subsegments"]
        package = sizes.get("functions", {}).get(name, {}).get("zip")
        size = f"{package / 1000:.1f} kB" if package else "-"
        print(
            f"{name:<13}{default['cpu_seconds'] * 1000:>7.0f} ms {default['ratio']:>5.2f}x"
            f"{traced['cpu_seconds'] * 1000:>9.0f} ms {traced['ratio']:>5.2f}x{size:>16}"
        )
    if sizes:
        layer = sizes["layer"]
        print(f"shared layer: {layer['zip'] / 1e6:.1f} MB zipped, {layer['unzipped'] / 1e6:.1f} MB unzipped")


if __name__ == "__main__":
    main()
