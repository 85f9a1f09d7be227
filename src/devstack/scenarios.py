"""The leads of a simulated working day: who contacts Ventas Digitales, how, and what happens next.

`generate(leads, seed)` is deterministic: the same seed gives the same day. The mix of cases is
fixed by the number of leads (largest remainder over `MIX`); the seed picks customers, addresses,
services, channels and arrival times. Addresses and services are classified with the product's
own GIS adapter and qualification rule, and customers come from the NAF cartera, so each case's
expected outcome follows from the reference data rather than from a second copy of it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from typing import Literal

from ventas.adapters.reference import ReferenceCatalogue, ReferenceGis
from ventas.domain.catalogue import Service
from ventas.domain.models import ReasonCode
from ventas.services.stages import IMPEDIMENT_PRIORITY, qualify

DAY_MINUTES = 600  # 08:30-18:30 in America/La_Paz: leads arrive over one business day
LINES = ("4200400", "4322205", "4001515")
IDENTIFYING_CHANNELS = ("web", "botmaker", "facebook", "whatsapp", "ivr")
CHAT_CHANNELS = ("web", "botmaker", "facebook", "whatsapp")

Docs = Literal["all", "late", "partial", "none"]
Install = Literal["reported", "follow_up_installed", "follow_up_cancelled"]
Entry = Literal["identified", "identify", "missed"]

# case -> weight (percent of the day's leads). Outcomes follow from the case (see `_expected`).
MIX: dict[str, int] = {
    "direct_sale": 28,  # the channel identified the customer: CI, service and location
    "identify": 9,  # the agent identifies the customer (step 3)
    "locate": 7,  # the agent asks for the location (step 5)
    "missed_call": 8,  # call-back (1.2), then location
    "unreachable": 3,  # call-back, the customer does not answer
    "impediment": 12,  # NAF cartera impediment (step 4 -> 14)
    "no_coverage": 6,  # outside every zone, or no network for the service (7 -> 14)
    "speed": 4,  # the zone cannot give the speed (7 -> 14)
    "feature": 2,  # the zone lacks a special feature (7 -> 14)
    "late_documents": 5,  # part of the documents, the rest after the reminder (9)
    "partial_documents": 4,  # part of the documents, never the rest: abandoned
    "no_documents": 3,  # never sends anything: reminder, then abandoned
    "late_installation": 4,  # never reported: follow-up task, the agent confirms it installed
    "cancelled_installation": 2,  # follow-up task, the agent reports it cancelled
    "duplicate": 3,  # a second contact of a customer with an open request: joined
}

_DOCS: dict[str, Docs] = {"late_documents": "late", "partial_documents": "partial", "no_documents": "none"}
_INSTALL: dict[str, Install] = {
    "late_installation": "follow_up_installed",
    "cancelled_installation": "follow_up_cancelled",
}

QC_SCORES = (5, 5, 5, 5, 4, 4, 4, 3, 2, 1)
QC_COMMENTS: dict[int, tuple[str, ...]] = {
    5: ("Muy conforme con la instalación y la atención.", "Excelente, el técnico fue muy puntual."),
    4: ("Conforme, aunque la instalación tardó un poco.", "Buen servicio, la velocidad es la ofrecida."),
    3: ("Regular, tuvo que llamar dos veces para coordinar.", "Aceptable, pero el cableado quedó desordenado."),
    2: ("Poco conforme: la instalación se reprogramó sin aviso.", "La conexión se corta por las noches."),
    1: ("Muy disconforme, el técnico no llegó el día acordado.", "No funciona desde la instalación."),
}
NAMES = (
    "Carmen Quispe Rojas",
    "Juan Pablo Torrico",
    "Gabriela Mendoza Vargas",
    "Raúl Choque Mamani",
    "Lucía Fernández Soria",
    "Miguel Ángel Claure",
    "Andrea Vargas Zurita",
    "Fernando Rocha Coca",
    "Valeria Ayala Nina",
    "Sergio Montaño Paz",
    "Wara Condori Flores",
    "Iván Terrazas Arze",
)


@dataclass(frozen=True)
class Address:
    label: str
    address: str
    latitude: float
    longitude: float

    def location(self) -> dict[str, object]:
        return {"address": self.address, "latitude": self.latitude, "longitude": self.longitude}


ADDRESSES = (
    Address("Centro", "Calle España 123, Cochabamba", -17.3935, -66.1570),
    Address("Queru Queru", "Av. América 1456, Queru Queru", -17.366, -66.149),
    Address("Cala Cala", "Calle Los Pinos 78, Cala Cala", -17.370, -66.166),
    Address("Recoleta", "Av. Pando 990, La Recoleta", -17.380, -66.153),
    Address("Tupuraya", "Calle Tupuraya 310, Muyurina", -17.390, -66.137),
    Address("Las Cuadras", "Av. Petrolera km 1, Las Cuadras", -17.407, -66.145),
    Address("Sarco", "Av. Beijing 2201, Sarco", -17.375, -66.180),
    Address("Sacaba", "Av. Villazón km 12, Sacaba", -17.401, -66.045),
    Address("Sacaba centro", "Plaza 6 de Agosto 14, Sacaba", -17.398, -66.040),
    Address("Quillacollo", "Calle Héroes del Chaco 55, Quillacollo", -17.392, -66.278),
    Address("Tiquipaya", "Av. Ecológica 400, Tiquipaya", -17.340, -66.215),
    Address("Colcapirhua", "Av. Blanco Galindo km 8, Colcapirhua", -17.385, -66.235),
    Address("Vinto", "Calle Bolívar 12, Vinto", -17.390, -66.310),
    Address("Punata", "Plaza principal, Punata", -17.547, -65.836),
)


@dataclass(frozen=True)
class Scenario:
    """One lead and how its customer, the agents and Instalaciones behave."""

    index: int
    case: str
    arrival_minutes: float  # business minutes after the day opens
    channel: str  # "missed" for a lost IVR call
    line: str | None  # IVR line of a missed call
    phone: str
    name: str
    ci: str
    service_code: str
    address: Address
    entry: Entry
    gives_location: bool
    documents: tuple[str, ...]  # requirement codes, in sending order
    docs: Docs = "all"
    sent_first: int = 0  # documents sent before the reminder ("late", "partial")
    install: Install = "reported"
    reachable: bool = True  # answers the call-back
    qc_score: int = 5
    qc_comment: str = ""
    outage: bool = False  # Smartflex goes down as this sale is about to be registered
    duplicate_of: int | None = None
    expected: str = "sold"  # outcome label as `ventas.domain.kpi.outcome_label` writes it

    @property
    def label(self) -> str:
        return f"L{self.index + 1:03d}"


# --- reference data, read once --------------------------------------------------------------


@cache
def _catalogue() -> ReferenceCatalogue:
    return ReferenceCatalogue()


@cache
def _cartera() -> tuple[tuple[str, str, tuple[ReasonCode, ...]], ...]:
    data = json.loads((files("ventas") / "data" / "naf_cartera.json").read_text(encoding="utf-8"))
    return tuple((c["ci"], c["name"], tuple(ReasonCode(r) for r in c["impediments"])) for c in data["customers"])


@cache
def _pairs() -> dict[str, tuple[tuple[Address, Service], ...]]:
    """(address, service) pairs by what step 7 answers: "qualified" or the rejection code."""
    gis, services = ReferenceGis(), _catalogue().services()
    found: dict[str, list[tuple[Address, Service]]] = {}
    for address in ADDRESSES:
        zones = gis.zones_at(address.latitude, address.longitude)
        for service in services:
            result = qualify(service, zones, services)
            key = result.reason.code.value if result.reason else "qualified"
            found.setdefault(key, []).append((address, service))
    return {key: tuple(pairs) for key, pairs in found.items()}


# --- the day's mix ----------------------------------------------------------------------------


def allocate(leads: int) -> list[str]:
    """How many leads of each case: largest remainder, stable order. Cases that have no data
    to build them from (e.g. no zone lacking a feature) give their share to direct sales."""
    if leads < 1:
        raise ValueError("leads must be at least 1")
    pairs = _pairs()
    weights = {case: w for case, w in MIX.items() if _buildable(case, pairs)}
    weights["direct_sale"] += sum(MIX.values()) - sum(weights.values())
    total = sum(weights.values())
    exact = {case: leads * w / total for case, w in weights.items()}
    counts = {case: int(value) for case, value in exact.items()}
    order = sorted(weights, key=lambda c: (-(exact[c] - counts[c]), list(weights).index(c)))
    for case in order[: leads - sum(counts.values())]:
        counts[case] += 1
    return [case for case in weights for _ in range(counts[case])]


def _buildable(case: str, pairs: dict[str, tuple[tuple[Address, Service], ...]]) -> bool:
    needs = {"speed": "SPEED_NOT_SUPPORTED", "feature": "FEATURE_NOT_AVAILABLE", "no_coverage": "NO_COVERAGE"}
    return needs.get(case, "qualified") in pairs


def generate(leads: int, seed: int) -> list[Scenario]:
    rng = random.Random(seed)
    cases = allocate(leads)
    rng.shuffle(cases)
    arrivals = sorted(rng.uniform(0, DAY_MINUTES * 0.95) for _ in cases)
    people = _People(rng)
    built: list[Scenario] = []
    for index, (case, arrival) in enumerate(zip(cases, arrivals, strict=True)):
        original = _original_for(built, rng) if case == "duplicate" else None
        if original is not None:
            built.append(_duplicate(index, original, rng))
        else:  # a duplicate with nobody to duplicate yet becomes a direct sale
            built.append(_build(index, "direct_sale" if case == "duplicate" else case, arrival, rng, people))
    return _with_outage(built)


class _People:
    """Customers without repeats in one day: a repeated phone or CI would join an open request."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        cartera = _cartera()
        self._clean = [(ci, name) for ci, name, imp in cartera if not imp]
        self._impeded = [(ci, name) for ci, name, imp in cartera if imp]
        rng.shuffle(self._clean)
        rng.shuffle(self._impeded)
        self._numbers = {ci.split(" ")[0].split("-")[0] for ci, _, _ in cartera}
        self._phones: set[str] = set()

    def phone(self) -> str:
        while True:
            phone = f"+5917{self._rng.randrange(10**6, 10**7)}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def clean(self) -> tuple[str, str]:
        """A cartera customer without impediments, then new customers (absent from NAF)."""
        if self._clean:
            return self._clean.pop()
        while True:
            number = str(self._rng.randrange(2_000_000, 13_000_000))
            if number not in self._numbers:
                self._numbers.add(number)
                return f"{number} CB", self._rng.choice(NAMES)

    def impeded(self) -> tuple[str, str] | None:
        return self._impeded.pop() if self._impeded else None


