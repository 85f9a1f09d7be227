"""Static checks of the ASL: the rules the brief sets for waits, retries and step numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack.diagram import ASL, edges, mermaid
from devstack.template import Resolver, load_template
from ventas.domain.errors import BackOfficeUnavailable, NotifierUnavailable
from ventas.services import tasks

ROOT = Path(__file__).resolve().parents[2]
DEFINITION: dict[str, Any] = json.loads(ASL.read_text(encoding="utf-8"))
STATES: dict[str, dict[str, Any]] = DEFINITION["States"]
# Error names that exist: AWS's own, Lambda's, and the ones our code raises or sends.
KNOWN_ERRORS = {
    "States.Timeout",
    "States.ALL",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    BackOfficeUnavailable.__name__,
    NotifierUnavailable.__name__,
    tasks.CUSTOMER_UNREACHABLE,
    tasks.MANUAL_REJECTION,
    tasks.INSTALLATION_CANCELLED,
    tasks.TASK_NOT_WORKED,
}
CALLBACKS = {name: s for name, s in STATES.items() if s.get("Resource", "").endswith(".waitForTaskToken")}


@pytest.mark.parametrize("name", list(STATES))
def test_every_state_names_its_procedure_step(name: str) -> None:
    assert re.search(r"Steps? \d", STATES[name].get("Comment", "")), name


@pytest.mark.parametrize("name", list(CALLBACKS))
def test_every_callback_wait_is_bounded_and_its_timeout_goes_somewhere(name: str) -> None:
    state = CALLBACKS[name]
    assert state["TimeoutSecondsPath"].startswith("$.timing.")
    catches = {e for c in state["Catch"] for e in c["ErrorEquals"]}
    assert "States.Timeout" in catches
    assert state["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"


def test_back_office_stages_retry_with_jitter_then_open_a_review() -> None:
    for name in ("CheckImpediments", "CheckCoverage", "RegisterSale"):
        state = STATES[name]
        retry = next(r for r in state["Retry"] if r["ErrorEquals"] == ["BackOfficeUnavailable"])
        assert retry["JitterStrategy"] == "FULL"
        assert retry["BackoffRate"] > 1
        (catch,) = state["Catch"]
        review = STATES[catch["Next"]]
        assert review["Parameters"]["Payload"]["kind"] == "manual_review"
        assert review["Next"] == name  # "retry" goes back to the stage


def test_an_installations_outage_goes_to_a_person_not_to_a_failed_execution() -> None:
    state = STATES["AwaitInstallation"]
    assert any(r["ErrorEquals"] == ["BackOfficeUnavailable"] for r in state["Retry"])
    catch, cancelled = state["Catch"]
    assert "BackOfficeUnavailable" in catch["ErrorEquals"]
    assert catch["Next"] == "FollowUpInstallation"
    # Instalaciones cancels through the API: the wait fails with this name and the request ends.
    assert (cancelled["ErrorEquals"], cancelled["Next"]) == (["InstallationCancelled"], "AbandonRequest")


def test_every_state_that_messages_the_customer_retries_a_whatsapp_outage() -> None:
    """Stages that send: a WhatsApp outage is retried, never taken for a back-office fault."""
    for name in ("RequestDocuments", "RemindDocuments", "RegisterSale", "RejectSale", "AbandonRequest"):
        retry = next(r for r in STATES[name]["Retry"] if r["ErrorEquals"] == ["NotifierUnavailable"])
        assert retry["JitterStrategy"] == "FULL"
        for catch in STATES[name].get("Catch", []):
            assert "NotifierUnavailable" not in catch["ErrorEquals"]


def test_only_error_names_that_exist_are_retried_or_caught() -> None:
    for name, state in STATES.items():
        for rule in state.get("Retry", []) + state.get("Catch", []):
            unknown = set(rule["ErrorEquals"]) - KNOWN_ERRORS
            assert not unknown, (name, unknown)


def test_every_target_exists_and_every_state_is_reachable() -> None:
    graph = edges(STATES)
    assert {target for _, target, _ in graph} <= set(STATES)
    seen, todo = set(), [DEFINITION["StartAt"]]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(t for s, t, _ in graph if s == current)
    assert seen == set(STATES)


def test_no_arn_or_table_name_is_written_in_the_asl() -> None:
    text = ASL.read_text(encoding="utf-8")
    assert "arn:aws:lambda" not in text
    assert "vd-" not in text
    substitutions = set(re.findall(r"\$\{(\w+)\}", text))
    template = load_template()
    declared = template["Resources"]["VentasDigitalesStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions == set(declared)


def test_the_local_stack_resolves_every_substitution() -> None:
    resolver = Resolver(load_template())
    for logical in resolver.resources("AWS::Serverless::Function"):
        resolver.arns[logical] = f"arn:aws:lambda:us-east-1:123456789012:function:{logical}"
    definition = json.loads(resolver.definition("VentasDigitalesStateMachine"))
    assert "${" not in json.dumps(definition)


def test_readme_shows_the_current_workflow() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert mermaid() in readme, "README.md's diagram is stale: paste `python -m devstack.diagram` output"


def test_the_execution_is_bounded_so_the_timed_out_alarm_can_fire() -> None:
    assert 0 < DEFINITION["TimeoutSeconds"] <= 90 * 24 * 3600


@pytest.mark.parametrize(
    "name", ["FollowUpInstallation", "ReviewEligibilityFault", "ReviewCoverageFault", "ReviewSaleFault"]
)
def test_a_wait_that_reopens_itself_ends_when_nobody_works_it(name: str) -> None:
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in STATES[name]["Catch"]}
    assert catches[("States.Timeout",)] == name  # re-opened ...
    assert catches[(tasks.TASK_NOT_WORKED,)] == "AbandonRequest"  # ... but not forever


@pytest.mark.parametrize("name", ["CheckImpediments", "CheckCoverage", "RegisterSale"])
def test_lambda_throttling_backs_off_long_then_goes_to_a_person(name: str) -> None:
    state = STATES[name]
    throttled = next(r for r in state["Retry"] if r["ErrorEquals"] == ["Lambda.TooManyRequestsException"])
    waited = sum(min(throttled["IntervalSeconds"] * throttled["BackoffRate"] ** n, 300) for n in range(8))
    assert throttled["MaxAttempts"] >= 6
    assert waited >= 120  # minutes of backoff, not seconds
    (review,) = [c for c in state["Catch"] if "Lambda.TooManyRequestsException" in c["ErrorEquals"]]
    assert STATES[review["Next"]]["Parameters"]["Payload"]["kind"] == "manual_review"
