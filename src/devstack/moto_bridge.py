"""The two places where the local stack reaches into moto (pinned to 5.2.x in pyproject).

1. Lambda: without Docker, moto only echoes an invocation. We route each Invoke, by function
   name, to the project's real handler in this process, and report an unhandled exception the
   way AWS Lambda does (FunctionError with errorType = the exception's class name), so the
   ASL's Retry and Catch see the same error names as in AWS.
2. DynamoDB: moto checks a write's condition and then writes without a lock, so concurrent
   conditional writes can both succeed. DynamoDB makes them atomic; we serialise moto's
   writes so idempotency and "complete once" hold locally as they do in AWS.
3. Step Functions: moto's interpreter builds a new boto3 client for every service call; we
   keep one per (region, service) for the process (boto3 clients are thread-safe). Not per
   thread: the interpreter runs every state in a thread of its own, so a per-thread cache never
   hits (bench/throughput.py: the no-op machine needs 1.75x less CPU with this one).
4. Step Functions: moto parses the definition with ANTLR (pure Python) on every StartExecution,
   0.2-0.6 s of CPU each here; we parse each definition once. The parsed program keeps no
   execution state (retry counters and the like live in each execution's Environment).

The speed-ups (3, 4) are on unless VD_MOTO_CLIENT_CACHE=0 / VD_MOTO_PROGRAM_CACHE=0, so that
`bench/throughput.py` can measure what each one gives.
"""

from __future__ import annotations

import json
import os
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any, Any], Any]

_handlers: dict[str, Handler] = {}
_STATE_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
_CLIENT_USERS = (
    f"{_STATE_TASK}.lambda_eval_utils",
    f"{_STATE_TASK}.service.state_task_service_aws_sdk",
    f"{_STATE_TASK}.service.state_task_service_dynamodb",
    f"{_STATE_TASK}.service.state_task_service_sns",
    f"{_STATE_TASK}.service.state_task_service_sqs",
    f"{_STATE_TASK}.service.state_task_service_events",
    f"{_STATE_TASK}.service.state_task_service_sfn",
)
_installed = False
_lock = threading.Lock()


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def register(function_name: str, handler: Handler) -> None:
    _handlers[function_name] = handler


def invoke_in_process(function_name: str, arn: str, event: Any) -> tuple[str, bool]:
    """Run a registered handler; returns (payload JSON, errored)."""
    handler = _handlers[function_name]
    try:
        result = handler(event, LambdaContext(function_name, arn))
        return json.dumps(result, default=str), False
    except Exception as exc:
        return (
            json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-3:],
                }
            ),
            True,
        )


def atomic_dynamodb_writes() -> None:
    """Serialise moto's DynamoDB writes (condition check + write as one step). Idempotent."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_vd_atomic", False):
        return
    writes = threading.Lock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with writes:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    setattr(DynamoDBBackend, "_vd_atomic", True)  # noqa: B010 - marks the class patched


def _enabled(flag: str) -> bool:
    return os.environ.get(flag, "1") != "0"


def cache_programs() -> None:
    """Parse each state machine definition once per process. Idempotent."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if getattr(ExecutionWorker, "_vd_programs", False):
        return
    original = ExecutionWorker._get_evaluation_entrypoint
    programs: dict[str, Any] = {}

    def entrypoint(self: Any) -> Any:
        definition: str = self._evaluation_details.state_machine_details.definition
        program = programs.get(definition)
        if program is None:
            if len(programs) >= 64:  # a few definitions per process; bounded all the same
                programs.clear()
            program = programs[definition] = original(self)
        return program

    setattr(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)  # noqa: B010
    setattr(ExecutionWorker, "_vd_programs", True)  # noqa: B010 - marks the class patched


def install() -> None:
    """Patch moto once per process. Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        atomic_dynamodb_writes()
        from moto.awslambda.models import LambdaFunction

        original_invoke = LambdaFunction._invoke_lambda

        def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
            if self.function_name not in _handlers:
                result: tuple[str, bool, str] = original_invoke(self, event)
                return result
            payload, errored = invoke_in_process(self.function_name, self.function_arn, event)
            return payload, errored, ""

        setattr(LambdaFunction, "_invoke_lambda", _invoke_lambda)  # noqa: B010
        if _enabled("VD_MOTO_PROGRAM_CACHE"):
            cache_programs()
        if _enabled("VD_MOTO_CLIENT_CACHE"):
            _cache_clients()
        _installed = True


def _cache_clients() -> None:
    """One boto3 client per (region, service) for the interpreter's service calls."""
    from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto

    original_client = sfn_boto.boto_client_for
    cache: dict[tuple[str, str], Any] = {}
    building = threading.Lock()  # boto3's default session is not thread-safe: build one at a time

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        client = cache.get(key)
        if client is None:
            with building:
                client = cache.get(key) or original_client(region, service, state_credentials)
                cache[key] = client
        return client

    setattr(sfn_boto, "boto_client_for", boto_client_for)  # noqa: B010
    # Modules that imported the function by name keep their own reference: patch those too.
    import importlib
    import sys

    for name in _CLIENT_USERS:
        importlib.import_module(name)
    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original_client:
            setattr(module, "boto_client_for", boto_client_for)  # noqa: B010
