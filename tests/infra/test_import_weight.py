"""Cold starts stay small: importing a handler loads no heavy module its path does not need.

Counted in a fresh interpreter (sys.modules after the import), never timed: a module that moves
to import time fails here on any machine. bench/coldstart.py has the timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.template import ROOT

# Loaded on first use, by the parts that need them (ventas.bootstrap), never by an import.
HEAVY = frozenset(
    {
        "boto3",  # with every client: the container builds them on first use
        "botocore.session",
        "botocore.client",
        "s3transfer",
        "aws_xray_sdk",  # only where X-Ray subsegments are on (template parameter TraceSubsegments)
        "shapely",  # the GIS zones: coverage only, on first use
        "numpy",
        "jwt",
        "cryptography",
        "chalice",
        "urllib3",
        "yaml",
        "moto",
        "phonenumbers",  # parsed on first use (ventas.domain.identity)
        "jinja2",  # the console's pages: on the first page (ventas.console.render)
        "fpdf",  # printable documents: on the first one
    }
)
# What a handler may load at import beyond the rest, and why.
ALLOWED = {
    # Routes are declared at import. People's signed tokens load PyJWT on the first one
    # (ventas.web.auth): a channel's call (API key) never needs it.
    "api": frozenset({"chalice"}),
}
HANDLERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))

# Imports a handler folder's app.py as Lambda does (the folder first on sys.path).
LOAD_APP = """
import importlib.util, json, sys
folder = sys.argv[1]
sys.path.insert(0, folder)
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
"""
PROBE = LOAD_APP + "print(json.dumps(sorted(sys.modules)))\n"
# The pydantic validators built by importing a handler (each costs CPU at every cold start).
BUILT = (
    LOAD_APP
    + """from pydantic import BaseModel, TypeAdapter
import gc
def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)
ours = ("ventas", "chalicelib", "app")
models = sorted({c.__module__ + "." + c.__qualname__ for c in subclasses(BaseModel)
                 if c.__module__.startswith(ours) and c.__pydantic_complete__})
adapters = [a for a in gc.get_objects() if isinstance(a, TypeAdapter) and a.pydantic_complete]
print(json.dumps({"models": models, "adapters": len(adapters)}))
"""
)


def _imported(folder: Path, **environment: str) -> set[str]:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin", **environment}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {h for h in HEAVY if h in modules}


@pytest.mark.parametrize("name", HANDLERS)
def test_a_handler_imports_no_heavy_module_it_does_not_need(name: str) -> None:
    folder = ROOT / "functions" / name
    # As in Lambda with the template's defaults: LAMBDA_TASK_ROOT set, subsegments off.
    loaded = _imported(folder, LAMBDA_TASK_ROOT=str(folder), POWERTOOLS_TRACE_DISABLED="true")
    assert _heavy(loaded) <= ALLOWED.get(name, frozenset()), f"{name} loads {_heavy(loaded)} at import"


def test_the_xray_sdk_loads_only_where_subsegments_are_on() -> None:
    folder = ROOT / "functions" / "eligibility"
    off = _imported(folder, LAMBDA_TASK_ROOT=str(folder), POWERTOOLS_TRACE_DISABLED="true")
    on = _imported(folder, LAMBDA_TASK_ROOT=str(folder), POWERTOOLS_TRACE_DISABLED="false")
    assert "aws_xray_sdk" not in off
    assert "aws_xray_sdk" in on


@pytest.mark.parametrize("name", HANDLERS)
def test_importing_a_handler_builds_no_validator(name: str) -> None:
    """pydantic builds a model's validator on its first use (ventas/__init__.py: defer_build) and
    TypeAdapters are made on first use too: an import that builds one fails here."""
    folder = ROOT / "functions" / name
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin", "LAMBDA_TASK_ROOT": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", BUILT, str(folder)],
        env={**env, "POWERTOOLS_TRACE_DISABLED": "true"},
        capture_output=True,
        text=True,
        check=True,
    )
    built = json.loads(done.stdout.splitlines()[-1])
    assert built == {"models": [], "adapters": 0}, f"{name} builds validators at import: {built}"
