"""The OpenAPI 3.1 document, generated from the contract (`ventas.web.spec`) and its models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter

from ventas.web.errors import ErrorBody
from ventas.web.spec import OPERATIONS, ORDER_ID, REQUEST_ID, TASK_ID, Operation

REF = "#/components/schemas/{model}"
PATH_PATTERNS = {"request_id": REQUEST_ID, "task_id": TASK_ID, "order_id": ORDER_ID}
STATUS_TEXT = {
    400: "Malformed JSON",
    401: "Not authenticated, or a bad signature",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "Conflict: claimed by another agent (or reserved for the agent who agreed a call-again time),"
    " already completed, not redrivable, an installation event that"
    " contradicts the order's state, or the first request with this idempotency key is still being created"
    " (retry after Retry-After seconds)",
    410: "The workflow no longer waits for this task (timed out)",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Invalid input, with field details; or an idempotency key (channel lead id) reused with another body",
    501: "Not implemented in this environment",
    503: "An outside system did not answer; try again",
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "none": [],
    "bearer": [{"cognito": []}],
    "api_key": [{"channelKey": []}],  # channels and back-office systems: each has its own key
    "bearer_or_api_key": [{"cognito": []}, {"channelKey": []}],
}


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def add(self, name: str, schema: dict[str, Any]) -> None:
        if self.schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name}")

    def schema(self, kind: Any, mode: str = "validation") -> dict[str, Any]:
        """A schema for a model or a union of models; named models go to components."""
        schema = TypeAdapter(kind).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self.add(name, definition)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            self.add(kind.__name__, schema)
            return {"$ref": REF.format(model=kind.__name__)}
        return schema


def _parameters(op: Operation, components: _Components) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": PATH_PATTERNS[name]}}
        for name in re.findall(r"\{(\w+)\}", op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF, by_alias=True)
        for name, definition in schema.pop("$defs", {}).items():
            components.add(name, definition)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    for header, pattern in op.headers.items():
        params.append(
            {
                "name": header,
                "in": "header",
                "required": header == "X-Hub-Signature-256",
                "schema": {"type": "string", "pattern": pattern},
            }
        )
    return params


def _operation(op: Operation, components: _Components) -> dict[str, Any]:
    error = {"application/json": {"schema": components.schema(ErrorBody, "serialization")}}
    if op.media_type == "text/plain":
        content = {"text/plain": {"schema": {"type": "string"}}}
    elif op.response is not None:
        content = {"application/json": {"schema": components.schema(op.response, "serialization")}}
    else:
        content = {"application/json": {"schema": {"type": "object"}}}
    document: dict[str, Any] = {
        "operationId": op.id,
        "summary": op.summary,
        "x-roles": sorted(role.value for role in op.roles),
        "security": SECURITY.get(op.auth, []),
        "parameters": _parameters(op, components),
        "responses": {
            str(op.status): {"description": "OK", "content": content},
            **{str(s): {"description": STATUS_TEXT[s], "content": error} for s in op.errors},
        },
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.schema(op.body)}},
        }
    return document


def openapi_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ventas Digitales API",
            "version": "1.0.0",
            "description": (
                "Channels start sale requests, agents act on their tasks, supervisors and ops look in. "
                "Every error answers {error: {code, message, fields}} with a Spanish message."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {
                "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Cognito, cognito:groups)"},
                "channelKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }
