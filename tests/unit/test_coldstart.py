"""Garbage collection in a Lambda cold start (ventas.coldstart): off from the first import of the
product until the first invocation ends (answer or error), then the survivors frozen and the
collector on; outside Lambda untouched. Each case is a fresh interpreter, as a cold start is."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.template import ROOT

PROBE = """
import gc, importlib.util, json, sys
folder, entry, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, folder)
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
report = {"enabled_after_init": gc.isenabled()}

class Context:
    function_name = "probe"
    function_version = "1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
    memory_limit_in_mb = 256
    aws_request_id = "probe"
    def get_remaining_time_in_millis(self):
        return 20000

try:
    answer = getattr(module, entry)(event, Context())
    report["answer"] = answer.get("statusCode") if isinstance(answer, dict) else "ok"
except Exception as exc:
    report["answer"] = type(exc).__name__
report["enabled_after_first"] = gc.isenabled()
report["frozen"] = gc.get_freeze_count() > 0
print(json.dumps(report))
"""
HEALTH = {
    "resource": "/v1/health",
    "path": "/v1/health",
    "httpMethod": "GET",
    "headers": {},
    "multiValueHeaders": {},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {"resourcePath": "/v1/health", "httpMethod": "GET", "path": "/prod/v1/health", "stage": "prod"},
    "body": None,
    "isBase64Encoded": False,
}


def _probe(name: str, entry: str, event: dict[str, object], in_lambda: bool) -> dict[str, object]:
    folder = ROOT / "functions" / name
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    if in_lambda:
        env["LAMBDA_TASK_ROOT"] = str(folder)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), entry, json.dumps(event)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


@pytest.mark.parametrize(
    ("name", "entry", "event", "answer"),
    [
        ("eligibility", "handler", {"requestId": "x"}, "InvalidInput"),  # a refused event counts too
        ("api", "app", HEALTH, 200),
    ],
)
def test_the_collector_is_off_until_the_first_invocation_ends(
    name: str, entry: str, event: dict[str, object], answer: object
) -> None:
    report = _probe(name, entry, event, in_lambda=True)
    assert report == {"enabled_after_init": False, "answer": answer, "enabled_after_first": True, "frozen": True}


def test_outside_lambda_the_collector_is_left_alone() -> None:
    report = _probe("eligibility", "handler", {"requestId": "x"}, in_lambda=False)
    expected = {"enabled_after_init": True, "answer": "InvalidInput", "enabled_after_first": True, "frozen": False}
    assert report == expected
