"""What the benchmarks share: a local stack tuned for speed, one sale driven end to end, and a
meter of the AWS calls the handlers make (everything runs in this process).

The meter listens to botocore's events on boto3's default session, so it must be installed
before the stack starts (clients copy the session's handlers when they are created). Calls made
from the benchmark's own thread (the Driver's reads and polls, the outside world's Lambda
invocations) are kept apart from the stack's: the handlers run in the server's threads.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import platform
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import boto3

from devstack.driver import Driver, wait_for
from devstack.stack import LocalStack
from ventas.config import Timing
from ventas.domain.tasks import TaskKind

RESULTS = Path(__file__).resolve().parent / "results"
SCALE = "86400"  # one business day per second; the windows below are long enough never to end
PATIENT = Timing(
    agent_task_hours=24 * 300,
    documents_hours=24 * 300,
    documents_reminder_hours=24 * 300,
    installation_hours=24 * 300,
    follow_up_hours=24 * 300,
    review_hours=24 * 300,
    qc_delay_hours=0,  # the QC call comes right after the installation
    qc_task_hours=24 * 300,
)
CENTRO = {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570}
VINTO = {"address": "Calle Bolívar 12, Vinto", "latitude": -17.39, "longitude": -66.31}  # outside every zone
SERVICE = "INTERNET_FTTH_100"
READS = frozenset({"GetItem", "Query", "BatchGetItem", "Scan"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def start_stack() -> LocalStack:
    """The local stack with waits that never end and business hours all day, every day: the
    QC call's Wait ends at once, whatever the time of day the benchmark runs."""
    stack = LocalStack(parameters={"TimeScale": SCALE}).start()
    stack.deps.settings = dataclasses.replace(
        stack.deps.settings,
        timing=PATIENT,
        business_open=clock_time(0, 0),
        business_close=clock_time(23, 59, 59, 999999),
        business_days=frozenset(range(7)),
    )
    return stack


def phone(n: int) -> str:
    return f"+5917{n:07d}"


def ci(n: int) -> str:
    """A new customer: absent from the NAF cartera (whose numbers have at most 8 digits)."""
    return f"{110_000_000 + n} CB"


def documents_for(stack: LocalStack, service: str = SERVICE) -> list[str]:
    return [r.code for r in stack.deps.catalogue.service(service).requirements]


def send_documents(driver: Driver, n: int, request_id: str, codes: list[str], timeout: float = 60) -> None:
    """The customer answers the WhatsApp request for documents right away."""
    wait_for(lambda: "requirements_request" in driver.messages(request_id), timeout, "requirements request", 0.01)
    for k, code in enumerate(codes):
        driver.send_document(phone(n), f"wamid.bench-{n}-{k}", code)


def finish_sale(driver: Driver, n: int, request_id: str, codes: list[str], timeout: float = 60) -> str:
    """Documents, installation, QC call (agent), end. Returns the execution's status."""
    send_documents(driver, n, request_id, codes, timeout)
    wait_for(lambda: "sale_done" in driver.messages(request_id), timeout, "sale registered", 0.01)
    driver.install(request_id, timeout=timeout)
    qc = driver.open_task(request_id, TaskKind.QC_CALL, timeout=timeout)
    driver.claim(qc.task_id, "agente.bench")
    driver.complete(qc.task_id, "agente.bench", {"satisfaction": 5, "comment": "Muy conforme"})
    return str(driver.finish(request_id, timeout=timeout)["status"])


def sale(driver: Driver, n: int, codes: list[str], timeout: float = 60) -> str:
    """An identified web lead in coverage, sold end to end. Returns the request id."""
    request_id = driver.submit_lead(
        channel="web",
        channel_lead_id=f"bench-{n}",
        phone=phone(n),
        name="Cliente de prueba",
        ci=ci(n),
        service_code=SERVICE,
        location=CENTRO,
    )
    finish_sale(driver, n, request_id, codes, timeout)
    return request_id


def dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def machine(where: str = "local: moto on one machine") -> dict[str, Any]:
    """When and where a figure was measured: UTC date and time, the machine's cores (what this
    process may use, and what the machine has), Python. Every results file carries it."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": usable,
        "machine_cores": os.cpu_count(),
        "python": platform.python_version(),
        "where": where,
    }


def write_result(name: str, data: Mapping[str, Any], where: str = "local: moto on one machine") -> Path:
    """bench/results/<name>: `data` as JSON, with `measured` (see `machine`) first. `where`
    says what the figures are: measured locally, or computed from AWS list prices."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    body = {"measured": machine(where), **{k: v for k, v in data.items() if k != "measured"}}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- the meter -------------------------------------------------------------------------------------


