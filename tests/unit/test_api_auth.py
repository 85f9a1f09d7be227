"""Who may call what: the role matrix of every operation, token checks, masking, CORS."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.api_harness import CLIENT_ID, Api, api, body, mint
from ventas.domain.tasks import TaskKind
from ventas.services import tasks
from ventas.web.auth import Role
from ventas.web.spec import OPERATIONS

__all__ = ["api"]

LEAD = {
    "channel": "web",
    "channel_lead_id": "web-auth-1",
    "phone": "+59171234501",
    "name": "Ana Rojas",
    "ci": "4567890 CB",
    "service_code": "INTERNET_FTTH_100",
}
CALL = {"caller": "+59171234502", "line": "4200400", "called_at": "2026-11-24T13:00:00Z"}
TASK = "tk-0000000000000000"

# The issue's matrix, written out: a change of roles in the contract must change this table.
EXPECTED_ROLES = {
    "submitLead": {Role.CHANNEL},
    "reportMissedCall": {Role.CHANNEL},
    "searchRequests": {Role.SUPERVISOR, Role.OPS},
    "getRequest": {Role.CHANNEL, Role.AGENT, Role.SUPERVISOR, Role.OPS},
    "getExecution": {Role.SUPERVISOR, Role.OPS},
    "redriveExecution": {Role.OPS},
    "listTasks": {Role.AGENT, Role.SUPERVISOR},
    "claimTask": {Role.AGENT},
    "releaseTask": {Role.AGENT},
    "completeTask": {Role.AGENT},
    "callTaskAgain": {Role.AGENT},
    "getKpi": {Role.SUPERVISOR},
    "listDuplicates": {Role.AGENT, Role.SUPERVISOR},
    "reviewDuplicate": {Role.AGENT},
    "reportInstallation": {Role.INSTALLATIONS},
}
EXAMPLES = {
    "submitLead": ("POST", "/v1/requests", LEAD),
    "reportMissedCall": ("POST", "/v1/missed-calls", CALL),
    "searchRequests": ("GET", "/v1/requests?status=inProgress", None),
    "getRequest": ("GET", "/v1/requests/vd-unknown-0001", None),
    "getExecution": ("GET", "/v1/requests/vd-unknown-0001/execution", None),
    "redriveExecution": ("POST", "/v1/requests/vd-unknown-0001/redrive", None),
    "listTasks": ("GET", "/v1/tasks", None),
    "claimTask": ("POST", f"/v1/tasks/{TASK}/claim", None),
    "releaseTask": ("POST", f"/v1/tasks/{TASK}/release", None),
    "completeTask": ("POST", f"/v1/tasks/{TASK}/complete", {"satisfaction": 5, "comment": "ok"}),
    "callTaskAgain": ("POST", f"/v1/tasks/{TASK}/call-again", {"call_again_at": "2026-11-24T15:00:00-04:00"}),
    "getKpi": ("GET", "/v1/reports/kpi", None),
    "listDuplicates": ("GET", "/v1/duplicates", None),
    "reviewDuplicate": ("POST", "/v1/requests/vd-unknown-0001/duplicate", {"decision": "separate"}),
    "reportInstallation": (
        "POST",
        "/v1/orders/SO-unknown-1/installation-events",
        {"kind": "cancelled", "event_id": "opr-1", "reason": "cliente ausente"},
    ),
}
# The channel whose key calls an operation (a channel is its credential): missed calls are the IVR's.
CHANNEL_FOR = {"reportMissedCall": "ivr"}


def test_the_contract_gives_each_operation_the_roles_of_the_issue() -> None:
    roles = {op.id: set(op.roles) for op in OPERATIONS if op.roles}
    assert roles == EXPECTED_ROLES


@pytest.mark.parametrize("op_id", sorted(EXPECTED_ROLES))
def test_every_role_is_let_in_or_refused_as_the_matrix_says(api: Api, op_id: str) -> None:
    method, path, payload = EXAMPLES[op_id]
    assert api.call(method, path, None, payload).status_code == 401
    for role in Role:
        response = api.call(method, path, role, payload, who=CHANNEL_FOR.get(op_id) if role == Role.CHANNEL else None)
        if role in EXPECTED_ROLES[op_id]:
            assert response.status_code not in (401, 403), (role, body(response))
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert body(response)["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint("ana", ["agent"], expires_in=-120), id="expired"),
        pytest.param(mint("ana", ["agent"], issuer="https://evil.example/pool"), id="other issuer"),
        pytest.param(mint("ana", ["agent"], audience="another-client"), id="other app client"),
        pytest.param(mint("ana", ["agent"], token_use="refresh"), id="not an id or access token"),
        pytest.param(
            mint("ana", ["agent"], key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            id="signed by another key",
        ),
        pytest.param(mint("ana", ["agent"], kid="unknown-kid"), id="unknown key id"),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
def test_a_token_that_does_not_verify_is_401(api: Api, token: str) -> None:
    response = api.call("GET", "/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "unauthenticated"
    assert "WWW-Authenticate" in response.headers


def test_an_unsigned_token_is_refused(api: Api) -> None:
    import jwt

    token = jwt.encode({"iss": "x", "cognito:groups": ["ops"]}, key=None, algorithm="none")
    assert api.call("GET", "/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_access_tokens_are_accepted_and_people_without_a_role_are_403(api: Api) -> None:
    access = mint("ana", ["agent"], token_use="access", audience=CLIENT_ID)
    assert api.call("GET", "/v1/tasks", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    nobody = mint("ana", ["marketing"])
    assert api.call("GET", "/v1/tasks", headers={"Authorization": f"Bearer {nobody}"}).status_code == 403


def test_a_wrong_api_key_is_401_and_a_channel_key_is_no_person(api: Api) -> None:
    assert api.call("POST", "/v1/requests", body=LEAD, headers={"x-api-key": "guess"}).status_code == 401
    assert api.call("GET", "/v1/tasks", Role.CHANNEL).status_code == 403


def test_an_installer_key_is_not_a_channel_and_a_channel_key_reports_no_installation(api: Api) -> None:
    assert api.call("POST", "/v1/requests", Role.INSTALLATIONS, LEAD).status_code == 403
    event = {"kind": "cancelled", "event_id": "opr-9", "reason": "cliente ausente"}
    assert api.call("POST", "/v1/orders/SO-1/installation-events", Role.CHANNEL, event).status_code == 403


def test_ci_and_phone_are_masked_except_for_agents(api: Api) -> None:
    request_id = body(api.call("POST", "/v1/requests", Role.CHANNEL, LEAD))["request_id"]
    readers = [role for role in Role if role != Role.INSTALLATIONS]  # a back office reads no request
    seen = {role: body(api.call("GET", f"/v1/requests/{request_id}", role))["customer"] for role in readers}
    assert seen[Role.AGENT] == {"name": "Ana Rojas", "phone": "+59171234501", "ci": "4567890 CB"}
    for role in (Role.SUPERVISOR, Role.OPS):
        assert seen[role] == {"name": "Ana Rojas", "phone": "+591******01", "ci": "*****90 CB"}
    assert seen[Role.CHANNEL] == {"name": None, "phone": None, "ci": None}  # nothing personal for a channel


def test_no_answer_ever_carries_a_task_token(api: Api) -> None:
    request_id = body(api.call("POST", "/v1/requests", Role.CHANNEL, {**LEAD, "ci": None}))["request_id"]
    token = "AQCEAAAAKgAAAAMAAAAAAAAAAeSECRET-TASK-TOKEN"
    api.deps.workflow.wait(token)  # type: ignore[attr-defined]
    task = tasks.open_task(api.deps, TaskKind.IDENTIFICATION, request_id, token, 3600)
    answers = [
        api.call("GET", "/v1/tasks", Role.AGENT),
        api.call("GET", "/v1/tasks", Role.SUPERVISOR),
        api.call("POST", f"/v1/tasks/{task.task_id}/claim", Role.AGENT),
        api.call("POST", f"/v1/tasks/{task.task_id}/complete", Role.AGENT, {"ci": "bad"}),
        api.call(
            "POST",
            f"/v1/tasks/{task.task_id}/complete",
            Role.AGENT,
            {"ci": "4567890 CB", "service_code": "INTERNET_FTTH_100"},
        ),
        api.call(
            "POST",
            f"/v1/tasks/{task.task_id}/complete",
            Role.AGENT,
            {"ci": "4567890 CB", "service_code": "INTERNET_FTTH_100"},
        ),
        api.call("GET", f"/v1/requests/{request_id}", Role.OPS),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 422, 200, 409, 200]
    assert task.task_id in answers[0].body.decode()
    for answer in answers:
        assert "SECRET-TASK-TOKEN" not in answer.body.decode()
        assert "token" not in body(answer) if isinstance(body(answer), dict) else True


def test_cors_only_for_the_console_origin_and_only_on_people_routes(api: Api) -> None:
    people = api.call("GET", "/v1/tasks", Role.AGENT, headers={"Origin": "http://127.0.0.1:5173"})
    assert people.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"
    channel = api.call("POST", "/v1/requests", Role.CHANNEL, LEAD, headers={"Origin": "http://127.0.0.1:5173"})
    assert "Access-Control-Allow-Origin" not in channel.headers
