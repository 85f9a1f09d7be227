"""The stack under abuse and its hygiene (issue 9): access logs, throttles, usage plans, reserved
concurrency, staff MFA, documents bucket access logs, failed scheduled runs, data retention."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.cfn import method_setting_path
from tests.infra.conftest import Built, invoked_function
from ventas.config import Settings
from ventas.contracts import RetentionEvent
from ventas.web.openapi import openapi_document

ACCOUNT_CONCURRENCY = 1000  # Lambda's default per account and region
UNRESERVED_MINIMUM = 100  # Lambda keeps this much unreserved
# What an access log line must never carry: query strings, headers, bodies, the caller's address
# or agent, the API key's value (its id is fine), stage variables, the raw path.
FORBIDDEN_IN_ACCESS_LOG = (
    r"\$input",
    r"\$util",
    r"querystring",
    r"\$method\.request",
    r"\$context\.requestOverride",
    r"\$context\.path\b",
    r"\$context\.identity\.apiKey\b(?!Id)",
    r"sourceIp",
    r"userAgent",
    r"\$stageVariables",
    r"validationErrorString",
    r"\bheader\b",
)


def _stage(built: Built) -> dict[str, Any]:
    stages = built.resources("AWS::ApiGateway::Stage")
    assert len(stages) == 1, sorted(stages)
    (stage,) = stages.values()
    props: dict[str, Any] = stage["Properties"]
    return props


def _default(built: Built, parameter: str) -> int:
    return int(built.sam["Parameters"][parameter]["Default"])


def test_the_access_log_is_one_json_line_with_who_what_and_outcome_and_nothing_personal(built: Built) -> None:
    setting = _stage(built)["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(setting["Format"])  # valid JSON once API Gateway fills the variables in
    assert fields["requestId"] == "$context.requestId"
    assert fields["route"] == "$context.resourcePath"  # the route template: no ids, no query
    assert fields["status"] == "$context.status"
    assert fields["latencyMs"] == "$context.responseLatency"
    assert "cognito:groups" in fields["role"]
    assert fields["principalId"] == "$context.authorizer.claims.sub"
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"
    # A caller refused by the authorizer, the key check or a throttle leaves its reason.
    for variable in ("$context.authorize.error", "$context.authorizer.error", "$context.error.responseType"):
        assert variable in fields.values()
    for pattern in FORBIDDEN_IN_ACCESS_LOG:
        assert not re.search(pattern, setting["Format"], re.IGNORECASE), pattern
    group = built.cfn["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_every_route_is_throttled_people_and_webhook_on_their_own_limits(built: Built) -> None:
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in _stage(built)["MethodSettings"]}
    default = settings[("/*", "*")]
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (
        {"Ref": "ApiRateLimit"},
        {"Ref": "ApiBurstLimit"},
    )
    people = webhook = 0
    for path, methods in openapi_document()["paths"].items():
        for method, operation in methods.items():
            own = settings.get((method_setting_path(path), method.upper()))
            # Systems' routes (channels, Instalaciones) are limited per key by their usage plans.
            people_route = bool(set(operation["x-roles"]) - {"channel", "installations"})
            if path.startswith("/v1/whatsapp/"):
                webhook += 1
                assert own is not None, (path, method)
                assert own["ThrottlingRateLimit"] == {"Ref": "WebhookRateLimit"}
            elif people_route:
                people += 1
                assert own is not None, (path, method)
                assert own["ThrottlingRateLimit"] == {"Ref": "PeopleRateLimit"}
                assert own["ThrottlingBurstLimit"] == {"Ref": "PeopleBurstLimit"}
    assert people >= 8
    assert webhook == 2
    assert _default(built, "PeopleRateLimit") < _default(built, "ApiRateLimit")


def test_each_channel_system_has_its_own_key_and_usage_plan_on_the_stage(built: Built) -> None:
    plans = built.resources("AWS::ApiGateway::UsagePlan")
    keys = built.resources("AWS::ApiGateway::ApiKey")
    bindings = built.resources("AWS::ApiGateway::UsagePlanKey").values()
    plan_of = {b["Properties"]["KeyId"]["Ref"]: b["Properties"]["UsagePlanId"]["Ref"] for b in bindings}
    assert set(plan_of) == set(keys)
    assert len(set(plan_of.values())) == len(keys) == len(plans) == 5  # IVR, web, Botmaker, Facebook, Instalaciones
    for logical, plan in plans.items():
        if logical == "InstallationsUsagePlan":  # a back-office system: its own limits (test_iam, docs/api.md)
            assert plan["Properties"]["ApiStages"] == [
                {"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPIapiStage"}}
            ]
            continue
        props = plan["Properties"]
        assert props["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPIapiStage"}}], logical
        assert props["Throttle"] == {
            "RateLimit": {"Ref": "ChannelRateLimit"},
            "BurstLimit": {"Ref": "ChannelBurstLimit"},
        }
        assert props["Quota"] == {"Limit": {"Ref": "ChannelDailyQuota"}, "Period": "DAY"}


def _invoked_by_the_workflow(built: Built) -> set[str]:
    machine = next(iter(built.resources("AWS::StepFunctions::StateMachine").values()))
    substitutions = machine["Properties"]["DefinitionSubstitutions"].values()
    return {invoked_function(built, v) for v in substitutions if isinstance(v, dict)}


def test_the_api_cannot_starve_the_stages_reserved_concurrency(built: Built) -> None:
    functions = built.resources("AWS::Lambda::Function")
    api = functions["APIHandler"]["Properties"]
    assert api["ReservedConcurrentExecutions"] == {"Ref": "ApiReservedConcurrency"}
    stages = _invoked_by_the_workflow(built) | {"IntakeFunction"}
    assert len(stages) >= 9
    for logical in stages:
        reserved = functions[logical]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == {"Ref": "StageReservedConcurrency"}, logical
    total = _default(built, "ApiReservedConcurrency") + len(stages) * _default(built, "StageReservedConcurrency")
    total += sum(
        p["Properties"]["ReservedConcurrentExecutions"]
        for logical, p in functions.items()
        if logical not in stages | {"APIHandler"}
    )
    assert total <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM


def test_staff_sign_in_requires_totp(built: Built) -> None:
    (pool,) = built.resources("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_reads_and_writes_of_identity_card_copies_are_logged(built: Built) -> None:
    documents = built.cfn["Resources"]["DocumentsBucket"]["Properties"]
    assert documents["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogsBucket"},
        "LogFilePrefix": "documents/",
    }
    logs = built.cfn["Resources"]["AccessLogsBucket"]["Properties"]
    assert set(logs["PublicAccessBlockConfiguration"].values()) == {True}
    (rule,) = logs["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # S3 logs cannot use SSE-KMS
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "AccessLogsRetentionDays"}
    statements = built.cfn["Resources"]["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (delivery,) = [s for s in statements if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": ["DocumentsBucket", "Arn"]}}


@pytest.mark.parametrize("function", ["KpiFunction", "RetentionFunction"])
def test_a_failed_scheduled_run_lands_in_a_queue_that_is_alarmed(built: Built, function: str) -> None:
    configs = [
        c["Properties"]
        for c in built.resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert configs == [
        {
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["ScheduledFailuresQueue", "Arn"]}}},
            "FunctionName": {"Ref": function},
            "MaximumRetryAttempts": 2,
            "Qualifier": "live",  # the alias the schedule invokes (SnapStart), not $LATEST
        }
    ]
    alarms = built.resources("AWS::CloudWatch::Alarm").values()
    queue = [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ScheduledFailuresQueue", "QueueName"]}}]
    assert any(
        a["Properties"]["Dimensions"] == queue and a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        for a in alarms
    )


def test_retention_runs_daily_with_the_configured_period(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [
        r["Properties"]
        for r in built.resources("AWS::Events::Rule").values()
        if invoked_function(built, r["Properties"]["Targets"][0]["Arn"]) == "RetentionFunction"
    ]
    (rule,) = rules
    assert rule["ScheduleExpression"].startswith("cron(")
    assert RetentionEvent.model_validate(json.loads(rule["Targets"][0]["Input"])).job == "retention"
    variables = built.cfn["Resources"]["RetentionFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["VD_PERSONAL_DATA_RETENTION_DAYS"] == {"Ref": "PersonalDataRetentionDays"}
    monkeypatch.setenv("VD_PERSONAL_DATA_RETENTION_DAYS", str(_default(built, "PersonalDataRetentionDays")))
    assert Settings.from_env().personal_data_retention_days == 365
