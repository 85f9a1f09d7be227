"""Infra tier: the deployable template, built offline in a temporary folder and read back.

`devstack.package` builds it as `make package` does, minus the layer's third-party wheels (the
one step that needs PyPI), so this tier runs with no network and no AWS account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack import package
from devstack.template import load_template


@dataclass(frozen=True)
class Built:
    out: Path
    sam: dict[str, Any]  # build/template.yaml
    cfn: dict[str, Any]  # its translation by aws-sam-translator

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.cfn["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("build")
    package.build(out, with_dependencies=False)
    cfn = json.loads((out / "template.cfn.json").read_text(encoding="utf-8"))
    return Built(out, load_template(out / "template.yaml"), cfn)


def invoked_function(built: Built, target: Any) -> str:
    """The function a reference invokes: its ARN (`Fn::GetAtt X.Arn`), its name (`Ref X`) or its
    published alias (`Ref XAliaslive`, SAM's AutoPublishAlias for SnapStart)."""
    if isinstance(target, dict) and "Fn::GetAtt" in target:
        return str(target["Fn::GetAtt"][0])
    if isinstance(target, dict) and "Ref" in target:
        resource = built.cfn["Resources"].get(target["Ref"], {})
        if resource.get("Type") == "AWS::Lambda::Alias":
            return str(resource["Properties"]["FunctionName"]["Ref"])
        return str(target["Ref"])
    raise AssertionError(f"not a reference to a function: {target!r}")


def invokes_alias(built: Built, target: Any) -> bool:
    """True when `target` is a function's published alias (what SnapStart restores)."""
    ref = target.get("Ref") if isinstance(target, dict) else None
    return bool(ref) and built.cfn["Resources"].get(ref, {}).get("Type") == "AWS::Lambda::Alias"
