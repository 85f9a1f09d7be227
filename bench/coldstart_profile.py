"""Where a cold start's CPU goes: one instrumented sample per function, split into parts.

`instrumented(code)` prefixes a child program (bench/coldstart.py's FLOOR or COLD_START) with a
CPU accountant (getrusage, as the timed samples read it; no tracing profiler, whose own cost
would dwarf what it measures). It keeps a stack of what runs and charges each part its own CPU
(its time minus that of the parts nested in it):

- each module's import (finding it and running it) to its library's group (GROUPS): pydantic,
  boto3 and what it brings, the product's modules, Powertools, ...;
- boto3 clients created (botocore's create_client: the service models loaded and indexed);
- AWS calls (botocore's _make_api_call: serialising, signing, the HTTP exchange, parsing);
- garbage collection (gc.callbacks: every pass of CPython's collector, wherever it struck);
- pydantic validators built (a model's, on its first use: `defer_build`; a TypeAdapter's);
- "rest": everything else, the product's own code and the interpreter's (in init: defining the
  module's globals; in the first event: the handler, the validation itself, logging).

"start-up" is the interpreter's own, before the first line. The child prints, after its usual
line, one line `PROFILE {"init": {part: s}, "first_event": {part: s}}`. The parts add up to the
timed figures within the accountant's own cost (about 1 us per import and call; it allocates
no object per import, so the collector runs as it would without it).
"""

from __future__ import annotations

import json
from typing import Any

# Top-level package -> group. Everything else is "stdlib & other imports".
GROUPS = {
    **dict.fromkeys(
        ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six", "certifi"),
        "boto3 & its libraries (import)",
    ),
    **dict.fromkeys(
        ("pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"),
        "pydantic (import)",
    ),
    **dict.fromkeys(("ventas", "app", "chalicelib"), "the product's modules (import)"),
    "aws_lambda_powertools": "Powertools (import)",
    "chalice": "chalice (import)",
    "phonenumbers": "phonenumbers (import)",
    **dict.fromkeys(("shapely", "numpy"), "GIS: shapely, numpy (import)"),
    **dict.fromkeys(("jinja2", "markupsafe", "fpdf", "jwt", "cryptography"), "console, tokens (import)"),
}
OTHER_IMPORTS = "stdlib & other imports"
CALLS = {
    "clients": "boto3 clients created",
    "aws": "AWS calls",
    "validators": "pydantic validators built",
}

ACCOUNTANT = """import gc as _gc, resource as _resource, sys as _sys
def _cpu():
    r = _resource.getrusage(_resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
_START = _cpu()
_GROUPS = GROUPS_HERE
# Three flat stacks and one dict: no container allocated per import or call, so the accountant
# does not change when the garbage collector runs.
_labels, _starts, _nested, _own = [], [], [], {}
def _enter(label):
    _labels.append(label)
    _starts.append(_cpu())
    _nested.append(0.0)
def _leave():
    label, spent, nested = _labels.pop(), _cpu() - _starts.pop(), _nested.pop()
    _own[label] = _own.get(label, 0.0) + spent - nested
    if _nested:
        _nested[-1] += spent
def _collecting(phase, info):
    _enter("garbage collection") if phase == "start" else _leave()
_gc.callbacks.append(_collecting)
def _timed(label, func):
    def timed(*args, **kwargs):
        _enter(label)
        try:
            return func(*args, **kwargs)
        finally:
            _leave()
    return timed
_PATCH = {
    "botocore.session": lambda m: setattr(m.Session, "create_client", _timed("clients", m.Session.create_client)),
    "botocore.client": lambda m: setattr(m.BaseClient, "_make_api_call", _timed("aws", m.BaseClient._make_api_call)),
    "pydantic._internal._model_construction": lambda m: setattr(
        m, "complete_model_class", _timed("validators", m.complete_model_class)),
    "pydantic.type_adapter": lambda m: setattr(
        m.TypeAdapter, "_init_core_attrs", _timed("validators", m.TypeAdapter._init_core_attrs)),
}
def _executing(run):
    def exec_module(self, module):
        name = module.__name__
        _enter(_GROUPS.get(name.partition(".")[0], OTHER_HERE))
        try:
            run(self, module)
        finally:
            _leave()
        if name in _PATCH:
            _PATCH[name](module)
    return exec_module
_external = _sys.modules["_frozen_importlib_external"]
for _loader in (_external._LoaderBasics, _external.ExtensionFileLoader):
    _loader.exec_module = _executing(_loader.exec_module)
class _Finding:
    @staticmethod
    def find_spec(name, path=None, target=None):
        _enter(_GROUPS.get(name.partition(".")[0], OTHER_HERE))
        try:
            for finder in _sys.meta_path:
                if finder is not _Finding and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        return spec
            return None
        finally:
            _leave()
_sys.meta_path.insert(0, _Finding)
import json as _json
def _profile_line(init_own, init_cpu):
    event = {k: v - init_own.get(k, 0.0) for k, v in _own.items()}
    total = _cpu()
    init = dict(init_own, **{"start-up": _START, "rest": init_cpu - _START - sum(init_own.values())})
    event["rest"] = total - init_cpu - sum(event.values())
    print("PROFILE " + _json.dumps({"init": init, "first_event": event}))
""".replace("GROUPS_HERE", repr(GROUPS)).replace("OTHER_HERE", repr(OTHER_IMPORTS))


def instrumented(code: str) -> str:
    """`code` (a child program that sets `init = _cpu()` and prints its JSON line last) with the
    accountant in front and its PROFILE line after: `init` and the parts are read at the same
    points as the timed samples' `init` and `total`."""
    marker = "init = _cpu()\n"
    if marker not in code:
        raise ValueError("the child program must set `init = _cpu()`")
    code = code.replace(marker, marker + "_init_own = dict(_own)\n", 1)
    return ACCOUNTANT + code + "\n_profile_line(_init_own, init)\n"


def parse(stdout: str) -> dict[str, dict[str, float]]:
    """The PROFILE line's parts, with CALLS' keys named and values in seconds."""
    line = next(line for line in stdout.splitlines() if line.startswith("PROFILE "))
    raw: dict[str, dict[str, float]] = json.loads(line.removeprefix("PROFILE "))
    return {phase: {CALLS.get(k, k): v for k, v in parts.items()} for phase, parts in raw.items()}


def table(profiles: dict[str, dict[str, dict[str, float]]], floor_total: float) -> list[str]:
    """Text lines: per function, its parts (init + first event, ms and share of the floor)."""
    lines = []
    for name, phases in profiles.items():
        parts: dict[str, float] = {}
        for phase in phases.values():
            for part, seconds in phase.items():
                parts[part] = parts.get(part, 0.0) + seconds
        shown = sorted(parts.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{part} {s * 1000:.0f} ms ({s / floor_total:.2f}x)" for part, s in shown if s >= 0.0015)
        lines.append(f"{name:<13}{sum(parts.values()) * 1000:5.0f} ms: {text}")
    return lines


def summary(profile: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The JSON form: seconds rounded to 0.1 ms, per phase, biggest first."""
    return {
        phase: {k: round(v, 4) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}
        for phase, parts in profile.items()
    }
