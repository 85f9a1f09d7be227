"""The server-rendered console in AWS (docs/console.md, "Deploying the console"): the hosted UI's
domain, the app client's code flow with PKCE back to the API's stage, the API function's console
variables and its CSRF key in Secrets Manager, never in clear."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra.conftest import Built

STAGE_URL = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"


@pytest.fixture
def api(built: Built) -> dict[str, Any]:
    # The packaged template always carries the Chalice API (devstack.package merges it).
    assert "APIHandler" in built.cfn["Resources"]
    resources: dict[str, Any] = built.cfn["Resources"]
    return resources


def _sub(value: Any) -> str:
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::Sub"}, value
    text = value["Fn::Sub"]
    return text if isinstance(text, str) else str(text[0])


def _variables(resources: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    return variables


def test_the_chalice_stage_is_the_one_the_urls_name(built: Built, api: dict[str, Any]) -> None:
    stages = [r for r in api.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert [s["Properties"]["StageName"] for s in stages] == ["api"]


def test_the_user_pool_has_a_hosted_ui_domain_from_a_parameter(built: Built, api: dict[str, Any]) -> None:
    (domain,) = [r for r in api.values() if r["Type"] == "AWS::Cognito::UserPoolDomain"]
    assert domain["Properties"] == {"UserPoolId": {"Ref": "UserPool"}, "Domain": {"Ref": "ConsoleDomainPrefix"}}
    parameter = built.cfn["Parameters"]["ConsoleDomainPrefix"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.match("vd-prod-ventas")
    assert pattern.match("comteco0")
    for bad in ("", "-vd", "vd-", "VD", "vd.prod", "x" * 64):
        assert not pattern.match(bad), bad
    assert "Default" not in parameter  # globally unique per region: the operator chooses it


def test_the_hosted_client_uses_the_code_flow_as_a_public_client(api: dict[str, Any]) -> None:
    client = api["ConsoleHostedClient"]["Properties"]
    assert client["UserPoolId"] == {"Ref": "UserPool"}
    assert client["GenerateSecret"] is False  # public: PKCE protects the code exchange
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]  # no implicit flow: tokens never in a URL
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # passwords only on the hosted UI
    assert [_sub(u) for u in client["CallbackURLs"]] == [f"{STAGE_URL}/console/auth/callback"]
    assert [_sub(u) for u in client["LogoutURLs"]] == [f"{STAGE_URL}/console/signin"]
    assert client["IdTokenValidity"] == 60
    assert client["TokenValidityUnits"]["IdToken"] == "minutes"


def test_the_api_function_is_configured_for_the_hosted_console(api: dict[str, Any]) -> None:
    variables = _variables(api)
    assert variables["VD_CONSOLE_SIGNIN"] == "hosted"
    hosted = _sub(variables["VD_CONSOLE_HOSTED_DOMAIN"])
    assert hosted == "https://${ConsoleDomainPrefix}.auth.${AWS::Region}.amazoncognito.com"
    assert variables["VD_CONSOLE_BASE_PATH"] == "/api"
    # Client id and redirect URI name RestAPI, which invokes this function: they come in the
    # secret, which the function names by its name (a Ref would make a circular dependency).
    assert _sub(variables["VD_CONSOLE_SECRET_ID"]) == _sub(api["ConsoleSecret"]["Properties"]["Name"])
    for variable in ("VD_CONSOLE_CLIENT_ID", "VD_CONSOLE_REDIRECT_URI", "VD_CONSOLE_SECRET"):
        assert variable not in variables


def test_the_secret_carries_the_hosted_client_and_the_registered_redirect_uri(api: dict[str, Any]) -> None:
    generated = api["ConsoleSecret"]["Properties"]["GenerateSecretString"]
    stored = json.loads(_sub(generated["SecretStringTemplate"]))
    assert stored == {"client_id": "${ConsoleHostedClient}", "redirect_uri": f"{STAGE_URL}/console/auth/callback"}
    # The redirect URI is the one registered on the client, byte for byte.
    assert stored["redirect_uri"] == _sub(api["ConsoleHostedClient"]["Properties"]["CallbackURLs"][0])
    assert generated["GenerateStringKey"] == "csrf_key"
    assert generated["PasswordLength"] >= 32


def test_the_csrf_key_is_generated_encrypted_and_never_in_clear(api: dict[str, Any]) -> None:
    properties = api["ConsoleSecret"]["Properties"]
    assert properties["KmsKeyId"] == {"Ref": "DataKey"}
    assert "SecretString" not in properties
    literals = [v for v in _variables(api).values() if isinstance(v, str)]
    assert all(len(v) < 32 for v in literals), "a long literal in the API's environment: a key in clear?"


def test_only_the_api_function_may_read_the_console_secret(api: dict[str, Any]) -> None:
    arn = (
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/console-??????"
    )
    readers = {}
    for logical, resource in api.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                named = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                if any("/console" in json.dumps(r) for r in named):
                    readers[logical] = (statement["Action"], [_sub(r) for r in named])
    assert readers == {"ApiRole": ("secretsmanager:GetSecretValue", [arn])}
    assert _sub(api["ConsoleSecret"]["Properties"]["Name"]) == "${AWS::StackName}/console"


def test_tiles_and_the_execution_link_are_parameters_of_the_api_function(built: Built, api: dict[str, Any]) -> None:
    """VD_CONSOLE_TILES_URL and VD_CONSOLE_EXECUTION_LINK come from template parameters, whose
    patterns accept exactly what the console's settings accept (tests/unit/test_console_settings)."""
    from tests.unit.test_console_settings import BAD_LINKS, BAD_TILES, GOOD_LINKS, GOOD_TILES

    parameters = built.cfn["Parameters"]
    variables = _variables(api)
    assert variables["VD_CONSOLE_TILES_URL"] == {"Ref": "ConsoleTilesUrl"}
    assert parameters["ConsoleTilesUrl"]["Default"] == ""  # none: the zones alone, nothing fetched
    tiles = re.compile(parameters["ConsoleTilesUrl"]["AllowedPattern"])
    assert all(tiles.fullmatch(url) for url in ("", *GOOD_TILES))
    assert not any(tiles.fullmatch(url) for url in BAD_TILES)

    condition, in_aws_console, given = variables["VD_CONSOLE_EXECUTION_LINK"]["Fn::If"]
    assert built.cfn["Conditions"][condition] == {"Fn::Equals": [{"Ref": "ConsoleExecutionLink"}, "aws-console"]}
    assert given == {"Ref": "ConsoleExecutionLink"}
    assert _sub(in_aws_console) == (
        "https://${AWS::Region}.console.aws.amazon.com/states/home?region=${AWS::Region}#/v2/executions/details/"
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        "${VentasDigitalesStateMachine.Name}:{request_id}"
    )
    # The execution is named after its request (ventas.adapters.aws), in the state machine it names.
    assert built.cfn["Resources"]["VentasDigitalesStateMachine"]["Type"] == "AWS::StepFunctions::StateMachine"
    assert parameters["ConsoleExecutionLink"]["Default"] == "aws-console"
    links = re.compile(parameters["ConsoleExecutionLink"]["AllowedPattern"])
    assert all(links.fullmatch(link) for link in ("", "aws-console", *GOOD_LINKS))
    assert not any(links.fullmatch(link) for link in BAD_LINKS)
