"""Cold start of every function: init, and init plus its first real event, against the floor.

What a caller waits for on a cold start is the function's init plus its first invocation, so
that is the main figure. Each sample is a whole fresh interpreter (a subprocess) that:

- imports the handler the way Lambda does (`app` from the function's folder, with the
  environment infra/template.yaml gives it, X-Ray subsegments off as by default): that is init;
- handles ONE real event (the one the workflow, a rule or a channel sends) against a local
  DynamoDB endpoint: a moto server this bench starts, with the template's tables provisioned and
  what each event needs seeded (through the product's own services, never by hand-written items).

The floor is a fresh interpreter that imports boto3, creates one DynamoDB client (its init) and
makes one GetItem against the same endpoint. The figure is CPU time of the child (user + system,
read by the child itself with os.times(), so interpreter start-up counts on both sides), medians
over `--repeat` samples; samples interleave the floor and the functions so drift hits all alike.
Init alone is reported too: moving work from init into the first call is no gain, and the ratio
of init + first event is the one the targets (TARGETS) are about.

    .venv/bin/python -m bench.coldstart [--repeat 7] [--only eligibility,api]

Writes bench/results/coldstart.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack.template import ROOT, TEMPLATE, Resolver, load_template

RESULTS = Path(__file__).resolve().parent / "results"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "vd-bench"
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
CHANNEL_KEY = "bench-web-channel-key"  # the API's channel key (only its digest reaches the API)

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
# A reference, not a target: the floor plus importing pydantic as the domain does (its import
# alone, no model). The share of any function's ratio that pydantic itself accounts for.
PYDANTIC_FLOOR = FLOOR.replace(
    "import boto3\n", "import boto3\nfrom pydantic import AwareDatetime, BaseModel, ConfigDict, Field\n"
)
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


# --- the local endpoint --------------------------------------------------------------------------


class Endpoint:
    """A moto server on loopback with the template's tables, bucket and state machine."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        from devstack.stack import LocalStack, free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.res = Resolver(load_template(TEMPLATE), STACK, REGION, ACCOUNT)
        stack = LocalStack(stack_name=STACK, port=self.port, endpoint=self.url)
        stack._create_tables(self.res)
        stack._create_buckets(self.res)
        for logical in self.res.resources("AWS::Serverless::Function"):  # the ASL's substitutions
            self.res.physical[logical] = f"{STACK}-{logical}"
            self.res.arns[logical] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{logical}"
        stack._create_state_machine(self.res)
        for logical in self.res.resources("AWS::Serverless::StateMachine"):
            self.res.physical[logical] = stack.state_machine_arn
        os.environ.update({**self.environment("IntakeFunction"), **self.api_environment()})  # the seeder's
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the seeder's lines; the children log as in AWS

    def environment(self, logical: str) -> dict[str, str]:
        env = self.res.function_environment(logical)
        env.pop("VD_PII_KEY_SECRET_ARN", None)  # a Secrets Manager read: not in this comparison
        env.pop("VD_BACKOFFICE_SECRET_ARN", None)
        return env

    def api_environment(self) -> dict[str, str]:
        env = self.environment("EligibilityFunction")  # the globals and the data's names
        api = load_template(TEMPLATE.parent / "api.yaml")["Resources"]["APIHandler"]["Properties"]
        for key, value in api["Environment"]["Variables"].items():
            target = value.get("Ref") if isinstance(value, dict) else None
            if target in self.res.physical:
                env[key] = self.res.physical[target]
        env["VD_CHANNEL_KEYS"] = "web:" + hashlib.sha256(CHANNEL_KEY.encode()).hexdigest()
        env["VD_CHANNEL_KEY_IDS"] = "bench-key-id:web"  # API Gateway's id of the same key
        return env

    def stop(self) -> None:
        self._server.stop()


# --- one real event per function, with what it needs seeded ------------------------------------


