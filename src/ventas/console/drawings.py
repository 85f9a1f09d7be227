"""Server-side SVG: the GIS coverage map (step 5) and the KPI's 30-day chart (III.2).

No tiles or scripts are needed to draw them; `static/console.js` turns a click on the map, or
the arrow keys on the focused map, into latitude and longitude (and typed coordinates into the
point). Coordinates use Web Mercator, as base map tiles do, so configured tiles
(`VD_CONSOLE_TILES_URL`) line up with the zones.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

MAP_WIDTH = 720
MAP_HEIGHT = 520
PAD = 0.01  # degrees around the zones
TILE_ZOOM = 13
# Each technology's colour on the map; its legend swatch is `.swatch-<tech>` in console.css
# with the same colour (the CSP allows no inline style). A technology not listed is drawn grey.
TECH_COLOURS = {"FTTH": "#1b7f5f", "HFC": "#2f5fa8", "ADSL": "#9a6a00", "COPPER": "#6b6b6b"}
OTHER_COLOUR = "#555555"
TECH_LABELS = {"FTTH": "fibra óptica (FTTH)", "HFC": "cable coaxial (HFC)", "ADSL": "ADSL", "COPPER": "cobre"}


@dataclass(frozen=True)
class Zone:
    zone_id: str
    name: str
    technology: str
    max_speed_mbps: int
    rings: list[list[tuple[float, float]]]  # (lon, lat)


@functools.cache
def zones() -> tuple[Zone, ...]:
    """The GIS coverage polygons shipped with the product (`data/gis_zones.geojson`)."""
    raw = json.loads((resources.files("ventas") / "data" / "gis_zones.geojson").read_text(encoding="utf-8"))
    found = []
    for feature in raw["features"]:
        p, g = feature["properties"], feature["geometry"]
        polygons = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        rings = [[(float(x), float(y)) for x, y in polygon[0]] for polygon in polygons]
        found.append(Zone(p["zone_id"], p["name"], p["technology"], int(p.get("max_speed_mbps", 0)), rings))
    return tuple(found)


def _merc_y(lat: float) -> float:
    return float(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


@dataclass(frozen=True)
class Frame:
    west: float
    east: float
    north: float
    south: float

    def x(self, lon: float) -> float:
        return (lon - self.west) / (self.east - self.west) * MAP_WIDTH

    def y(self, lat: float) -> float:
        top, bottom = _merc_y(self.north), _merc_y(self.south)
        return (top - _merc_y(lat)) / (top - bottom) * MAP_HEIGHT


def frame() -> Frame:
    """The map's bounds: every zone plus a margin of PAD degrees."""
    points = [pt for z in zones() for ring in z.rings for pt in ring]
    return Frame(
        min(p[0] for p in points) - PAD,
        max(p[0] for p in points) + PAD,
        max(p[1] for p in points) + PAD,
        min(p[1] for p in points) - PAD,
    )


