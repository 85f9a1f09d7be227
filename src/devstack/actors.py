"""The actors of a simulated day: channels, customers, agents, Instalaciones, a Smartflex outage.

They act through the driver's public methods only (`Driver` or `HttpDriver`), as the outside
world would. Their delays are business minutes, scaled by the run's clock compression; actions
run on a small pool of threads at their due time (`Timers`), so a thousand waiting customers
hold no thread. Every wait has a deadline.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from devstack.driver import Driver
from devstack.http_driver import HttpDriver
from devstack.scenarios import DAY_MINUTES, Scenario
from ventas.config import Timing
from ventas.domain.kpi import outcome_label
from ventas.domain.schedule import local_day
from ventas.domain.tasks import TaskKind

DEFAULT_TIME_SCALE = 1200.0  # one real second = 20 business minutes: the day's arrivals take 30 s
AGENTS = ("agente.maria", "agente.jose", "agente.carla", "agente.luis", "agente.rosa", "agente.pedro")

# The procedure's waits for this run, in business hours (the product defaults are days).
SIM_TIMING = Timing(
    agent_task_hours=8.0,
    documents_hours=6.0,
    documents_reminder_hours=6.0,
    installation_hours=6.0,
    follow_up_hours=8.0,
    review_hours=4.0,
    qc_delay_hours=1.0,
    qc_task_hours=8.0,
)
# Longest stretch without business hours before a QC slot: Saturday 18:30 to Monday 08:30.
QC_GAP_HOURS = 38.0
# Business minutes an agent spends on a task before completing it.
THINK_MINUTES = {
    TaskKind.CALL_BACK: 6.0,
    TaskKind.IDENTIFICATION: 5.0,
    TaskKind.LOCATION: 4.0,
    TaskKind.MANUAL_REVIEW: 20.0,
    TaskKind.INSTALLATION_FOLLOW_UP: 8.0,
    TaskKind.QC_CALL: 5.0,
    TaskKind.CONTACT_CUSTOMER: 6.0,  # only when WhatsApp refuses: the simulated customers label documents
    TaskKind.DOCUMENT_REVIEW: 2.0,
}
POLL_SECONDS = 0.25  # real seconds between looks at the WhatsApp chat (in memory) or for a task
INBOX_SECONDS = 1.0  # the agents' shared inbox page is re-read at most this often
SWEEP_SECONDS = 30.0  # every open request is looked at this often (reads cost the stack CPU)
OUTAGE_SECONDS = 30.0  # Smartflex stays down until a manual review opens, at most this long (real)
SLACK_SECONDS = 45.0  # real-time retries (1 s, 2 s, 4 s backoff) and processing on a busy machine


@dataclasses.dataclass(frozen=True)
class SimConfig:
    leads: int = 50
    seed: int = 2026
    time_scale: float = DEFAULT_TIME_SCALE
    agents: tuple[str, ...] = AGENTS
    workers: int = 24  # threads running the customers' and channels' actions
    channel_workers: int = 0  # threads for the leads alone (0: they share `workers`); a burst needs its own
    poll_seconds: float = POLL_SECONDS  # real seconds between a customer's looks at the chat
    max_seconds: float | None = None  # a shorter bound for the whole day (bench.load_day's --max-minutes)
    patience_seconds: float = 15.0  # real seconds Instalaciones waits to see a sale handed off before reporting

    def real(self, minutes: float) -> float:
        """Real seconds for business minutes (at least a few milliseconds)."""
        return max(0.02, minutes * 60.0 / self.time_scale)

    def deadline_seconds(self) -> float:
        """How long the whole day may take before open requests count as stuck."""
        t = SIM_TIMING
        chain = (
            3 * t.agent_task_hours
            + t.documents_hours
            + t.documents_reminder_hours
            + 2 * t.review_hours
            + t.installation_hours
            + 2 * t.follow_up_hours
            + t.qc_delay_hours
            + QC_GAP_HOURS
            + t.qc_task_hours
        )
        bound = self.real(DAY_MINUTES + chain * 60) + SLACK_SECONDS
        return bound if self.max_seconds is None else min(bound, self.max_seconds)


class Timers:
    """A bounded pool running actions at their due time; waiting never holds a thread."""

    def __init__(self, workers: int, on_error: Callable[[str, Exception], None]) -> None:
        self._heap: list[tuple[float, int, str, Callable[[], None]]] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self._on_error = on_error
        self._threads = [threading.Thread(target=self._run, name=f"sim-{n}", daemon=True) for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def after(self, seconds: float, what: str, action: Callable[[], None]) -> None:
        with self._cv:
            if not self._closed:
                heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._seq), what, action))
                self._cv.notify()

    def _next(self) -> tuple[str, Callable[[], None]] | None:
        with self._cv:
            while not self._closed:
                if not self._heap:
                    self._cv.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait <= 0:
                    _, _, what, action = heapq.heappop(self._heap)
                    return what, action
                self._cv.wait(wait)
            return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            what, action = item
            try:
                action()
            except Exception as exc:  # one actor's failure is reported, the day goes on
                self._on_error(what, exc)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._heap.clear()
            self._cv.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)


# Error names from Driver (exception class) and HttpDriver (API error code).
NOT_WAITING = frozenset({"WorkflowNotWaiting", "workflow_not_waiting"})
CONFLICTS = frozenset({"TaskConflict", "claimed_by_other", "already_completed"})


def error_code(exc: Exception) -> str:
    """The product's error name (`InvokeError.error_type`, or an API error's `code`)."""
    return str(getattr(exc, "error_type", "") or getattr(exc, "code", "") or type(exc).__name__)


@dataclasses.dataclass
class _Customer:
    scenario: Scenario
    request_id: str
    rng: random.Random
    asked: bool = False
    reminded: bool = False
    installing: bool = False


class Day:
    """The outside world of one simulated day: channels, customers, agents, Instalaciones."""

    def __init__(self, driver: Driver | HttpDriver, config: SimConfig, scenarios: list[Scenario]) -> None:
        self.driver = driver
        self.config = config
        self.scenarios = scenarios
        self.run_id = uuid.uuid4().hex[:6]  # channel lead ids stay unique if a stack runs two days
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ids: dict[int, str] = {}
        self.by_request: dict[str, Scenario] = {}
        self.days: set[str] = set()
        self.received = 0
        self.ended: dict[str, str] = {}  # request id -> outcome label
        self.joined: list[tuple[str, str, bool]] = []
        self.work: dict[str, Counter[str]] = {agent: Counter() for agent in config.agents}
        self.counters: Counter[str] = Counter()
        self.errors: list[str] = []
        self.outage: dict[str, Any] = {}
        self.inbox_lock = threading.Lock()
        self.inbox: list[Any] = []
        self.inbox_read = 0.0
        self.taken: set[str] = set()
        self.signals: set[str] = set()
        self.t0 = time.monotonic()
        self.timers = Timers(config.workers, self._error)
        # A burst of leads must not keep the customers' actions waiting behind it.
        self.channels = Timers(config.channel_workers, self._error) if config.channel_workers else self.timers

    def close(self) -> None:
        """Stop the actors: no action starts after this."""
        self.stop.set()
        self.timers.close()
        if self.channels is not self.timers:
            self.channels.close()

    def _error(self, what: str, exc: Exception) -> None:
        with self.lock:
            self.errors.append(f"{what}: {error_code(exc)}: {str(exc)[:200]}")

    def _now(self) -> float:
        return round(time.monotonic() - self.t0, 2)

    # --- channels: the leads arrive --------------------------------------------------------

    def start(self) -> None:
        for sc in self.scenarios:
            self.channels.after(self.config.real(sc.arrival_minutes), f"{sc.label} arrival", partial(self._arrive, sc))
        for agent in self.config.agents:
            rng = random.Random(f"{self.config.seed}-{agent}")
            threading.Thread(target=self._agent, args=(agent, rng), name=agent, daemon=True).start()

    def _lead(self, sc: Scenario) -> dict[str, Any]:
        lead: dict[str, Any] = {
            "channel": sc.channel,
            "channel_lead_id": f"{sc.channel}-{self.run_id}-{sc.label}",
            "phone": sc.phone,
            "name": sc.name,
        }
        if sc.entry == "identified":
            lead |= {"ci": sc.ci, "service_code": sc.service_code}
        if sc.gives_location:
            lead["location"] = sc.address.location()
        return lead

    def _arrive(self, sc: Scenario, tries: int = 0) -> None:
        if sc.duplicate_of is not None:
            original = self.ids.get(sc.duplicate_of)
            if original is None and tries < 40:  # the first contact is still being taken in
                self.channels.after(0.25, f"{sc.label} arrival", lambda: self._arrive(sc, tries + 1))
                return
            lead = self._lead(sc)
            request_id = self.driver.submit_lead(**lead)
            # Another channel's lead is answered with a receipt of its own (contact binding):
            # whether it joined shows on the original request, as agents read it.
            own = f"{sc.channel}:{lead['channel_lead_id']}"
            ok = original is not None and (request_id == original or own in self.driver.request(original).joined_leads)
            with self.lock:
                self.received += 1
                self.joined.append((sc.label, original if ok and original else request_id, ok))
            return
        self.days.add(local_day(datetime.now(UTC)))
        if sc.entry == "missed":
            request_id = self.driver.missed_call(sc.phone, line=sc.line or "4200400")
        else:
            request_id = self.driver.submit_lead(**self._lead(sc))
        self.days.add(local_day(datetime.now(UTC)))
        with self.lock:
            self.received += 1
            self.ids[sc.index] = request_id
            self.by_request[request_id] = sc
        customer = _Customer(sc, request_id, random.Random(f"{self.config.seed}-{sc.index}"))
        self.timers.after(self.config.poll_seconds, f"{sc.label} chat", lambda: self._chat(customer))

    # --- customers: WhatsApp and Instalaciones ---------------------------------------------

    def _chat(self, c: _Customer) -> None:
        """The customer reads WhatsApp and reacts; Instalaciones acts once the sale is registered."""
        if self.stop.is_set() or c.request_id in self.ended:
            return
        sc, got = c.scenario, self.driver.messages(c.request_id)
        if "requirements_request" in got and not c.asked:
            c.asked = True
            first = {"all": len(sc.documents), "none": 0}.get(sc.docs, sc.sent_first)
            self._send(c, sc.documents[:first], c.rng.uniform(15, 45))
        if "requirements_reminder" in got and not c.reminded:
            c.reminded = True
            if sc.docs == "late":
                self._send(c, sc.documents[sc.sent_first :], c.rng.uniform(10, 30))
        if "sale_done" in got and not c.installing:
            c.installing = True
            if sc.install == "reported":
                delay = self.config.real(c.rng.uniform(60, 210))
                self.timers.after(delay, f"{sc.label} installation", lambda: self._install(c))
        if "rejection" in got or "abandonment" in got:
            self.signal(c.request_id)
            return
        self.timers.after(self.config.poll_seconds, f"{sc.label} chat", lambda: self._chat(c))

    def _send(self, c: _Customer, codes: tuple[str, ...], after_minutes: float) -> None:
        at = after_minutes
        for code in codes:
            last = code == c.scenario.documents[-1]
            self.timers.after(self.config.real(at), f"{c.scenario.label} document", partial(self._doc, c, code, last))
            at += c.rng.uniform(3, 12)

    def _doc(self, c: _Customer, code: str, last: bool) -> None:
        if last and c.scenario.outage:
            # Smartflex goes down just as this sale is about to be registered.
            self.driver.outage("smartflex")
            self.outage.update(system="smartflex", lead=c.scenario.label, request_id=c.request_id, start=self._now())
            self.timers.after(POLL_SECONDS, "outage", lambda: self._watch_outage(time.monotonic() + OUTAGE_SECONDS))
        media = f"wamid.sim-{self.run_id}-{c.scenario.label}-{code}"
        self.driver.send_document(c.scenario.phone, media, code)

    def _watch_outage(self, deadline: float) -> None:
        reviews = [
            t for t in self.driver.inbox() if t.kind == TaskKind.MANUAL_REVIEW and t.request_id in self.by_request
        ]
        if not reviews and time.monotonic() < deadline and not self.stop.is_set():
            self.timers.after(POLL_SECONDS * 2, "outage", lambda: self._watch_outage(deadline))
            return
        self.driver.heal("smartflex")  # Smartflex answers again before the agent decides to retry
        self.outage.update(end=self._now(), review_opened=bool(reviews))

    def _install(self, c: _Customer, looks: int = 1) -> None:
        """Instalaciones reports the order once it has it; not yet handed off (a sale fault's
        review still open): it looks again later, three times in all, unless the request ended."""
        try:
            status = self.driver.install(c.request_id, timeout=self.config.patience_seconds)
        except TimeoutError:
            if self.driver.request(c.request_id).outcome is not None or self.stop.is_set():
                with self.lock:
                    self.counters["installation_reports_not_needed"] += 1
                return
            if looks >= 3:
                raise
            self.timers.after(0.0, f"{c.scenario.label} installation", lambda: self._install(c, looks + 1))
            return
        if status != "recorded":  # a replay (200): the order was already reported
            with self.lock:
                self.counters["late_installation_reports"] += 1

    # --- agents: the inbox ------------------------------------------------------------------

    def _agent(self, agent: str, rng: random.Random) -> None:
        while not self.stop.is_set():
            try:
                task = self._take(rng)
                if task is None:
                    self.stop.wait(rng.uniform(0.6, 1.4) * POLL_SECONDS)
                    continue
                self._work(agent, task, rng)
            except Exception as exc:
                self._error(agent, exc)
                self.stop.wait(POLL_SECONDS)

    def _take(self, rng: random.Random) -> Any | None:
        """A task from the inbox page the agents share, re-read at most every INBOX_SECONDS:
        every read is a query, and the local stack has one core's worth of Python to give."""
        with self.inbox_lock:
            if time.monotonic() - self.inbox_read >= INBOX_SECONDS:
                self.inbox = [
                    t for t in self.driver.inbox() if t.request_id in self.by_request and t.task_id not in self.taken
                ]
                self.inbox_read = time.monotonic()
            if not self.inbox:
                return None
            task = self.inbox.pop(rng.randrange(min(3, len(self.inbox))))  # not always the first
            self.taken.add(task.task_id)
            return task

    def _work(self, agent: str, task: Any, rng: random.Random) -> None:
        kind = TaskKind(task.kind)
        try:
            self.driver.claim(task.task_id, agent)
        except Exception as exc:
            code = error_code(exc)
            if code not in CONFLICTS | NOT_WAITING:
                raise
            with self.lock:
                self.counters["claim_conflicts"] += 1
            return
        self.stop.wait(self.config.real(THINK_MINUTES[kind]) * rng.uniform(0.7, 1.3))
        try:
            self.driver.complete(task.task_id, agent, self._body(kind, self.by_request[task.request_id]))
        except Exception as exc:
            if error_code(exc) not in NOT_WAITING:
                raise
            with self.lock:
                self.counters["expired_on_completion"] += 1
            return
        if kind == TaskKind.QC_CALL:
            self.signal(task.request_id)
        with self.lock:
            self.work[agent][kind.value] += 1
            if task.attempt > 1:
                self.counters["reopened_tasks_worked"] += 1

    @staticmethod
    def _body(kind: TaskKind, sc: Scenario) -> dict[str, Any]:
        """What the agent records, per task kind (see `ventas.domain.tasks.RESULT_MODELS`)."""
        who = {"ci": sc.ci, "service_code": sc.service_code, "name": sc.name}
        if kind == TaskKind.CALL_BACK:
            return {"reached": True, **who} if sc.reachable else {"reached": False}
        if kind == TaskKind.IDENTIFICATION:
            return who
        if kind == TaskKind.LOCATION:
            return {"location": sc.address.location()}
        if kind == TaskKind.CONTACT_CUSTOMER:
            return {"reached": sc.reachable, "comment": "Se le explicó por teléfono lo que el mensaje decía."}
        if kind == TaskKind.MANUAL_REVIEW:
            return {"decision": "retry", "comment": "El sistema volvió a responder; se reintenta el registro."}
        if kind == TaskKind.INSTALLATION_FOLLOW_UP:
            if sc.install == "follow_up_cancelled":
                return {"installed": False, "comment": "El cliente desistió de la instalación."}
            now = datetime.now(UTC).isoformat()
            return {"installed": True, "installed_at": now, "comment": "Instalaciones confirma el servicio instalado."}
        return {"satisfaction": sc.qc_score, "comment": sc.qc_comment}

    # --- the supervisor's view: which requests ended ---------------------------------------

    def poll_outcomes(self, sweep: bool) -> None:
        """Read the requests that may have ended: a closing message reached the customer or the
        QC call was made. A sweep reads every open one (a QC call nobody
        made ends without a message). Reading every request each time would cost the stack more
        than the sales themselves."""
        with self.lock:
            open_ids = [rid for rid in self.by_request if rid not in self.ended]
            suspects = self.signals & set(open_ids)
            self.signals -= suspects
        for request_id in set(open_ids) if sweep else suspects:
            try:
                request = self.driver.request(request_id)
            except Exception as exc:  # reported; the request is looked at again next time
                self._error(f"supervisor {request_id}", exc)
                self.signal(request_id)
                continue
            if request.outcome is not None:
                self.ended[request_id] = outcome_label(request)
            elif request_id in suspects:  # its last state is still running: look again next time
                self.signal(request_id)

    def signal(self, request_id: str) -> None:
        with self.lock:
            self.signals.add(request_id)

    def arrivals_done(self) -> bool:
        return self.received + len(self.errors_on_arrival()) >= len(self.scenarios)

    def errors_on_arrival(self) -> list[str]:
        return [e for e in self.errors if " arrival: " in e]

    def expected_requests(self) -> int:
        return sum(1 for s in self.scenarios if s.duplicate_of is None)