class Seeder:
    """Brings fresh requests to the step before each function's event, through the services."""

    def __init__(self) -> None:
        from ventas import bootstrap
        from ventas.config import Settings

        self.deps = bootstrap.build(Settings.from_env())
        bootstrap.use(self.deps)
        self.n = 0

    def lead(self) -> str:
        from ventas.domain.models import Lead
        from ventas.services.intake import submit_lead

        self.n += 1
        lead = Lead.model_validate(
            {
                "channel": "web",
                "channel_lead_id": f"bench-seed-{os.getpid()}-{self.n}",
                "phone": f"+5917{self.n:07d}",
                "name": "Cliente de prueba",
                "ci": f"{110_000_000 + self.n} CB",
                "service_code": "INTERNET_FTTH_100",
                "location": {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570},
            }
        )
        result = submit_lead(self.deps, lead)
        assert result.request_id is not None
        return result.request_id

    def eligible(self) -> str:
        from ventas.services.stages import check_impediments

        request_id = self.lead()
        check_impediments(self.deps, request_id)
        return request_id

    def covered(self) -> str:
        from ventas.services.stages import check_coverage

        request_id = self.eligible()
        check_coverage(self.deps, request_id)
        return request_id

    def waiting_documents(self) -> str:
        from ventas.services.stages import request_documents

        request_id = self.covered()
        request_documents(self.deps, request_id, f"token-documents-{request_id}", reminder=False)
        return request_id

    def sold(self) -> str:
        from ventas.services.stages import register_sale

        request_id = self.waiting_documents()
        register_sale(self.deps, request_id)
        return request_id

    def handed_off(self) -> str:
        from ventas.services.stages import hand_off_installation

        request_id = self.sold()
        hand_off_installation(self.deps, request_id, f"token-installation-{request_id}")
        return request_id


def _stage(request_id: str, **extra: Any) -> dict[str, Any]:
    return {"requestId": request_id, **extra}


def _missed_call(seeder: Seeder) -> dict[str, Any]:
    seeder.n += 1
    called = (datetime.now(UTC) - timedelta(minutes=5)).astimezone().isoformat()
    return {"missed_call": {"caller": f"+5917{500_000 + seeder.n:07d}", "line": "4200400", "called_at": called}}


