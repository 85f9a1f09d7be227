"""Comteco's four back-office systems on one local HTTP server, driven by docs/backoffice/*.yaml.

Each system lives under its own prefix (`/naf`, `/gis`, `/smartflex`, `/installations`). Every
request is checked against its contract (route, method, parameters, required headers, body schema)
and so is every answer the server sends; a mismatch lands in `violations`, which the tests' fixture
requires to be empty, so the adapters and the documents cannot drift apart.

Behaviour per system can be scripted ahead of the contract's default (`Action`): a fixed status,
a delay, or an answer lost after the request was handled. Delays end early when the server stops,
and each connection has a socket timeout, so no request outlives its test.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

DOCS = Path(__file__).resolve().parents[2] / "docs" / "backoffice"
SYSTEMS = ("naf", "gis", "smartflex", "installations")
LA_PAZ = timezone(timedelta(hours=-4))


@cache
def load_spec(system: str) -> dict[str, Any]:
    """The contract as written; use `resolve` to follow its `$ref`s."""
    with (DOCS / f"{system}.yaml").open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def resolve(node: Any, root: dict[str, Any]) -> Any:
    """`node` with every local `$ref` inlined (the contracts have no recursive schemas)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target, root)
        return {key: resolve(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, root) for item in node]
    return node


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(instance)]


@cache
def _operations(system: str) -> list[tuple[re.Pattern[str], str, str, dict[str, Any]]]:
    """(path regex, template, method, resolved operation with the path item's parameters)."""
    spec = load_spec(system)
    found = []
    for template, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        for method in ("get", "put", "post", "patch", "delete"):
            if method in item:
                operation = resolve(item[method], spec)
                operation["parameters"] = resolve(item.get("parameters", []), spec) + operation.get("parameters", [])
                found.append((pattern, template, method, operation))
    return found


