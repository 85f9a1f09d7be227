"""Chalice glue: each route is an operation of the contract (`ventas.web.spec`).

Around every view it authenticates and checks the role, bounds the body, parses the body and
the query into the operation's models, and turns any error into the one error shape. Views
receive a `Call` and return a model (or a `Reply`): they only call a service and shape.
"""

from __future__ import annotations

import functools
import json
import re
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Blueprint, Chalice, CORSConfig, Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from ventas.bootstrap import container
from ventas.container import Container
from ventas.domain.execution_graph import scrub
from ventas.observability import bind_request, logger
from ventas.web.auth import Authenticator, Principal, authorize
from ventas.web.config import ApiSettings
from ventas.web.errors import FRAMEWORK, ApiError, from_exception, invalid
from ventas.web.openapi import PATH_PATTERNS
from ventas.web.spec import BY_ID, Operation, Query

SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]


@functools.cache
def api_settings() -> ApiSettings:
    return ApiSettings.from_env()


_authenticator: Authenticator | None = None


def authenticator() -> Authenticator:
    """Built from the environment on first use; tests and the local stack may install theirs."""
    global _authenticator
    if _authenticator is None:
        _authenticator = Authenticator(api_settings())
    return _authenticator


def use_authenticator(auth: Authenticator | None) -> None:
    global _authenticator
    _authenticator = auth


def deps() -> Container:
    return container()


@dataclass
class Call:
    principal: Principal | None
    params: dict[str, str]
    headers: Mapping[str, str]
    raw_body: bytes
    body: Any = None
    query: Any = None


@dataclass
class Reply:
    body: BaseModel | str | dict[str, Any]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def error_response(error: ApiError) -> Response:
    headers: dict[str, str | list[str]] = {**SECURITY_HEADERS, **error.headers}
    return Response(body=error.body(), status_code=error.status, headers=headers)


def _query(op: Operation, request: Request) -> Query | None:
    raw: Any = request.query_params or {}
    values: dict[str, str] = {}
    for name in raw:
        found = raw.getlist(name)
        if len(found) > 1:
            raise ApiError(
                422,
                "validation_error",
                "Los datos enviados no son válidos: revise los campos indicados.",
                [{"field": name, "message": "indique este parámetro una sola vez", "type": "repeated"}],
            )
        values[name] = found[0]
    if op.query is None:
        if values:
            fields = [{"field": n, "message": "parámetro no admitido", "type": "extra_forbidden"} for n in values]
            raise ApiError(422, "validation_error", "Los datos enviados no son válidos.", fields)
        return None
    try:
        return op.query.model_validate(values)
    except ValidationError as exc:
        raise invalid(exc) from None


def _adapter(body: Any) -> TypeAdapter[Any]:
    """One validator per body type, built on its first request (not at import, not per call)."""
    try:
        return _cached_adapter(body)
    except TypeError:  # an unhashable annotation: built per call, as before
        return TypeAdapter(body)


@functools.cache
def _cached_adapter(body: Any) -> TypeAdapter[Any]:
    return TypeAdapter(body)


def _body(op: Operation, raw: bytes, mode: str) -> Any:
    if mode == "raw":
        return None
    try:
        document = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "bad_request", "El contenido enviado no es un JSON válido.") from None
    try:
        if mode == "json":
            return _adapter(dict[str, Any]).validate_python(document)
        # The context completes a local landline with the area the channel declares (Settings.phone_areas)
        # and refuses a point outside the service area (Settings.service_area).
        return _adapter(op.body).validate_python(document, context=deps().settings.validation_context())
    except ValidationError as exc:
        raise invalid(exc) from None


def _check_params(params: Mapping[str, str]) -> None:
    for name, value in params.items():
        if not re.fullmatch(PATH_PATTERNS[name], value):
            raise ApiError(404, "not_found", "No encontramos el recurso solicitado.")


def _reply(op: Operation, result: BaseModel | Reply) -> Response:
    reply = result if isinstance(result, Reply) else Reply(result)
    headers: dict[str, str | list[str]] = {**SECURITY_HEADERS, **reply.headers}
    if isinstance(reply.body, str):
        return Response(body=reply.body, status_code=reply.status or op.status, headers={"Content-Type": "text/plain"})
    headers["Content-Type"] = "application/json"
    body = reply.body.model_dump(mode="json") if isinstance(reply.body, BaseModel) else reply.body
    return Response(body=body, status_code=reply.status or op.status, headers=headers)


def _cors(op: Operation) -> CORSConfig | None:
    if not op.for_people:
        return None
    return CORSConfig(allow_origin=api_settings().console_origin, allow_headers=CORS_HEADERS, max_age=600)


def route(bp: Blueprint | Chalice, op_id: str, body: str = "model") -> Callable[[Callable[[Call], Any]], Any]:
    """Register `view` as operation `op_id`; `body` is "model", "json" (a dict) or "raw"."""
    op = BY_ID[op_id]
    content_types = ["application/json"]

    def decorate(view: Callable[[Call], Any]) -> Any:
        def handle(**params: str) -> Response:
            started = time.perf_counter()
            request = bp.current_request
            assert request is not None  # set by Chalice for every HTTP event
            logger.set_correlation_id(None)  # a warm function: never the previous call's request
            bind_request(params.get("request_id"))
            status = 500
            principal = None
            error_code = None
            try:
                _check_params(params)
                if op.roles:
                    principal = authenticator().authenticate(request.headers, request.context or {})
                    authorize(principal, op.roles)
                raw = request.raw_body or b""
                raw = raw.encode() if isinstance(raw, str) else raw
                if len(raw) > op.max_body:
                    raise ApiError(413, "payload_too_large", f"El contenido supera el máximo de {op.max_body} bytes.")
                call = Call(principal, dict(params), request.headers, raw, query=_query(op, request))
                if op.body is not None:
                    call.body = _body(op, raw, body)
                response = _reply(op, view(call))
            except Exception as exc:
                error = from_exception(exc)
                if error is None:
                    logger.error(
                        "unhandled error",
                        extra={
                            "operation": op.id,
                            "error": type(exc).__name__,
                            "detail": scrub(str(exc)),  # no values: a message may hold a token
                            "frames": traceback.format_tb(exc.__traceback__)[-5:],
                        },
                    )
                    error = ApiError(500, *FRAMEWORK[500])
                error_code = error.code
                response = error_response(error)
            status = response.status_code
            # One line per call, refusals included: who (role, never the credential), what, outcome.
            caller = ",".join(sorted(principal.roles)) if principal is not None else None
            logger.info(
                "api call",
                extra={
                    "operation": op.id,
                    "status": status,
                    "error": error_code,
                    "caller": caller,
                    "ms": round(1000 * (time.perf_counter() - started), 1),
                },
            )
            return response

        handle.__name__ = view.__name__
        bp.route(op.path, methods=[op.method], cors=_cors(op), content_types=content_types)(handle)
        return view

    return decorate


def normalise_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own errors (405, 415, 500) in the API's error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code, message = FRAMEWORK.get(response.status_code, FRAMEWORK[500])
        response.body = ApiError(response.status_code, code, message).body()
        response.headers.update(SECURITY_HEADERS)
    return response
