"""Serve the local stack and its HTTP API until interrupted.

    python -m devstack.serve [--port 8000] [--time-scale 3600] [--state build/local-stack.json]

Prints the API's URL; `python -m devstack.tokens --role <role>` then issues credentials.
The functional tests start this in a subprocess (with `--port 0`) and read the state file.

Ctrl-C (or SIGTERM) stops the API and the moto server, removes the state file, flushes the
output and leaves with `os._exit` (`end_process`): the interpreter's own finalization would
then free, object by object, everything moto's backends hold (each execution with its thread,
environment and history), seconds per thousand waiting executions, for a process that is
ending anyway. A second Ctrl-C ends the process at once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from devstack.api_server import STATE_FILE, LocalApi, ensure_api, refresh_console_users, stop_api
from devstack.stack import ROOT, LocalStack

START_TIMEOUT = 90.0
# `make run ARGS="--serve"`: one business minute per real second, so an agent's window (8 business
# hours) lasts 8 minutes and a person can work tasks by hand before they expire.
HUMAN_TIME_SCALE = 60.0
STOPPING = "Deteniendo la pila local… (Ctrl-C otra vez para salir de inmediato)"
STOPPED = "Pila local detenida."


def announce_console(api: LocalApi, out: TextIO) -> None:
    """How to open the console: its URL and the development users per role."""
    print(f"\nConsola: {api.url}/console  (inicio de sesión local: elija un usuario)", file=out)
    for username, role in sorted(api.identity.users.items(), key=lambda item: (item[1], item[0])):
        print(f"  {role:<11} {username}", file=out)
    print(f"API: {api.url}  ·  simular cliente: {api.url}/console/local  ·  Ctrl-C para terminar", file=out, flush=True)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM; from then on a second one ends the process at once
    (the default handlers), should stopping hang."""
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.set()

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    stop.wait()


def end_process(code: int) -> NoReturn:
    """Leave with `code` once the local stack is stopped: flush the logs and the output, then
    `os._exit`, skipping the interpreter's finalization (module docstring). Only for the
    command-line entry points, never from code a test runs in process."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):  # closed, or a broken pipe
            stream.flush()
    os._exit(code)


def keep_serving(stack: LocalStack, time_scale: float, out: TextIO) -> None:
    """Keep `stack` and its API up at `time_scale` until Ctrl-C or SIGTERM, with the simulated
    day's waits (`SIM_TIMING`: an agent's task lasts 8 business hours, the QC call comes one
    business hour after the installation, in business hours), so a person walks a sale to its
    QC call in minutes rather than the product's days."""
    from devstack.actors import SIM_TIMING

    stack.deps.settings = dataclasses.replace(stack.deps.settings, time_scale=time_scale, timing=SIM_TIMING)
    api = ensure_api(stack)
    refresh_console_users(api.identity)
    api.write_state()
    announce_console(api, out)
    wait_for_interrupt()
    print(STOPPING, file=out, flush=True)
    stop_api(stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.serve")
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--time-scale", default="3600", help="business seconds per real second")
    parser.add_argument("--state", type=Path, default=STATE_FILE)
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a template parameter (AgentTaskHours=24)"
    )
    args = parser.parse_args(argv)

    parameters = dict(p.split("=", 1) for p in args.param)
    stack = LocalStack(parameters={**parameters, "TimeScale": str(args.time_scale)}).start()
    api = ensure_api(stack, port=args.port)
    path = api.write_state(args.state)
    print(f"API: {api.url}  (OpenAPI: {api.url}/v1/openapi.json)", flush=True)
    print(f"State: {path}. Credentials: python -m devstack.tokens --role agent|supervisor|ops|channel", flush=True)
    announce_console(api, sys.stdout)

    wait_for_interrupt()
    print(STOPPING, flush=True)
    api.stop()
    stack.stop()
    path.unlink(missing_ok=True)
    print(STOPPED, flush=True)
    return 0


@contextlib.contextmanager
def served_in_subprocess(
    folder: Path, time_scale: str = "3600", parameters: Mapping[str, str] | None = None
) -> Iterator[LocalApi]:
    """Run `python -m devstack.serve --port 0` in a child process; yield how to reach it.

    `parameters` are template parameters (the waits: AgentTaskHours, ...). The child gets this
    environment less AWS/VD/MOTO variables; its output goes to `folder/serve.log`. Bounded
    start; the child is always stopped.
    """
    process, api = start_served(folder, time_scale, parameters)
    try:
        yield api
    finally:
        stop_served(process)


def start_served(
    folder: Path, time_scale: str = "3600", parameters: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], LocalApi]:
    """The child process of `served_in_subprocess` and its API, once its state file is written
    (`folder/stack.json`); RuntimeError (the child killed) when it does not start in time."""
    state = folder / "stack.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VD_", "MOTO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "devstack.serve", "--port", "0", "--time-scale", time_scale, "--state", str(state)]
    command += [f"--param={name}={value}" for name, value in (parameters or {}).items()]
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + START_TIMEOUT
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_served(process)
            raise RuntimeError(f"the local stack did not start: see {folder / 'serve.log'}")
        time.sleep(0.1)
    return process, LocalApi.from_state(state)


def stop_served(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM, timeout: float = 20) -> int:
    """Stop the child as Ctrl-C (SIGINT) or a service manager (SIGTERM) would; killed when it has
    not ended within `timeout` seconds. Returns its exit status."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)


if __name__ == "__main__":
    end_process(main())
