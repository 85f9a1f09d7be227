"""DynamoDB calls, writes and write units per request path and per API route, on the local stack.

Paths (one request each, run one after the other, driven through the HTTP API as channels,
customers, agents and Instalaciones do; IVR missed calls by the intake function's direct invoke):

- happy_path_sale, missed_call_sale, rejection_impediment, rejection_no_coverage (speed and
  feature rejections take the same calls), abandoned_no_documents, missed_call_unreachable

Every DynamoDB call the product makes is counted by a botocore event hook on boto3's default
session and attributed to what made it: an API operation (`api:<operationId>`), a Lambda
function (`fn:<logical id>`) or another thread (the execution-end listener). Calls the bench
makes itself to watch the stack are not counted. Counts are deterministic (a test keeps them:
tests/infra/test_call_budget.py); write units are estimated from item sizes (moto reports
no consumed capacity) by `bench.common.WriteUnits`, the rule every bench uses (a transactional
item counts double; an index holding the item adds its size; an index entry removed adds 1).
Each path also names its call sites (`by_site`): the product's service functions that made
each call.

Beside the design in use (state + history in one transaction), each save is also priced as the
alternative the issue asks about: one PutItem of a request item that carries its whole history
inline (`alternative_inline_history_wru`).

    .venv/bin/python -m bench.dynamo_calls

Writes bench/results/dynamo_calls.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.common import (
    CENTRO,
    SERVICE,
    WriteUnits,
    ci,
    documents_for,
    item_size,
    phone,
    start_stack,
    table_indexes,
    write_result,
)
from bench.transitions import PATHS as TRANSITION_PATHS
from devstack.driver import Driver
from devstack.simulate import logs_to
from devstack.stack import ROOT, LocalStack
from ventas.domain.tasks import TaskKind

LOG = ROOT / "build" / "bench-dynamo-calls.log"
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
API_FRAME = ("chalicelib/http.py", "handle")
LAMBDA_FRAME = ("devstack/moto_bridge.py", "invoke_in_process")
SITE_PACKAGE = "src/ventas/services/"  # where a call site is named from
SITE_SKIPPED = frozenset({"<lambda>", "attempt", "retry_on_conflict", "record", "change"})


def missed_call_unreachable(driver: Driver, n: int) -> str:
    """A missed call whose customer does not answer the call-back: abandoned."""
    request_id = driver.missed_call(phone(n), line="4001515")
    task = driver.open_task(request_id, TaskKind.CALL_BACK, timeout=60)
    driver.claim(task.task_id, "agente.bench")
    driver.complete(task.task_id, "agente.bench", {"reached": False})
    driver.finish(request_id, timeout=60)
    return request_id


PATHS: dict[str, Callable[[Driver, int], str]] = {
    **TRANSITION_PATHS,
    "missed_call_unreachable": missed_call_unreachable,
}


class CallMeter:
    """Counts the product's DynamoDB calls by source and operation, with estimated write units."""

    def __init__(self, functions: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self.functions = {physical: logical for logical, physical in (functions or {}).items()}
        self.calls: Counter[tuple[str, str]] = Counter()  # (source, operation) -> calls
        self.sites: Counter[tuple[str, str, str]] = Counter()  # (source, call site, operation) -> calls
        self.wru: Counter[str] = Counter()
        self.alternative_wru: Counter[str] = Counter()
        self.write_units = WriteUnits()
        self._history_bytes: defaultdict[str, int] = defaultdict(int)  # per request partition
        self._updating: dict[int, tuple[str, str]] = {}  # thread -> (source, table) of its UpdateItem

    def install(self) -> CallMeter:
        session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("before-parameter-build.dynamodb", self._before)
        session.events.register("after-call.dynamodb.UpdateItem", self._after_update)
        return self

    def learn_indexes(self, stack: LocalStack) -> None:
        self.write_units.indexes = table_indexes(stack)

    def _site(self) -> str:
        """The product's service functions on the stack, outermost first (`tasks.complete >
        concurrency.update_request`): which operation of the code made the call."""
        names: list[str] = []
        frame = sys._getframe(3)
        while frame is not None:
            code = frame.f_code
            if SITE_PACKAGE in code.co_filename and code.co_name not in SITE_SKIPPED:
                names.append(f"{code.co_filename.rsplit('/', 1)[-1].removesuffix('.py')}.{code.co_name}")
            frame = frame.f_back  # type: ignore[assignment]
        return " > ".join(reversed(names)) or "?"

    def _source(self) -> str | None:
        frame = sys._getframe(2)
        while frame is not None:
            code = frame.f_code
            if code.co_name == API_FRAME[1] and code.co_filename.endswith(API_FRAME[0]):
                op = frame.f_locals.get("op")
                return f"api:{getattr(op, 'id', '?')}"
            if code.co_name == LAMBDA_FRAME[1] and code.co_filename.endswith(LAMBDA_FRAME[0]):
                name = str(frame.f_locals.get("function_name", "?"))
                return f"fn:{self.functions.get(name, name)}"
            frame = frame.f_back  # type: ignore[assignment]
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return None  # the bench watching the stack
        return f"thread:{thread.name.split('-')[0] if thread.name.startswith('Thread-') else thread.name}"

    def _before(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        source = self._source()
        if source is None:
            return
        units, alternative = self._units(model.name, params)
        if model.name == "UpdateItem":  # priced by the item it leaves (`_after_update`)
            self._updating[threading.get_ident()] = (source, params["TableName"])
        site = self._site()
        with self._lock:
            self.calls[(source, model.name)] += 1
            self.sites[(source, site, model.name)] += 1
            self.wru[source] += units
            self.alternative_wru[source] += alternative

    def _after_update(self, parsed: Mapping[str, Any], **_: Any) -> None:
        pending = self._updating.pop(threading.get_ident(), None)
        if pending is None:
            return
        source, table = pending
        units = self.write_units.updated(table, parsed)
        with self._lock:
            self.wru[source] += units
            self.alternative_wru[source] += units

    def _units(self, operation: str, params: Mapping[str, Any]) -> tuple[int, int]:
        """(write units of the call, write units of the inline-history alternative)."""
        if operation not in WRITES:
            return 0, 0
        units = self.write_units.of_call(operation, params)
        if operation == "TransactWriteItems":
            puts = [i["Put"] for i in params["TransactItems"] if "Put" in i]
            return units, self._inline(puts) + 2 * (len(params["TransactItems"]) - len(puts))
        return units, self._inline([params]) if "Item" in params else units

    def _inline(self, puts: list[Mapping[str, Any]]) -> int:
        """The same writes if the request item carried its whole history inline: one PutItem of
        the request item (grown by every entry so far); a note alone rewrites the request item."""
        history = [p for p in puts if p["Item"].get("sk", {}).get("S", "").startswith("HIST#")]
        for put in history:
            self._history_bytes[put["Item"]["pk"]["S"]] += item_size(put["Item"])
        others = [p for p in puts if not any(p is h for h in history)]
        if not others and history:  # a note alone: the request item (about 1 KB) grows by it
            pk = history[0]["Item"]["pk"]["S"]
            base = max(1, math.ceil((1024 + self._history_bytes[pk]) / 1024))
            return 3 * base  # the table and the two ALL-projection indexes holding the request
        units = 0
        for put in others:
            item = put["Item"]
            grown = item_size(item) + self._history_bytes.get(item.get("pk", {}).get("S", ""), 0)
            base = max(1, math.ceil(grown / 1024))
            indexes = self.write_units.indexes.get(put["TableName"], [])
            units += base + sum(base if proj == "ALL" else 1 for key, proj in indexes if key in item)
        return units

    def snapshot(self) -> tuple[Counter[tuple[str, str]], Counter[str], Counter[str], Counter[tuple[str, str, str]]]:
        with self._lock:
            return Counter(self.calls), Counter(self.wru), Counter(self.alternative_wru), Counter(self.sites)

    def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        """Wait until no call was counted for `quiet` seconds (a stage finishing its writes)."""
        deadline = time.monotonic() + timeout
        last = self.snapshot()[0]
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.snapshot()[0]
            if now == last:
                return
            last = now


def summary(
    calls: Counter[tuple[str, str]],
    wru: Counter[str],
    alternative: Counter[str],
    sites: Counter[tuple[str, str, str]] | None = None,
) -> dict[str, Any]:
    by_operation: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for (source, operation), n in calls.items():
        by_operation[operation] += n
        by_source[source] += n
    writes = sum(n for (_, operation), n in calls.items() if operation in WRITES)
    return {
        "calls": sum(by_operation.values()),
        "writes": writes,
        "write_units": sum(wru.values()),
        "alternative_inline_history_wru": sum(alternative.values()),
        "by_operation": dict(sorted(by_operation.items())),
        "by_source": dict(sorted(by_source.items())),
        "write_units_by_source": {k: v for k, v in sorted(wru.items()) if v},
        **({"by_site": by_site(sites)} if sites is not None else {}),
    }


def by_site(sites: Counter[tuple[str, str, str]]) -> list[str]:
    """`<source> <call site> <operation> x<n>` lines, in the order a reader follows a path."""
    return [f"{source} | {site} | {operation} x{n}" for (source, site, operation), n in sorted(sites.items())]


def measure_path(driver: Driver, meter: CallMeter, name: str, n: int) -> dict[str, Any]:
    meter.settle()
    before = meter.snapshot()
    request_id = PATHS[name](driver, n)
    meter.settle()
    after = meter.snapshot()
    result = summary(after[0] - before[0], after[1] - before[1], after[2] - before[2], after[3] - before[3])
    return {"outcome": driver.request(request_id).outcome, **result}


def measure_routes(driver: Driver, meter: CallMeter, n: int) -> dict[str, dict[str, Any]]:
    """Each main API route once, on a sale in progress, its own calls only; the inbox read with
    at least `INBOX_FILL` open tasks, to show its cost does not grow with the page."""
    routes: dict[str, dict[str, Any]] = {}

    def route(label: str, op: str, action: Callable[[], Any]) -> Any:
        meter.settle()
        before = meter.snapshot()
        answer = action()
        after = meter.snapshot()
        calls = Counter({k: v for k, v in (after[0] - before[0]).items() if k[0] == f"api:{op}"})
        routes[label] = summary(calls, Counter({f"api:{op}": (after[1] - before[1])[f"api:{op}"]}), Counter())
        for key in ("alternative_inline_history_wru", "by_source", "write_units_by_source"):
            routes[label].pop(key)
        return answer

    for k in range(INBOX_FILL):  # call-back tasks of missed calls: open tasks in the inbox
        driver.missed_call(phone(n + 100 + k), line="4200400")
    lead = {
        "channel": "web",
        "channel_lead_id": f"routes-{n}",
        "phone": phone(n),
        "name": "Cliente de prueba",
        "ci": ci(n),
        "service_code": SERVICE,
        "location": CENTRO,
    }
    request_id = route("POST /v1/requests (new lead)", "submitLead", lambda: driver.submit_lead(**dict(lead)))
    route("POST /v1/requests (replayed lead)", "submitLead", lambda: driver.submit_lead(**dict(lead)))
    from bench.common import send_documents

    codes = documents_for(driver.stack)
    send_documents(driver, n, request_id, codes[:0])
    for k, code in enumerate(codes):
        route(
            f"POST /v1/whatsapp/webhook (document {k + 1} of {len(codes)})",
            "receiveWebhook",
            lambda c=code, k=k: driver.send_document(phone(n), f"wamid.routes-{n}-{k}", c),
        )
    listed = route(
        f"GET /v1/tasks (inbox, {INBOX_FILL}+ open tasks)",
        "listTasks",
        lambda: driver.call("GET", "/v1/tasks?status=open&limit=50", role=_agent()),
    )
    assert len(listed["items"]) >= INBOX_FILL
    route("GET /v1/requests/{id}", "getRequest", lambda: driver.call("GET", f"/v1/requests/{request_id}", _agent()))
    order_id = driver.handed_off(request_id, timeout=60)
    event = {"kind": "completed", "event_id": f"opr-{request_id}-done", "installed_at": datetime.now(UTC).isoformat()}
    route(
        "POST /v1/orders/{id}/installation-events",
        "reportInstallation",
        lambda: driver.installation_event(order_id, event),
    )
    qc = driver.open_task(request_id, TaskKind.QC_CALL, timeout=60)
    route("POST /v1/tasks/{id}/claim", "claimTask", lambda: driver.claim(qc.task_id, "agente.bench"))
    route(
        "POST /v1/tasks/{id}/complete",
        "completeTask",
        lambda: driver.complete(qc.task_id, "agente.bench", {"satisfaction": 5, "comment": "Muy conforme"}),
    )
    driver.finish(request_id, timeout=60)
    return routes


INBOX_FILL = 12


def _agent() -> Any:
    from ventas.web.auth import Role

    return Role.AGENT


def run(paths: tuple[str, ...] = tuple(PATHS), with_routes: bool = True) -> dict[str, Any]:
    """Start a stack, warm it, measure; what the JSON holds."""
    meter = CallMeter().install()
    stack = start_stack()
    try:
        meter.functions = {physical: logical for logical, physical in stack.functions.items()}
        meter.learn_indexes(stack)
        driver = Driver(stack)
        TRANSITION_PATHS["happy_path_sale"](driver, 990)  # warm-up: cold caches stay out
        measured = {name: measure_path(driver, meter, name, n) for n, name in enumerate(paths, start=1)}
        routes = measure_routes(driver, meter, 500) if with_routes else {}
    finally:
        stack.stop()
    return {"generated_at": datetime.now(UTC).isoformat(), "paths": measured, "routes": routes}


def main(argv: list[str] | None = None) -> int:
    """`--out PATH` writes the JSON there instead of bench/results/ (the call-budget test)."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--out", type=Path, default=None)
    out = args.parse_args(argv).out
    with logs_to(LOG) as terminal:
        data = run()
        data["notes"] = [
            "calls: every DynamoDB API call the product makes; writes: its write calls",
            "write units estimated from item sizes; transactional writes count double",
            "alternative_inline_history_wru: the same saves if the request item carried its history",
        ]
        if out is None:
            path = write_result("dynamo_calls.json", data)
        else:
            path = out
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(
            f"{'Camino':26} {'llamadas':>8} {'escrituras':>10} {'WRU':>5} {'WRU alt.':>8}  por operación", file=terminal
        )
        for name, p in data["paths"].items():
            print(
                f"{name:26} {p['calls']:>8} {p['writes']:>10} {p['write_units']:>5} "
                f"{p['alternative_inline_history_wru']:>8}  {p['by_operation']}",
                file=terminal,
            )
        print(f"\n{'Ruta':52} {'llamadas':>8} {'escrituras':>10}  por operación", file=terminal)
        for name, r in data["routes"].items():
            print(f"{name:52} {r['calls']:>8} {r['writes']:>10}  {r['by_operation']}", file=terminal)
        print(f"Escrito en {path}", file=terminal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
