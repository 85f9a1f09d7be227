"""Ventas Digitales HTTP API (API Gateway + Lambda, Chalice). Routes only: see chalicelib."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice
from chalicelib import (
    channels,
    console_agent,
    console_auth,
    console_local,
    console_ops,
    console_supervisor,
    inbox,
    installations,
    reports,
    sales,
    whatsapp,
)
from chalicelib.http import Call, Reply, normalise_errors, route

from ventas import coldstart, snapstart
from ventas.web.openapi import openapi_document
from ventas.web.views import Health

# Under SnapStart the clients every route uses are built before the snapshot (ventas.snapstart).
snapstart.register(("requests", "tasks", "workflow"))

app = Chalice(app_name="ventas-digitales-api")


def _resume_collection(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Garbage collection back on after the first invocation (ventas.coldstart)."""
    try:
        return get_response(event)
    finally:
        coldstart.resume()


app.register_middleware(_resume_collection, "all")
app.register_middleware(normalise_errors, "http")
app.api.binary_types.append("application/pdf")  # the console's printable documents
for blueprint in (channels.bp, sales.bp, inbox.bp, installations.bp, reports.bp, whatsapp.bp):
    app.register_blueprint(blueprint)
# The console's pages (server-rendered, same function): see docs/console.md.
for blueprint in (console_auth.bp, console_agent.bp, console_supervisor.bp, console_ops.bp, console_local.bp):
    app.register_blueprint(blueprint)

_document: dict[str, Any] = {}


@route(app, "health")
def health(call: Call) -> Health:
    return Health(status="ok")


@route(app, "openapi")
def openapi(call: Call) -> Reply:
    if not _document:
        _document.update(openapi_document())
    return Reply(_document)
