"""Drive the local stack through its HTTP API, as channels, agents, customers and ops do.

Same public methods as `devstack.driver.Driver`, but every action is an HTTP call with the
caller's own credentials: a channel's API key, an agent's Cognito token, Meta's signed webhook
for WhatsApp documents, Instalaciones' own key for installation events, an ops token for
executions. Every wait has a deadline.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests

from devstack.api_server import LocalApi, ensure_api
from devstack.driver import DriverBase, InvokeError, wait_for
from devstack.identity import DEFAULT_USERS
from devstack.stack import LocalStack
from ventas.console.customer_sim import document_delivery, document_message
from ventas.domain.models import SaleRequest, Step
from ventas.domain.tasks import EVENT_KINDS, TASK_STEPS, HumanTask, TaskKind, TaskStatus
from ventas.web.auth import Role
from ventas.web.views import TaskView
from ventas.web.whatsapp import sign

TIMEOUT = (5, 30)  # connect, read: seconds
IN_PROGRESS_RETRIES = 20  # 409 request_in_progress: retried, bounded (about 10 s)
_message_ids = itertools.count(1)


# API error codes -> the product's error names, as the Lambda driver's InvokeError reports them.
ERROR_TYPES = {
    "workflow_not_waiting": "WorkflowNotWaiting",
    "claimed_by_other": "TaskConflict",
    "already_completed": "TaskConflict",
    "conflict": "TaskConflict",
    "task_not_found": "TaskNotFound",
    "request_not_found": "RequestNotFound",
    "unknown_service": "UnknownService",
    "validation_error": "InvalidInput",
    "installation_conflict": "InstallationConflict",
    "order_not_found": "OrderNotFound",
}


__all__ = ["ApiFailure", "HttpDriver", "document_delivery"]


class ApiFailure(Exception):
    """The API answered an error: `status`, and its `code` and Spanish `message`."""

    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = str(error.get("code", ""))
        self.error_type = ERROR_TYPES.get(self.code, self.code)
        self.message = str(error.get("message", body))
        self.fields = list(error.get("fields", []))
        super().__init__(f"{status} {self.code}: {self.message}")


class HttpDriver(DriverBase):
    def __init__(self, target: LocalStack | LocalApi, channel_system: str = "web") -> None:
        self._stack = target.stack if isinstance(target, LocalApi) else target
        if isinstance(target, LocalApi):
            self.api = target
        else:  # in the stack's process: serve the API (the state file is the caller's to write)
            self.api = ensure_api(target)
        self.url = self.api.url
        self.channel_system = channel_system
        self._threads = threading.local()

    def _local(self) -> LocalStack:
        return self.stack

    @property
    def stack(self) -> LocalStack:
        """The stack, when this driver runs in its process (the outbox, faults, Instalaciones)."""
        if self._stack is None:
            raise RuntimeError("only a driver in the stack's own process sees its outbox and back office")
        return self._stack

    # --- HTTP ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._threads, "session", None)
        if session is None:
            session = self._threads.session = requests.Session()
        return session

    def headers(self, role: Role, who: str | None = None) -> dict[str, str]:
        if role == Role.CHANNEL:
            return {"x-api-key": self.api.identity.api_keys[who or self.channel_system]}
        if role == Role.INSTALLATIONS:
            return {"x-api-key": self.api.identity.backoffice_keys["installations"]}
        return {"Authorization": "Bearer " + self.api.identity.token(who or DEFAULT_USERS[role], role)}

    def call(
        self,
        method: str,
        path: str,
        role: Role | None = None,
        who: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any:
        """One API call; the JSON answer, or ApiFailure for an error status."""
        sent = {**(self.headers(role, who) if role else {}), **(headers or {})}
        response = self._session().request(
            method, self.url + path, json=body if data is None else None, data=data, headers=sent, timeout=TIMEOUT
        )
        answer = response.json() if response.content else None
        if response.status_code >= 400:
            raise ApiFailure(response.status_code, answer)
        return answer

    # --- channels ----------------------------------------------------------------------------

    def submit_lead(self, **lead: Any) -> str:
        key = lead.pop("idempotency_key", None)
        headers = {"Idempotency-Key": key} if key else None
        system = lead["channel"] if lead.get("channel") in self.api.identity.api_keys else None
        for attempt in range(IN_PROGRESS_RETRIES + 1):
            try:
                answer = self.call("POST", "/v1/requests", Role.CHANNEL, system, body=lead, headers=headers)
                return str(answer["request_id"])
            except ApiFailure as failure:  # as a channel should: the first is still being created
                if failure.code != "request_in_progress" or attempt == IN_PROGRESS_RETRIES:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def missed_call(self, caller: str, line: str = "4200400", at: datetime | None = None) -> str:
        call = {"caller": caller, "line": line, "called_at": (at or datetime.now(UTC)).isoformat()}
        return str(self.call("POST", "/v1/missed-calls", Role.CHANNEL, "ivr", body=call)["request_id"])

    # --- agents ------------------------------------------------------------------------------

    def claim(self, task_id: str, agent: str) -> Any:
        return self.call("POST", f"/v1/tasks/{task_id}/claim", Role.AGENT, agent)

    def complete(self, task_id: str, agent: str, result: dict[str, Any]) -> Any:
        return self.call("POST", f"/v1/tasks/{task_id}/complete", Role.AGENT, agent, body=result)

    # --- customers (WhatsApp, through Meta's signed webhook) ----------------------------------

    def whatsapp_delivery(self, payload: dict[str, Any]) -> Any:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(self.api.whatsapp_secret, data)}
        return self.call("POST", "/v1/whatsapp/webhook", data=data, headers=headers)

    def send_document(
        self, phone: str, media_id: str, requirement: str | None = None, body: bytes = b"%PDF-1.4 demo"
    ) -> Any:
        """A document message as Meta delivers it; its content comes from the media source."""
        message = document_message(phone, media_id, requirement, f"wamid.local-{next(_message_ids)}", int(time.time()))
        return self.whatsapp_delivery(document_delivery([message]))

    # --- Instalaciones (OPR-PAS-P02): its own key on the API ------------------------------

    def installation_event(self, order_id: str, event: dict[str, Any]) -> Any:
        """POST /v1/orders/{order_id}/installation-events with Instalaciones' key."""
        return self.call("POST", f"/v1/orders/{order_id}/installation-events", Role.INSTALLATIONS, body=event)

    def handed_off(self, request_id: str, timeout: float = 20) -> str:
        """The order id, once the workflow has handed it to Instalaciones."""
        order_id = wait_for(lambda: self.request(request_id).order_id, timeout, f"order of {request_id}")
        wait_for(
            lambda: any(h["event"] == "installation_handed_off" for h in self._detail(request_id)["history"]),
            timeout,
            f"hand-off of {request_id}",
            interval=0.1,
        )
        if self._stack is not None:  # keep the simulated Instalaciones queue in step
            self.stack.deps.installations.take(order_id)
        return str(order_id)

    def install(self, request_id: str, timeout: float = 20, installed_at: datetime | None = None) -> str:
        """Instalaciones reports the order installed; "recorded" (202) or "duplicate" (200)."""
        order_id = self.handed_off(request_id, timeout)
        event = {
            "kind": "completed",
            "event_id": f"opr-{request_id}-done",
            "installed_at": (installed_at or datetime.now(UTC)).isoformat(),
        }
        answer = self.installation_event(order_id, event)
        return "duplicate" if answer["duplicate"] else "recorded"

    # --- reading state ------------------------------------------------------------------------

    def _detail(self, request_id: str) -> Any:
        return self.call("GET", f"/v1/requests/{request_id}", Role.AGENT)

    def request(self, request_id: str) -> SaleRequest:
        """The request as an agent reads it (CI and phone in clear), as the domain model."""
        d = self._detail(request_id)
        return SaleRequest(
            request_id=d["request_id"],
            channel=d["channel"],
            channel_lead_id=d["channel_lead_id"],
            status=d["state"],
            step=Step(d["step"]["code"]),
            created_at=d["created_at"],
            updated_at=d["updated_at"],
            phone=d["customer"]["phone"],
            name=d["customer"]["name"],
            ci=d["customer"]["ci"],
            service_code=d["service_code"],
            documents=[
                {k: doc[k] for k in ("requirement", "media_id", "mime_type", "received_at")} for doc in d["documents"]
            ],
            order_id=d["order_id"],
            expected_completion_date=d["expected_completion_date"],
            installed_at=d["installed_at"],
            qc_at=d["qc_at"],
            satisfaction=d["satisfaction"],
            outcome=d["outcome"],
            reason=d["reason"],
            joined_leads=d["joined_leads"],
        )

    def open_task(self, request_id: str, kind: TaskKind, timeout: float = 20) -> TaskView:
        """The open task of `kind` for a request, found in the inbox (filtered by its step when fixed)."""

        def probe() -> TaskView | None:
            page: str | None = None
            for _ in range(20):  # bounded: 20 pages of 100
                # An event's task carries the request's step, not a fixed one: no step filter.
                step = "" if kind in EVENT_KINDS else f"&step={TASK_STEPS[kind].value}"
                query = f"/v1/tasks?status=open{step}&limit=100"
                answer = self.call("GET", query + (f"&page={page}" if page else ""), Role.AGENT)
                for item in answer["items"]:
                    if item["request_id"] == request_id and item["kind"] == kind.value:
                        return TaskView.model_validate(item)
                page = answer["next_page"]
                if page is None:
                    return None
            return None

        return wait_for(probe, timeout, f"{kind.value} task of {request_id}", interval=0.1)

    def graph(self, request_id: str) -> Any:
        return self.call("GET", f"/v1/requests/{request_id}/execution", Role.OPS)

    def execution(self, request_id: str) -> dict[str, Any]:
        """DescribeExecution's main fields, read from the ops graph."""
        graph = self.graph(request_id)
        return {"status": graph["status"], "startDate": graph["started_at"], "stopDate": graph["stopped_at"]}

    def history(self, request_id: str) -> list[dict[str, Any]]:
        """Execution events in GetExecutionHistory's shape, as far as the API shows them."""
        events = []
        for e in self.graph(request_id)["events"]:
            event: dict[str, Any] = {"id": e["id"], "type": e["type"], "timestamp": e["timestamp"]}
            if e["type"].endswith("StateEntered"):
                event["stateEnteredEventDetails"] = {"name": e["state"]}
            events.append(event)
        return events

    # --- what agents, customers and the supervisor see (used by the simulated day) ----------

    def inbox(self, limit: int = 200) -> list[TaskView]:
        """The agents' inbox as an agent reads it: open tasks, due first."""
        found: list[TaskView] = []
        page: str | None = None
        while len(found) < limit:
            query = f"/v1/tasks?status=open&limit={min(100, limit - len(found))}" + (f"&page={page}" if page else "")
            answer = self.call("GET", query, Role.AGENT)
            found += [TaskView.model_validate(item) for item in answer["items"]]
            page = answer["next_page"]
            if page is None:
                break
        return found