def _tiles(f: Frame, url: str) -> list[str]:
    n = 2**TILE_ZOOM

    def tile_x(lon: float) -> int:
        return int((lon + 180) / 360 * n)

    def tile_y(lat: float) -> int:
        return int((1 - _merc_y(lat) / math.pi) / 2 * n)

    def lon_of(tx: int) -> float:
        return float(tx / n * 360 - 180)

    def lat_of(ty: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    out = []
    for tx in range(tile_x(f.west), tile_x(f.east) + 1):
        for ty in range(tile_y(f.north), tile_y(f.south) + 1):
            x0, x1 = f.x(lon_of(tx)), f.x(lon_of(tx + 1))
            y0, y1 = f.y(lat_of(ty)), f.y(lat_of(ty + 1))
            href = escape(url.replace("{z}", str(TILE_ZOOM)).replace("{x}", str(tx)).replace("{y}", str(ty)))
            out.append(f'<image href="{href}" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}"/>')
    return out


def coverage_map(point: tuple[float, float] | None = None, tiles_url: str = "", help_id: str = "") -> Markup:
    """The zones as an accessible SVG; `point` = (lat, lon) marked. It takes the keyboard focus
    (an application: the arrow keys move the point; `help_id` names the element that says so).
    Click and key handling: console.js."""
    f = frame()
    described = f' aria-describedby="{escape(help_id)}"' if help_id else ""
    parts = [
        f'<svg id="coverage-map" class="map" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" role="application" '
        f'tabindex="0" aria-roledescription="mapa" aria-labelledby="map-title"{described} '
        f'data-west="{f.west}" data-east="{f.east}" data-north="{f.north}" '
        f'data-south="{f.south}" xmlns="http://www.w3.org/2000/svg">',
        '<title id="map-title">Mapa de zonas de cobertura GIS (Cochabamba) para marcar el domicilio</title>',
        f'<rect width="{MAP_WIDTH}" height="{MAP_HEIGHT}" fill="#f4f1ea"/>',
    ]
    if tiles_url:
        parts += _tiles(f, tiles_url)
    for z in zones():
        colour = TECH_COLOURS.get(z.technology, OTHER_COLOUR)
        for ring in z.rings:
            d = " ".join(f"{'M' if i == 0 else 'L'}{f.x(lon):.1f},{f.y(lat):.1f}" for i, (lon, lat) in enumerate(ring))
            parts.append(
                f'<path d="{d} Z" fill="{colour}" fill-opacity="0.28" stroke="{colour}" stroke-width="1.5">'
                f"<title>{escape(z.name)} — {escape(z.technology)} hasta {z.max_speed_mbps} Mbps</title></path>"
            )
    marker = 'cx="0" cy="0" visibility="hidden"'
    if point is not None:
        marker = f'cx="{f.x(point[1]):.1f}" cy="{f.y(point[0]):.1f}"'
    parts.append(f'<circle id="map-point" r="7" fill="#c0392b" stroke="#ffffff" stroke-width="2" {marker}/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is a number or escaped


def legend() -> list[tuple[str, str]]:
    """(swatch class, Spanish label) for every technology the zones use, in the map's colours:
    `swatch-ftth`, ..., `swatch-other` for one without its own colour."""
    used = list(dict.fromkeys(z.technology for z in zones()))
    return [
        (f"swatch-{tech.lower()}" if tech in TECH_COLOURS else "swatch-other", f"Zona {TECH_LABELS.get(tech, tech)}")
        for tech in used
    ]


# --- III.2: the last days' KPI against the threshold -------------------------------------------

CHART_W, CHART_H, CHART_PAD = 720, 240, 36


def kpi_chart(days: Sequence[Any], threshold: float) -> Markup:
    """Bars per day (value %, None when the day had no request) and the threshold line."""
    n = max(1, len(days))
    plot_w, plot_h = CHART_W - 2 * CHART_PAD, CHART_H - 2 * CHART_PAD
    bar = plot_w / n

    def y_of(v: float) -> float:
        return CHART_PAD + plot_h * (1 - v / 100)

    parts = [
        f'<svg class="chart" viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">Indicador de los últimos {len(days)} días frente al umbral de '
        f"{threshold:g} %</title>",
    ]
    for tick in (0, 50, 100):
        parts.append(
            f'<text x="{CHART_PAD - 6}" y="{y_of(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#333">'
            f"{tick}%</text>"
        )
    for i, day in enumerate(days):
        x = CHART_PAD + i * bar
        if day.requests:
            colour = "#1b7f5f" if day.value > threshold else "#b03a2e"
            top = y_of(day.value)
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{top:.1f}" width="{bar - 2:.1f}" height="{CHART_PAD + plot_h - top:.1f}" '
                f'fill="{colour}"><title>{day.day}: {day.value:g} % ({day.efficient}/{day.requests})</title></rect>'
            )
        else:
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{CHART_PAD + plot_h - 2:.1f}" width="{bar - 2:.1f}" height="2" '
                f'fill="#999"><title>{day.day}: sin solicitudes</title></rect>'
            )
        if i % 5 == 0 or i == n - 1:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{CHART_H - 12}" text-anchor="middle" font-size="10" fill="#333">'
                f"{day.day[8:10]}/{day.day[5:7]}</text>"
            )
    ty = y_of(threshold)
    parts.append(
        f'<line x1="{CHART_PAD}" x2="{CHART_W - CHART_PAD}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#222" '
        'stroke-dasharray="6 4" stroke-width="1.5"/>'
    )
    parts.append(
        f'<text x="{CHART_W - CHART_PAD}" y="{ty - 5:.1f}" text-anchor="end" font-size="11" fill="#222">'
        f"umbral {threshold:g} %</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is a number or escaped
