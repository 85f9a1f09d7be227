"""Customer messages: the functions whose code sends them, and only those, get the WhatsApp number,
templates and secret; the local stack keeps them in the outbox.

The senders are read from the code: service functions that call `deps.notifier.send`, directly or
through another service function, and the function folders that use them.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from devstack.template import LOCAL_TYPES, ROOT, Resolver, load_template
from tests.fakes.memory import InMemoryRequestRepository
from tests.infra.test_iam import EXPECTED
from ventas import bootstrap
from ventas.adapters import reference
from ventas.config import Settings

SENDERS = {"RequirementsFunction", "SaleFunction", "NotifyFunction"}
WIRING = {
    "VD_WHATSAPP_PHONE_NUMBER_ID": {"Ref": "WhatsAppPhoneNumberId"},
    "VD_WHATSAPP_TEMPLATES": {"Ref": "WhatsAppTemplates"},
    "VD_WHATSAPP_SECRET_ID": {"Ref": "WhatsAppSecret"},
}


def _sends(node: ast.AST) -> bool:
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "send"
        and ast.unparse(call.func.value).endswith("notifier")
        for call in ast.walk(node)
    )


def _called(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else "")
    return names


def sending_services() -> set[str]:
    functions = {
        node.name: node
        for path in (ROOT / "src" / "ventas" / "services").glob("*.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef)
    }
    senders = {name for name, node in functions.items() if _sends(node)}
    while more := {name for name, node in functions.items() if _called(node) & senders} - senders:
        senders |= more
    return senders


def _used_names(folder: Path) -> set[str]:
    used: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ventas.services"):
                used |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Attribute):  # `tasks.complete(...)` after `from ventas.services import tasks`
                used.add(node.attr)
    return used


def sending_folders() -> set[str]:
    senders = sending_services()
    return {folder.name for folder in (ROOT / "functions").iterdir() if _used_names(folder) & senders}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def test_the_senders_in_the_code_are_the_functions_wired_for_whatsapp() -> None:
    assert sending_services() >= {"request_documents", "register_sale", "reject", "abandon"}
    folders = sending_folders()
    assert "api" not in folders, "the API sends messages now: give APIHandler the WhatsApp variables (infra/api.yaml)"
    by_folder = {
        spec["Properties"]["CodeUri"].rstrip("/").rsplit("/", 1)[-1]: logical
        for logical, spec in _functions(load_template()).items()
    }
    assert {by_folder[folder] for folder in folders} == SENDERS


def test_exactly_the_senders_get_the_whatsapp_number_templates_and_secret() -> None:
    template = load_template()
    assert not set(WIRING) & set(template["Globals"]["Function"]["Environment"]["Variables"])
    for logical, spec in _functions(template).items():
        variables = spec["Properties"].get("Environment", {}).get("Variables", {})
        wired = {name: variables[name] for name in WIRING if name in variables}
        assert wired == (WIRING if logical in SENDERS else {}), logical
    # Both parameters default to "": a stack deploys, and runs locally, without a WhatsApp number.
    assert template["Parameters"]["WhatsAppPhoneNumberId"]["Default"] == ""
    assert template["Parameters"]["WhatsAppTemplates"]["Default"] == ""


def test_only_the_senders_may_read_the_whatsapp_secret_among_the_stage_functions() -> None:
    readers = {f for f, grants in EXPECTED.items() if ("secretsmanager:GetSecretValue", "WhatsAppSecret", "") in grants}
    assert readers == SENDERS


@pytest.mark.parametrize("function", sorted(SENDERS))
def test_locally_the_templates_defaults_keep_messages_in_the_outbox(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = load_template()
    resolver = Resolver(template, parameters={"TimeScale": "86400"})
    for logical, spec in template["Resources"].items():
        if spec["Type"] in LOCAL_TYPES:
            resolver.physical[logical] = f"local-{logical}"
            resolver.arns[logical] = f"arn:aws:local:::{logical}"
    environment = resolver.function_environment(function)
    assert {name: environment[name] for name in WIRING} == dict.fromkeys(WIRING, "")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    deps = bootstrap.build(Settings.from_env(), requests=InMemoryRequestRepository())
    assert isinstance(deps.notifier, reference.OutboxNotifier)
