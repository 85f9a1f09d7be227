"""The OpenAPI document matches the code: same routes, same request schemas, and it is served."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from devstack.api_server import load_app
from tests.unit.api_harness import Api, api, body
from ventas.web.openapi import REF, openapi_document
from ventas.web.spec import OPERATIONS

__all__ = ["api"]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def test_the_app_registers_exactly_the_documented_operations() -> None:
    app = load_app()
    # The console's pages (HTML, under /console) are not operations of the JSON API.
    registered = {
        (path, method) for path, methods in app.routes.items() for method in methods if not path.startswith("/console")
    }
    assert any(path.startswith("/console") for path in app.routes)
    documented = {(path, method.upper()) for path, ops in openapi_document()["paths"].items() for method in ops}
    assert registered == documented
    assert {(op.path, op.method) for op in OPERATIONS} == documented


def test_request_bodies_are_the_models_schemas() -> None:
    document = openapi_document()
    for op in OPERATIONS:
        if op.body is None:
            continue
        schema = document["paths"][op.path][op.method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        expected = TypeAdapter(op.body).json_schema(ref_template=REF)
        expected.pop("$defs", None)
        assert _resolve(document, schema) == expected, op.id


def test_every_reference_resolves_and_path_parameters_are_declared() -> None:
    document = openapi_document()
    text = str(document)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in document["components"]["schemas"], name
    for path, ops in document["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path))


def test_the_document_is_served_and_carries_the_error_shape(api: Api) -> None:
    served = api.call("GET", "/v1/openapi.json")
    assert served.status_code == 200
    document = body(served)
    assert document == openapi_document()
    assert document["openapi"].startswith("3.")
    error = document["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    lead = document["paths"]["/v1/requests"]["post"]
    assert lead["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": REF.format(model="ErrorBody")}