class Driver(HttpDriver):
    """`HttpDriver` in the stack's own process: the same actions over HTTP, state read straight
    from the stack (faster polling for tests and benches), and the IVR's missed calls by the
    direct invoke of the intake function that an IVR flow uses (its documented entry)."""

    def __init__(self, stack: LocalStack, channel_system: str = "web") -> None:
        super().__init__(stack, channel_system)
        self._lambda = stack.client("lambda")
        self._sfn = stack.client("stepfunctions")

    def missed_call(self, caller: str, line: str = "4200400", at: datetime | None = None) -> str:
        call = {"caller": caller, "line": line, "called_at": (at or datetime.now(UTC)).isoformat()}
        return str(self.invoke_intake({"missed_call": call})["requestId"])

    def invoke_intake(self, event: dict[str, Any]) -> Any:
        """Lambda Invoke of the IntakeFunction, as the IVR flow does; InvokeError on FunctionError."""
        response = self._lambda.invoke(FunctionName=self.stack.functions["IntakeFunction"], Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise InvokeError(payload.get("errorType", "Unknown"), payload.get("errorMessage", ""))
        return payload

    # --- reading state straight from the stack ------------------------------------------------

    def request(self, request_id: str) -> SaleRequest:
        request: SaleRequest = self.stack.deps.requests.get(request_id)
        return request

    def open_task(self, request_id: str, kind: TaskKind, timeout: float = 20) -> Any:
        def probe() -> HumanTask | None:
            found = (t for t in self.stack.deps.tasks.open_for(request_id) if t.kind == kind)
            return next((t for t in found if t.status == TaskStatus.OPEN), None)

        return wait_for(probe, timeout, f"{kind.value} task of {request_id}")

    def handed_off(self, request_id: str, timeout: float = 20) -> str:
        order_id = wait_for(lambda: self.request(request_id).order_id, timeout, f"order of {request_id}")
        history = self.stack.deps.requests.history
        wait_for(
            lambda: any(h.event == "installation_handed_off" for h in history(request_id)),
            timeout,
            f"hand-off of {request_id}",
        )
        self.stack.deps.installations.take(order_id)
        return str(order_id)

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

    def inbox(self, limit: int = 200) -> list[Any]:
        tasks, _ = self.stack.deps.tasks.inbox(TaskStatus.OPEN, limit)
        return list(tasks)
