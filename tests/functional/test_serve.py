"""`make run ARGS="--serve"` / `python -m devstack.serve`: Ctrl-C stops the served stack cleanly,
however many executions wait on agents (a second process, as a person runs it)."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

from devstack.http_driver import HttpDriver
from devstack.serve import STOPPED, STOPPING, start_served, stop_served
from ventas.domain.tasks import TaskKind

WAITING = 60  # executions waiting on a call-back task when Ctrl-C comes


def test_ctrl_c_stops_a_stack_with_waiting_executions_cleanly(tmp_path: Path) -> None:
    process, api = start_served(tmp_path, "60")
    try:
        http = HttpDriver(api)
        requests = [http.missed_call("+5917" + str(uuid.uuid4().int)[:7]) for _ in range(WAITING)]
        http.open_task(requests[-1], TaskKind.CALL_BACK, timeout=60)
        assert (tmp_path / "stack.json").exists()
    finally:
        status = stop_served(process, signal.SIGINT, timeout=120)
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert status == 0, log[-2000:]  # ended by itself, not killed
    assert STOPPING in log
    assert log.rstrip().endswith(STOPPED)  # the output was flushed before leaving
    assert not (tmp_path / "stack.json").exists()  # no state file naming a stack that is gone
    assert "Traceback" not in log
