"""The final template: infra/template.yaml, the Chalice API merged in, artifacts and ASL in place.

Used by `devstack.package` (make package) and by tests/infra, which read what it produces.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from devstack.template import ROOT, TEMPLATE, load_template

API_DIR = ROOT / "functions" / "api"
API_OVERLAY = ROOT / "infra" / "api.yaml"
ARTIFACT_BUCKET = "vd-artifacts"  # placeholder for what `sam package` uploads (translation only)
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


def deep_merge(base: Any, overlay: Any) -> Any:
    """Chalice's merge rule: mappings merge key by key, anything else (lists too) is replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(overlay)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == SERVERLESS_FUNCTION}


def function_dir(logical: str, spec: dict[str, Any]) -> str:
    """The function's folder name under functions/ (from its CodeUri in infra/template.yaml)."""
    return Path(spec["Properties"]["CodeUri"]).name or logical


# Used when functions/api has no .chalice/config.json of its own.
DEFAULT_CHALICE_CONFIG: dict[str, Any] = {"version": "2.0", "app_name": "ventas-digitales-api", "stages": {"prod": {}}}
COGNITO_AUTHORIZER = "VentasCognito"


def has_api() -> bool:
    return (API_DIR / "app.py").is_file()


def source_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def point_at_artifacts(template: dict[str, Any], names: dict[str, str]) -> None:
    """CodeUri/ContentUri to the zips under build/dist (paths relative to build/template.yaml)."""
    for logical, spec in functions(template).items():
        spec["Properties"]["CodeUri"] = f"dist/{names[logical]}.zip"
    for spec in template["Resources"].values():
        if spec.get("Type") == "AWS::Serverless::LayerVersion":
            spec["Properties"]["ContentUri"] = "dist/layer.zip"


def inline_definitions(template: dict[str, Any]) -> None:
    """DefinitionUri (a local file) becomes Definition: the template needs no upload for it."""
    for spec in template["Resources"].values():
        props = spec.get("Properties", {})
        if spec.get("Type") == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            path = (TEMPLATE.parent / props.pop("DefinitionUri")).resolve()
            props["Definition"] = json.loads(path.read_text(encoding="utf-8"))


