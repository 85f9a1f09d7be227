"""Local stand-ins for the back-office systems that act (Smartflex, Instalaciones) and for the
customer messages: in-memory, thread-safe, with injectable faults (`FaultSwitch`).

The reference-data adapters (catalogue, NAF cartera, GIS) are in `ventas.adapters.reference`,
which also re-exports these so the local back office has one import.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypedDict

from ventas.container import SystemClock
from ventas.domain.catalogue import Service
from ventas.domain.errors import BackOfficeUnavailable, NotifierUnavailable
from ventas.domain.models import Document, Location
from ventas.domain.schedule import LA_PAZ, format_local
from ventas.ports import Clock, SaleRegistration

SYSTEMS: Final = frozenset({"naf", "gis", "smartflex", "installations", "whatsapp"})
# Bolivia keeps UTC-4 all year: a fixed offset needs no tz database in the Lambda image.


class FaultSwitch:
    """Injected outages. `fail` replaces any earlier setting for that system.

    `times=None` keeps the system down until `heal`; `times=n` fails the next n calls only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, int | None] = {}
        self._rates: dict[str, tuple[float, random.Random]] = {}

    def fail(self, system: str, times: int | None = None) -> None:
        _known(system)
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: until healed)")
        with self._lock:
            self._down[system] = times

    def fail_rate(self, system: str, rate: float, seed: int = 0) -> None:
        """Fail each call with probability `rate` (0 < rate < 1), from a seeded generator, until
        healed: a flaky system rather than a down one. An outage set by `fail` takes precedence."""
        _known(system)
        if not 0 < rate < 1:
            raise ValueError("rate must be between 0 and 1 (exclusive)")
        with self._lock:
            self._rates[system] = (rate, random.Random(seed))

    def heal(self, system: str) -> None:
        _known(system)
        with self._lock:
            self._down.pop(system, None)
            self._rates.pop(system, None)

    def heal_all(self) -> None:
        with self._lock:
            self._down.clear()
            self._rates.clear()

    def status(self) -> dict[str, int | None]:
        """Systems down now, with the failures left (None: until healed)."""
        with self._lock:
            return dict(self._down)

    def rates(self) -> dict[str, float]:
        """Flaky systems and the share of their calls that fail."""
        with self._lock:
            return {system: rate for system, (rate, _) in self._rates.items()}

    def check(self, system: str) -> None:
        """Called by an adapter at the start of each call: raises while the system is down."""
        with self._lock:
            if system not in self._down:
                flaky = self._rates.get(system)
                if flaky is None or flaky[1].random() >= flaky[0]:
                    return
                raise BackOfficeUnavailable(f"{system} no responde")
            left = self._down[system]
            if left is not None:
                if left <= 1:
                    del self._down[system]
                else:
                    self._down[system] = left - 1
        raise BackOfficeUnavailable(f"{system} no responde")


def _known(system: str) -> None:
    # A typo must not silently inject nothing.
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; expected one of {sorted(SYSTEMS)}")


# --- Smartflex, "Procedimiento Venta" (step 10) --------------------------------------------------