def attribute_size(value: Mapping[str, Any]) -> int:
    """DynamoDB's size of one attribute value (its documented item-size rules, roughly)."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + item_size(raw) + len(raw)
    return 0


def item_size(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def table_indexes(stack: LocalStack) -> dict[str, list[tuple[str, str]]]:
    """Each table's GSIs as (hash key, projection): a write touching an index's key costs more."""
    ddb = stack.client("dynamodb")
    found: dict[str, list[tuple[str, str]]] = {}
    for table in (stack.deps.settings.requests_table, stack.deps.settings.tasks_table):
        described = ddb.describe_table(TableName=table)["Table"]
        found[table] = [
            (
                next(k["AttributeName"] for k in gsi["KeySchema"] if k["KeyType"] == "HASH"),
                gsi["Projection"]["ProjectionType"],
            )
            for gsi in described.get("GlobalSecondaryIndexes", [])
        ]
    return found


class WriteUnits:
    """Write units of DynamoDB writes, estimated from item sizes (moto reports no consumed
    capacity), one rule for every bench:

    - a written item: ceil(KB) on its table (twice in a TransactWriteItems: AWS bills
      transactional writes double), plus ceil(KB) for each ALL-projection index holding it (1
      for a KEYS_ONLY one), plus 1 for each index entry the write removes (the item leaves a
      sparse index, or an index key changes: the old entry is deleted);
    - UpdateItem: as a written item, the item as stored after it (`updated`, from its ALL_NEW
      answer); a refused one ceil(KB) of the stored item;
    - a Delete, or a transaction's Update or ConditionCheck: 1 (2 in a transaction).
    """

    def __init__(self, indexes: dict[str, list[tuple[str, str]]] | None = None) -> None:
        self.indexes = indexes or {}  # table -> [(hash key, projection)]: `table_indexes`
        self._lock = threading.Lock()
        self._indexed: dict[tuple[str, str], dict[str, Any]] = {}  # item -> its index keys, as last written

    def of_call(self, operation: str, params: Mapping[str, Any]) -> int:
        """Units of a write call, known from its parameters (UpdateItem: 0 here, `updated`)."""
        if operation == "TransactWriteItems":
            puts = [i["Put"] for i in params["TransactItems"] if "Put" in i]
            others = len(params["TransactItems"]) - len(puts)
            return sum(self.item(p["TableName"], p["Item"], factor=2) for p in puts) + 2 * others
        if operation == "UpdateItem":
            return 0
        if "Item" in params:
            return self.item(params.get("TableName", ""), params["Item"])
        return self.item(params.get("TableName", ""), params.get("Key", {}))  # a delete

    def updated(self, table: str, parsed: Mapping[str, Any]) -> int:
        """Units of an UpdateItem from its answer: the item as stored after it, or as refused."""
        if "Attributes" in parsed:
            return self.item(table, parsed["Attributes"])
        return max(1, math.ceil(item_size(parsed.get("Item") or {}) / 1024))

    def item(self, table: str, item: Mapping[str, Any], factor: int = 1) -> int:
        base = max(1, math.ceil(item_size(item) / 1024))
        units = factor * base
        keys = {}
        for hash_key, projection in self.indexes.get(table, []):
            if hash_key in item:
                units += base if projection == "ALL" else 1
                keys[hash_key] = item[hash_key]
        name = json.dumps({k: item[k] for k in ("pk", "sk", "task_id") if k in item}, sort_keys=True)
        with self._lock:
            before = self._indexed.get((table, name), {})
            self._indexed[(table, name)] = keys
        return units + sum(1 for key, value in before.items() if keys.get(key) != value)  # entries removed


class Meter:
    """Counts the stack's DynamoDB, S3 and Lambda calls, with estimated request units.

    moto reports no consumed capacity, so units are estimated from item sizes: a write as
    `WriteUnits` says; a read is ceil(size / 4 KB) RRU when strongly consistent, half when
    eventually consistent (every GSI query). A Query is charged on what it returns (a
    FilterExpression's dropped items are not seen here).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.counts: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        self.lambda_seconds: list[float] = []
        self.write_units = WriteUnits()
        self.driver_thread = threading.get_ident()

    def install(self) -> None:
        session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("before-parameter-build.dynamodb", self._before_dynamodb)
        session.events.register("after-call.dynamodb", self._after_dynamodb)
        session.events.register("before-call.s3.PutObject", self._count_s3)
        session.events.register("before-call.lambda.Invoke", self._before_invoke)
        session.events.register("after-call.lambda.Invoke", self._after_invoke)

    def learn_indexes(self, stack: LocalStack) -> None:
        self.write_units.indexes = table_indexes(stack)

    def snapshot(self) -> tuple[Counter[str], Counter[str], int]:
        with self._lock:
            return Counter(self.counts), Counter(self.units), len(self.lambda_seconds)

    def _stack_side(self) -> bool:
        return threading.get_ident() != self.driver_thread

    def _add(self, key: str, units: float = 0.0, unit_key: str = "") -> None:
        with self._lock:
            self.counts[key] += 1
            if unit_key:
                self.units[unit_key] += units

    def _before_dynamodb(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        self._local.params = params  # the API parameters; after-call does not get them
        if not self._stack_side() or model.name not in WRITES:
            return
        self._add("dynamodb_writes", self.write_units.of_call(model.name, params), "wru")

    def _after_dynamodb(self, model: Any, parsed: Mapping[str, Any], **_: Any) -> None:
        params: Mapping[str, Any] = getattr(self._local, "params", {})
        if self._stack_side() and model.name == "UpdateItem":
            with self._lock:
                self.units["wru"] += self.write_units.updated(params.get("TableName", ""), parsed)
        if not self._stack_side() or model.name not in READS:
            return
        factor = 1.0 if params.get("ConsistentRead") and "IndexName" not in params else 0.5
        if model.name == "GetItem":
            units = max(1, math.ceil(item_size(parsed.get("Item", {})) / 4096)) * factor
        elif model.name == "BatchGetItem":
            items = [i for found in parsed.get("Responses", {}).values() for i in found]
            units = sum(max(1, math.ceil(item_size(i) / 4096)) for i in items) * 1.0
        else:
            total = sum(item_size(i) for i in parsed.get("Items", []))
            units = max(1, math.ceil(total / 4096)) * factor
        self._add("dynamodb_reads", units, "rru")

    def _count_s3(self, **_: Any) -> None:
        if self._stack_side():
            self._add("s3_puts")

    def _before_invoke(self, **_: Any) -> None:
        self._local.started = time.perf_counter()
        self._add("lambda_workflow" if self._stack_side() else "lambda_events")

    def _after_invoke(self, **_: Any) -> None:
        started = getattr(self._local, "started", None)
        if started is not None:
            with self._lock:
                self.lambda_seconds.append(time.perf_counter() - started)
