"""Where the CPU of a process goes, by thread and by code: a sampler weighted by each thread's CPU.

Every `interval` seconds a thread of the sampler reads every other thread's CPU time (Linux:
`/proc/self/task/<tid>/schedstat`, nanoseconds on a CPU) and its Python stack
(`sys._current_frames`). The CPU a thread spent since the last sample is charged to the stack it
shows now: a thread that waits (a lock, a socket, a sleep) spends no CPU and is charged nothing,
however long it waits. No tracing hook, so the code runs at its own speed; the sampler's own
reads (about 10 ms per 1,000 threads a sample) are its own thread's, charged to no one. A thread
that worked and then blocked between two samples is charged at its blocked stack: the role is
right, the innermost frame may not be (a shorter interval narrows that).

Most threads of the local stack live shorter than a sample (a state's evaluation, an HTTP
connection, an execution-end delivery): while sampling, `threading.Thread.run` is wrapped so a
thread that ends reports its whole CPU (`time.thread_time`), and what no sample saw is charged
to its role (from its target: the function or server it runs) under `unsampled_by_target`.

The moto server's share is split once more, by AWS operation (`moto_operations`): each request it
serves is timed on its thread's CPU clock (`time.thread_time`), keyed by its X-Amz-Target or its
query's Action (DynamoDB_20120810.Query, AWSStepFunctions.SendTaskSuccess, ...).

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
    ("devstack/stack", "moto bridge (execution-end events)"),
    ("devstack/api_server", "local API (chalice, the product's handlers)"),
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


def _role(files: list[str]) -> str:
    for fragment, role in ROLES:
        if any(fragment in name for name in files):
            return role
    return "other"


def _target_files(target: Any) -> list[str]:
    """Where a thread's target is defined: its function's file, and for a bound method (a
    server's request thread) the file of its object's class too."""
    files = [str(getattr(getattr(target, "__code__", None), "co_filename", ""))]
    owner = getattr(target, "__self__", None)
    if owner is not None:
        files.append(str(getattr(sys.modules.get(type(owner).__module__), "__file__", "")))
        func = getattr(target, "__func__", None)
        files.append(str(getattr(getattr(func, "__code__", None), "co_filename", "")))
    return files


def _target_name(target: Any) -> str:
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__qualname__", type(target).__name__)
    return f"{type(owner).__module__}.{name}" if owner is not None else f"{getattr(target, '__module__', '?')}.{name}"


class CpuSampler:
    """`start()`, then `stop()` for the report (see `report`). One sampler per process at a time."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.roles: Counter[str] = Counter()
        self.own: Counter[str] = Counter()
        self.inclusive: Counter[str] = Counter()
        self.role_own: dict[str, Counter[str]] = {}
        self.unsampled: Counter[str] = Counter()
        self.operations: Counter[str] = Counter()
        self.operation_calls: Counter[str] = Counter()
        self._original_dispatch: Any = None
        self.samples = 0
        self._clocks: dict[int, float] = {}  # native thread id -> its CPU already charged
        self._lock = threading.Lock()
        self._original_run: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._started = 0.0
        self._cpu_started = 0.0

    def start(self) -> CpuSampler:
        self._started = time.monotonic()
        self._cpu_started = time.process_time()
        for thread in threading.enumerate():  # what threads spent before sampling is not charged
            cpu = None if thread.native_id is None else self._cpu(thread.native_id)
            if cpu is not None and thread.native_id is not None:
                self._clocks[thread.native_id] = cpu
        self._original_run = original = threading.Thread.run
        sampler = self

        def run(thread: threading.Thread) -> None:
            target = getattr(thread, "_target", None)  # Thread.run forgets it
            try:
                original(thread)
            finally:
                sampler._ended(thread, target, time.thread_time())

        threading.Thread.run = run  # type: ignore[method-assign]
        self._meter_moto()
        self._thread.start()
        return self

    def _meter_moto(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        self._original_dispatch = original = DomainDispatcherApplication.__call__
        sampler = self

        def dispatch(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            before = time.thread_time()
            try:
                return original(app, environ, start_response)
            finally:
                spent = time.thread_time() - before
                query = str(environ.get("QUERY_STRING", ""))
                action = next((p[7:] for p in query.split("&") if p.startswith("Action=")), "")
                name = str(environ.get("HTTP_X_AMZ_TARGET") or action or environ.get("PATH_INFO", "?")[:40])
                with sampler._lock:
                    sampler.operations[name] += spent
                    sampler.operation_calls[name] += 1

        DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]

    def _ended(self, thread: threading.Thread, target: Any, cpu: float) -> None:
        """A thread's last words: its CPU that no sample charged goes to its role."""
        if thread.native_id is None:
            return
        with self._lock:
            rest = cpu - self._clocks.pop(thread.native_id, 0.0)
            if rest <= 0 or self._stop.is_set():
                return
            role = _role(_target_files(target))
            self.roles[role] += rest
            self.unsampled[f"{role}: {_target_name(target)}"] += rest

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
            with self._lock:
                spent = cpu - self._clocks.get(native[ident], 0.0)
                self._clocks[native[ident]] = cpu
            if spent <= 0:
                continue
            stack: list[FrameType] = []
            current: FrameType | None = frame
            while current is not None:
                stack.append(current)
                current = current.f_back
            stack.reverse()  # outermost first
            role = _role([f.f_code.co_filename for f in stack])
            with self._lock:
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
        if self._original_run is not None:
            threading.Thread.run = self._original_run  # type: ignore[method-assign]
        if self._original_dispatch is not None:
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication

            DomainDispatcherApplication.__call__ = self._original_dispatch  # type: ignore[method-assign]
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
            "unsampled_by_target": rows(self.unsampled, 20),
            "moto_operations": [
                {
                    "operation": name,
                    "calls": self.operation_calls[name],
                    "cpu_s": round(cpu, 2),
                    "ms_each": round(1000 * cpu / self.operation_calls[name], 2),
                }
                for name, cpu in self.operations.most_common(25)
            ],
        }
