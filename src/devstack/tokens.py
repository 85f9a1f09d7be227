"""Credentials for the running local stack, one role at a time.

    python -m devstack.tokens --role agent            # a bearer token (Cognito ID token)
    python -m devstack.tokens --role ops --user ana   # a named person (created if new)
    python -m devstack.tokens --role channel --system web   # a channel system's API key
    python -m devstack.tokens --role installations   # Instalaciones' API key (installation events)

It reads `build/local-stack.json`, written by the local stack when it serves the API
(`python -m devstack.serve`, or `make run` while it runs), and signs in through moto's
Cognito like the console would. Example:

    curl -H "Authorization: Bearer $(python -m devstack.tokens --role supervisor)" \\
         "$(python -m devstack.tokens --url)/v1/reports/kpi"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devstack.api_server import STATE_FILE, LocalApi
from devstack.identity import CHANNEL_SYSTEMS, DEFAULT_USERS
from ventas.web.auth import Role


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.tokens", description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    parser.add_argument("--user", help="person's user name (default: the role's local user)")
    parser.add_argument("--system", choices=CHANNEL_SYSTEMS, default="web", help="channel system (role channel)")
    parser.add_argument("--state", type=Path, default=STATE_FILE, help="the local stack's state file")
    parser.add_argument("--url", action="store_true", help="print the API's base URL instead")
    args = parser.parse_args(argv)
    if not args.state.exists():
        print(f"No local stack found ({args.state}). Start one: python -m devstack.serve", file=sys.stderr)
        return 2
    api = LocalApi.from_state(args.state)
    if args.url:
        print(api.url)
        return 0
    role = Role(args.role)
    if role == Role.CHANNEL:
        print(api.identity.api_keys[args.system])
        return 0
    if role == Role.INSTALLATIONS:  # a back-office system's key, not a person
        print(api.identity.backoffice_keys[role.value])
        return 0
    try:
        print(api.identity.token(args.user or DEFAULT_USERS[role], role))
    except Exception as exc:  # the stack that wrote the file is gone
        print(f"The local stack at {api.identity.endpoint} did not answer ({type(exc).__name__}).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
