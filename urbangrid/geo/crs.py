"""Coordinate systems (坐标系): everything is stored in canonical CGCS2000 longitude/latitude.

Supported source systems (``geo.choices.SourceCRS``):

- ``wgs84``     GPS. Equal to CGCS2000 at the metre level, so the conversion is the identity.
- ``cgcs2000``  EPSG:4490, the canonical system itself.
- ``gcj02``     the obfuscated "Mars" system of AMap/Tencent maps. The forward transform is the
                published standard algorithm; the inverse is iterative (fixed point on the forward
                transform) until the residual is below 1e-9 degrees (contract: < 1e-7). Outside
                China's bounding box GCJ-02 equals WGS-84.
- ``bd09``      Baidu: a second published transform on top of GCJ-02; its inverse is refined
                iteratively the same way.
- ``cgcs2000_gk`` a projected CGCS2000 3-degree Gauss-Krüger zone, in metres (x = easting,
                y = northing). The zone must be given: ``zone=36`` (central meridian 108°E), or an
                EPSG code: 4534-4554 (no zone prefix in the easting) or 4513-4533 (easting prefixed
                with the zone number). Any other EPSG code pyproj knows may be given with ``epsg=``.

Areas (``area_m2``) are PLANAR areas in the CGCS2000 3-degree Gauss-Krüger zone whose central
meridian is nearest to the geometry's centroid longitude (what Chinese survey data uses). Inside
one zone the scale error is below 0.03 %, far below what a grid area needs.

Every function exists in a scalar form and a vectorised numpy form (``*_many``) for batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from django.utils.translation import gettext as _
from pyproj import CRS, Transformer

from urbangrid.lib.errors import InvalidInput

CANONICAL_EPSG = 4490
GEOGRAPHIC = ("wgs84", "cgcs2000", "gcj02", "bd09")
PROJECTED = "cgcs2000_gk"

# Krasovsky 1940 ellipsoid parameters used by the published GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


# --------------------------------------------------------------------------- CRS resolution


@dataclass(frozen=True)
class CRSSpec:
    """A resolved source CRS: ``kind`` is a SourceCRS value; ``epsg`` is set for projected/EPSG input."""

    kind: str
    epsg: int | None = None

    @property
    def is_geographic(self) -> bool:
        return self.epsg is None or CRS.from_epsg(self.epsg).is_geographic

    @property
    def label(self) -> str:
        return f"{self.kind}" + (f" (EPSG:{self.epsg})" if self.epsg else "")


def gk_epsg_for_zone(zone: int) -> int:
    """EPSG code of the CGCS2000 3-degree GK zone ``zone`` (central meridian 3*zone °E), no prefix."""
    if not 25 <= zone <= 45:
        raise InvalidInput(_("3-degree zone must be between 25 and 45, got %(zone)s.") % {"zone": zone})
    return 4534 + (zone - 25)


def gk_epsg_for_lon(lon: float) -> int:
    """The 3-degree zone EPSG code whose central meridian is nearest to ``lon`` (clamped to China)."""
    zone = int(round(lon / 3.0))
    return gk_epsg_for_zone(min(45, max(25, zone)))


def gk_central_meridian(epsg: int) -> float | None:
    """Central meridian of a CGCS2000 3-degree zone EPSG code (both numbering series), else None."""
    if 4534 <= epsg <= 4554:
        return 75.0 + 3 * (epsg - 4534)
    if 4513 <= epsg <= 4533:
        return 75.0 + 3 * (epsg - 4513)
    return None


def _split_crs_name(crs: str, zone: int | None, epsg: int | None):
    """The declared name with 'epsg:NNNN' and 'cgcs2000_gk:ZONE' moved into (name, zone, epsg)."""
    name = (crs or "").strip().lower()
    if ":" in name:
        head, _sep, tail = name.partition(":")
        if head == "epsg" and tail.isdigit():
            return PROJECTED, zone, int(tail)
        if head == PROJECTED and tail.isdigit():
            return PROJECTED, int(tail), epsg
        raise InvalidInput(_("Unknown coordinate system “%(crs)s”.") % {"crs": crs}, field="crs")
    if name == "epsg4490":
        name = "cgcs2000"
    return name, zone, epsg


def _gk_epsg(zone: int | None, epsg: int | None) -> int:
    """The EPSG code of a Gauss-Krüger system given by its zone, its EPSG code or both (agreeing)."""
    if epsg is None and zone is None:
        raise InvalidInput(
            _("A Gauss-Krüger system needs its zone (e.g. 36) or its EPSG code (e.g. 4545)."), field="crs"
        )
    if epsg is None:
        return gk_epsg_for_zone(int(zone))  # type: ignore[arg-type]
    if zone is not None and gk_epsg_for_zone(int(zone)) != epsg and gk_central_meridian(epsg) != 3 * zone:
        raise InvalidInput(
            _("Zone %(zone)s and EPSG:%(epsg)s contradict each other.") % {"zone": zone, "epsg": epsg},
            field="crs",
        )
    try:
        CRS.from_epsg(epsg)
    except Exception as exc:  # pyproj raises CRSError
        raise InvalidInput(_("Unknown EPSG code %(epsg)s.") % {"epsg": epsg}, field="crs") from exc
    return epsg


# EPSG codes given for a projected system that name a geographic one.
_GEOGRAPHIC_EPSG = {CANONICAL_EPSG: "cgcs2000", 4326: "wgs84"}


def resolve_crs(crs: str | CRSSpec, *, zone: int | None = None, epsg: int | None = None) -> CRSSpec:
    """Turn a declared CRS (name, 'epsg:NNNN', 'cgcs2000_gk:ZONE') plus zone/epsg into a CRSSpec.

    Raises InvalidInput for anything unknown; the CRS is never guessed.
    """
    if isinstance(crs, CRSSpec):
        return crs
    name, zone, epsg = _split_crs_name(crs, zone, epsg)
    if name in GEOGRAPHIC:
        if epsg is not None or zone is not None:
            raise InvalidInput(
                _("A zone or EPSG code only applies to a projected system, not to “%(crs)s”.") % {"crs": crs},
                field="crs",
            )
        return CRSSpec(name)
    if name == PROJECTED:
        epsg = _gk_epsg(zone, epsg)
        if epsg in _GEOGRAPHIC_EPSG:
            return CRSSpec(_GEOGRAPHIC_EPSG[epsg])
        return CRSSpec(PROJECTED, epsg)
    raise InvalidInput(_("Unknown coordinate system “%(crs)s”.") % {"crs": crs}, field="crs")


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


# --------------------------------------------------------------------------- GCJ-02 / BD-09


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_delta(lon, lat):
    """The published GCJ-02 offset (degrees) at WGS-84 (lon, lat); arrays or scalars."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02_many(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    d_lon, d_lat = _gcj_delta(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + d_lon), np.where(outside, lat, lat + d_lat)


