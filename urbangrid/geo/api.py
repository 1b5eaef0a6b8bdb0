"""JSON API of the geo app, mounted under /api/v1/geo/.

Everything is jurisdiction-filtered (``visible_to``) and answers GeoJSON in canonical lon/lat
(CGCS2000 == WGS-84 at the metre level). A region outside the caller's area is 404 like a
missing one; a located point whose grid lies outside the caller's area is answered "outside".
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import shapely
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from urbangrid.lib.access import scope_for
from urbangrid.lib.bounds import Float, Int
from urbangrid.lib.errors import InvalidInput, NotFound

from .choices import SourceCRS
from .coverage import check_region
from .crs import to_canonical_many
from .locator import locate_many_indices
from .models import Region, UnitGrid

router = Router(tags=["geo"])

MAX_GRID_FEATURES = 5000
MAX_BATCH_POINTS = 10000


class FeatureCollectionOut(Schema):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]
    truncated: bool = False
    count: Int = 0


class RegionFilter(Schema):
    level: Int | None = Field(
        None, ge=1, le=4, description="1 city, 2 district, 3 street/town, 4 community/village"
    )
    parent: str | None = Field(None, description="parent region code")
    geometry: bool = Field(True, description="include the boundary")


def _feature(geom, props: dict) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
    }


@router.get(
    "/regions", response=FeatureCollectionOut, summary="Regions (city, district, street/town, community)"
)
def regions(request, filters: Query[RegionFilter]):
    qs = Region.objects.visible_to(request.user).select_related("parent")
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.parent:
        parent = Region.objects.visible_to(request.user).filter(code=filters.parent).first()
        if parent is None:
            raise NotFound(_("No region with code %(code)s.") % {"code": filters.parent})
        qs = qs.filter(parent=parent)
    features = [
        _feature(
            r.geometry if filters.geometry else None,
            {
                "code": r.code,
                "name": r.name,
                "kind": r.kind,
                "kind_label": r.get_kind_display(),
                "level": r.level,
                "parent": r.parent.code if r.parent else None,
                "area_m2": round(r.area_m2, 1),
            },
        )
        for r in qs.order_by("code")
    ]
    return {"features": features, "count": len(features)}


class GridFilter(Schema):
    bbox: str = Field(..., description="minlon,minlat,maxlon,maxlat (canonical lon/lat)")
    zoom: Int = Field(
        16, ge=0, le=22, description="map zoom: geometry is simplified to half a pixel below 17"
    )
    limit: Int = Field(MAX_GRID_FEATURES, ge=1, le=MAX_GRID_FEATURES)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidInput(
            _("bbox must be four numbers: minlon,minlat,maxlon,maxlat."), field="bbox"
        ) from exc
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InvalidInput(_("bbox is not a valid lon/lat box (min < max, inside ±180/±90)."), field="bbox")
    return minx, miny, maxx, maxy


def simplify_tolerance(zoom: int) -> float:
    """Half a screen pixel in degrees at this zoom (256-pixel tiles); 0 from zoom 17 on."""
    if zoom >= 17:
        return 0.0
    return 360.0 / (256 * 2**zoom) / 2


@router.get("/grids", response=FeatureCollectionOut, summary="Current unit grids in a viewport")
def grids(request, filters: Query[GridFilter]):
    minx, miny, maxx, maxy = parse_bbox(filters.bbox)
    qs = (
        UnitGrid.objects.current()
        .visible_to(request.user)
        .filter(min_lon__lte=maxx, max_lon__gte=minx, min_lat__lte=maxy, max_lat__gte=miny)
        .select_related("community")
        .order_by("code")
        .only("code", "version", "name", "area_m2", "geometry_wkb", "community__code", "community__name")
    )
    rows = list(qs[: filters.limit + 1])
    truncated = len(rows) > filters.limit
    rows = rows[: filters.limit]
    geoms = shapely.from_wkb([bytes(g.geometry_wkb) for g in rows]) if rows else np.array([])
    tolerance = simplify_tolerance(filters.zoom)
    if tolerance and len(geoms):
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    features = [
        _feature(
            geom,
            {
                "code": g.code,
                "version": g.version,
                "name": g.name,
                "community": g.community.code,
                "community_name": g.community.name,
                "area_m2": round(g.area_m2, 1),
            },
        )
        for g, geom in zip(rows, geoms, strict=True)
    ]
    return {"features": features, "truncated": truncated, "count": len(features)}


class RegionRef(Schema):
    id: Int
    code: str
    name: str


class LocationOut(Schema):
    inside: bool
    status: Literal["inside", "outside", "outside_your_area"]
    message: str
    lon: Float | None = None
    lat: Float | None = None
    grid_id: Int | None = None
    grid_code: str | None = None
    community: RegionRef | None = None
    street: RegionRef | None = None
    district: RegionRef | None = None


class PointIn(Schema):
    lon: Float
    lat: Float


class LocateBatchIn(Schema):
    crs: SourceCRS = SourceCRS.WGS84
    zone: Int | None = None
    epsg: Int | None = None
    points: list[PointIn] = Field(..., max_length=MAX_BATCH_POINTS)


class LocateBatchOut(Schema):
    count: Int
    inside: Int
    results: list[LocationOut]


def _locate_points(request, lons, lats, crs: str, zone=None, epsg=None) -> list[dict]:
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    if not (np.all(np.isfinite(lons)) and np.all(np.isfinite(lats))):
        raise InvalidInput(_("Coordinates must be finite numbers."))
    kwargs = {k: v for k, v in (("zone", zone), ("epsg", epsg)) if v is not None}

    c_lon, c_lat = to_canonical_many(lons, lats, crs, **kwargs)
    index, idx = locate_many_indices(c_lon, c_lat, "cgcs2000")
    scope = scope_for(request.user)
    region_ids = set()
    for i in idx[idx >= 0]:
        region_ids |= {int(index.community_ids[i]), int(index.street_ids[i]), int(index.district_ids[i])}
    regions = {
        r.pk: {"id": r.pk, "code": r.code, "name": r.name} for r in Region.objects.filter(pk__in=region_ids)
    }
    out = []
    for k, i in enumerate(idx):
        lon, lat = float(c_lon[k]), float(c_lat[k])
        if i < 0:
            out.append(
                {
                    "inside": False,
                    "status": "outside",
                    "lon": lon,
                    "lat": lat,
                    "message": _("The point lies outside the jurisdiction (no unit grid contains it)."),
                }
            )
            continue
        comm, street, district = (
            int(index.community_ids[i]),
            int(index.street_ids[i]),
            int(index.district_ids[i]),
        )
        visible = (
            scope.all_city
            or comm in scope.community_ids
            or street in scope.street_ids
            or district in scope.district_ids
        )
        if not visible:
            out.append(
                {
                    "inside": False,
                    "status": "outside_your_area",
                    "lon": lon,
                    "lat": lat,
                    "message": _("The point lies outside your area of responsibility."),
                }
            )
            continue
        out.append(
            {
                "inside": True,
                "status": "inside",
                "lon": lon,
                "lat": lat,
                "message": _("Located in grid %(code)s.") % {"code": index.codes[i]},
                "grid_id": Int(index.ids[i]),
                "grid_code": str(index.codes[i]),
                "community": regions.get(comm),
                "street": regions.get(street),
                "district": regions.get(district),
            }
        )
    return out


@router.get("/locate", response=LocationOut, summary="Locate one point (grid, community, street, district)")
def locate(
    request,
    lon: Float,
    lat: Float,
    crs: SourceCRS = SourceCRS.WGS84,
    zone: Int | None = None,
    epsg: Int | None = None,
):
    return _locate_points(request, [lon], [lat], crs.value, zone, epsg)[0]


@router.post("/locate", response=LocateBatchOut, summary="Locate a batch of points (at most 10,000)")
def locate_batch(request, payload: LocateBatchIn):
    if not payload.points:
        return {"count": 0, "inside": 0, "results": []}
    results = _locate_points(
        request,
        [p.lon for p in payload.points],
        [p.lat for p in payload.points],
        payload.crs.value,
        payload.zone,
        payload.epsg,
    )
    return {"count": len(results), "inside": sum(r["inside"] for r in results), "results": results}


class CoverageFilter(Schema):
    region: str = Field(..., description="region code")
    sliver_m2: Float | None = Field(None, ge=0)
    supervisors: bool = True


@router.get("/coverage", summary="Coverage proof of a region: gaps, overlaps, grids without supervisor")
def coverage(request, filters: Query[CoverageFilter]) -> dict:
    scope = scope_for(request.user)
    region = Region.objects.visible_to(request.user).filter(code=filters.region).first()
    # Ancestors are visible to frame the map, but their coverage would show other areas' grids.
    inside = region is not None and (
        scope.all_city or any(region.code.startswith(c) for c in scope.region_codes)
    )
    if not inside:
        raise NotFound(_("No region with code %(code)s.") % {"code": filters.region})
    return check_region(region, sliver_m2=filters.sliver_m2, supervisors=filters.supervisors).as_dict()
