"""Fault injection on a running local stack, from outside its process (development only).

The local API server (`devstack.api_server`) answers one extra path that the deployed API does
not have, `/_local/faults`, backed by the stack's `FaultSwitch`:

- ``GET  /_local/faults``: ``{"down": {"smartflex": null}, "flaky": {"naf": 0.2}}``
  (``null``: down until healed; a number: failures left)
- ``POST /_local/faults`` with ``{"action": "fail", "system": "smartflex"}`` (down until healed),
  ``{"action": "fail", "system": "naf", "times": 3}`` (the next 3 calls fail),
  ``{"action": "flaky", "system": "gis", "rate": 0.2, "seed": 7}`` (each call fails with
  probability 0.2), ``{"action": "heal", "system": "gis"}`` or ``{"action": "heal_all"}``.

Systems: naf, gis, smartflex, installations, whatsapp (the outbox raises `NotifierUnavailable`).
Every POST must carry the header
``X-Local-Dev: faults``: a browser cannot send it cross-site without a preflight that this
server never grants, so a web page cannot switch a developer's stack. The server listens on
127.0.0.1 only. From a shell:

    python -m devstack.faults status
    python -m devstack.faults fail smartflex [--times 3]
    python -m devstack.faults flaky naf --rate 0.2 [--seed 7]
    python -m devstack.faults heal smartflex | heal-all

(`--state build/local-stack.json` by default: the file `python -m devstack.serve` writes.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ventas.adapters.local_systems import SYSTEMS, FaultSwitch

PATH = "/_local/faults"
HEADER = "X-Local-Dev"
HEADER_VALUE = "faults"


class FaultRequestError(ValueError):
    """A fault request this route cannot apply; the message says why (for a developer)."""


def describe(faults: FaultSwitch) -> dict[str, Any]:
    """What is injected now: systems down (failures left, None: until healed) and flaky ones."""
    return {"down": faults.status(), "flaky": faults.rates()}


def apply(faults: FaultSwitch, body: dict[str, Any]) -> dict[str, Any]:
    """Apply one fault request (shapes in the module docstring); returns `describe` after it.

    Raises FaultRequestError on an unknown action or system, or a bad `times`/`rate`.
    """
    action = body.get("action")
    system = body.get("system")
    if action != "heal_all" and system not in SYSTEMS:
        raise FaultRequestError(f"system must be one of {sorted(SYSTEMS)}")
    try:
        if action == "fail":
            times = body.get("times")
            faults.fail(str(system), None if times is None else int(times))
        elif action == "flaky":
            faults.fail_rate(str(system), float(body.get("rate", 0)), int(body.get("seed", 0)))
        elif action == "heal":
            faults.heal(str(system))
        elif action == "heal_all":
            faults.heal_all()
        else:
            raise FaultRequestError("action must be fail, flaky, heal or heal_all")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, FaultRequestError):
            raise
        raise FaultRequestError(str(exc)) from None
    return describe(faults)


def handle(faults: FaultSwitch, method: str, headers: dict[str, str], raw: bytes | None) -> tuple[int, dict[str, Any]]:
    """The route's answer to one HTTP call: (status, JSON body)."""
    if method == "GET":
        return 200, describe(faults)
    if method != "POST":
        return 405, {"message": "GET or POST"}
    if {k.lower(): v for k, v in headers.items()}.get(HEADER.lower()) != HEADER_VALUE:
        return 403, {"message": f"header {HEADER}: {HEADER_VALUE} required"}
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise FaultRequestError("body must be a JSON object")
        return 200, apply(faults, body)
    except (ValueError, FaultRequestError) as exc:
        return 400, {"message": str(exc)}


def main(argv: list[str] | None = None) -> int:
    import requests

    from devstack.api_server import STATE_FILE

    parser = argparse.ArgumentParser(prog="python -m devstack.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=STATE_FILE)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status")
    fail = sub.add_parser("fail")
    fail.add_argument("system", choices=sorted(SYSTEMS))
    fail.add_argument("--times", type=int)
    flaky = sub.add_parser("flaky")
    flaky.add_argument("system", choices=sorted(SYSTEMS))
    flaky.add_argument("--rate", type=float, required=True)
    flaky.add_argument("--seed", type=int, default=0)
    heal = sub.add_parser("heal")
    heal.add_argument("system", choices=sorted(SYSTEMS))
    sub.add_parser("heal-all")
    args = parser.parse_args(argv)

    url = json.loads(args.state.read_text(encoding="utf-8"))["api_url"] + PATH
    if args.command == "status":
        response = requests.get(url, timeout=10)
    else:
        body: dict[str, Any] = {"action": args.command.replace("-", "_")}
        if args.command != "heal-all":
            body["system"] = args.system
        if args.command == "fail" and args.times is not None:
            body["times"] = args.times
        if args.command == "flaky":
            body |= {"rate": args.rate, "seed": args.seed}
        response = requests.post(url, json=body, headers={HEADER: HEADER_VALUE}, timeout=10)
    print(json.dumps(response.json(), indent=2))
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
