"""Drive the local stack as its outside world does: channels, agents, customers, Instalaciones.

Everything goes through the stack's AWS APIs (Lambda Invoke, Step Functions), never through
internal calls, so tests, `make run` and the benchmarks exercise what AWS would run.
Every wait here has a deadline.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from devstack.stack import LocalStack
from ventas.domain.models import SaleRequest
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus

T = TypeVar("T")


class InvokeError(Exception):
    """A Lambda answered with FunctionError: `error_type` is the exception's class name."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class DriverBase:
    """What every driver derives from `execution` and `history`, and the local stack's own
    outbox and back office (the same whether the outside world talks Lambda or HTTP)."""

    def _local(self) -> LocalStack:
        raise NotImplementedError

    def execution(self, request_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def history(self, request_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def finish(self, request_id: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the execution ends; returns DescribeExecution (its main fields)."""

        def ended() -> dict[str, Any] | None:
            described = self.execution(request_id)
            return described if described["status"] != "RUNNING" else None

        return wait_for(ended, timeout, f"end of {request_id}", interval=0.1)

    def states_entered(self, request_id: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"] for e in self.history(request_id) if "stateEnteredEventDetails" in e
        ]

    def messages(self, request_id: str) -> list[str]:
        """Templates of the WhatsApp messages the customer of a request received, oldest first."""
        return [m["template"] for m in self._local().deps.notifier.messages_for(request_id)]

    def outage(self, system: str, times: int | None = None) -> None:
        """A back office (naf, gis, smartflex, installations) stops answering, as in `FaultSwitch`."""
        self._local().faults.fail(system, times)

    def heal(self, system: str) -> None:
        self._local().faults.heal(system)


class Driver(DriverBase):
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self._lambda = stack.client("lambda")
        self._sfn = stack.client("stepfunctions")

    def _local(self) -> LocalStack:
        return self.stack

    # --- invoking functions ------------------------------------------------------------

    def invoke(self, logical: str, event: dict[str, Any]) -> Any:
        response = self._lambda.invoke(FunctionName=self.stack.functions[logical], Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise InvokeError(payload.get("errorType", "Unknown"), payload.get("errorMessage", ""))
        return payload

    def submit_lead(self, **lead: Any) -> str:
        for attempt in range(20):  # as a channel should: the first delivery is still being created
            try:
                return str(self.invoke("IntakeFunction", {"lead": lead})["requestId"])
            except InvokeError as error:
                if error.error_type != "RequestInProgress":
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise InvokeError("RequestInProgress", "still being created after 20 attempts")

    def missed_call(self, caller: str, line: str = "4200400", at: datetime | None = None) -> str:
        call = {"caller": caller, "line": line, "called_at": (at or datetime.now(UTC)).isoformat()}
        return str(self.invoke("IntakeFunction", {"missed_call": call})["requestId"])

    def claim(self, task_id: str, agent: str) -> Any:
        return self.invoke("TasksFunction", {"action": "claim", "taskId": task_id, "agent": agent})

    def complete(self, task_id: str, agent: str, result: dict[str, Any]) -> Any:
        return self.invoke("TasksFunction", {"action": "complete", "taskId": task_id, "agent": agent, "result": result})

    def send_document(
        self, phone: str, media_id: str, requirement: str | None = None, body: bytes = b"%PDF-1.4 demo"
    ) -> Any:
        event = {
            "action": "document",
            "phone": phone,
            "mediaId": media_id,
            "mimeType": "application/pdf",
            "contentBase64": base64.b64encode(body).decode(),
            "receivedAt": datetime.now(UTC).isoformat(),
            "requirement": requirement,
        }
        return self.invoke("RequirementsFunction", event)

    def install(self, request_id: str, timeout: float = 20) -> str:
        """Instalaciones reports the order installed, once it has been handed over."""
        order_id = wait_for(lambda: self.request(request_id).order_id, timeout, f"order of {request_id}")
        wait_for(lambda: order_id in {h.order_id for h in self.stack.deps.installations.pending()}, timeout, "hand-off")
        self.stack.deps.installations.take(order_id)
        event = {"action": "completed", "orderId": order_id, "installedAt": datetime.now(UTC).isoformat()}
        return str(self.invoke("InstallationFunction", event)["status"])

    # --- reading state -----------------------------------------------------------------

    def request(self, request_id: str) -> SaleRequest:
        request: SaleRequest = self.stack.deps.requests.get(request_id)
        return request

    def open_task(self, request_id: str, kind: TaskKind, timeout: float = 20) -> HumanTask:
        def probe() -> HumanTask | None:
            return next(
                (
                    t
                    for t in self.stack.deps.tasks.open_for(request_id)
                    if t.kind == kind and t.status == TaskStatus.OPEN
                ),
                None,
            )

        return wait_for(probe, timeout, f"{kind.value} task of {request_id}")

    def execution_arn(self, request_id: str) -> str:
        arn: str = self.stack.deps.workflow.execution_arn(request_id)  # the production adapter's rule
        return arn

    def execution(self, request_id: str) -> dict[str, Any]:
        described: dict[str, Any] = self._sfn.describe_execution(executionArn=self.execution_arn(request_id))
        return described

    def history(self, request_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn(request_id), "maxResults": 1000}
        while True:
            page = self._sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    # --- what agents, customers and the supervisor see (used by the simulated day) --------

    def inbox(self, limit: int = 200) -> list[HumanTask]:
        """The agents' inbox: open tasks, due first."""
        tasks, _ = self.stack.deps.tasks.inbox(TaskStatus.OPEN, limit)
        return list(tasks)
