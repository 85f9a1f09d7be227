"""The two places where the local stack reaches into moto (pinned to 5.2.x in pyproject).

1. Lambda: without Docker, moto only echoes an invocation. We route each Invoke, by function
   name, to the project's real handler in this process, and report an unhandled exception the
   way AWS Lambda does (FunctionError with errorType = the exception's class name), so the
   ASL's Retry and Catch see the same error names as in AWS.
2. DynamoDB (`devstack.moto_dynamodb`): concurrent conditional writes made atomic, item-level
   rollback of transactions, and queries that do not sort the whole table.
3. Step Functions: moto's interpreter builds a new boto3 client for every service call; we
   keep one per (region, service) for the process (boto3 clients are thread-safe). Not per
   thread: the interpreter runs every state in a thread of its own, so a per-thread cache never
   hits (bench/throughput.py: the no-op machine needs 1.75x less CPU with this one).
4. Step Functions: moto parses the definition with ANTLR (pure Python) on every StartExecution,
   0.2-0.6 s of CPU each here; we parse each definition once. The parsed program keeps no
   execution state (retry counters and the like live in each execution's Environment).

5. Step Functions, ends of executions as AWS has them (moto 5.2.5 differs):
   - StopExecution of an execution that waits for a task token leaves it RUNNING and still takes
     SendTaskSuccess; AWS ends it ABORTED at once. We mark it ABORTED with its stop date and wake
     its waits, so a later SendTaskSuccess/Failure/Heartbeat is refused as in AWS.
   - SendTaskHeartbeat on a wait without HeartbeatSeconds is InvalidToken in moto; AWS accepts
     it while the task waits (the product uses it to ask "does the workflow still wait?"). A
     token already answered or timed out is refused with TaskTimedOut, as in AWS ("the task
     associated with the token has already been closed"); moto's own TaskTimedOut() and
     TaskDoesNotExist() lack their message and answer a 500 instead.
   - A task state's timeout (TimeoutSeconds) ends the state, but moto leaves the wait's token
     open: its thread keeps waiting (its own timer starts after the Lambda call returned), so
     SendTaskHeartbeat says it waits and SendTaskSuccess is accepted, and the answer is lost
     while the execution goes on through the Catch. AWS closes the token with the timeout
     ("Task Timed Out"). We close it when the state times out, atomically with SendTask*.
   - AWS publishes "Step Functions Execution Status Change" to EventBridge when an execution
     ends; moto publishes nothing. `on_execution_end(listener)` is called with that event's
     shape for every ended execution (the local stack feeds the rule's function with it).

6. The server finds the backend of every request by trying the URL patterns of every AWS service
   it knows on the request's host, one regular expression after another (5 s of CPU in a
   400-lead day: bench/load_day.py --profile); the answer for a host never changes, so each host
   is looked up once.

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

from devstack import moto_dynamodb

Handler = Callable[[Any, Any], Any]
# Kept importable from here, where it lived before devstack.moto_dynamodb (tests import it).
atomic_dynamodb_writes = moto_dynamodb.atomic_dynamodb_writes

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


ExecutionListener = Callable[[dict[str, Any]], None]
_listeners: list[ExecutionListener] = []


def on_execution_end(listener: ExecutionListener) -> None:
    """Call `listener` with the EventBridge event of every execution that ends (any status),
    in a thread of its own (as EventBridge delivers it: after the end, asynchronously)."""
    _listeners.append(listener)


def status_change_event(execution: Any) -> dict[str, Any]:
    """EventBridge's "Step Functions Execution Status Change" for a moto execution."""

    def millis(moment: Any) -> int | None:
        return None if moment is None else int(moment.timestamp() * 1000)

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution.account_id,
        "time": (execution.stop_date or execution.start_date).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": execution.exec_status.value,
            "startDate": millis(execution.start_date),
            "stopDate": millis(execution.stop_date),
            "input": None,
            "output": None,
            "error": execution.error,
            "cause": execution.cause,
        },
    }


def _publish(execution: Any) -> None:
    if getattr(execution, "_vd_published", False):
        return
    execution._vd_published = True
    event = status_change_event(execution)
    for listener in list(_listeners):
        threading.Thread(target=listener, args=(event,), name="vd-execution-end", daemon=True).start()


