"""A resilient JSON-over-HTTP client for Comteco's back-office systems, on the standard library only.

One client per system: connect and read timeouts per attempt, a time budget per call, retries with
exponential backoff and full jitter, and a circuit breaker. `http.client` rather than `requests`
or `urllib3`: a Lambda cold start then loads nothing the runtime has not already imported.

Outcomes, as the workflow needs them:
- the system does not answer (connection error, timeout, 5xx, 429, retries exhausted, breaker
  open): `BackOfficeUnavailable`, which the ASL retries and then turns into a manual review;
- the system refuses the request (any other 4xx) or answers outside its contract:
  `BackOfficeContractError`, never retried, so the execution fails and ops see the bug.

No URL is ever logged or put in an error: a path can carry a CI. Routes are named by template.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from ventas.domain.errors import BackOfficeUnavailable, VentasError
from ventas.observability import logger

# Back-office answers are small JSON documents; anything bigger is not what the contract says.
MAX_BODY_BYTES: Final = 1 << 20

TokenSource = Callable[[str], str]
"""Returns the bearer token for a system ("naf", "gis", ...); called once per call, so a cached
secret reader can rotate it without a new container."""


class BackOfficeContractError(VentasError):
    """The system refused a request or answered outside its contract: a bug or a misconfiguration,
    not an outage. Never retried: the execution fails so ops see it."""

    def __init__(
        self, system: str, route: str, detail: str, status: int | None = None, code: str | None = None
    ) -> None:
        self.system = system
        self.route = route
        self.status = status
        self.code = code
        super().__init__(f"{system} {route}: {detail}")


@dataclass(frozen=True)
class Route:
    """An operation of a contract, e.g. Route("GET", "/customers/{ci}/impediments")."""

    method: str
    template: str

    def path(self, **params: str) -> str:
        # Every parameter is one path segment: "/" and spaces are escaped (a CI has a space).
        return self.template.format(**{name: quote(value, safe="") for name, value in params.items()})

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class CallPolicy:
    """Timeouts and retries of one call.

    Lambda functions time out at 20 s and the workflow itself retries `BackOfficeUnavailable`
    (1, 2, 4 s with full jitter), so the adapter only absorbs blips: 2 retries with short
    delays, all inside `budget_s`, which leaves the stage time for its DynamoDB writes.
    """

    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    budget_s: float = 10.0  # every attempt and pause of one call; attempts are cut to fit
    max_retries: int = 2
    base_delay_s: float = 0.2  # full jitter: pause n is uniform in [0, min(max, base * 2**(n-1)))
    max_delay_s: float = 1.0
    retry_after_cap_s: float = 2.0  # a longer Retry-After is left to the workflow's own backoff

    def __post_init__(self) -> None:
        if min(self.connect_timeout_s, self.read_timeout_s, self.budget_s) <= 0:
            raise ValueError("timeouts and budget must be positive")
        if self.max_retries < 0 or self.base_delay_s < 0 or self.max_delay_s < 0 or self.retry_after_cap_s < 0:
            raise ValueError("retries and delays must not be negative")


class CircuitBreaker:
    """Per system and thread-safe: closed -> open after `failure_threshold` consecutive failed
    attempts -> half-open once `cool_down_s` has passed, letting one probe through: its success
    closes the circuit, its failure opens it again. While open, calls fail at once, sparing the
    system a retry storm and the Lambda its billed waits.

    `now` is seconds from any origin (injected: tests move it instead of sleeping). The state
    lives in the container, so each warm Lambda container keeps its own breaker.
    """

    CLOSED: Final = "closed"
    OPEN: Final = "open"
    HALF_OPEN: Final = "half_open"

    def __init__(
        self,
        system: str,
        failure_threshold: int = 5,
        cool_down_s: float = 10.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cool_down_s < 0:
            raise ValueError("failure_threshold must be at least 1 and cool_down_s not negative")
        self.system = system
        self._threshold = failure_threshold
        self._cool_down = cool_down_s
        self._now = now
        self._lock = threading.Lock()
        self._state: str = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == self.OPEN and self._now() - self._opened_at >= self._cool_down:
                return self.HALF_OPEN
            return self._state

    def acquire(self) -> None:
        """Before each attempt. Raises `BackOfficeUnavailable`, without any network call, while
        open or while the half-open probe is in flight."""
        with self._lock:
            if self._state == self.CLOSED:
                return
            if self._state == self.OPEN:
                if self._now() - self._opened_at < self._cool_down:
                    raise BackOfficeUnavailable(f"{self.system} no responde (circuito abierto)")
                self._state = self.HALF_OPEN
                self._probing = False
            if self._probing:
                raise BackOfficeUnavailable(f"{self.system} no responde (circuito en prueba)")
            self._probing = True

    def release(self) -> None:
        """End an attempt without a verdict (it never reached the system): frees the probe."""
        with self._lock:
            self._probing = False

    def success(self) -> None:
        with self._lock:
            if self._state != self.CLOSED:
                logger.info("back office circuit closed", extra={"system": self.system})
            self._state, self._failures, self._probing = self.CLOSED, 0, False

    def failure(self) -> None:
        with self._lock:
            self._probing = False
            self._failures += 1
            if self._state == self.HALF_OPEN or (self._state == self.CLOSED and self._failures >= self._threshold):
                self._state, self._opened_at = self.OPEN, self._now()
                logger.warning(
                    "back office circuit opened",
                    extra={"system": self.system, "failures": self._failures, "cool_down_s": self._cool_down},
                )


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        """Raises ValueError for a body that is not JSON."""
        return json.loads(self.body.decode("utf-8"))


class _AttemptFailed(Exception):
    """An attempt got no HTTP answer. `sent`: the request may have reached the system."""

    def __init__(self, reason: str, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


class ResilientClient:
    """JSON calls to one system under `base_url` (https, or http on a loopback host for tests)."""

    def __init__(
        self,
        system: str,
        base_url: str,
        token: TokenSource,
        *,
        policy: CallPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        user_agent: str = "ventas-digitales",
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{system}: base URL must be http(s)://host[:port][/prefix]")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(
                f"{system}: plain http is only allowed on a loopback host (the token would travel in clear)"
            )
        if parts.query or parts.fragment or parts.username:
            raise ValueError(f"{system}: base URL must not carry a query, fragment or credentials")
        self.system = system
        self.breaker = breaker if breaker is not None else CircuitBreaker(system)
        self.policy = policy if policy is not None else CallPolicy()
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self._user_agent = user_agent
        self._ssl = ssl_context
        self._sleep = sleep
        self._jitter = jitter
        self._monotonic = monotonic

    def call(
        self,
        route: Route,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
        retry_statuses: frozenset[int] = frozenset({429}),
        idempotent: bool = True,
    ) -> Response:
        """A 2xx, or a status in `accept`, is returned. 5xx and `retry_statuses` are retried;
        any other status raises `BackOfficeContractError`. A non-idempotent call is retried only
        when the request surely did not arrive (connection failed, or 429)."""
        target = self._prefix + route.path(**(path_params or {}))
        if query:
            target += "?" + urlencode(query)
        body = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        sent_headers = {
            "Accept": "application/json",
            "User-Agent": self._user_agent,
            # One id for every attempt, so Comteco's logs and ours line up.
            "X-Correlation-Id": uuid.uuid4().hex,
            **(headers or {}),
            "Authorization": f"Bearer {self._token(self.system)}",
        }
        if body is not None:
            sent_headers["Content-Type"] = "application/json; charset=utf-8"
        deadline = self._monotonic() + self.policy.budget_s
        attempt = 0
        while True:
            attempt += 1
            self.breaker.acquire()
            retry_after: float | None = None
            try:
                response = self._send(route, target, body, sent_headers, deadline)
            except _AttemptFailed as failed:
                self.breaker.failure()
                reason, repeatable = failed.reason, idempotent or not failed.sent
            except BackOfficeContractError:
                self.breaker.release()  # a misconfiguration must keep showing as itself, not as an open circuit
                raise
            except BaseException:
                self.breaker.failure()  # also frees a half-open probe
                raise
            else:
                status = response.status
                if 200 <= status < 300 or status in accept:
                    self.breaker.success()
                    return response
                transient = status >= 500 or status in retry_statuses
                if status >= 500 or status == 429:
                    self.breaker.failure()
                else:
                    self.breaker.success()  # it answered: a refusal is not an outage
                if not transient:
                    raise _contract_error(self.system, route, response)
                reason, repeatable = f"HTTP {status}", idempotent or status == 429
                retry_after = _retry_after(response.headers.get("retry-after"))
            self._pause_or_give_up(route, attempt, reason, repeatable, retry_after, deadline)

    def _pause_or_give_up(
        self, route: Route, attempt: int, reason: str, repeatable: bool, retry_after: float | None, deadline: float
    ) -> None:
        policy = self.policy
        if not repeatable or attempt > policy.max_retries:
            raise BackOfficeUnavailable(f"{self.system} no responde ({reason}, {attempt} intento(s))")
        if retry_after is not None and retry_after > policy.retry_after_cap_s:
            raise BackOfficeUnavailable(f"{self.system} no responde ({reason}, pide esperar {retry_after:.0f} s)")
        if retry_after is not None:
            delay = retry_after
        else:
            delay = self._jitter() * min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
        if self._monotonic() + delay >= deadline:
            raise BackOfficeUnavailable(f"{self.system} no responde ({reason}, tiempo agotado)")
        logger.info(
            "back office retry",
            extra={"system": self.system, "route": str(route), "reason": reason, "attempt": attempt, "delay_s": delay},
        )
        self._sleep(delay)

    def _send(
        self, route: Route, target: str, body: bytes | None, headers: Mapping[str, str], deadline: float
    ) -> Response:
        # A fresh connection per call: a Lambda's calls are minutes apart, and a kept-alive
        # socket would mostly be found closed by the other side.
        left = deadline - self._monotonic()
        if left <= 0:
            raise _AttemptFailed("tiempo agotado", sent=False)
        connection: http.client.HTTPConnection
        connect_timeout = min(self.policy.connect_timeout_s, left)
        if self._https:
            context = self._ssl if self._ssl is not None else _default_ssl_context()
            connection = http.client.HTTPSConnection(self._host, self._port, timeout=connect_timeout, context=context)
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=connect_timeout)
        try:
            try:
                connection.connect()
            except ssl.SSLCertVerificationError as exc:
                raise BackOfficeContractError(
                    self.system, str(route), f"TLS certificate rejected ({exc.reason})"
                ) from None
            except OSError as exc:
                raise _AttemptFailed(_describe(exc), sent=False) from exc
            left = deadline - self._monotonic()
            if left <= 0:
                raise _AttemptFailed("tiempo agotado", sent=False)
            if connection.sock is not None:
                # The read timeout bounds each wait for bytes, cut to what is left of the budget.
                connection.sock.settimeout(min(self.policy.read_timeout_s, left))
            try:
                connection.request(route.method, target, body=body, headers=dict(headers))
                answer = connection.getresponse()
                data = answer.read(MAX_BODY_BYTES + 1)
            except (OSError, http.client.HTTPException) as exc:
                raise _AttemptFailed(_describe(exc), sent=True) from exc
        finally:
            connection.close()
        if len(data) > MAX_BODY_BYTES:
            raise BackOfficeContractError(self.system, str(route), f"answer larger than {MAX_BODY_BYTES} bytes")
        return Response(answer.status, {name.lower(): value for name, value in answer.getheaders()}, data)


@cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds: once per container, on the first HTTPS call.
    return ssl.create_default_context()


def _describe(exc: BaseException) -> str:
    return "tiempo de espera agotado" if isinstance(exc, TimeoutError) else "conexión fallida"


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _contract_error(system: str, route: Route, response: Response) -> BackOfficeContractError:
    """Only the error `code` is kept: a free-text message might echo personal data."""
    code: str | None = None
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("code"), str):
        code = document["code"][:80]
    detail = f"HTTP {response.status}" + (f" {code}" if code else "")
    if response.status in (401, 403):
        detail += " (check the back-office credential)"
    return BackOfficeContractError(system, str(route), detail, status=response.status, code=code)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
