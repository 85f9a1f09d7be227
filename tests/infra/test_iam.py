"""Least privilege, read from the translated template: every role names only what its function uses.

EXPECTED is the access each function's code needs (src/ventas/services and the adapters):
a change to a role, or to what a function touches, fails here until both agree.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

import pytest

from tests.infra.conftest import Built, invoked_function

Grant = tuple[str, str, str]  # (action, resource, kms:ViaService service or "")


def _table(name: str, *actions: str) -> set[Grant]:
    return {(f"dynamodb:{a}", name, "") for a in actions}


def _index(table: str, *indexes: str) -> set[Grant]:
    return {("dynamodb:Query", f"{table}/index/{i}", "") for i in indexes}


def _secret(*names: str) -> set[Grant]:
    return {("secretsmanager:GetSecretValue", n, "") for n in names} | {("kms:Decrypt", "DataKey", "secretsmanager")}


KEY_WRITES = {("kms:Decrypt", "DataKey", "dynamodb"), ("kms:Encrypt", "DataKey", "dynamodb")}
KEY_WRITES |= {("kms:GenerateDataKey", "DataKey", "dynamodb")}
KEY_READS = {("kms:Decrypt", "DataKey", "dynamodb")}
DOCUMENT_PUT = {("s3:PutObject", "DocumentsBucket/requests/*", ""), ("kms:GenerateDataKey", "DataKey", "s3")}
RESUME = {("states:SendTaskSuccess", "*", "")}
ANSWER = RESUME | {("states:SendTaskFailure", "*", "")}
CHECK_WAITING = {("states:SendTaskHeartbeat", "*", "")}
TRACING = {("xray:PutTraceSegments", "*", ""), ("xray:PutTelemetryRecords", "*", "")}
STAGE = _table("RequestsTable", "GetItem", "PutItem") | KEY_WRITES  # read a request, save it, add history
BACK_OFFICE = _secret("BackOfficeSecret")
# The access token of customer messages: exactly the functions that send (test_template.SENDERS).
WHATSAPP = _secret("WhatsAppSecret")
# Senders of customer messages: a send lease (DeleteItem) and, on a refusal, a contact_customer task.
CONTACT_TASK = _table("RequestsTable", "DeleteItem") | _table("TasksTable", "GetItem", "PutItem")
CONTACT_TASK |= _index("TasksTable", "by_request")
# Closing: the request's save; its listed tasks expire with one UpdateItem each (no read).
CLOSING = _table("RequestsTable", "GetItem", "PutItem", "DeleteItem")
CLOSING |= _table("TasksTable", "GetItem", "PutItem", "UpdateItem")
CLOSING |= _index("TasksTable", "by_request") | KEY_WRITES | _secret("PiiKeySecret")

ON_FAILURE = {("sqs:SendMessage", "ScheduledFailuresQueue", "")}

EXPECTED: dict[str, set[Grant]] = {
    "IntakeFunction": _table("RequestsTable", "GetItem", "PutItem", "DeleteItem")
    | KEY_WRITES
    | {("states:StartExecution", "VentasDigitalesStateMachine", "")}
    | _secret("PiiKeySecret"),
    "EligibilityFunction": STAGE | BACK_OFFICE,
    "CoverageFunction": STAGE | BACK_OFFICE,
    "SaleFunction": STAGE | BACK_OFFICE | WHATSAPP | CONTACT_TASK | _secret("PiiKeySecret"),
    # Asks for the documents and keeps the wait's token; documents come in through the API.
    "RequirementsFunction": _table("RequestsTable", "GetItem", "PutItem", "DeleteItem")
    | CONTACT_TASK
    | KEY_WRITES
    | RESUME
    | WHATSAPP
    | _secret("PiiKeySecret"),
    # Hands the order over; Instalaciones reports back through the API (no by_order here).
    "InstallationFunction": _table("RequestsTable", "GetItem", "PutItem", "DeleteItem")
    | KEY_WRITES
    | RESUME
    | BACK_OFFICE,
    # Opens tasks for the workflow; agents answer them through the API (no SendTask* here).
    # The task and the request's save in one transaction; a replaced task expires (UpdateItem).
    "TasksFunction": _table("RequestsTable", "GetItem", "PutItem")
    | _table("TasksTable", "GetItem", "PutItem", "UpdateItem")
    | _index("TasksTable", "by_request")
    | KEY_WRITES,
    "QcFunction": CLOSING,
    "NotifyFunction": CLOSING | WHATSAPP,
    # EventBridge: an execution ended ABORTED, FAILED or TIMED_OUT (closing.execution_ended).
    "ExecutionEndFunction": CLOSING,
    # Reads only: yesterday's requests by day, overdue tasks from the inbox. Metrics are log lines.
    # A failed run goes to the scheduled functions' on-failure queue.
    "KpiFunction": _index("RequestsTable", "by_day") | _index("TasksTable", "inbox") | KEY_READS | ON_FAILURE,
    # Old requests by day; a request, its customer keys (DeleteItem) and tasks; every version
    # of its documents.
    "RetentionFunction": _table("RequestsTable", "GetItem", "PutItem", "DeleteItem")
    | _index("RequestsTable", "by_day")
    | _table("TasksTable", "GetItem", "PutItem")
    | _index("TasksTable", "by_request")
    | {("s3:ListBucketVersions", "DocumentsBucket", "")}
    | {(f"s3:{a}", "DocumentsBucket/requests/*", "") for a in ("DeleteObject", "DeleteObjectVersion")}
    | KEY_WRITES
    | _secret("PiiKeySecret")
    | ON_FAILURE,
}
CONSOLE_SECRET = "arn:{Partition}:secretsmanager:{Region}:{AccountId}:secret:{StackName}/console-??????"
API = (
    _table("RequestsTable", "GetItem", "PutItem", "DeleteItem", "Query")  # Query: a request's history
    | _index("RequestsTable", "by_status", "by_day", "by_order", "awaiting_documents")
    | _table("TasksTable", "GetItem", "PutItem", "UpdateItem")
    | _index("TasksTable", "inbox", "by_request")
    | {("states:StartExecution", "VentasDigitalesStateMachine", "")}
    | {
        (f"states:{a}", "arn:{Partition}:states:{Region}:{AccountId}:execution:VentasDigitalesStateMachine:*", "")
        for a in ("DescribeExecution", "GetExecutionHistory", "DescribeStateMachineForExecution", "RedriveExecution")
    }
    | ANSWER
    | CHECK_WAITING
    | DOCUMENT_PUT
    | KEY_WRITES
    | _secret("PiiKeySecret", "WhatsAppSecret")
    # The console's secret by name (it names RestAPI: a Ref would be circular), suffix included.
    | {("secretsmanager:GetSecretValue", CONSOLE_SECRET, "")}
)

# Actions IAM defines with no resource type, so "*" is the only Resource it accepts for them.
# Each is also checked against IAM's own action table (cfn-lint's Policies.json).
STAR_ONLY = {
    "xray:PutTraceSegments": "X-Ray: traces of the function or the state machine",
    "xray:PutTelemetryRecords": "X-Ray: the same",
    "xray:GetSamplingRules": "X-Ray: the state machine's sampling",
    "xray:GetSamplingTargets": "X-Ray: the same",
    "states:SendTaskSuccess": "answers a task token; the token itself names the execution",
    "states:SendTaskFailure": "the same",
    "states:SendTaskHeartbeat": "the same (asks whether a token is still awaited)",
    "logs:CreateLogDelivery": "Step Functions' log delivery to CloudWatch Logs",
    "logs:GetLogDelivery": "the same",
    "logs:UpdateLogDelivery": "the same",
    "logs:DeleteLogDelivery": "the same",
    "logs:ListLogDeliveries": "the same",
    "logs:PutResourcePolicy": "the same",
    "logs:DescribeResourcePolicies": "the same",
    "logs:DescribeLogGroups": "the same",
}


def _name(value: Any) -> str:
    """A resource of a statement, in terms of the template's logical ids."""
    if value == "*":
        return "*"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        text = re.sub(r"\$\{AWS::(\w+)\}", r"{\1}", text)
        return re.sub(r"\$\{(\w+)(?:\.\w+)?\}", r"\1", text)
    raise AssertionError(f"a statement names a resource outside the template: {value!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def grants(role: dict[str, Any]) -> set[Grant]:
    found: set[Grant] = set()
    for statement in statements(role):
        assert statement["Effect"] == "Allow"
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        service = _name(via).split(".")[0] if via else ""
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                found.add((action, _name(resource), service))
    return found


def function_roles(built: Built) -> dict[str, tuple[str, dict[str, Any]]]:
    roles: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical, function in built.resources("AWS::Lambda::Function").items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        roles[logical] = (role, built.cfn["Resources"][role])
    return roles


def expected(built: Built) -> dict[str, set[Grant]]:
    wanted = dict(EXPECTED)
    if "APIHandler" in built.cfn["Resources"]:
        wanted["APIHandler"] = API
    return wanted


def test_every_function_has_a_role_of_its_own(built: Built) -> None:
    roles = function_roles(built)
    assert set(roles) == set(expected(built))
    names = [role for role, _ in roles.values()]
    assert len(names) == len(set(names)), "two functions share a role"
    for role, spec in roles.values():
        (statement,) = spec["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, role
        # Nothing hidden in managed policies (SAM's AWSLambdaBasicExecutionRole has logs:* on "*").
        assert "ManagedPolicyArns" not in spec["Properties"], role


@pytest.mark.parametrize("function", [*sorted(EXPECTED), "APIHandler"])
def test_each_role_names_only_what_its_function_uses(built: Built, function: str) -> None:
    wanted = expected(built)
    assert function in wanted, f"{function}: no expected grants (the packaged template always has the API)"
    _, role = function_roles(built)[function]
    log_group = built.cfn["Resources"][function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    own_logs = {("logs:CreateLogStream", log_group, ""), ("logs:PutLogEvents", log_group, "")}
    assert grants(role) == wanted[function] | own_logs | TRACING


def _star_only_in_iam() -> set[str]:
    """Actions IAM documents without any resource type (cfn-lint ships IAM's action table)."""
    table = json.loads((files("cfnlint") / "data" / "AdditionalSpecs" / "Policies.json").read_text(encoding="utf-8"))
    return {
        f"{service}:{action}"
        for service, spec in table.items()
        if isinstance(spec, dict)
        for action, detail in spec.get("Actions", {}).items()
        if not detail.get("Resources")
    }


def test_no_star_resource_where_iam_allows_narrower(built: Built) -> None:
    iam_star_only = _star_only_in_iam()
    seen: set[str] = set()
    for logical, role in built.resources("AWS::IAM::Role").items():
        for statement in statements(role):
            actions = _as_list(statement["Action"])
            assert not any(a.endswith("*") for a in actions), (logical, actions)
            if "*" in _as_list(statement["Resource"]):
                for action in actions:
                    assert action in STAR_ONLY, f"{logical}: {action} on '*' is not on the allow-list"
                    assert action.lower() in iam_star_only, f"{logical}: IAM has a resource type for {action}"
                    seen.add(action)
    assert seen, "the check saw no '*' at all: is it reading the roles?"


def test_table_access_never_scans_or_batches(built: Built) -> None:
    """Every access pattern is a key or an index (adapters/dynamo.py): no Scan, no bulk writes.
    UpdateItem on tasks only: a claim, release or expiry without a read (adapters/dynamo_tasks.py)."""
    keyed = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}
    for logical, role in built.resources("AWS::IAM::Role").items():
        for action, resource, _ in grants(role):
            if action.startswith("dynamodb:"):
                allowed = keyed | ({"dynamodb:UpdateItem"} if resource == "TasksTable" else set())
                assert action in allowed, (logical, action, resource)


def test_the_data_key_is_used_only_through_the_services_that_store_data(built: Built) -> None:
    for logical, role in built.resources("AWS::IAM::Role").items():
        for action, resource, via in grants(role):
            if action.startswith("kms:"):
                assert resource == "DataKey", (logical, action)
                assert via in {"dynamodb", "s3", "secretsmanager"}, (logical, action)


def test_the_key_policy_lets_only_the_account_and_this_stacks_log_groups_in(built: Built) -> None:
    (key,) = built.resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement["Principal"]
        if "AWS" in principal:
            assert principal["AWS"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
        else:
            assert principal == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
            arns = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
            assert all("${AWS::StackName}" in arn["Fn::Sub"] for arn in arns)


def test_the_intake_function_is_invoked_only_by_the_ivr_it_names(built: Built) -> None:
    permissions = built.resources("AWS::Lambda::Permission")
    ivr = {
        k: v
        for k, v in permissions.items()
        if invoked_function(built, v["Properties"]["FunctionName"]) == "IntakeFunction"
    }
    assert list(ivr) == ["IvrInvokePermission"]
    (permission,) = ivr.values()
    assert permission["Condition"] == "HasIvrInvoker"  # none at all unless a principal is configured
    assert permission["Properties"]["Action"] == "lambda:InvokeFunction"
    assert permission["Properties"]["Principal"] == {"Ref": "IvrInvokerPrincipal"}
    # No other function can be invoked from outside the stack but by its own event source.
    for logical, other in permissions.items():
        if logical != "IvrInvokePermission":
            assert other["Properties"]["Principal"].endswith(".amazonaws.com"), logical