def _lead_request() -> dict[str, Any]:
    body = {
        "channel": "web",
        "channel_lead_id": f"bench-api-{os.urandom(6).hex()}",
        "phone": f"+5917{int.from_bytes(os.urandom(3)) % 10_000_000:07d}",
        "name": "Cliente de prueba",
        "ci": f"{120_000_000 + int.from_bytes(os.urandom(3))} CB",
        "service_code": "INTERNET_FTTH_100",
        "location": {"address": "Calle España 123, Cochabamba", "latitude": -17.3935, "longitude": -66.1570},
    }
    headers = {"content-type": "application/json", "x-api-key": CHANNEL_KEY}
    return {
        "resource": "/v1/requests",
        "path": "/v1/requests",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/requests",
            "httpMethod": "POST",
            "path": "/prod/v1/requests",
            "stage": "prod",
            "requestId": "bench",
            "identity": {"sourceIp": "127.0.0.1", "apiKeyId": "bench-key-id"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _execution_failed(request_id: str) -> dict[str, Any]:
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STACK}-ventas-digitales:{request_id}"
    return {
        "version": "0",
        "id": "bench",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [arn],
        "detail": {"executionArn": arn, "name": request_id, "status": "FAILED", "error": "States.TaskFailed"},
    }


# Function -> (logical id in the template, the event it handles next, built from fresh state).
EVENTS: dict[str, tuple[str, Callable[[Seeder], dict[str, Any]]]] = {
    "intake": ("IntakeFunction", _missed_call),
    "eligibility": ("EligibilityFunction", lambda s: _stage(s.lead())),
    "coverage": ("CoverageFunction", lambda s: _stage(s.eligible())),
    "requirements": (
        "RequirementsFunction",
        lambda s: _stage(s.covered(), action="request", taskToken="token-documents-bench"),
    ),
    "sale": ("SaleFunction", lambda s: _stage(s.waiting_documents())),
    "installation": (
        "InstallationFunction",
        lambda s: _stage(s.sold(), action="hand_off", taskToken="token-installation-bench"),
    ),
    "tasks": (
        "TasksFunction",
        lambda s: _stage(
            s.handed_off(),
            action="open",
            kind="qc_call",
            taskToken=f"token-qc-{os.urandom(4).hex()}",
            timeoutSeconds=3600,
        ),
    ),
    "qc": ("QcFunction", lambda s: _stage(s.handed_off(), action="close")),
    "notify": ("NotifyFunction", lambda s: _stage(s.waiting_documents(), action="abandon", error="States.Timeout")),
    "executions": ("ExecutionEndFunction", lambda s: _execution_failed(s.lead())),
    "kpi": ("KpiFunction", lambda s: {"report": "kpi"}),
    "retention": ("RetentionFunction", lambda s: {"job": "retention"}),
    "api": ("", lambda s: _lead_request()),
}


def _logical_ids(res: Resolver) -> dict[str, str]:
    """functions/<folder> -> logical id, from the template (CodeUri)."""
    return {
        Path(spec["Properties"]["CodeUri"]).name: logical
        for logical, spec in res.resources("AWS::Serverless::Function").items()
    }


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


def measure(repeat: int, only: list[str]) -> dict[str, Any]:
    endpoint = Endpoint()
    try:
        seeder = Seeder()
        logical = _logical_ids(endpoint.res)
        common = {
            **_base_env(),
            "AWS_ENDPOINT_URL": endpoint.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        envs: dict[str, dict[str, str]] = {}
        for name in only:
            folder = str(ROOT / "functions" / name)
            own = endpoint.api_environment() if name == "api" else endpoint.environment(logical[name])
            envs[name] = {**common, **own, "LAMBDA_TASK_ROOT": folder, "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{name}"}
        table = endpoint.res.physical["RequestsTable"]
        key = json.dumps({"pk": {"S": "bench#floor"}, "sk": {"S": "bench#floor"}})
        samples: dict[str, list[dict[str, float]]] = {"floor": [], "floor_with_pydantic": []}
        for _ in range(repeat + 1):  # the first round warms the disk cache and is dropped
            samples["floor"].append(_run(FLOOR, [table, key], common))
            samples["floor_with_pydantic"].append(_run(PYDANTIC_FLOOR, [table, key], common))
            for name in only:
                event = EVENTS[name][1](seeder)
                entry = "app" if name == "api" else "handler"
                folder = str(ROOT / "functions" / name)
                samples.setdefault(name, []).append(_run(COLD_START, [folder, json.dumps(event), entry], envs[name]))
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
        }
    with_pydantic = median("floor_with_pydantic", "total")
    return {
        "floor": {"init_cpu_seconds": round(floor["init"], 4), "total_cpu_seconds": round(floor["total"], 4)},
        "floor_with_pydantic": {
            "total_cpu_seconds": round(with_pydantic, 4),
            "ratio": round(with_pydantic / floor["total"], 3),
        },
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
    reference = result["floor_with_pydantic"]
    print(
        f"the floor plus importing pydantic alone: {reference['total_cpu_seconds'] * 1000:.0f} ms, "
        f"{reference['ratio']:.2f}x"
    )
    print(f"{'function':<13}{'init':>16}{'init + 1st event':>22}{'target':>9}")
    for name, f in result["functions"].items():
        print(
            f"{name:<13}{f['init_cpu_seconds'] * 1000:>7.0f} ms {f['init_ratio']:>5.2f}x"
            f"{f['total_cpu_seconds'] * 1000:>12.0f} ms {f['ratio']:>5.2f}x"
            f"{'<=' if f['met'] else '> '}{f['target']:>4.1f}x"
        )


if __name__ == "__main__":
    main()