class LocalSmartflex:
    """Sale registration, idempotent per request_id: a retry gets the first registration back.

    Order numbers come from one counter, in the La Paz year: SF-2026-000001, and the Solicitud de
    Servicio (automated form) shares the number: SS-2026-000001.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        faults: FaultSwitch | None = None,
        first_number: int = 1,
    ) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._faults = faults if faults is not None else FaultSwitch()
        self._lock = threading.Lock()
        self._next = first_number
        self._by_request: dict[str, SaleRegistration] = {}
        self._forms: dict[str, dict[str, Any]] = {}

    def register_sale(
        self,
        request_id: str,
        ci: str,
        name: str | None,
        service: Service,
        location: Location,
        documents: Sequence[Document],
    ) -> SaleRegistration:
        self._faults.check("smartflex")
        with self._lock:
            existing = self._by_request.get(request_id)
            if existing is not None:
                return existing
            now = self._clock.now()
            if now.tzinfo is None:
                raise ValueError("the clock must return timezone-aware datetimes")
            now = now.astimezone(UTC)
            year, number = now.astimezone(LA_PAZ).year, self._next
            self._next += 1
            registration = SaleRegistration(
                order_id=f"SF-{year}-{number:06d}",
                registered_at=now,
                form_id=f"SS-{year}-{number:06d}",
            )
            self._by_request[request_id] = registration
            self._forms[registration.order_id] = _solicitud_de_servicio(
                registration,
                request_id=request_id,
                customer={"name": name, "ci": ci},
                service=service,
                location=location,
                documents=documents,
            )
            return registration

    def registration(self, request_id: str) -> SaleRegistration | None:
        with self._lock:
            return self._by_request.get(request_id)

    def solicitud(self, order_id: str) -> dict[str, Any] | None:
        """The rendered Solicitud de Servicio (a copy), or None for an unknown order."""
        with self._lock:
            form = self._forms.get(order_id)
            return copy.deepcopy(form) if form is not None else None


def _solicitud_de_servicio(
    registration: SaleRegistration,
    *,
    request_id: str,
    customer: dict[str, str | None],
    service: Service,
    location: Location,
    documents: Sequence[Document],
) -> dict[str, Any]:
    """What the printed form carries: keys in English, what a person reads in Spanish."""
    received = {document.requirement: document.media_id for document in documents}
    return {
        "title": "Solicitud de Servicio",
        "form_id": registration.form_id,
        "order_id": registration.order_id,
        "request_id": request_id,
        "sales_channel": "Ventas Digitales",
        "issued_at": registration.registered_at.isoformat(),
        "issued_at_local": format_local(registration.registered_at),
        "customer": customer,
        "service": {
            "code": service.code,
            "name": service.name,
            "kind": service.kind,
            "speed_mbps": service.speed_mbps,
            "price_bs": service.price_bs,
            "special_features": list(service.special_features),
        },
        "installation_address": {
            "address": location.address,
            "latitude": location.latitude,
            "longitude": location.longitude,
        },
        "requirements": [
            {
                "code": item.code,
                "label": item.label,
                "received": item.code in received,
                "media_id": received.get(item.code),
            }
            for item in service.requirements
        ],
        "estimated_completion": "De 2 a 15 días",
        "copies": {"original": 1, "copy": 1},
    }


# --- Installations, INSTALACIONES Y TRASLADOS (OPR-PAS-P02), step 12 ------------------------------


@dataclass(frozen=True)
class InstallationHandOff:
    order_id: str
    request_id: str
    location: Location
    handed_off_at: datetime


class LocalInstallations:
    """Hand-offs waiting for a crew. Idempotent per order: a retried hand-off, even after `take`,
    is not queued twice.
    """

    def __init__(self, clock: Clock | None = None, faults: FaultSwitch | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._faults = faults if faults is not None else FaultSwitch()
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._pending: dict[str, InstallationHandOff] = {}

    def hand_off(self, order_id: str, request_id: str, location: Location) -> None:
        self._faults.check("installations")
        with self._lock:
            if order_id in self._seen:
                return
            self._seen.add(order_id)
            self._pending[order_id] = InstallationHandOff(order_id, request_id, location, self._clock.now())

    def pending(self) -> list[InstallationHandOff]:
        """Oldest first."""
        with self._lock:
            return list(self._pending.values())

    def take(self, order_id: str) -> InstallationHandOff | None:
        """A crew takes the order (the simulation then reports it installed or cancelled)."""
        with self._lock:
            return self._pending.pop(order_id, None)


# --- Customer messages (TMF681; WhatsApp in production) -------------------------------------------


class SentMessage(TypedDict):
    message_id: str
    request_id: str
    phone: str
    template: str
    text: str
    sent_at: str  # UTC ISO-8601


class OutboxNotifier:
    """Keeps what would have gone to WhatsApp, for tests and the simulation's pages.

    With a `FaultSwitch`, the system "whatsapp" down makes `send` raise NotifierUnavailable, as
    the Cloud API adapter does when Meta does not answer.
    """

    def __init__(self, clock: Clock | None = None, faults: FaultSwitch | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._faults = faults
        self._lock = threading.Lock()
        self._sent: list[SentMessage] = []
        self._by_request: dict[str, list[SentMessage]] = {}  # a customer's chat, read often

    def send(self, request_id: str, phone: str, template: str, text: str) -> str:
        if self._faults is not None:
            try:
                self._faults.check("whatsapp")
            except BackOfficeUnavailable as down:
                raise NotifierUnavailable("WhatsApp did not answer (local fault switch)") from down
        message_id = f"wamid.local-{uuid.uuid4().hex}"
        message = SentMessage(
            message_id=message_id,
            request_id=request_id,
            phone=phone,
            template=template,
            text=text,
            sent_at=self._clock.now().astimezone(UTC).isoformat(),
        )
        with self._lock:
            self._sent.append(message)
            self._by_request.setdefault(request_id, []).append(message)
        return message_id

    def messages(self) -> list[SentMessage]:
        with self._lock:
            return [message.copy() for message in self._sent]

    def messages_for(self, request_id: str) -> list[SentMessage]:
        with self._lock:
            return [message.copy() for message in self._by_request.get(request_id, ())]
