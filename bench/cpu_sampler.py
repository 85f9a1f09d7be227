"""Where the CPU of a process goes, by thread and by code: a sampler weighted by each thread's CPU.

Every `interval` seconds a thread of the sampler reads every other thread's CPU time (Linux:
`/proc/self/task/<tid>/schedstat`, nanoseconds on a CPU) and its Python stack
(`sys._current_frames`). The CPU a thread spent since the last sample is charged to the stack it
shows now: a thread that waits (a lock, a socket, a sleep) spends no CPU and is charged nothing,
however long it waits. No tracing hook, so the code runs at its own speed; the sampler's own
reads (about 10 ms per 1,000 threads a sample) are its own thread's, charged to no one. A thread
that worked and then blocked between two samples is charged at its blocked stack: the role is
right, the innermost frame may not be (a shorter interval narrows that).

Charged three ways:
- `roles`: what the thread is (the local API, moto's server, one execution of the interpreter,
  the simulated actors, ...), from the files on its stack (ROLES);
- `own`: the innermost frame of our code or of a library, as `path:function` (self time);
- `inclusive`: every distinct `path:function` on the stack (cumulative time).

Threads not started through `threading` (none here) are not seen.

    sampler = CpuSampler(0.02).start(); ...; report = sampler.stop()
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from types import FrameType
from typing import Any

# (a file path fragment on the stack, the role it gives the thread), first match from the
# outermost frame inwards wins after the more specific ones below.
ROLES = (
    ("stepfunctions/parser", "moto: Step Functions interpreter (executions)"),
    ("chalice/local", "local API (chalice, the product's handlers)"),
    ("werkzeug", "moto: server (AWS API calls)"),
    ("devstack/actors", "simulated actors (channels, customers, agents)"),
    ("bench/load_day", "simulated actors (channels, customers, agents)"),
    ("devstack/moto_bridge", "moto bridge (execution-end events)"),
    ("devstack/simulate", "the bench's supervisor loop"),
)
_SKIP = ("threading.py", "socketserver.py", "concurrent/futures")


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    for marker in ("site-packages/", "/src/", "/functions/", "/bench/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{code.co_name}"


def _role(stack: list[FrameType]) -> str:
    files = [f.f_code.co_filename for f in stack]
    for fragment, role in ROLES:
        if any(fragment in name for name in files):
            return role
    return "other"


class CpuSampler:
    """`start()`, then `stop()` for the report (see `report`). One sampler per process at a time."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.roles: Counter[str] = Counter()
        self.own: Counter[str] = Counter()
        self.inclusive: Counter[str] = Counter()
        self.role_own: dict[str, Counter[str]] = {}
        self.samples = 0
        self._clocks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._started = 0.0
        self._cpu_started = 0.0

    def start(self) -> CpuSampler:
        self._started = time.monotonic()
        self._cpu_started = time.process_time()
        self._thread.start()
        return self

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            self._sample(me)

    @staticmethod
    def _cpu(native_id: int) -> float | None:
        """Seconds on a CPU of one thread of this process, None if it has ended."""
        try:
            fd = os.open(f"/proc/self/task/{native_id}/schedstat", os.O_RDONLY)
        except OSError:
            return None
        try:
            return int(os.read(fd, 128).split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None
        finally:
            os.close(fd)

    def _sample(self, me: int) -> None:
        native = {t.ident: t.native_id for t in threading.enumerate() if t.native_id is not None}
        frames = sys._current_frames()
        self.samples += 1
        for ident, frame in frames.items():
            if ident == me or ident not in native:
                continue
            cpu = self._cpu(native[ident])
            if cpu is None:  # the thread ended meanwhile
                continue
            spent = cpu - self._clocks.get(ident, cpu)
            self._clocks[ident] = cpu
            if spent <= 0:
                continue
            stack: list[FrameType] = []
            current: FrameType | None = frame
            while current is not None:
                stack.append(current)
                current = current.f_back
            stack.reverse()  # outermost first
            role = _role(stack)
            self.roles[role] += spent
            leaf = next((f for f in reversed(stack) if not f.f_code.co_filename.endswith(_SKIP)), stack[-1])
            self.own[_where(leaf)] += spent
            self.role_own.setdefault(role, Counter())[_where(leaf)] += spent
            for where in {_where(f) for f in stack}:
                self.inclusive[where] += spent

    def stop(self, top: int = 40) -> dict[str, Any]:
        """Stop sampling; the report: seconds of CPU per role, and the `top` places (own and
        inclusive), with the process's CPU and wall time over the same span."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.report(top)

    def report(self, top: int = 40) -> dict[str, Any]:
        charged = sum(self.roles.values())

        def rows(counter: Counter[str], n: int) -> list[dict[str, Any]]:
            return [
                {"where": k, "cpu_s": round(v, 2), "share": round(v / charged, 3) if charged else 0.0}
                for k, v in counter.most_common(n)
            ]

        return {
            "wall_s": round(time.monotonic() - self._started, 1),
            "process_cpu_s": round(time.process_time() - self._cpu_started, 1),
            "charged_cpu_s": round(charged, 1),
            "samples": self.samples,
            "roles": rows(self.roles, 20),
            "own": rows(self.own, top),
            "inclusive": rows(self.inclusive, top),
            "own_by_role": {role: rows(counter, 12) for role, counter in self.role_own.items()},
        }
