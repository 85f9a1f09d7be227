"""SnapStart's runtime hooks, as Lambda runs them: the handler module is imported (init), the
before-snapshot hooks run, then the after-restore hooks (ventas.snapstart).

Each case runs in a fresh interpreter: hooks register once per process, at import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.template import ROOT
from tests.infra.test_import_weight import LOAD_APP

PROBE = (
    "import random\nimport snapshot_restore_py as hooks\n"
    + LOAD_APP
    + """
report = {
    "before": len(hooks.get_before_snapshot()),
    "after": len(hooks.get_after_restore()),
    "imported_at_init": sorted(m for m in ("boto3", "shapely") if m in sys.modules),
}
for func, args, kwargs in reversed(hooks.get_before_snapshot()):  # AWS: reverse order
    func(*args, **kwargs)
from ventas import bootstrap
deps = bootstrap.current()
report["primed"] = sorted(n for n in ("requests", "tasks", "gis", "cartera") if deps.__dict__[n]._target is not None)
report["primed_modules"] = sorted(m for m in ("boto3", "shapely") if m in sys.modules)
import boto3
session = boto3.DEFAULT_SESSION
random.seed(7)
snapshot = random.getstate()
for func, args, kwargs in hooks.get_after_restore():  # AWS: registration order
    func(*args, **kwargs)
report["reseeded"] = random.getstate() != snapshot
report["new_session"] = boto3.DEFAULT_SESSION is not session
report["clients_dropped"] = deps.__dict__["requests"]._target is None
report["kept"] = deps.__dict__["gis"]._target is not None
print(json.dumps(report))
"""
)


def _hooks(name: str) -> dict[str, object]:
    folder = ROOT / "functions" / name
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "snapstart",
        "AWS_SECRET_ACCESS_KEY": "snapstart",
        "LAMBDA_TASK_ROOT": str(folder),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], env=env, capture_output=True, text=True, check=True
    )
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


@pytest.mark.parametrize(("name", "primed"), [("coverage", ["gis", "requests"]), ("tasks", ["requests", "tasks"])])
def test_init_builds_nothing_and_the_snapshot_holds_what_the_path_uses(name: str, primed: list[str]) -> None:
    report = _hooks(name)
    assert report["before"] == 1
    assert report["after"] == 1
    assert report["imported_at_init"] == []  # without SnapStart, nothing moves to init
    assert report["primed"] == primed
    assert "boto3" in report["primed_modules"]  # type: ignore[operator]
    assert ("shapely" in report["primed_modules"]) == (name == "coverage")  # type: ignore[operator]


def test_a_restored_function_draws_new_random_numbers_and_builds_new_clients() -> None:
    report = _hooks("coverage")
    assert report["reseeded"] is True
    assert report["new_session"] is True  # new credentials and connections on the next call
    assert report["clients_dropped"] is True
    assert report["kept"] is True  # reference data holds no connection: it stays in the snapshot


def test_the_api_registers_its_hooks_too() -> None:
    report = _hooks("api")
    assert (report["before"], report["after"]) == (1, 1)
    assert report["primed"] == ["requests", "tasks"]
