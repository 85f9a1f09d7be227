"""One source of truth: the local stack and the code agree with infra/template.yaml."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from devstack.cfn import API_OVERLAY
from devstack.template import LOCAL_TYPES, ROOT, TEMPLATE, Resolver, load_template
from ventas.adapters.dynamo import table_definitions
from ventas.config import Timing


def _shape(table: dict[str, Any]) -> dict[str, Any]:
    """What makes two tables serve the same access patterns: keys, attributes, indexes."""
    return {
        "BillingMode": table["BillingMode"],
        "KeySchema": table["KeySchema"],
        "AttributeDefinitions": sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": sorted(
            ({k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in table["GlobalSecondaryIndexes"]),
            key=lambda i: i["IndexName"],
        ),
    }


def test_the_templates_tables_are_the_adapters_tables() -> None:
    resources = load_template()["Resources"]
    template = {k: _shape(resources[k]["Properties"]) for k in ("RequestsTable", "TasksTable")}
    requests, tasks = table_definitions("requests", "tasks")
    assert template == {"RequestsTable": _shape(requests), "TasksTable": _shape(tasks)}


def test_every_waiting_period_is_a_parameter_with_the_codes_default() -> None:
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for field in dataclasses.fields(Timing):
        parameter = variables[f"VD_{field.name.upper()}"]["Ref"]
        assert float(template["Parameters"][parameter]["Default"]) == field.default, field.name


def test_every_variable_the_template_sets_is_read_by_the_code() -> None:
    """A misspelt variable would be silently ignored, and the code's local default used in AWS."""
    sources = "\n".join(p.read_text(encoding="utf-8") for d in ("src", "functions") for p in (ROOT / d).rglob("*.py"))
    timing = {f"VD_{field.name.upper()}" for field in dataclasses.fields(Timing)}  # Settings.from_env
    text = TEMPLATE.read_text(encoding="utf-8") + API_OVERLAY.read_text(encoding="utf-8")
    for variable in set(re.findall(r"^\s+(VD_\w+):", text, re.MULTILINE)) - timing:
        assert f'"{variable}"' in sources, f"{variable} is set in infra/ but read nowhere"


def test_the_local_stack_resolves_everything_it_provisions() -> None:
    """A dry run of devstack's resolution: names for what it creates, "" for what it does not."""
    template = load_template()
    resolver = Resolver(template, parameters={"TimeScale": "86400"})
    for logical, spec in template["Resources"].items():
        if spec["Type"] in LOCAL_TYPES:
            resolver.physical[logical] = f"local-{logical}"
            resolver.arns[logical] = f"arn:aws:local:::{logical}"
    for logical in resolver.resources("AWS::Serverless::Function"):
        environment = resolver.function_environment(logical)
        assert all(isinstance(v, str) and "Fn::" not in v for v in environment.values()), logical
        assert environment.get("VD_PII_KEY_SECRET_ARN", "") == ""  # locally: VD_PII_KEY's default
    definition = json.loads(resolver.definition("VentasDigitalesStateMachine"))
    assert "${" not in json.dumps(definition)