def merge_api(template: dict[str, Any], out: Path) -> tuple[dict[str, Any], Path | None]:
    """`chalice package --merge-template`: the API's resources plus ours; None when absent."""
    if not has_api():
        return template, None
    merge_input = out / "merge-input.yaml"
    overlay = load_template(API_OVERLAY)
    merge_input.write_text(dump(deep_merge(template, overlay)), encoding="utf-8")
    # A copy: chalice caches its deployment under .chalice/, which belongs in build/.
    project = out / "api-src"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(API_DIR, project, ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    stage = _chalice_config(project / ".chalice" / "config.json")
    chalice_out = out / "chalice"
    chalice = Path(sys.executable).with_name("chalice")
    done = subprocess.run(  # noqa: S603 - our own venv's chalice, fixed arguments
        [str(chalice), "package", "--stage", stage, "--merge-template", str(merge_input), str(chalice_out)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")},
    )
    if done.returncode != 0:
        raise SystemExit(f"chalice package failed:\n{done.stdout}{done.stderr}")
    merged = load_template(chalice_out / "sam.yaml")
    _bind_api(merged)
    return merged, chalice_out / "deployment.zip"


def _chalice_config(path: Path) -> str:
    """The stage to package (prod if the app has one), told not to make a role: infra/api.yaml has it."""
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else DEFAULT_CHALICE_CONFIG
    stages = config.setdefault("stages", {})
    stage = "prod" if "prod" in stages or not stages else next(iter(stages))
    stages.setdefault(stage, {}).update({"manage_iam_role": False, "iam_role_arn": "replaced-by-infra-api-yaml"})
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return stage


def _bind_api(template: dict[str, Any]) -> None:
    """What chalice cannot know at package time: the gateway's authorizers and the alarm's stage."""
    resources = template["Resources"]
    body = resources.get("RestAPI", {}).get("Properties", {}).get("DefinitionBody", {})
    _gateway_auth(body)
    _route_throttles(resources.get("RestAPI", {}).get("Properties", {}), body)
    for scheme in body.get("securityDefinitions", {}).values():
        authorizer = scheme.get("x-amazon-apigateway-authorizer", {})
        if authorizer.get("type") == "cognito_user_pools":
            authorizer["providerARNs"] = [{"Fn::GetAtt": ["UserPool", "Arn"]}]
    if "Architectures" in template.get("Globals", {}).get("Function", {}):
        for spec in functions(template).values():
            spec["Properties"].pop("Architectures", None)  # chalice's x86_64; SAM appends lists
    _invoke_alias(template)
    stage = resources.get("RestAPI", {}).get("Properties", {}).get("StageName")
    for spec in resources.values():
        props = spec.get("Properties", {})
        if spec.get("Type") == "AWS::CloudWatch::Alarm" and props.get("Namespace") == "AWS/ApiGateway":
            for dimension in props.get("Dimensions", []):
                if dimension["Name"] == "Stage" and stage:
                    dimension["Value"] = stage


def _invoke_alias(template: dict[str, Any]) -> None:
    """With SAM's AutoPublishAlias (infra/template.yaml, for SnapStart), API Gateway must call
    the published alias, not $LATEST: chalice writes the function's own ARN in every route's
    integration and in its invoke permission."""
    if "AutoPublishAlias" not in template.get("Globals", {}).get("Function", {}):
        return
    resources = template["Resources"]
    name = next(
        (k for k, v in resources.items() if k == "APIHandler" and v["Type"] == "AWS::Serverless::Function"), None
    )
    if name is None:
        return

    arn = "${" + name + ".Arn}"

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str) and arn in value["Fn::Sub"]:
            return {"Fn::Sub": [value["Fn::Sub"].replace(arn, "${Alias}"), {"Alias": {"Ref": f"{name}.Alias"}}]}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        return value

    props = resources.get("RestAPI", {}).get("Properties", {})
    if "DefinitionBody" in props:
        props["DefinitionBody"] = rewrite(props["DefinitionBody"])
    for spec in resources.values():
        target = spec.get("Properties", {}).get("FunctionName")
        if spec.get("Type") == "AWS::Lambda::Permission" and target == {"Ref": name}:
            spec["Properties"]["FunctionName"] = {"Ref": f"{name}.Alias"}


def _gateway_auth(body: dict[str, Any]) -> None:
    """API Gateway checks callers before the function runs, per operation of ventas.web.spec:
    the Cognito user pool on people's routes, a channel API key (and its usage plan) on
    channel-only routes. Routes open to both, and the webhook (Meta's signature), are checked in
    the function only, as everything is again there (ventas.web.auth)."""
    from ventas.web.spec import OPERATIONS

    schemes = body.setdefault("securityDefinitions", {})
    for operation in OPERATIONS:
        method = body.get("paths", {}).get(operation.path, {}).get(operation.method.lower())
        if method is None:
            continue
        if operation.auth == "api_key":
            schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
            method["security"] = [{"api_key": []}]
        elif operation.auth == "bearer":
            schemes[COGNITO_AUTHORIZER] = {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": []},
            }
            method["security"] = [{COGNITO_AUTHORIZER: []}]


WEBHOOK_PREFIX = "/v1/whatsapp/"
PEOPLE_THROTTLE = {
    "ThrottlingRateLimit": {"Ref": "PeopleRateLimit"},
    "ThrottlingBurstLimit": {"Ref": "PeopleBurstLimit"},
}
WEBHOOK_THROTTLE = {
    "ThrottlingRateLimit": {"Ref": "WebhookRateLimit"},
    "ThrottlingBurstLimit": {"Ref": "WebhookBurstLimit"},
}


def method_setting_path(path: str) -> str:
    """API Gateway's MethodSettings form of a resource path: a leading "/", then each "/" of the
    path written "~1" (/v1/tasks -> /~1v1~1tasks)."""
    return "/" + path.replace("/", "~1")


def _route_throttles(api: dict[str, Any], body: dict[str, Any]) -> None:
    """Per-route throttles, from ventas.web.spec: people's routes (the console, reports, ops)
    and the public webhook get their own limits; channel-only routes are limited per key by
    their channel's usage plan. infra/api.yaml keeps the stage-wide default ("/*" "*")."""
    from ventas.web.spec import OPERATIONS

    settings = [s for s in api.get("MethodSettings", []) if s.get("ResourcePath") == "/*"]
    for operation in OPERATIONS:
        if operation.method.lower() not in body.get("paths", {}).get(operation.path, {}):
            continue
        if operation.path.startswith(WEBHOOK_PREFIX):
            limits = WEBHOOK_THROTTLE
        elif operation.for_people:
            limits = PEOPLE_THROTTLE
        else:
            continue
        path = method_setting_path(operation.path)
        settings.append({"ResourcePath": path, "HttpMethod": operation.method, "MetricsEnabled": True, **limits})
    if settings:
        api["MethodSettings"] = settings


def for_translation(template: dict[str, Any]) -> dict[str, Any]:
    """A copy with local artifacts as S3 locations, as `sam package` leaves it."""
    ready = copy.deepcopy(template)
    for spec in ready["Resources"].values():
        props = spec.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{ARTIFACT_BUCKET}/{Path(props[key]).name}"
    return ready


def translate(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """The real SAM transform, offline: plain CloudFormation."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session)
    translated: dict[str, Any] = translator.translate(
        for_translation(template), parameter_values={}, get_managed_policy_map=dict
    )
    return translated


def dump(template: dict[str, Any]) -> str:
    return yaml.safe_dump(template, sort_keys=False, width=120, allow_unicode=True)


def build_template(out: Path, names: dict[str, str]) -> tuple[dict[str, Any], Path | None]:
    """Write out/template.yaml; returns it and the API's deployment zip (None without the API)."""
    template = source_template()
    point_at_artifacts(template, names)
    inline_definitions(template)
    template, api_zip = merge_api(template, out)
    if api_zip is not None:
        for logical, spec in functions(template).items():
            if logical not in names:  # chalice's own function(s)
                spec["Properties"]["CodeUri"] = "dist/api.zip"
    (out / "template.yaml").write_text(dump(template), encoding="utf-8")
    return template, api_zip