def _build(index: int, case: str, arrival: float, rng: random.Random, people: _People) -> Scenario:
    pairs = _pairs()
    coverage = {"no_coverage": "NO_COVERAGE", "speed": "SPEED_NOT_SUPPORTED", "feature": "FEATURE_NOT_AVAILABLE"}
    address, service = rng.choice(pairs[coverage.get(case, "qualified")])
    person = people.impeded() if case == "impediment" else None
    if case == "impediment" and person is None:
        case = "direct_sale"  # more impediment cases than the cartera has customers for
    ci, name = person or people.clean()
    entry: Entry = "identified"
    if case in ("identify",) or (case in ("impediment", "no_coverage") and rng.random() < 0.3):
        entry = "identify"
    if case in ("missed_call", "unreachable"):
        entry = "missed"
    gives_location = entry != "missed" and case != "locate" and not (entry == "identify" and rng.random() < 0.4)
    channel = (
        "missed" if entry == "missed" else rng.choice(IDENTIFYING_CHANNELS if entry == "identified" else CHAT_CHANNELS)
    )
    docs = _DOCS.get(case, "all")
    install = _INSTALL.get(case, "reported")
    codes = tuple(r.code for r in service.requirements)
    score = rng.choice(QC_SCORES)
    return Scenario(
        index=index,
        case=case,
        arrival_minutes=round(arrival, 1),
        channel=channel,
        line=rng.choice(LINES) if entry == "missed" else None,
        phone=people.phone(),
        name=name,
        ci=ci,
        service_code=service.code,
        address=address,
        entry=entry,
        gives_location=gives_location,
        documents=codes,
        docs=docs,
        sent_first=rng.randint(1, max(1, len(codes) - 1)) if docs in ("late", "partial") else 0,
        install=install,
        reachable=case != "unreachable",
        qc_score=score,
        qc_comment=rng.choice(QC_COMMENTS[score]),
        expected=_expected(case, ci),
    )