def aws_execution_ends() -> None:
    """Point 5 of the module docstring. Idempotent."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

    if getattr(Execution, "_vd_ends", False):
        return

    class TaskClosed(AWSError):
        TYPE = "TaskTimedOut"
        STATUS = 400

    def ended(endpoint: Any) -> None:
        # Timed out, answered already, or its execution stopped: closed, as AWS says it.
        if endpoint.consumer_error is not None or endpoint._notify_event.is_set():
            raise TaskClosed("Task Timed Out: 'Provided task does not exist anymore'")

    def heartbeat(self: Any, callback_id: str) -> bool:
        endpoint = self._pool.get(callback_id, None)
        if endpoint is None:
            return False
        with _answering:
            ended(endpoint)
        endpoint.notify_heartbeat()
        return True

    original_notify = CallbackPoolManager.notify

    def notify(self: Any, callback_id: str, outcome: Any) -> bool:
        with _answering:
            endpoint = self._pool.get(callback_id, None)
            if endpoint is not None:
                ended(endpoint)
            result: bool = original_notify(self, callback_id, outcome)
        return result

    original_stop = Execution.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        original_stop(self, stop_date, error, cause)
        if self.exec_status == ExecutionStatus.RUNNING:
            self.exec_status = ExecutionStatus.ABORTED
            self.stop_date = stop_date
            worker = self.exec_worker
            if worker is not None:
                for endpoint in list(worker.env.callback_pool_manager._pool.values()):
                    endpoint.interrupt_all()
            _publish(self)

    original_terminated = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        stopped = self.execution.exec_status == ExecutionStatus.ABORTED
        original_terminated(self)
        if stopped:  # keep the stop as AWS reported it, whatever the interrupted state did
            self.execution.exec_status = ExecutionStatus.ABORTED
        _publish(self.execution)

    setattr(CallbackPoolManager, "heartbeat", heartbeat)  # noqa: B010
    setattr(CallbackPoolManager, "notify", notify)  # noqa: B010
    setattr(Execution, "stop", stop)  # noqa: B010
    setattr(BaseExecutionWorkerCommunication, "terminated", terminated)  # noqa: B010
    setattr(Execution, "_vd_ends", True)  # noqa: B010 - marks the class patched


_answering = threading.Lock()  # SendTask* and a state's timeout close a token one at a time


def timeouts_close_tokens() -> None:
    """Point 5: a task state that times out closes its wait's token at once. Idempotent."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout

    if getattr(ExecutionState, "_vd_timeouts", False):
        return
    original_evaluate = ExecutionState._evaluate_with_timeout

    def evaluate_with_timeout(self: Any, env: Any) -> None:
        token = (env.states.context_object.context_object_data.get("Task") or {}).get("Token")
        try:
            original_evaluate(self, env)
        except EvalTimeoutError:
            endpoint = None if token is None else env.callback_pool_manager.get(token)
            if endpoint is not None:
                with _answering:  # from now on SendTask* on this token is TaskTimedOut, as in AWS
                    endpoint.report(CallbackConsumerTimeout())
                    endpoint.interrupt_all()
            raise

    setattr(ExecutionState, "_evaluate_with_timeout", evaluate_with_timeout)  # noqa: B010
    setattr(ExecutionState, "_vd_timeouts", True)  # noqa: B010 - marks the class patched


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


def task_token_errors() -> None:
    """moto 5.2's SendTaskSuccess/Failure/Heartbeat raise TaskTimedOut and TaskDoesNotExist
    without the message their error class requires, so a call on a wait that had just ended
    answered HTTP 500 (a TypeError) instead of AWS's 400 with that error code, which the product
    reads as "the workflow no longer waits". Give them their code and a message. Idempotent."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser import api

    for cls in (api.TaskTimedOut, api.TaskDoesNotExist):
        name = cls.__name__

        def __init__(self: Any, message: str = "", *_: Any, __name: str = name, **__: Any) -> None:
            AWSError.__init__(self, message or f"{__name}: the task token no longer waits", __name, 400)

        cls.TYPE = name
        setattr(cls, "__init__", __init__)  # noqa: B010 - a moto class


def install() -> None:
    """Patch moto once per process. Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        moto_dynamodb.install()
        task_token_errors()
        aws_execution_ends()
        timeouts_close_tokens()
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
        _cache_backend_lookup()
        _installed = True


def _cache_backend_lookup() -> None:
    """Point 6: each host's backend looked up once per process."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:
            found[host] = original(self, host)
        return found[host]

    setattr(DomainDispatcherApplication, "get_backend_for_host", get_backend_for_host)  # noqa: B010


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
