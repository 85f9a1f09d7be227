"""The ASL against the template: every `${...}` resolves, and the state machine may invoke
exactly the functions its states name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from devstack.template import ROOT
from tests.infra.conftest import Built, invoked_function, invokes_alias

ASL = ROOT / "statemachine" / "ventas_digitales.asl.json"
LAMBDA_INTEGRATIONS = {"arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken"}


def _tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):  # Parallel
            yield from _tasks(branch["States"])
        if "ItemProcessor" in state or "Iterator" in state:  # Map
            yield from _tasks((state.get("ItemProcessor") or state["Iterator"])["States"])


def _state_machine(built: Built) -> dict[str, Any]:
    props: dict[str, Any] = built.cfn["Resources"]["VentasDigitalesStateMachine"]["Properties"]
    return props


def test_every_substitution_in_the_asl_resolves_to_a_resource_of_the_template(built: Built) -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL.read_text(encoding="utf-8")))
    substitutions = _state_machine(built)["DefinitionSubstitutions"]
    assert placeholders == set(substitutions), "an ASL placeholder is undefined, or a substitution unused"
    for name, value in substitutions.items():
        logical = invoked_function(built, value)
        assert built.cfn["Resources"][logical]["Type"] == "AWS::Lambda::Function", name
        assert invokes_alias(built, value), f"{name}: the workflow invokes the published alias (SnapStart)"


def test_the_state_machine_may_invoke_exactly_the_functions_its_states_name(built: Built) -> None:
    definition = json.loads(ASL.read_text(encoding="utf-8"))
    substitutions = _state_machine(built)["DefinitionSubstitutions"]
    named = set()
    for state, task in _tasks(definition["States"]):
        assert task["Resource"] in LAMBDA_INTEGRATIONS, f"{state}: the role grants Lambda only"
        placeholder = re.fullmatch(r"\$\{(\w+)\}", task["Parameters"]["FunctionName"])
        assert placeholder, f"{state}: FunctionName must be a substitution, not a literal ARN"
        named.add(invoked_function(built, substitutions[placeholder.group(1)]))

    role_name = _state_machine(built)["RoleArn"]["Fn::GetAtt"][0]
    role = built.cfn["Resources"][role_name]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    invokes = [
        s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if "lambda:InvokeFunction" in s["Action"]
    ]
    (invoke,) = invokes
    assert invoke["Action"] == "lambda:InvokeFunction"
    granted = {invoked_function(built, resource) for resource in invoke["Resource"]}
    assert granted == named
    # The alias ARN is what the states call: a grant on the bare function would not cover it.
    assert all(invokes_alias(built, resource) for resource in invoke["Resource"])
    others = {
        a
        for p in role["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    } - {"lambda:InvokeFunction"}
    assert {a.split(":")[0] for a in others} <= {"logs", "xray"}, "log delivery and tracing only"


def test_functions_outside_the_asl_are_not_invocable_by_it(built: Built) -> None:
    substitutions = _state_machine(built)["DefinitionSubstitutions"]
    named = {invoked_function(built, value) for value in substitutions.values()}
    assert {"IntakeFunction", "KpiFunction"}.isdisjoint(named)


def test_every_notifying_state_tells_its_stage_when_the_notifier_retries_are_used_up() -> None:
    """The stage gives up on WhatsApp (a contact task, services.outbound) on the attempt after
    the last NotifierUnavailable retry: it needs $$.State.RetryCount, and the ASL's MaxAttempts
    must be the product's NOTIFIER_RETRIES."""
    from ventas.services.outbound import NOTIFIER_RETRIES

    states = dict(_tasks(json.loads(ASL.read_text(encoding="utf-8"))["States"]))
    notifying = {
        name: retry
        for name, state in states.items()
        for retry in state.get("Retry", [])
        if "NotifierUnavailable" in retry["ErrorEquals"]
    }
    assert set(notifying) == {"RequestDocuments", "RemindDocuments", "RegisterSale", "RejectSale", "AbandonRequest"}
    for name, retry in notifying.items():
        assert retry["MaxAttempts"] == NOTIFIER_RETRIES, name
        assert states[name]["Parameters"]["Payload"]["retryCount.$"] == "$$.State.RetryCount", name
