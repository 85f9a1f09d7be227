"""Full local sales per second on this machine, and the ratio to the same engine running a no-op
machine with the same states.

A sale here is the happy path end to end with the fastest outside world: the customer sends
the documents as soon as WhatsApp asks for them, Instalaciones reports the installation as soon
as the order is handed over, an agent makes the QC call as soon as it is due. N sales run
concurrently (one thread each) and sales/s = N / the time until the last one ended.

The no-op machine has the happy path's states, of the same kinds and in the same order (built
from the deployed definition): Choice states, Lambda tasks on a handler that returns at once
(routed in process by `devstack.moto_bridge` like the real ones), waitForTaskToken tasks whose
token is answered at once, and the Wait as `Seconds: 0`. Its executions start directly, so
the ratio shows what the product (handlers, DynamoDB, the outside events) adds to the engine.

The moto speed-ups of `devstack.moto_bridge` (client cache, program cache) are measured by
running the real sales again in child processes with each one turned off.

    .venv/bin/python -m bench.throughput [--sales 20]

Writes bench/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import documents_for, dummy_zip, sale, start_stack, write_result
from devstack import moto_bridge
from devstack.driver import Driver
from devstack.simulate import logs_to
from devstack.stack import ACCOUNT, REGION, ROOT, LocalStack

LOG = ROOT / "build" / "bench-throughput.log"
TOGGLES = {"without_client_cache": "VD_MOTO_CLIENT_CACHE", "without_program_cache": "VD_MOTO_PROGRAM_CACHE"}
LABELS = {"without_client_cache": "la caché de clientes boto3", "without_program_cache": "la caché de programas ASL"}


def real_sales(stack: LocalStack, count: int, first: int) -> dict[str, float]:
    driver = Driver(stack)
    codes = documents_for(stack)
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=count) as pool:
        ids = list(pool.map(lambda n: sale(driver, n, codes, timeout=600), range(first, first + count)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert all(driver.request(i).outcome == "sold" for i in ids)
    return _rates(count, elapsed, cpu)


def _rates(count: int, elapsed: float, cpu: float) -> dict[str, float]:
    """Wall-clock rate, and CPU per item: the process's CPU (every thread: driver, moto, handlers),
    which other load on a shared machine barely moves."""
    return {
        "count": count,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed, 3),
        "cpu_seconds_each": round(cpu / count, 3),
    }


def noop_definition(stack: LocalStack, names: list[str], noop: str, waiter: str) -> str:
    """The happy path's states, same kinds, same order, doing nothing."""
    sfn = stack.client("stepfunctions")
    states = json.loads(sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"])["States"]
    built: dict[str, Any] = {}
    for index, name in enumerate(names):
        state, last = states[name], index == len(names) - 1
        after: dict[str, Any] = {"End": True} if last else {"Next": names[index + 1]}
        if state["Type"] == "Choice":
            then = names[index + 1]
            built[name] = {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": then}]}
            built[name]["Default"] = then
        elif state["Type"] == "Wait":
            built[name] = {"Type": "Wait", "Seconds": 0, **after}
        elif state["Resource"].endswith(".waitForTaskToken"):
            payload = {"token.$": "$$.Task.Token"}
            built[name] = {"Type": "Task", "Resource": state["Resource"], "TimeoutSeconds": 600, "ResultPath": None}
            built[name] |= {"Parameters": {"FunctionName": waiter, "Payload": payload}, **after}
        else:
            payload = {"execution.$": "$$.Execution.Name", "last": last}
            built[name] = {"Type": "Task", "Resource": state["Resource"], "ResultPath": None}
            built[name] |= {"Parameters": {"FunctionName": noop, "Payload": payload}, **after}
    return json.dumps({"StartAt": names[0], "States": built})


def noop_executions(stack: LocalStack, names: list[str], count: int) -> dict[str, float]:
    lam, sfn = stack.client("lambda"), stack.client("stepfunctions")
    tokens: queue.Queue[str | None] = queue.Queue()
    ended: queue.Queue[str] = queue.Queue()
    role = f"arn:aws:iam::{ACCOUNT}:role/vd-local-role"

    def noop(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("last"):
            ended.put(event["execution"])
        return {}

    def waiter(event: dict[str, Any], context: Any) -> dict[str, Any]:
        tokens.put(event["token"])
        return {}

    arns = {}
    for name, handler in (("vd-bench-noop", noop), ("vd-bench-noop-waiter", waiter)):
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": dummy_zip()}
        )
        moto_bridge.register(name, handler)
        arns[name] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    definition = noop_definition(stack, names, arns["vd-bench-noop"], arns["vd-bench-noop-waiter"])
    machine = sfn.create_state_machine(
        name=f"vd-bench-noop-{uuid.uuid4().hex[:6]}", definition=definition, roleArn=role
    )

    def answer() -> None:  # the outside world answers every token at once
        while (token := tokens.get()) is not None:
            sfn.send_task_success(taskToken=token, output="{}")

    responder = threading.Thread(target=answer, daemon=True)
    responder.start()
    started, cpu = time.perf_counter(), time.process_time()
    run = [f"noop-{n}-{uuid.uuid4().hex[:6]}" for n in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda name: sfn.start_execution(
                    stateMachineArn=machine["stateMachineArn"], name=name, input='{"go": true}'
                ),
                run,
            )
        )
    for _ in run:
        ended.get(timeout=600)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    tokens.put(None)
    prefix = machine["stateMachineArn"].replace(":stateMachine:", ":execution:")
    statuses = {sfn.describe_execution(executionArn=f"{prefix}:{name}")["status"] for name in run}
    assert statuses <= {"SUCCEEDED", "RUNNING"}, statuses  # RUNNING: its last state is returning
    return _rates(count, elapsed, cpu)


def measure(count: int) -> dict[str, Any]:
    """Real sales, then the no-op machine, on a fresh stack in this process's configuration."""
    stack = start_stack()
    try:
        driver = Driver(stack)
        warm = sale(driver, 10_000, documents_for(stack))  # warm-up: cold starts stay out
        names = driver.states_entered(warm)
        sales = real_sales(stack, count, first=1)
        return {"states": names, "sales": sales, "noop_machine": noop_executions(stack, names, count)}
    finally:
        stack.stop()


def in_child(count: int, variable: str | None) -> dict[str, Any]:
    """`measure` in a fresh interpreter (moto is patched once per process), a speed-up turned off."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "bench.throughput", "--sales", str(count), "--child", str(out)]
        env = os.environ | ({variable: "0"} if variable else {})
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def _speedup(default: dict[str, Any], without: dict[str, Any], key: str) -> dict[str, float]:
    return {
        "per_second": without[key]["per_second"],
        "cpu_seconds_each": without[key]["cpu_seconds_each"],
        "speedup": round(default[key]["per_second"] / without[key]["per_second"], 2),
        "speedup_cpu": round(without[key]["cpu_seconds_each"] / default[key]["cpu_seconds_each"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local sales per second and the no-op engine ratio")
    parser.add_argument("--sales", type=int, default=20, help="concurrent sales (default 20)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.sales <= 200:
        parser.error("--sales must be between 1 and 200")
    with logs_to(LOG) as terminal:
        if args.child:
            args.child.write_text(json.dumps(measure(args.sales)), encoding="utf-8")
            return 0
        # Every configuration in its own fresh interpreter, so they start alike.
        default = in_child(args.sales, None)
        toggled = {label: in_child(args.sales, variable) for label, variable in TOGGLES.items()}
        real, noop = default["sales"], default["noop_machine"]
        data = {
            "generated_at": datetime.now(UTC).isoformat(),
            "cpus": os.cpu_count(),
            "concurrent_sales": args.sales,
            "states": default["states"],
            "sales": real,
            "noop_machine": noop,
            "noop_over_sales": round(noop["per_second"] / real["per_second"], 2),
            "noop_over_sales_cpu": round(real["cpu_seconds_each"] / noop["cpu_seconds_each"], 2),
            "moto_speedups": {
                label: {
                    "sales": _speedup(default, result, "sales"),
                    "noop_machine": _speedup(default, result, "noop_machine"),
                }
                for label, result in toggled.items()
            },
        }
        path = write_result("throughput.json", data)
        _print(terminal, data, path)
    return 0


def _print(out: Any, data: dict[str, Any], path: Path) -> None:
    real, noop = data["sales"], data["noop_machine"]
    print(
        f"{data['concurrent_sales']} ventas concurrentes de punta a punta ({len(data['states'])} estados): ", file=out
    )
    print(f"  {real['per_second']:.2f} ventas/s, {real['cpu_seconds_each']} s de CPU por venta", file=out)
    print(
        f"Máquina no-op con los mismos estados: {noop['per_second']:.2f} ejecuciones/s, "
        f"{noop['cpu_seconds_each']} s de CPU cada una\n"
        f"  = {data['noop_over_sales']}x las ventas por segundo, {data['noop_over_sales_cpu']}x por CPU",
        file=out,
    )
    for label, result in data["moto_speedups"].items():
        sales, bare = result["sales"], result["noop_machine"]
        print(
            f"Sin {LABELS[label]}: ventas {sales['per_second']:.2f}/s ({sales['cpu_seconds_each']} s CPU), "
            f"no-op {bare['per_second']:.2f}/s ({bare['cpu_seconds_each']} s CPU)\n"
            f"  la caché da {sales['speedup_cpu']}x en las ventas y {bare['speedup_cpu']}x en la no-op (por CPU)",
            file=out,
        )
    print(f"Escrito en {path}", file=out)


if __name__ == "__main__":
    sys.exit(main())
