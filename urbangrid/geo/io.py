"""Reading and writing regions and grids: GeoJSON and zipped ESRI Shapefiles (via pyshp).

The source CRS is always declared by the caller and never guessed. Coordinates that obviously
contradict it (degrees outside [-180, 180] x [-90, 90] for a geographic CRS, degrees given for a
projected one, points outside the declared Gauss-Krüger zone) are refused, and so is a Shapefile
whose .prj says geographic while a projected CRS was declared (or the other way round).

Parsing turns every feature into canonical lon/lat shapely geometry after checking it: only
Polygon/MultiPolygon, rings closed with at least four positions, not empty, valid (no
self-intersection, holes inside their shell). Each problem names the feature by its 1-based
index and its code. All problems are collected and reported together.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapefile
import shapely
from django.utils.translation import gettext as _
from pyproj import CRS
from pyproj.enums import WktVersion
from shapely.geometry import shape

from urbangrid.lib.errors import InvalidInput

from .crs import CRSSpec, check_plausible, from_canonical_many, resolve_crs, to_canonical_many, transform_geom

MAX_REPORTED = 20


@dataclass
class RawFeature:
    """One input feature before validation: 1-based index, properties, GeoJSON-like geometry."""

    index: int
    properties: dict[str, Any]
    geometry: dict[str, Any] | None

    @property
    def code(self) -> str:
        value = self.properties.get("code", self.properties.get("CODE", ""))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip() if value is not None else ""


@dataclass
class Feature:
    """A validated feature in canonical lon/lat."""

    index: int
    code: str
    properties: dict[str, Any]
    geometry: Any


@dataclass
class Problems:
    """Collected validation problems; ``raise_if_any`` refuses the whole input at once."""

    items: list[str] = field(default_factory=list)

    def add(self, feature: RawFeature | Feature | None, message: str) -> None:
        if feature is None:
            self.items.append(message)
        else:
            self.items.append(
                _("Feature %(index)s (code %(code)s): %(message)s")
                % {"index": feature.index, "code": feature.code or "—", "message": message}
            )

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_REPORTED]
        more = len(self.items) - len(shown)
        head = _("The import was refused and nothing was written (%(n)s problem(s)).") % {
            "n": len(self.items)
        }
        lines = [head, *shown]
        if more:
            lines.append(_("… and %(n)s more.") % {"n": more})
        raise InvalidInput("\n".join(lines), details=self.items)


# --------------------------------------------------------------------------- readers


def read_geojson(data: bytes | str | dict) -> list[RawFeature]:
    """A FeatureCollection (or a single Feature) from bytes, text or an already parsed dict."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(_("The GeoJSON file is not UTF-8 text.")) from exc
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvalidInput(_("The file is not valid JSON: %(error)s") % {"error": exc}) from exc
    if not isinstance(data, dict):
        raise InvalidInput(_("GeoJSON must be an object (a FeatureCollection)."))
    kind = data.get("type")
    if kind == "Feature":
        items = [data]
    elif kind == "FeatureCollection" and isinstance(data.get("features"), list):
        items = data["features"]
    else:
        raise InvalidInput(_("GeoJSON must be a FeatureCollection with a list of features."))
    out = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            item = {}
        props = item.get("properties") or {}
        out.append(RawFeature(i, props if isinstance(props, dict) else {}, item.get("geometry")))
    return out


