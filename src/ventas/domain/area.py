"""The service area: where a customer's point may lie (step 5, "ubicación del domicilio").

A point outside it is refused where it enters (a lead, the location task), before GIS is asked:
GIS would answer "no coverage" and the procedure would end the sale at step 14 for a typing
slip. The area is a bounding box in decimal degrees (WGS 84); by default Bolivia's
(`Settings.service_area`, `VD_SERVICE_AREA`). When the point is outside but the point with
latitude and longitude swapped, or with the minus sign put back, is inside, the refusal says so.
Pure: no pydantic, no AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

# Validation context key (pydantic `context=`): the ServiceArea a point entering must lie in.
SERVICE_AREA = "service_area"

LATITUDE = "latitude"
LONGITUDE = "longitude"


def degrees(value: float) -> str:
    """-17.3935 -> "-17,3935": decimal degrees as Bolivians write numbers (decimal comma)."""
    return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")


@dataclass(frozen=True)
class PointRefused:
    """Why a point is refused: `code` (field error type for systems), `fields` (the coordinates
    to correct: "latitude" and/or "longitude"), and a Spanish message for the person."""

    code: str
    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class ServiceArea:
    """A bounding box in decimal degrees: south <= latitude <= north, west <= longitude <= east."""

    south: float
    west: float
    north: float
    east: float

    def __post_init__(self) -> None:
        if not (-90 <= self.south < self.north <= 90 and -180 <= self.west < self.east <= 180):
            raise ValueError("a service area is south < north within ±90 and west < east within ±180")

    def contains(self, latitude: float, longitude: float) -> bool:
        """True when the point lies in the box (edges included)."""
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east

    def describe(self) -> str:
        """The bounds in Spanish: "la latitud va de -23 a -9 y la longitud de -70 a -57"."""
        return (
            f"la latitud va de {degrees(self.south)} a {degrees(self.north)} "
            f"y la longitud de {degrees(self.west)} a {degrees(self.east)}"
        )

    def refusal(self, latitude: float, longitude: float) -> PointRefused | None:
        """None for a point inside; else why it is refused, naming the coordinates to correct.

        Codes: `coordinates_swapped` (swapped, the point is inside), `coordinate_sign` (with the
        minus sign on the coordinates outside, it is inside), `outside_service_area`.
        """
        if self.contains(latitude, longitude):
            return None
        outside = tuple(
            name
            for name, inside in (
                (LATITUDE, self.south <= latitude <= self.north),
                (LONGITUDE, self.west <= longitude <= self.east),
            )
            if not inside
        )
        if self.contains(longitude, latitude):
            return PointRefused(
                "coordinates_swapped",
                (LATITUDE, LONGITUDE),
                f"¿Invirtió latitud y longitud? El punto queda fuera del área de servicio, pero al revés "
                f"(latitud {degrees(longitude)}, longitud {degrees(latitude)}) queda dentro",
            )
        flipped = (-latitude if LATITUDE in outside else latitude, -longitude if LONGITUDE in outside else longitude)
        if self.contains(*flipped):
            names = " y ".join("la latitud" if n == LATITUDE else "la longitud" for n in outside)
            return PointRefused(
                "coordinate_sign",
                outside,
                f"¿Le falta el signo menos? En el área de servicio {names} "
                f"{'son negativas' if len(outside) == 2 else 'es negativa'}: {self.describe()}",
            )
        return PointRefused(
            "outside_service_area", outside, f"el punto queda fuera del área de servicio: {self.describe()}"
        )

    @classmethod
    def parse(cls, text: str) -> ServiceArea:
        """`VD_SERVICE_AREA`: `south,west,north,east` in decimal degrees with a point, e.g. the
        default `-23,-70,-9,-57` (Bolivia). Raises ValueError at start-up for anything else."""
        parts = [part.strip() for part in text.split(",")]
        try:
            south, west, north, east = (float(part) for part in parts)
        except ValueError:
            raise ValueError(f"VD_SERVICE_AREA: expected south,west,north,east in degrees, got {text!r}") from None
        try:
            return cls(south, west, north, east)
        except ValueError as exc:
            raise ValueError(f"VD_SERVICE_AREA: {exc}") from None


# Bolivia's bounding box, rounded out to whole degrees (the country lies within about
# -22.9..-9.7 latitude and -69.7..-57.5 longitude).
BOLIVIA = ServiceArea(south=-23.0, west=-70.0, north=-9.0, east=-57.0)
