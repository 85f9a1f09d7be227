"""The embedded local stack: moto in process, provisioned from `infra/template.yaml`.

moto runs in server mode on a free loopback port, with its Step Functions interpreter executing
the real ASL. Every Lambda of the template is created in moto and its invocations are routed to
the real handler in this process (`moto_bridge`). Handlers reach AWS APIs through the same
server via `AWS_ENDPOINT_URL`, exactly as they would reach AWS.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import socket
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from devstack import moto_bridge
from devstack.template import ROOT, TEMPLATE, Resolver, load_template

REGION = "us-east-1"
ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def _load_handler(code_dir: Path, handler: str, logical: str) -> Any:
    module_file, func = handler.rsplit(".", 1)
    path = code_dir / f"{module_file}.py"
    name = f"vd_functions_{logical}"
    module: ModuleType | None = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return getattr(module, func)


# Connections each boto3 client keeps to the local endpoint. In Lambda a container runs one
# invocation at a time and botocore's default of 10 is plenty; here every handler of every running
# execution shares one process and one client per service, so under a burst most calls found the
# pool taken, opened a connection of their own and closed it after one call (a new TCP connection
# and a new moto server thread per call: bench/load_day.py --profile).
POOL_CONNECTIONS = 128


def _pool_connections() -> None:
    """Every client of boto3's default session (the handlers', the interpreter's, the drivers')
    keeps up to POOL_CONNECTIONS connections to the local endpoint."""
    import boto3
    from botocore.config import Config

    session = boto3._get_default_session()._session
    config = session.get_default_client_config()
    wanted = Config(max_pool_connections=POOL_CONNECTIONS)
    session.set_default_client_config(wanted if config is None else config.merge(wanted))


@dataclass
class LocalStack:
    """Start with `start()`; `endpoint` is the moto server every client talks to."""

    parameters: dict[str, str] = field(default_factory=dict)
    stack_name: str = "vd-local"
    port: int = 0
    endpoint: str = ""
    state_machine_arn: str = ""
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> function name
    environment: dict[str, str] = field(default_factory=dict)
    deps: Any = None  # the process-wide ventas Container the handlers use
    faults: Any = None  # FaultSwitch: outages of NAF, GIS, Smartflex, installations, WhatsApp
    _server: Any = None

    def start(self) -> LocalStack:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        # Keep moto's full Lambda backend (not the "simple" echo one): moto_bridge routes its
        # invocations to our handlers, so Docker is never reached for them.
        default_user_config["lambda"] = {"use_docker": True}
        self.port = self.port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        # The interpreter's own clients call localhost:$MOTO_PORT; handlers use AWS_ENDPOINT_URL.
        os.environ.update(
            {
                "MOTO_PORT": str(self.port),
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "VentasDigitales",
                "POWERTOOLS_DEV": os.environ.get("POWERTOOLS_DEV", "false"),
            }
        )
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        moto_bridge.install()
        _pool_connections()
        self._provision()
        self._wire()
        return self

    def _wire(self) -> None:
        """One container for every handler of this process, with a shared local back office."""
        from ventas import bootstrap
        from ventas.adapters import reference
        from ventas.config import Settings

        self.faults = reference.FaultSwitch()
        self.deps = bootstrap.build(
            Settings.from_env(),
            cartera=reference.ReferenceCartera(faults=self.faults),
            gis=reference.ReferenceGis(faults=self.faults),
            smartflex=reference.LocalSmartflex(faults=self.faults),
            installations=reference.LocalInstallations(faults=self.faults),
            notifier=reference.OutboxNotifier(faults=self.faults),
        )
        bootstrap.use(self.deps)

    def stop(self) -> None:
        from ventas import bootstrap

        bootstrap.use(None)
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)  # type: ignore[call-overload]

    # --- provisioning from the template -------------------------------------------------

    def _provision(self) -> None:
        template = load_template(TEMPLATE)
        res = Resolver(template, self.stack_name, REGION, ACCOUNT, dict(self.parameters))
        self._create_tables(res)
        self._create_buckets(res)
        self._create_functions(res)
        self._create_state_machine(res)

    def _share_environment(self, res: Resolver, functions: list[str]) -> None:
        """All handlers share this process: their resolved variables must agree."""
        shared = [res.function_environment(logical) for logical in functions]
        shared.append(self._api_data_environment(res))
        for variables in shared:
            for key, value in variables.items():
                if self.environment.get(key, value) != value:
                    raise ValueError(f"{key} differs between functions; the local stack shares one process")
                self.environment[key] = value
        os.environ.update(self.environment)

    def _api_data_environment(self, res: Resolver) -> dict[str, str]:
        """The API (infra/api.yaml) runs in this process too: the variables that name this
        stack's data (a bucket, a table, the state machine) come from its declaration."""
        api = load_template(TEMPLATE.parent / "api.yaml")["Resources"]["APIHandler"]["Properties"]
        data = ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Serverless::StateMachine")
        found: dict[str, str] = {}
        for key, value in api["Environment"]["Variables"].items():
            target = value.get("Ref") if isinstance(value, dict) else None
            if target in res.template["Resources"] and res.template["Resources"][target]["Type"] in data:
                found[key] = str(res.resolve(value))
        return found

    def _create_tables(self, res: Resolver) -> None:
        ddb = self.client("dynamodb")
        for logical, spec in res.resources("AWS::DynamoDB::Table").items():
            props = res.resolve(spec["Properties"])
            kwargs = {
                k: props[k]
                for k in ("TableName", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
                if k in props
            }
            ddb.create_table(**kwargs)
            res.physical[logical] = props["TableName"]
            res.arns[logical] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{props['TableName']}"

    def _create_buckets(self, res: Resolver) -> None:
        s3 = self.client("s3")
        for logical, spec in res.resources("AWS::S3::Bucket").items():
            name = res.resolve(spec["Properties"]["BucketName"])  # the rest may name later buckets
            s3.create_bucket(Bucket=name)
            res.physical[logical] = name
            res.arns[logical] = f"arn:aws:s3:::{name}"

    def _create_functions(self, res: Resolver) -> None:
        iam = self.client("iam")
        role = iam.create_role(
            RoleName="vd-local-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        lam = self.client("lambda")
        code = _dummy_zip()
        functions = res.resources("AWS::Serverless::Function")
        # Names first: environments may refer to other resources.
        for logical in functions:
            name = f"{self.stack_name}-{logical}"
            res.physical[logical] = name
            res.arns[logical] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        sm = res.resources("AWS::Serverless::StateMachine")
        for logical, spec in sm.items():
            name = res.resolve(spec["Properties"]["Name"])
            res.physical[logical] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        self._share_environment(res, list(functions))
        for logical, spec in functions.items():
            props = spec["Properties"]
            name = res.physical[logical]
            lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler=props["Handler"], Code={"ZipFile": code}
            )
            code_dir = (TEMPLATE.parent / props["CodeUri"]).resolve()
            moto_bridge.register(name, _load_handler(code_dir, props["Handler"], logical))
            self.functions[logical] = name
            for event in (props.get("Events") or {}).values():
                if event.get("Type") == "EventBridgeRule":
                    self._route_rule(name, res.resolve(event["Properties"]["Pattern"]))

    def _route_rule(self, function_name: str, pattern: dict[str, Any]) -> None:
        """EventBridge, for the events moto does not publish: a rule on Step Functions'
        execution status changes invokes its function (Lambda Invoke) with the same event."""
        if pattern.get("source") != ["aws.states"]:
            return
        wanted = pattern.get("detail", {})
        client: list[Any] = []  # one Lambda client for every delivery (a client costs ~40 ms of CPU)
        building = threading.Lock()

        def deliver(event: dict[str, Any]) -> None:
            detail = event["detail"]
            if self._server is None or any(detail.get(k) not in v for k, v in wanted.items()):
                return
            with building:
                if not client:
                    client.append(self.client("lambda"))
            client[0].invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(event).encode())

        moto_bridge.on_execution_end(deliver)

    def _create_state_machine(self, res: Resolver) -> None:
        sfn = self.client("stepfunctions")
        for logical, spec in res.resources("AWS::Serverless::StateMachine").items():
            name = res.resolve(spec["Properties"]["Name"])
            arn = sfn.create_state_machine(
                name=name,
                definition=res.definition(logical),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/vd-local-role",
                type=spec["Properties"].get("Type", "STANDARD"),
            )["stateMachineArn"]
            self.state_machine_arn = arn


__all__ = ["ROOT", "LocalStack"]
