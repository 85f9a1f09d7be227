"""The packaged template under an independent scanner (checkov): every finding is fixed or
listed in checkov_skips.yaml with the reason it does not apply, and the list holds nothing more.

checkov runs from .venv-scan (`make scanner`, part of `make test`): its pins clash with the
product's, see pyproject.toml [dependency-groups].
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.template import ROOT
from tests.infra.conftest import Built, built

__all__ = ["built"]

CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"
SKIPS = Path(__file__).with_name("checkov_skips.yaml")


@pytest.fixture(scope="module")
def findings(built: Built) -> list[tuple[str, str]]:
    if not CHECKOV.is_file():
        pytest.fail(f"{CHECKOV} is missing: run `make scanner` (make test does)")
    command = [str(CHECKOV), "-f", str(built.out / "template.cfn.json"), "--framework", "cloudformation"]
    command += ["-o", "json", "--compact", "--skip-download"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, cwd=built.out)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: there are failed checks
    report: Any = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= 100  # it read the whole stack
    return [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]


def _skips() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(SKIPS.read_text(encoding="utf-8"))
    return loaded


def test_every_skip_gives_a_reason() -> None:
    for check, entry in _skips().items():
        assert len(entry["reason"].split()) >= 15, check
        assert entry["resources"], check


def test_every_finding_is_fixed_or_skipped_with_its_reason(findings: list[tuple[str, str]]) -> None:
    skips = _skips()
    unexplained = [
        (check, resource)
        for check, resource in findings
        if not any(fnmatch.fnmatchcase(resource, p) for p in skips.get(check, {}).get("resources", []))
    ]
    assert unexplained == []


def test_no_skip_outlives_its_finding(findings: list[tuple[str, str]]) -> None:
    for check, entry in _skips().items():
        for pattern in entry["resources"]:
            assert any(c == check and fnmatch.fnmatchcase(r, pattern) for c, r in findings), (check, pattern)
