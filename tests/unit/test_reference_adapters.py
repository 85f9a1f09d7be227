"""Reference back-office adapters: packaged data, real point-in-polygon, idempotency, faults."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape
from shapely.ops import unary_union

import ventas
from ventas.adapters.reference import (
    FaultSwitch,
    LocalInstallations,
    LocalSmartflex,
    OutboxNotifier,
    ReferenceCartera,
    ReferenceCatalogue,
    ReferenceGis,
)
from ventas.domain.catalogue import Service
from ventas.domain.errors import BackOfficeUnavailable
from ventas.domain.models import Document, Location, ReasonCode
from ventas.ports import (
    Cartera,
    Catalogue,
    Gis,
    Installations,
    Notifier,
    SaleRegistration,
    Smartflex,
)

DATA = files("ventas") / "data"
CARTERA_KINDS = (ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS, ReasonCode.EQUIPMENT_TO_RETURN)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def feature(zone_id: str, technology: str, speed: int, ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {
            "zone_id": zone_id,
            "name": zone_id.title(),
            "technology": technology,
            "max_speed_mbps": speed,
            "features": [],
        },
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]},
    }


def write_zones(tmp_path: Path, *features: dict[str, Any]) -> Path:
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def test_adapters_satisfy_the_ports_and_defer_shapely() -> None:
    """mypy checks the annotations; a fresh interpreter checks that GEOS loads only for the GIS."""
    adapters: tuple[Catalogue, Cartera, Gis, Smartflex, Installations, Notifier] = (
        ReferenceCatalogue(),
        ReferenceCartera(),
        ReferenceGis(),
        LocalSmartflex(),
        LocalInstallations(),
        OutboxNotifier(),
    )
    assert len(adapters) == 6
    src = Path(ventas.__file__).parents[1]
    code = "import sys, ventas.adapters.reference; print('shapely' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    assert result.stdout.strip() == "False"


# --- catalogue -----------------------------------------------------------------------------------


def test_catalogue_loads_the_packaged_services_each_with_requirements() -> None:
    catalogue = ReferenceCatalogue()
    services = catalogue.services()

    assert len(services) == 9
    for service in services:
        assert service.requirements, service.code
        assert all(r.code and r.label for r in service.requirements)
        assert service.price_bs > 0
        assert set(service.technologies) <= {"FTTH", "HFC", "COPPER"}
    business = catalogue.service("EMPRESA_FTTH_500_IP_FIJA")
    assert business is not None
    assert business.special_features == ["static_ip"]
    assert business.speed_mbps == 500
    assert "NIT" in {r.code for r in business.requirements}
    assert catalogue.service("INTERNET_FTTH_100") is not None
    assert catalogue.service("NO_EXISTE") is None


def test_catalogue_refuses_duplicate_codes(tmp_path: Path) -> None:
    service = json.loads((DATA / "catalogue.json").read_text(encoding="utf-8"))[0]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps([service, service]))

    with pytest.raises(ValueError, match="duplicate"):
        ReferenceCatalogue(path)


# --- NAF cartera ---------------------------------------------------------------------------------


def packaged_cartera() -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = json.loads((DATA / "naf_cartera.json").read_text(encoding="utf-8"))["customers"]
    return customers


@pytest.mark.parametrize(
    ("ci", "expected"),
    [
        ("3456789 CB", [ReasonCode.DEBT]),
        ("2987654 CB", [ReasonCode.CENTRAL_DE_RIESGOS]),
        ("4321098 CB", [ReasonCode.EQUIPMENT_TO_RETURN]),
        ("6789012 CB", [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]),
        ("5555123 CB", list(CARTERA_KINDS)),
        ("6234567-1A CB", [ReasonCode.CENTRAL_DE_RIESGOS, ReasonCode.EQUIPMENT_TO_RETURN]),
        ("4567890 CB", []),
        ("1111111 CB", []),  # not in the cartera: a new customer
    ],
)
def test_cartera_returns_the_customers_impediments(ci: str, expected: list[ReasonCode]) -> None:
    assert ReferenceCartera().impediments(ci) == expected


def test_packaged_cartera_has_at_least_four_customers_per_impediment_and_clean_ones() -> None:
    cartera = ReferenceCartera()
    found = {ci["ci"]: cartera.impediments(ci["ci"]) for ci in packaged_cartera()}

    assert len(found) >= 40
    for kind in CARTERA_KINDS:
        assert sum(kind in reasons for reasons in found.values()) >= 4, kind
    assert sum(not reasons for reasons in found.values()) >= 20


def test_cartera_normalises_the_ci_and_a_missing_extension_still_matches() -> None:
    cartera = ReferenceCartera()

    assert cartera.impediments("  3456789   cb ") == [ReasonCode.DEBT]
    assert cartera.impediments("3456789") == [ReasonCode.DEBT]
    assert cartera.impediments("3456789 LP") == []  # same number, other department
    with pytest.raises(ValueError, match="carnet"):
        cartera.impediments("abc")


def test_cartera_refuses_reasons_that_are_not_impediments(tmp_path: Path) -> None:
    path = tmp_path / "cartera.json"
    path.write_text(json.dumps({"customers": [{"ci": "1234567 CB", "name": "X", "impediments": ["NO_COVERAGE"]}]}))

    with pytest.raises(ValueError, match="not a Cartera impediment"):
        ReferenceCartera(path)


# --- GIS -----------------------------------------------------------------------------------------


def test_a_point_where_each_zone_is_the_best_finds_that_zone() -> None:
    """Every packaged zone wins somewhere; its representative point there must find it."""
    collection = json.loads((DATA / "gis_zones.geojson").read_text(encoding="utf-8"))
    polygons = [(f["properties"], shape(f["geometry"])) for f in collection["features"]]
    gis = ReferenceGis()

    assert len(polygons) >= 10
    for props, polygon in polygons:
        faster = [other for p, other in polygons if p["max_speed_mbps"] > props["max_speed_mbps"]]
        where_best = polygon.difference(unary_union(faster)) if faster else polygon
        assert not where_best.is_empty, props["zone_id"]
        point = where_best.representative_point()

        zone = gis.zone_at(point.y, point.x)

        assert zone is not None, props["zone_id"]
        assert zone.zone_id == props["zone_id"]
        assert zone.max_speed_mbps == props["max_speed_mbps"]


@pytest.mark.parametrize(
    ("latitude", "longitude", "zone_id", "speed"),
    [
        (-17.3935, -66.1570, "CBB-CENTRO-FTTH", 1000),  # Plaza 14 de Septiembre, also HFC
        (-17.3805, -66.1730, "CBB-CERCADO-HFC", 50),  # Sarco
        (-17.3660, -66.1480, "CBB-QUERUQUERU-FTTH", 500),
        (-17.4095, -66.1453, "CBB-LASCUADRAS-COPPER", 10),
        (-17.3965, -66.0402, "SCB-CENTRO-FTTH", 100),  # also inside Sacaba HFC
    ],
)
def test_overlapping_zones_return_the_fastest(latitude: float, longitude: float, zone_id: str, speed: int) -> None:
    zone = ReferenceGis().zone_at(latitude, longitude)

    assert zone is not None
    assert (zone.zone_id, zone.max_speed_mbps) == (zone_id, speed)


def test_zones_at_lists_every_covering_zone_best_first() -> None:
    zones = ReferenceGis().zones_at(-17.3935, -66.1570)

    assert [z.zone_id for z in zones] == ["CBB-CENTRO-FTTH", "CBB-CERCADO-HFC"]


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (-17.4500, -66.1500),
        (-17.3950, -66.0900),
        (-17.3935, 66.1570),
    ],  # south, road to Sacaba, lon sign
)
def test_uncovered_points_find_no_zone(latitude: float, longitude: float) -> None:
    assert ReferenceGis().zone_at(latitude, longitude) is None


def test_point_in_the_bounding_box_but_outside_an_l_shaped_zone_finds_none(tmp_path: Path) -> None:
    # An L: the north-east quarter of its bounding box is not covered.
    l_shape = [
        (-66.20, -17.40),
        (-66.18, -17.40),
        (-66.18, -17.39),
        (-66.19, -17.39),
        (-66.19, -17.38),
        (-66.20, -17.38),
    ]
    gis = ReferenceGis(write_zones(tmp_path, feature("L-ZONE", "FTTH", 100, l_shape)))

    assert gis.zone_at(-17.385, -66.185) is None  # inside the bounding box, outside the L
    inside = gis.zone_at(-17.385, -66.195)  # the L's vertical arm
    assert inside is not None
    assert inside.zone_id == "L-ZONE"
    assert gis.zone_at(-17.395, -66.185) is not None  # the horizontal arm
    assert gis.zone_at(-17.39, -66.185) is not None  # on the inner edge: covered
    assert gis.zone_at(-66.195, -17.385) is None  # latitude and longitude swapped


def test_equal_speeds_prefer_ftth_over_hfc(tmp_path: Path) -> None:
    square = [(-66.20, -17.40), (-66.18, -17.40), (-66.18, -17.38), (-66.20, -17.38)]
    gis = ReferenceGis(
        write_zones(tmp_path, feature("A-HFC", "HFC", 100, square), feature("B-FTTH", "FTTH", 100, square))
    )

    zone = gis.zone_at(-17.39, -66.19)

    assert zone is not None
    assert zone.zone_id == "B-FTTH"


def test_gis_refuses_an_invalid_polygon(tmp_path: Path) -> None:
    bow_tie = [(-66.20, -17.40), (-66.18, -17.38), (-66.18, -17.40), (-66.20, -17.38)]

    with pytest.raises(ValueError, match="invalid polygon"):
        ReferenceGis(write_zones(tmp_path, feature("BOW", "FTTH", 100, bow_tie)))


# --- Smartflex -----------------------------------------------------------------------------------

AT = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
HOME = Location(address="Av. América E-0452, Queru Queru", latitude=-17.366, longitude=-66.148)


def register(smartflex: LocalSmartflex, request_id: str, documents: tuple[Document, ...] = ()) -> SaleRegistration:
    return smartflex.register_sale(request_id, "4567890 CB", "Ana María Torrico Camacho", ftth_100(), HOME, documents)


@cache
def ftth_100() -> Service:
    service = ReferenceCatalogue().service("INTERNET_FTTH_100")
    assert service is not None
    return service


def test_smartflex_registers_once_per_request() -> None:
    smartflex = LocalSmartflex(clock=FixedClock(AT))

    first = register(smartflex, "req-1")
    again = register(smartflex, "req-1")
    other = register(smartflex, "req-2")

    assert again == first
    assert (first.order_id, first.form_id, first.registered_at) == (
        "SF-2026-000001",
        "SS-2026-000001",
        AT,
    )
    assert other.order_id == "SF-2026-000002"
    assert smartflex.registration("req-2") == other
    assert smartflex.registration("req-3") is None


def test_smartflex_numbers_by_the_la_paz_year() -> None:
    new_year_utc = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)  # still 31/12/2026 22:00 in La Paz

    sale = register(LocalSmartflex(clock=FixedClock(new_year_utc), first_number=123), "req-1")

    assert sale.order_id == "SF-2026-000123"


def test_smartflex_keeps_the_solicitud_de_servicio() -> None:
    smartflex = LocalSmartflex(clock=FixedClock(AT))
    ci_front = Document(requirement="CI_ANVERSO", media_id="media-1", mime_type="image/jpeg", received_at=AT)

    sale = register(smartflex, "req-1", (ci_front,))
    form = smartflex.solicitud(sale.order_id)

    assert form is not None
    assert form["title"] == "Solicitud de Servicio"
    assert (form["form_id"], form["order_id"], form["request_id"]) == (
        sale.form_id,
        sale.order_id,
        "req-1",
    )
    assert form["customer"] == {"name": "Ana María Torrico Camacho", "ci": "4567890 CB"}
    assert form["service"]["code"] == "INTERNET_FTTH_100"
    assert form["installation_address"]["address"] == HOME.address
    assert form["issued_at_local"] == "10/03/2026 10:00"
    received = {r["code"]: (r["received"], r["media_id"]) for r in form["requirements"]}
    assert received == {
        "CI_ANVERSO": (True, "media-1"),
        "CI_REVERSO": (False, None),
        "FACTURA_LUZ": (False, None),
    }
    form["customer"]["name"] = "changed"
    stored = smartflex.solicitud(sale.order_id)
    assert stored is not None
    assert stored["customer"]["name"] == "Ana María Torrico Camacho"  # a copy was handed out
    assert smartflex.solicitud("SF-2026-999999") is None


def test_smartflex_under_twenty_threads_gives_one_order_per_request() -> None:
    smartflex = LocalSmartflex(clock=FixedClock(AT))
    start = threading.Barrier(20)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        requests = [f"shared-{k}" for k in range(5)] + [f"own-{worker}"]
        random.Random(worker).shuffle(requests)
        start.wait(timeout=10)
        for request_id in requests:
            order_id = register(smartflex, request_id).order_id
            with lock:
                results.append((request_id, order_id))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 20 * 6
    orders_by_request: dict[str, set[str]] = {}
    for request_id, order_id in results:
        orders_by_request.setdefault(request_id, set()).add(order_id)
    assert len(orders_by_request) == 25
    assert all(len(orders) == 1 for orders in orders_by_request.values())
    order_ids = {next(iter(orders)) for orders in orders_by_request.values()}
    assert order_ids == {f"SF-2026-{n:06d}" for n in range(1, 26)}


def test_smartflex_down_consumes_no_order_number() -> None:
    faults = FaultSwitch()
    smartflex = LocalSmartflex(clock=FixedClock(AT), faults=faults)
    faults.fail("smartflex", times=1)

    with pytest.raises(BackOfficeUnavailable, match="smartflex no responde"):
        register(smartflex, "req-1")
    assert register(smartflex, "req-1").order_id == "SF-2026-000001"


# --- installations and notifier ------------------------------------------------------------------


def test_installations_records_hand_offs_once_and_take_removes_one() -> None:
    installations = LocalInstallations(clock=FixedClock(AT))

    installations.hand_off("SF-2026-000001", "req-1", HOME)
    installations.hand_off("SF-2026-000002", "req-2", HOME)
    installations.hand_off("SF-2026-000001", "req-1", HOME)  # a retry

    assert [h.order_id for h in installations.pending()] == ["SF-2026-000001", "SF-2026-000002"]
    taken = installations.take("SF-2026-000001")
    assert taken is not None
    assert (taken.request_id, taken.location, taken.handed_off_at) == ("req-1", HOME, AT)
    installations.hand_off("SF-2026-000001", "req-1", HOME)  # late retry after the crew took it
    assert [h.order_id for h in installations.pending()] == ["SF-2026-000002"]
    assert installations.take("SF-2026-000001") is None


def test_outbox_keeps_messages_per_request() -> None:
    outbox = OutboxNotifier(clock=FixedClock(AT))

    first = outbox.send("req-1", "+59171234567", "requirements", "Hola, envíe su carnet")
    outbox.send("req-2", "+59172222222", "rejection", "Lo sentimos")
    second = outbox.send("req-1", "+59171234567", "confirmation", "Su solicitud fue registrada")

    assert re.fullmatch(r"wamid\.local-[0-9a-f]{32}", first)
    assert first != second
    sent = outbox.messages_for("req-1")
    assert [(m["message_id"], m["template"]) for m in sent] == [
        (first, "requirements"),
        (second, "confirmation"),
    ]
    assert sent[0] == {
        "message_id": first,
        "request_id": "req-1",
        "phone": "+59171234567",
        "template": "requirements",
        "text": "Hola, envíe su carnet",
        "sent_at": "2026-03-10T14:00:00+00:00",
    }
    assert len(outbox.messages()) == 3


# --- faults --------------------------------------------------------------------------------------


def test_fault_with_times_fails_that_many_calls_then_succeeds() -> None:
    faults = FaultSwitch()
    cartera = ReferenceCartera(faults=faults)
    faults.fail("naf", times=2)

    for _ in range(2):
        with pytest.raises(BackOfficeUnavailable, match="naf no responde"):
            cartera.impediments("3456789 CB")

    assert cartera.impediments("3456789 CB") == [ReasonCode.DEBT]
    assert faults.status() == {}


def test_fault_without_times_lasts_until_healed_and_touches_one_system() -> None:
    faults = FaultSwitch()
    gis = ReferenceGis(faults=faults)
    installations = LocalInstallations(faults=faults)
    faults.fail("gis")

    for _ in range(5):
        with pytest.raises(BackOfficeUnavailable, match="gis no responde"):
            gis.zone_at(-17.3935, -66.1570)
    installations.hand_off("SF-2026-000001", "req-1", HOME)  # installations still answers
    assert faults.status() == {"gis": None}

    faults.heal("gis")
    zone = gis.zone_at(-17.3935, -66.1570)
    assert zone is not None
    assert zone.zone_id == "CBB-CENTRO-FTTH"


def test_fault_switch_refuses_unknown_systems_and_bad_counts() -> None:
    faults = FaultSwitch()

    with pytest.raises(ValueError, match="unknown system"):
        faults.fail("smartflx")
    with pytest.raises(ValueError, match="at least 1"):
        faults.fail("naf", times=0)
    faults.fail("installations", times=1)
    with pytest.raises(BackOfficeUnavailable):
        LocalInstallations(faults=faults).hand_off("SF-2026-000001", "req-1", HOME)


def test_a_flaky_system_fails_about_its_rate_and_heals() -> None:
    faults = FaultSwitch()
    faults.fail_rate("gis", 0.2, seed=3)
    failures = 0
    for _ in range(1000):
        try:
            faults.check("gis")
        except BackOfficeUnavailable:
            failures += 1
    assert 150 < failures < 250  # seeded: the same count every run
    faults.check("naf")  # other systems are untouched
    faults.heal("gis")
    for _ in range(100):
        faults.check("gis")
    with pytest.raises(ValueError, match="rate"):
        faults.fail_rate("gis", 1.0)