def read_shapefile_zip(data: bytes) -> tuple[list[RawFeature], str | None]:
    """Features and the .prj text (if any) of the first .shp inside a zip archive."""

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidInput(_("The file is not a zip archive of a Shapefile.")) from exc
    names = {n.lower(): n for n in archive.namelist() if not n.endswith("/")}
    shp = sorted(n for n in names if n.endswith(".shp"))
    if not shp:
        raise InvalidInput(_("The zip archive contains no .shp file."))
    stem = shp[0][:-4]
    if stem + ".dbf" not in names:
        raise InvalidInput(_("The Shapefile %(name)s has no .dbf attribute file.") % {"name": names[shp[0]]})

    def member(ext: str):
        name = names.get(stem + ext)
        return io.BytesIO(archive.read(name)) if name else None

    prj = member(".prj")
    prj_text = prj.read().decode("utf-8", errors="replace") if prj else None
    encoding = "utf-8"
    cpg = member(".cpg")
    if cpg:
        encoding = cpg.read().decode("ascii", errors="ignore").strip() or "utf-8"
    try:
        reader = shapefile.Reader(
            shp=member(".shp"), shx=member(".shx"), dbf=member(".dbf"), encoding=encoding
        )
        fields = [f[0] for f in reader.fields[1:]]
        out = []
        for i, sr in enumerate(reader.iterShapeRecords(), start=1):
            props = dict(zip(fields, list(sr.record), strict=False))
            props = {k.lower() if k.upper() in ("CODE", "NAME", "KIND") else k: v for k, v in props.items()}
            geom = sr.shape.__geo_interface__ if sr.shape.shapeType != shapefile.NULL else None
            out.append(RawFeature(i, props, geom))
    except (shapefile.ShapefileException, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(_("The Shapefile cannot be read: %(error)s") % {"error": exc}) from exc
    return out, prj_text


def check_prj(prj_text: str | None, spec: CRSSpec) -> str | None:
    """A reason when the Shapefile's own .prj contradicts the declared CRS."""
    if not prj_text:
        return None

    try:
        prj = CRS.from_wkt(prj_text)
    except Exception:
        return None  # an unreadable .prj neither confirms nor contradicts
    if prj.is_projected != (not spec.is_geographic):
        return _("the .prj of the Shapefile describes %(prj)s, which contradicts the declared %(crs)s") % {
            "prj": prj.name,
            "crs": spec.label,
        }
    return None


def read_any(data: bytes | str | dict, fmt: str = "auto") -> tuple[list[RawFeature], str | None]:
    """GeoJSON or zipped Shapefile; ``fmt`` is geojson, shp or auto (zip magic bytes)."""
    if fmt == "shp" or (fmt == "auto" and isinstance(data, bytes) and data[:4] == b"PK\x03\x04"):
        if not isinstance(data, bytes):
            raise InvalidInput(_("A Shapefile must be uploaded as a zip archive."))
        return read_shapefile_zip(data)
    return read_geojson(data), None


# --------------------------------------------------------------------------- validation


def _ring_problem(ring) -> str | None:
    if not isinstance(ring, (list, tuple)) or len(ring) < 4:
        return _("a ring has fewer than 4 positions")
    try:
        first, last = [float(v) for v in ring[0][:2]], [float(v) for v in ring[-1][:2]]
    except (TypeError, ValueError, IndexError):
        return _("a ring contains a position that is not a pair of numbers")
    if first != last:
        return _("a ring is not closed (its first and last positions differ)")
    return None


def raw_geometry_problem(geometry) -> str | None:
    """Structural problems visible before conversion: type, empty, open or short rings."""
    if not geometry or not isinstance(geometry, dict):
        return _("the geometry is missing or empty")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        return _("the geometry is a %(type)s; only Polygon and MultiPolygon are accepted") % {"type": kind}
    if not coords:
        return _("the geometry is missing or empty")
    polygons = [coords] if kind == "Polygon" else coords
    for poly in polygons:
        if not poly:
            return _("the geometry is missing or empty")
        for ring in poly:
            problem = _ring_problem(ring)
            if problem:
                return problem
    return None


# GEOS explains invalid geometry in English ("Self-intersection[108.955 34.275]"): users get the
# reason in their language and the place as coordinates.
GEOS_REASON = re.compile(r"^(?P<what>[^\[]+?)\s*(?:\[(?P<x>\S+) (?P<y>\S+)\])?$")


def invalid_reason(reason: str) -> str:
    match = GEOS_REASON.match(reason)
    what = match.group("what") if match else ""
    if "Self-intersection" in what:
        problem = _("the boundary intersects itself")
    elif "Hole" in what or "Nested" in what:
        problem = _("a hole lies outside its shell or holes are nested")
    elif "disconnected" in what:
        problem = _("the inside of the area is cut into pieces")
    else:
        problem = _("the geometry is not valid")
    if match and match.group("x"):
        return _("%(problem)s, near %(x)s, %(y)s") % {"problem": problem, "x": match["x"], "y": match["y"]}
    return problem


def validate_polygon(geom) -> str | None:
    """Why a canonical shapely geometry is not an acceptable area, or None."""
    if geom is None or geom.is_empty:
        return _("the geometry is missing or empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return _("the geometry is a %(type)s; only Polygon and MultiPolygon are accepted") % {
            "type": geom.geom_type
        }
    if not geom.is_valid:
        return invalid_reason(shapely.is_valid_reason(geom))
    if geom.area <= 0:
        return _("the geometry has no area")
    return None


def parse_features(raw: list[RawFeature], spec: CRSSpec, problems: Problems) -> list[Feature]:
    """Check structure and CRS plausibility, convert to canonical lon/lat, check validity."""
    structural: list[RawFeature] = []
    for feature in raw:
        problem = raw_geometry_problem(feature.geometry)
        if problem:
            problems.add(feature, problem)
        else:
            structural.append(feature)
    geoms = []
    for feature in structural:
        try:
            geoms.append(shape(feature.geometry))
        except Exception as exc:  # malformed coordinates inside an otherwise typed geometry
            problems.add(feature, _("the coordinates cannot be read (%(error)s)") % {"error": exc})
            geoms.append(None)
    ok = [(f, g) for f, g in zip(structural, geoms, strict=True) if g is not None]
    if not ok:
        return []
    # Plausibility per feature so that the message names the feature that contradicts the CRS.
    for f, g in ok:
        coords = shapely.get_coordinates(g)
        problem = check_plausible(coords[:, 0], coords[:, 1], spec)
        if problem:
            problems.add(f, problem)
    if problems:
        return []
    arr = np.array([g for _f, g in ok], dtype=object)
    if spec.kind not in ("wgs84", "cgcs2000"):
        arr = transform_geom(arr, lambda x, y: to_canonical_many(x, y, spec))
    out = []
    for (f, _g), geom in zip(ok, arr, strict=True):
        problem = validate_polygon(geom)
        if problem:
            problems.add(f, problem)
            continue
        out.append(Feature(f.index, f.code, f.properties, geom))
    return out


def load(
    data, crs: str, *, zone: int | None = None, epsg: int | None = None, fmt: str = "auto"
) -> tuple[list[Feature], Problems, CRSSpec]:
    """Read and validate a file's features; problems are returned, not raised."""
    spec = resolve_crs(crs, zone=zone, epsg=epsg)
    raw, prj = read_any(data, fmt)
    problems = Problems()
    if not raw:
        problems.add(None, _("The file contains no features."))
        return [], problems, spec
    prj_problem = check_prj(prj, spec)
    if prj_problem:
        problems.add(None, prj_problem)
        return [], problems, spec
    return parse_features(raw, spec, problems), problems, spec


# --------------------------------------------------------------------------- writers


def geometry_to_crs(geom, crs: str | CRSSpec):
    spec = resolve_crs(crs)
    if spec.kind in ("wgs84", "cgcs2000"):
        return geom
    return transform_geom(geom, lambda x, y: from_canonical_many(x, y, spec))


def feature_collection(
    items: list[tuple[Any, dict]], crs: str | CRSSpec = "wgs84", precision: int | None = None
) -> dict:
    """A GeoJSON FeatureCollection of (canonical geometry, properties) in the target CRS."""
    spec = resolve_crs(crs)
    geoms = np.array([g for g, _p in items], dtype=object)
    if len(geoms) and spec.kind not in ("wgs84", "cgcs2000"):
        geoms = transform_geom(geoms, lambda x, y: from_canonical_many(x, y, spec))
    if precision is not None and len(geoms):
        factor = 10.0**precision
        geoms = shapely.transform(geoms, lambda c: np.round(c * factor) / factor)
    features = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": shapely.geometry.mapping(g) if g is not None else None,
        }
        for g, (_g, props) in zip(geoms, items, strict=True)
    ]
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    fc["crs_name"] = spec.label  # informative; RFC 7946 dropped the crs member
    return fc