def _expected(case: str, ci: str) -> str:
    if case == "impediment":
        found = next(imp for c, _, imp in _cartera() if c == ci)
        return "rejected:" + next(code for code in IMPEDIMENT_PRIORITY if code in found).value
    return {
        "unreachable": "abandoned:CUSTOMER_UNREACHABLE",
        "no_coverage": "rejected:NO_COVERAGE",
        "speed": "rejected:SPEED_NOT_SUPPORTED",
        "feature": "rejected:FEATURE_NOT_AVAILABLE",
        "partial_documents": "abandoned:DOCUMENTS_NOT_RECEIVED",
        "no_documents": "abandoned:DOCUMENTS_NOT_RECEIVED",
        "cancelled_installation": "abandoned:INSTALLATION_CANCELLED",
    }.get(case, "sold")


def _original_for(built: Sequence[Scenario], rng: random.Random) -> Scenario | None:
    """An earlier customer whose request stays open long enough to be joined."""
    candidates = [s for s in built if s.case in ("direct_sale", "late_installation") and s.duplicate_of is None]
    taken = {s.duplicate_of for s in built}
    free = [s for s in candidates if s.index not in taken]
    return rng.choice(free) if free else None


def _duplicate(index: int, original: Scenario, rng: random.Random) -> Scenario:
    channels = [c for c in CHAT_CHANNELS if c != original.channel]
    return Scenario(
        index=index,
        case="duplicate",
        # Soon after the first contact, while that request is surely still open.
        arrival_minutes=round(original.arrival_minutes + rng.uniform(15, 40), 1),
        channel=rng.choice(channels),
        line=None,
        phone=original.phone,
        name=original.name,
        ci=original.ci,
        service_code=original.service_code,
        address=original.address,
        entry="identified",
        gives_location=True,
        documents=(),
        duplicate_of=original.index,
        expected=f"joined:{original.label}",
    )


def _with_outage(built: list[Scenario]) -> list[Scenario]:
    """Smartflex goes down for the direct sale arriving nearest to a third of the day."""
    sales = [s for s in built if s.case == "direct_sale"]
    if not sales:
        return built
    chosen = min(sales, key=lambda s: abs(s.arrival_minutes - DAY_MINUTES / 3))
    return [replace(s, outage=True) if s.index == chosen.index else s for s in built]
