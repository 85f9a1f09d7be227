"""The cold-start bench's local endpoint and the one real event each function handles next.

`Endpoint`: a moto server on loopback with the template's tables, bucket and state machine.
`Seeder`: brings fresh requests to the step before each function's event, through the product's
own services (never hand-written items). `EVENTS`: function folder -> (logical id in
infra/template.yaml, a builder of its next event). Used by bench/coldstart.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack.template import TEMPLATE, Resolver, load_template

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "vd-bench"
CHANNEL_KEY = "bench-web-channel-key"  # the API's channel key (only its digest reaches the API)


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


def logical_ids(res: Resolver) -> dict[str, str]:
    """functions/<folder> -> logical id, from the template (CodeUri)."""
    return {
        Path(spec["Properties"]["CodeUri"]).name: logical
        for logical, spec in res.resources("AWS::Serverless::Function").items()
    }
