"""Local back-office adapters on reference data shipped in `ventas/data`.

They stand in for NAF, GIS, Smartflex, installations (OPR-PAS-P02), the product catalogue
(COM-GCM-P01) and WhatsApp in unit tests and in the local simulation. Reference files are read
once, at construction. Every back-office call first asks a `FaultSwitch`, so tests and the
simulation can make a system stop answering exactly as the real one would (`BackOfficeUnavailable`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from ventas.adapters.local_systems import (  # re-exported: the local back office is one import
    SYSTEMS,
    FaultSwitch,
    InstallationHandOff,
    LocalInstallations,
    LocalSmartflex,
    OutboxNotifier,
    SentMessage,
)
from ventas.domain.catalogue import CoverageZone, Service
from ventas.domain.identity import CI
from ventas.domain.models import ReasonCode

__all__ = [
    "SYSTEMS",
    "FaultSwitch",
    "InstallationHandOff",
    "LocalInstallations",
    "LocalSmartflex",
    "OutboxNotifier",
    "ReferenceCartera",
    "ReferenceCatalogue",
    "ReferenceGis",
    "SentMessage",
]

DataPath = str | PathLike[str]

CARTERA_IMPEDIMENTS: Final = frozenset({ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS, ReasonCode.EQUIPMENT_TO_RETURN})
# When zones tie on speed, the better network wins (then zone_id, to stay deterministic).
_TECHNOLOGY_RANK: Final = {"FTTH": 0, "HFC": 1, "COPPER": 2}


def _read_text(path: DataPath | None, name: str) -> str:
    """An explicit path (tests, small data) or the file packaged in `ventas/data`."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    return (files("ventas") / "data" / name).read_text(encoding="utf-8")


# --- Product catalogue (COM-GCM-P01) -----------------------------------------------------------


class ReferenceCatalogue:
    """`catalogue.json`: a JSON list of `Service` objects."""

    def __init__(self, path: DataPath | None = None) -> None:
        text = _read_text(path, "catalogue.json")
        services = TypeAdapter(list[Service]).validate_json(text)
        self._by_code = {service.code: service for service in services}
        if len(self._by_code) != len(services):
            raise ValueError("duplicate service code in the catalogue")
        self._services = tuple(services)

    def service(self, code: str) -> Service | None:
        return self._by_code.get(code)

    def services(self) -> Sequence[Service]:
        return self._services


# --- NAF, Paquete Accionario, opción Cartera (step 4) --------------------------------------------


class _CarteraEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ci: CI
    name: str
    impediments: list[ReasonCode] = Field(default_factory=list)

    @field_validator("impediments")
    @classmethod
    def _only_cartera_reasons(cls, value: list[ReasonCode]) -> list[ReasonCode]:
        wrong = [code for code in value if code not in CARTERA_IMPEDIMENTS]
        if wrong:
            raise ValueError(f"not a Cartera impediment: {wrong}")
        return list(dict.fromkeys(value))


class _CarteraFile(BaseModel):
    customers: list[_CarteraEntry]


@functools.cache
def _ci_adapter() -> TypeAdapter[str]:
    """Built on the first lookup, not at import: most functions never ask NAF."""
    return TypeAdapter(CI)


class ReferenceCartera:
    """`naf_cartera.json`: `{"customers": [{"ci", "name", "impediments": [ReasonCode]}]}`.

    Other top-level keys (system, description) are ignored. A CI absent from the file is a new
    customer: no impediments. CIs are normalised like the domain's `CI` type.
    """

    def __init__(self, path: DataPath | None = None, faults: FaultSwitch | None = None) -> None:
        self._faults = faults if faults is not None else FaultSwitch()
        cartera = _CarteraFile.model_validate_json(_read_text(path, "naf_cartera.json"))
        # Keyed by number (+ complement); each entry keeps its department extension.
        self._by_number: dict[str, list[tuple[str, list[ReasonCode]]]] = {}
        seen: set[str] = set()
        for entry in cartera.customers:
            if entry.ci in seen:
                raise ValueError("duplicate CI in the cartera")
            seen.add(entry.ci)
            number, _, ext = entry.ci.partition(" ")
            self._by_number.setdefault(number, []).append((ext, entry.impediments))

    def impediments(self, ci: str) -> list[ReasonCode]:
        """Raises ValueError for a malformed CI: an unreadable CI must not pass as "clean".

        A CI given without its department extension matches every extension for that number,
        so a missing "CB" cannot let a debtor through (the office sorts out homonyms).
        """
        self._faults.check("naf")
        number, _, ext = _ci_adapter().validate_python(ci).partition(" ")
        found: dict[ReasonCode, None] = {}
        for entry_ext, impediments in self._by_number.get(number, []):
            if not ext or not entry_ext or ext == entry_ext:
                found.update(dict.fromkeys(impediments))
        return list(found)


# --- GIS coverage (steps 6, 7) --------------------------------------------------------------------


class ReferenceGis:
    """`gis_zones.geojson`: a FeatureCollection of Polygon/MultiPolygon features (lon, lat),
    properties as `CoverageZone`. Real point-in-polygon on an STR tree, not bounding boxes.
    """

    def __init__(self, path: DataPath | None = None, faults: FaultSwitch | None = None) -> None:
        # Deferred: only the coverage stage pays for importing GEOS.
        import shapely
        from shapely.geometry import shape

        self._faults = faults if faults is not None else FaultSwitch()
        collection = json.loads(_read_text(path, "gis_zones.geojson"))
        if collection.get("type") != "FeatureCollection":
            raise ValueError("GIS data must be a GeoJSON FeatureCollection")
        zones: list[CoverageZone] = []
        geometries: list[Any] = []
        for feature in collection["features"]:
            zone = CoverageZone.model_validate(feature["properties"])
            geometry = shape(feature["geometry"])
            if geometry.geom_type not in ("Polygon", "MultiPolygon"):
                raise ValueError(f"zone {zone.zone_id}: {geometry.geom_type} is not a polygon")
            if not geometry.is_valid:
                reason = shapely.is_valid_reason(geometry)
                raise ValueError(f"zone {zone.zone_id}: invalid polygon ({reason})")
            zones.append(zone)
            geometries.append(geometry)
        if len({zone.zone_id for zone in zones}) != len(zones):
            raise ValueError("duplicate zone_id in the GIS data")
        self._zones = tuple(zones)
        self._tree = shapely.STRtree(geometries)
        self._point = shapely.Point

    def zones(self) -> Sequence[CoverageZone]:
        return self._zones

    def zone_at(self, latitude: float, longitude: float) -> CoverageZone | None:
        """The best zone covering the point: highest max speed, then FTTH > HFC > COPPER."""
        found = self.zones_at(latitude, longitude)
        return found[0] if found else None

    def zones_at(self, latitude: float, longitude: float) -> list[CoverageZone]:
        """Every zone covering the point (boundary included), best first."""
        self._faults.check("gis")
        point = self._point(longitude, latitude)
        hits = self._tree.query(point, predicate="covered_by")
        return sorted((self._zones[int(index)] for index in hits), key=_zone_rank)


def _zone_rank(zone: CoverageZone) -> tuple[int, int, str]:
    return (-zone.max_speed_mbps, _TECHNOLOGY_RANK.get(zone.technology, 99), zone.zone_id)