def find_operation(system: str, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    """(path template, resolved operation, path parameters) of a concrete request."""
    for pattern, template, verb, operation in _operations(system):
        match = pattern.match(path)
        if match and verb == method.lower():
            return template, operation, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


@dataclass(frozen=True)
class Action:
    """One scripted answer. `status=None`: behave as the contract says (after `delay_s`)."""

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hold: threading.Event | None = None  # answer only once the test sets it (bounded: 2 s)
    lose_answer: bool = False  # handle the request, then close without answering


@dataclass(frozen=True)
class Seen:
    system: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: Any


Answer = tuple[int, Any, dict[str, str]]


class FakeBackOffice:
    def __init__(self, token: str = "test-token", tls: ssl.SSLContext | None = None) -> None:
        self.token = token
        self.scheme = "https" if tls is not None else "http"
        self.violations: list[str] = []
        # NAF: CI -> impediment codes. GIS: zones with a lat/lon box, in no particular order.
        self.cartera: dict[str, list[str]] = {"6789012 CB": ["DEBT", "CENTRAL_DE_RIESGOS", "DEBT"], "4567890 CB": []}
        self.zones: list[dict[str, Any]] = [
            {
                "box": (-17.40, -17.38, -66.17, -66.15),
                "zone": {"zoneId": "CBB-CERCADO-HFC", "name": "Cercado", "technology": "HFC", "maxSpeedMbps": 100},
            },
            {
                "box": (-17.40, -17.38, -66.17, -66.15),
                "zone": {
                    "zoneId": "CBB-CENTRO-FTTH",
                    "name": "Centro – Casco Viejo",
                    "technology": "FTTH",
                    "maxSpeedMbps": 1000,
                    "features": ["static_ip"],
                },
            },
        ]
        self.sales: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> registration
        self.handoffs: dict[str, dict[str, Any]] = {}  # Idempotency-Key (order id) -> hand-off
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Action]] = {system: deque() for system in SYSTEMS}
        self._calls: list[Seen] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    # --- life cycle and test controls ---------------------------------------------------------------

    def start(self) -> FakeBackOffice:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends scripted delays at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def url(self, system: str) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}/{system}"

    def script(self, system: str, *actions: Action) -> None:
        with self._lock:
            self._scripts[system].extend(actions)

    def calls(self, system: str | None = None) -> list[Seen]:
        with self._lock:
            return [c for c in self._calls if system is None or c.system == system]

    # --- serving ------------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        system, _, rest = parts.path.lstrip("/").partition("/")
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            self._violation(f"{system}: request body is not JSON")
        seen = Seen(
            system=system,
            method=handler.command,
            path="/" + rest,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self._calls.append(seen)
            action = self._scripts[system].popleft() if self._scripts.get(system) else Action()
        if action.delay_s:
            self._stopping.wait(action.delay_s)
        if action.hold is not None:
            action.hold.wait(timeout=2)
        if action.status is not None:
            status, payload, headers = action.status, action.body, dict(action.headers)
        else:
            status, payload, headers = self._contract(seen)
        self._check_answer(seen, status, payload)
        handler.close_connection = True
        if action.lose_answer:
            return
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            handler.send_response(status)
            for name, value in {
                **headers,
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
            }.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up first (a timeout test)

    def _violation(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)

    def _contract(self, seen: Seen) -> Answer:
        found = find_operation(seen.system, seen.method, seen.path) if seen.system in SYSTEMS else None
        if found is None:
            self._violation(f"{seen.system}: {seen.method} {seen.path} is not in the contract")
            return 404, {"code": "ROUTE_NOT_FOUND"}, {}
        template, operation, path_params = found
        if seen.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"code": "UNAUTHORIZED"}, {}
        problems = self._request_problems(seen, operation, path_params)
        if problems:
            for problem in problems:
                self._violation(f"{seen.system} {seen.method} {template}: {problem}")
            return 400, {"code": "CONTRACT_VIOLATION", "message": "; ".join(problems)}, {}
        behaviour = getattr(self, f"_op_{operation['operationId']}")
        answer: Answer = behaviour(seen, path_params)
        return answer

    def _request_problems(self, seen: Seen, operation: dict[str, Any], path_params: dict[str, str]) -> list[str]:
        problems: list[str] = []
        for parameter in operation["parameters"]:
            name, where, schema = parameter["name"], parameter["in"], parameter["schema"]
            value: Any = {
                "path": path_params,
                "query": seen.query,
                "header": seen.headers,
            }[where].get(name.lower() if where == "header" else name)
            if value is None:
                if parameter.get("required"):
                    problems.append(f"missing {where} parameter {name}")
                continue
            if schema.get("type") == "number":
                try:
                    value = float(value)
                except ValueError:
                    problems.append(f"{name}: not a number")
                    continue
            problems += [f"{name}: {e}" for e in schema_errors(schema, value)]
        if "requestBody" in operation:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            if seen.body is None:
                problems.append("missing body")
            else:
                problems += [f"body {e}" for e in schema_errors(schema, seen.body)]
        return problems

    def _check_answer(self, seen: Seen, status: int, payload: Any) -> None:
        found = find_operation(seen.system, seen.method, seen.path) if seen.system in SYSTEMS else None
        if found is None:
            return
        template, operation, _ = found
        documented = operation["responses"].get(str(status))
        if documented is None:
            self._violation(f"{seen.system} {seen.method} {template}: answer {status} is not documented")
            return
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None and payload is not None:
            for error in schema_errors(schema, payload):
                self._violation(f"{seen.system} {seen.method} {template} {status}: {error}")

    # --- the contracts' behaviour (operationId -> method) ----------------------------------------

    def _op_getImpediments(self, seen: Seen, params: dict[str, str]) -> Answer:
        codes = self.cartera.get(params["ci"])
        if codes is None:
            return 404, {"code": "CUSTOMER_NOT_FOUND", "message": "El CI no figura en la cartera"}, {}
        return 200, {"ci": params["ci"], "impediments": [{"code": code} for code in codes]}, {}

    def _op_listZonesAtPoint(self, seen: Seen, params: dict[str, str]) -> Answer:
        lat, lon = float(seen.query["lat"]), float(seen.query["lon"])
        hits = [
            z["zone"]
            for z in self.zones
            if z["box"][0] <= lat <= z["box"][1] and z["box"][2] <= lon <= z["box"][3]  # boundary included
        ]
        return 200, {"zones": hits}, {}

    def _op_registerSale(self, seen: Seen, params: dict[str, str]) -> Answer:
        key = seen.headers["idempotency-key"]
        if key != seen.body["requestId"]:
            self._violation("smartflex: Idempotency-Key differs from requestId")
        with self._lock:
            if key in self.sales:
                return 200, self.sales[key], {"Idempotent-Replayed": "true"}
            number = len(self.sales) + 1
            registration = {
                "orderId": f"SF-2026-{number:06d}",
                "formId": f"SS-2026-{number:06d}",
                "registeredAt": datetime(2026, 3, 12, 18, 5, 9, tzinfo=UTC).astimezone(LA_PAZ).isoformat(),
            }
            self.sales[key] = registration
        return 201, registration, {}

    def _op_handOffOrder(self, seen: Seen, params: dict[str, str]) -> Answer:
        key = seen.headers["idempotency-key"]
        if key != seen.body["orderId"]:
            self._violation("installations: Idempotency-Key differs from orderId")
        with self._lock:
            if key in self.handoffs:
                return 200, self.handoffs[key], {}
            handoff = {"orderId": key, "status": "queued", "receivedAt": "2026-03-12T14:06:00-04:00"}
            self.handoffs[key] = handoff
        return 202, handoff, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 2  # a stuck client cannot hold a server thread past the test

    def do_GET(self) -> None:
        self.server.fake.handle(self)  # type: ignore[attr-defined]

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass
