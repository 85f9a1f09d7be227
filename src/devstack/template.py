"""Read the SAM template in `infra/` and resolve what the local stack needs from it.

One source of truth: the local stack provisions tables, functions and the state machine from
the same file that deploys to AWS, resolving `Ref`, `Fn::GetAtt`, `Fn::Sub` itself because
moto's CloudFormation ignores `DefinitionSubstitutions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
# What the local stack provisions. A Ref to any other resource (KMS key, secrets, Cognito,
# alarms...) resolves to "", so the code falls back to its local default (e.g. VD_PII_KEY).
LOCAL_TYPES = frozenset(
    {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
)


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as their long form."""


def _tag(name: str) -> Any:
    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _short, _long in {
    "!Ref": "Ref",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!FindInMap": "Fn::FindInMap",
    "!ImportValue": "Fn::ImportValue",
    "!GetAZs": "Fn::GetAZs",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Condition": "Condition",
}.items():
    _CfnLoader.add_constructor(_short, _tag(_long))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return loaded


@dataclass
class Resolver:
    """Resolves intrinsic functions against local physical names and ARNs."""

    template: dict[str, Any]
    stack_name: str = "vd-local"
    region: str = "us-east-1"
    account: str = "123456789012"
    parameters: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    arns: dict[str, str] = field(default_factory=dict)  # logical id -> Arn

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        logical, dot, attribute = name.partition(".")
        if dot and attribute == "Alias" and logical in self.arns:
            # SAM's AutoPublishAlias: in AWS the alias ARN (function:name:live, SnapStart);
            # the local stack publishes no versions, so its function is the alias.
            return self.arns[logical]
        if name in self.parameters:
            return self.parameters[name]
        params = self.template.get("Parameters", {})
        if name in params:
            return str(params[name].get("Default", ""))
        if name in self.physical:
            return self.physical[name]
        if self._not_local(name):
            return ""
        raise KeyError(f"unresolved Ref {name}")

    def get_att(self, logical: str, attribute: str) -> str:
        if attribute == "Arn" and logical in self.arns:
            return self.arns[logical]
        if self._not_local(logical):
            return ""
        raise KeyError(f"unresolved GetAtt {logical}.{attribute}")

    def _not_local(self, logical: str) -> bool:
        resource = self.template.get("Resources", {}).get(logical)
        return resource is not None and resource.get("Type") not in LOCAL_TYPES

    def sub(self, text: str, variables: dict[str, Any] | None = None) -> str:
        variables = variables or {}

        def replace(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr in variables:
                return str(self.resolve(variables[expr]))
            if "." in expr and not expr.startswith("AWS::"):
                logical, attribute = expr.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(expr)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref":
                    return self.ref(arg)
                if key == "Fn::GetAtt":
                    return self.get_att(arg[0], arg[1])
                if key == "Fn::Sub":
                    if isinstance(arg, list):
                        return self.sub(arg[0], arg[1])
                    return self.sub(arg)
                if key == "Fn::Join":
                    return arg[0].join(str(self.resolve(v)) for v in arg[1])
                if key == "Fn::If":
                    return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def condition(self, name: str) -> bool:
        return self._truth(self.template.get("Conditions", {})[name])

    def _truth(self, expr: dict[str, Any]) -> bool:
        ((key, arg),) = expr.items()
        if key == "Fn::Equals":
            return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        raise KeyError(f"unsupported condition function {key}")

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.template.get("Resources", {}).items() if res.get("Type") == kind}

    def function_environment(self, logical: str) -> dict[str, str]:
        """Globals plus the function's own variables, resolved."""
        glob = self.template.get("Globals", {}).get("Function", {})
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        props = self.template["Resources"][logical]["Properties"]
        env.update(props.get("Environment", {}).get("Variables", {}))
        return {k: str(self.resolve(v)) for k, v in env.items()}

    def definition(self, logical: str) -> str:
        """The state machine's ASL with its DefinitionSubstitutions applied."""
        props = self.template["Resources"][logical]["Properties"]
        text: str = (TEMPLATE.parent / props["DefinitionUri"]).resolve().read_text(encoding="utf-8")
        substitutions = {k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        missing = set(re.findall(r"\$\{(\w+)\}", text)) - set(substitutions)
        if missing:
            raise KeyError(f"ASL substitutions not defined in the template: {sorted(missing)}")
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", value)
        return text