def shapefile_zip(items: list[tuple[Any, dict]], crs: str | CRSSpec, name: str = "grids") -> bytes:
    """A zipped Shapefile (shp/shx/dbf/prj/cpg) of (canonical geometry, properties)."""

    spec = resolve_crs(crs)
    geoms = np.array([g for g, _p in items], dtype=object)
    if len(geoms) and spec.kind not in ("wgs84", "cgcs2000"):
        geoms = transform_geom(geoms, lambda x, y: from_canonical_many(x, y, spec))
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    keys: list[str] = []
    for _g, props in items:
        for k in props:
            if k not in keys:
                keys.append(k)
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding="utf-8") as w:
        for k in keys:
            if k in ("area_m2",):
                w.field(k[:10], "N", decimal=2, size=18)
            elif k in ("version",):
                w.field(k[:10], "N", size=10)
            else:
                w.field(k[:10], "C", size=100)
        for geom, (_g, props) in zip(geoms, items, strict=True):
            w.shape(shapely.geometry.mapping(geom))
            w.record(*[props.get(k, "") if props.get(k) is not None else "" for k in keys])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{name}.shp", shp.getvalue())
        z.writestr(f"{name}.shx", shx.getvalue())
        z.writestr(f"{name}.dbf", dbf.getvalue())
        z.writestr(f"{name}.cpg", "UTF-8")
        if spec.kind in ("wgs84", "cgcs2000") or spec.epsg:
            epsg = spec.epsg or (4326 if spec.kind == "wgs84" else 4490)
            z.writestr(f"{name}.prj", CRS.from_epsg(epsg).to_wkt(WktVersion.WKT1_ESRI))
    return out.getvalue()