def gcj02_to_wgs84_many(lon: np.ndarray, lat: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Iterative inverse: start at gcj - delta(gcj) and correct by the forward residual."""
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _i in range(30):
        f_lon, f_lat = wgs84_to_gcj02_many(w_lon, w_lat)
        r_lon, r_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - r_lon
        w_lat = w_lat - r_lat
        if np.all(np.abs(r_lon) < tol) and np.all(np.abs(r_lat) < tol):
            break
    return w_lon, w_lat


def gcj02_to_bd09_many(lon, lat):
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02_many(lon, lat, tol: float = 1e-10):
    """The published approximate inverse, refined by fixed-point iteration on the forward map."""
    b_lon = np.asarray(lon, dtype=float)
    b_lat = np.asarray(lat, dtype=float)
    x, y = b_lon - 0.0065, b_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lon, g_lat = z * np.cos(theta), z * np.sin(theta)
    for _i in range(10):
        f_lon, f_lat = gcj02_to_bd09_many(g_lon, g_lat)
        r_lon, r_lat = f_lon - b_lon, f_lat - b_lat
        g_lon, g_lat = g_lon - r_lon, g_lat - r_lat
        if np.all(np.abs(r_lon) < tol) and np.all(np.abs(r_lat) < tol):
            break
    return g_lon, g_lat


# --------------------------------------------------------------------------- public conversions


def to_canonical_many(lons, lats, crs: str | CRSSpec = "wgs84", *, zone=None, epsg=None):
    """Vectorised: source-CRS coordinates -> canonical CGCS2000 (lon, lat) arrays."""
    spec = resolve_crs(crs, zone=zone, epsg=epsg)
    x = np.asarray(lons, dtype=float)
    y = np.asarray(lats, dtype=float)
    if spec.kind in ("wgs84", "cgcs2000"):
        return x.copy(), y.copy()
    if spec.kind == "gcj02":
        return gcj02_to_wgs84_many(x, y)
    if spec.kind == "bd09":
        return gcj02_to_wgs84_many(*bd09_to_gcj02_many(x, y))
    lon, lat = _transformer(spec.epsg, CANONICAL_EPSG).transform(x, y)  # type: ignore[arg-type]
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def from_canonical_many(lons, lats, crs: str | CRSSpec = "wgs84", *, zone=None, epsg=None):
    """Vectorised: canonical (lon, lat) -> target-CRS coordinates (for display or export)."""
    spec = resolve_crs(crs, zone=zone, epsg=epsg)
    x = np.asarray(lons, dtype=float)
    y = np.asarray(lats, dtype=float)
    if spec.kind in ("wgs84", "cgcs2000"):
        return x.copy(), y.copy()
    if spec.kind == "gcj02":
        return wgs84_to_gcj02_many(x, y)
    if spec.kind == "bd09":
        return gcj02_to_bd09_many(*wgs84_to_gcj02_many(x, y))
    ex, ny = _transformer(CANONICAL_EPSG, spec.epsg).transform(x, y)  # type: ignore[arg-type]
    return np.asarray(ex, dtype=float), np.asarray(ny, dtype=float)


def _gcj_delta_scalar(lon: float, lat: float) -> tuple[float, float]:
    if lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271:
        return 0.0, 0.0
    x, y, pi, sin = lon - 105.0, lat - 35.0, math.pi, math.sin
    s = math.sqrt(abs(x))
    common = (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * s
        + common
        + (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * sin(y / 12.0 * pi) + 320 * sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * s
        + common
        + (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1 - _GCJ_EE * sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad_lat) * pi)
    return d_lon, d_lat


def _gcj_to_wgs_scalar(lon: float, lat: float) -> tuple[float, float]:
    w_lon, w_lat = lon, lat
    for _i in range(30):
        d_lon, d_lat = _gcj_delta_scalar(w_lon, w_lat)
        r_lon, r_lat = w_lon + d_lon - lon, w_lat + d_lat - lat
        w_lon, w_lat = w_lon - r_lon, w_lat - r_lat
        if abs(r_lon) < 1e-9 and abs(r_lat) < 1e-9:
            break
    return w_lon, w_lat


def to_canonical(lon: float, lat: float, crs: str | CRSSpec = "wgs84", *, zone=None, epsg=None):
    """One point, source CRS -> canonical (lon, lat) floats (pure-Python fast path for single calls)."""
    if isinstance(crs, str) and zone is None and epsg is None:
        if crs in ("wgs84", "cgcs2000"):
            return float(lon), float(lat)
        if crs == "gcj02":
            return _gcj_to_wgs_scalar(float(lon), float(lat))
    x, y = to_canonical_many(np.array([lon]), np.array([lat]), crs, zone=zone, epsg=epsg)
    return float(x[0]), float(y[0])


def from_canonical(lon: float, lat: float, crs: str | CRSSpec = "wgs84", *, zone=None, epsg=None):
    """One point, canonical (lon, lat) -> target CRS floats."""
    x, y = from_canonical_many(np.array([lon]), np.array([lat]), crs, zone=zone, epsg=epsg)
    return float(x[0]), float(y[0])


# --------------------------------------------------------------------------- plausibility


def check_plausible(xs: np.ndarray, ys: np.ndarray, spec: CRSSpec) -> str | None:
    """Why coordinates obviously contradict the declared CRS, or None when they are plausible.

    Geographic: lon must be in [-180, 180] and lat in [-90, 90] (metres given as degrees fail).
    Gauss-Krüger: values must look like metres (degrees given as metres fail), and the converted
    points must lie within a few degrees of the zone's central meridian (a wrong zone fails).
    """
    if len(xs) == 0:
        return None
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        return _("coordinates contain non-numeric or infinite values")
    if spec.is_geographic:
        if np.any(np.abs(xs) > 180) or np.any(np.abs(ys) > 90):
            return _(
                "coordinates such as (%(x).3f, %(y).3f) are not longitude/latitude in degrees, "
                "but %(crs)s was declared (projected metres?)"
            ) % {
                "x": float(xs[np.argmax(np.abs(xs))]),
                "y": float(ys[np.argmax(np.abs(ys))]),
                "crs": spec.label,
            }
        return None
    if np.all(np.abs(xs) <= 180) and np.all(np.abs(ys) <= 90):
        return _(
            "coordinates look like degrees of longitude/latitude, but the projected system %(crs)s "
            "(metres) was declared"
        ) % {"crs": spec.label}
    cm = gk_central_meridian(spec.epsg or 0)
    lon, lat = to_canonical_many(xs, ys, spec)
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        return _("coordinates cannot be converted from %(crs)s") % {"crs": spec.label}
    if cm is not None and (np.any(np.abs(lon - cm) > 3.0) or np.any(np.abs(lat) > 60) or np.any(lat < 0)):
        return _(
            "coordinates fall outside the Gauss-Krüger zone of %(crs)s (central meridian %(cm)s°E): "
            "wrong zone or wrong units?"
        ) % {"crs": spec.label, "cm": int(cm)}
    return None


# --------------------------------------------------------------------------- geometry helpers


def transform_geom(geom, func):
    """Apply a vectorised (x, y) -> (x, y) coordinate function to a shapely geometry or array."""

    def apply(coords: np.ndarray) -> np.ndarray:
        if len(coords) == 0:
            return coords
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


def geom_to_canonical(geom, crs: str | CRSSpec, *, zone=None, epsg=None):
    spec = resolve_crs(crs, zone=zone, epsg=epsg)
    if spec.kind in ("wgs84", "cgcs2000"):
        return geom
    return transform_geom(geom, lambda x, y: to_canonical_many(x, y, spec))


def geom_from_canonical(geom, crs: str | CRSSpec, *, zone=None, epsg=None):
    spec = resolve_crs(crs, zone=zone, epsg=epsg)
    if spec.kind in ("wgs84", "cgcs2000"):
        return geom
    return transform_geom(geom, lambda x, y: from_canonical_many(x, y, spec))


def metric_epsg_for(geom) -> int:
    """The 3-degree GK zone for a lon/lat geometry (or array of them), by centroid longitude."""
    bounds = shapely.total_bounds(geom) if isinstance(geom, np.ndarray) else geom.bounds
    if not np.all(np.isfinite(bounds)):
        return gk_epsg_for_zone(36)
    return gk_epsg_for_lon((bounds[0] + bounds[2]) / 2.0)


def to_metric(geom, epsg: int | None = None):
    """Canonical lon/lat geometry (or array) -> metres in a GK zone; returns (geometry, epsg)."""
    epsg = epsg or metric_epsg_for(geom)
    t = _transformer(CANONICAL_EPSG, epsg)
    return transform_geom(geom, lambda x, y: t.transform(x, y)), epsg


def from_metric(geom, epsg: int):
    t = _transformer(epsg, CANONICAL_EPSG)
    return transform_geom(geom, lambda x, y: t.transform(x, y))


def area_m2(geom) -> float:
    """Planar area in m² in the CGCS2000 3-degree GK zone nearest to the geometry (see module doc)."""
    if geom is None or geom.is_empty:
        return 0.0
    if geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        return 0.0
    metric, _epsg = to_metric(geom)
    return float(metric.area)


def areas_m2(geoms: np.ndarray) -> np.ndarray:
    """Vectorised area_m2 for an array of lon/lat geometries sharing one zone."""
    if len(geoms) == 0:
        return np.zeros(0)
    metric, _epsg = to_metric(np.asarray(geoms, dtype=object))
    return shapely.area(metric)
