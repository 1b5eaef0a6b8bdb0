"""Coverage proof (覆盖校验): gaps, overlaps and spill-over of grids and child regions.

For a region R, with the current unit grids inside it (and, above community level, its child
regions):

- ``gap``       part of R covered by no grid (R minus the union of the grids);
- ``overlap``   part covered by two grids (pairwise intersections found with an STRtree query);
- ``outside``   grid area lying outside R (the union of the grids minus R);
- ``child_gap`` / ``child_overlap`` / ``child_outside``: the same for R's child regions, so a
  district proves that its streets and towns tile it and a street that its communities do;
- ``no_supervisor``: a current grid without a named comprehensive supervisor today
  (orgs.GridAssignment with duty "supervisor").

Every area finding carries its area in m² and its location (a representative point and the
geometry, lon/lat). Pieces under ``settings.URBANGRID["SLIVER_M2"]`` are floating noise, not
findings. All geometry work is vectorised shapely 2 in the region's metric GK zone.

Boundaries are compared as straight segments between their vertices in that zone (so is the
grid division). Topologically clean data (each level's outline carries the vertices of the
level below, as the demo city and survey data do) therefore proves exactly; a long edge that
skips a neighbour's corner differs from it by the projection's curvature (millimetres per
kilometre), which can exceed the sliver threshold and is then reported, as it should be.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.orgs.choices import GridDuty
from urbangrid.orgs.models import GridAssignment

from . import crs as crs_mod
from .models import Region, UnitGrid

AREA_KINDS = ("gap", "overlap", "outside", "child_gap", "child_overlap", "child_outside")


@dataclass
class Finding:
    """One coverage problem: kind, area (m², 0 for no_supervisor), location, involved codes."""

    kind: str
    area_m2: float
    lon: float
    lat: float
    codes: list[str] = field(default_factory=list)
    geometry: Any = None  # shapely lon/lat

    @property
    def label(self) -> str:
        return {
            "gap": _("gap"),
            "overlap": _("overlap"),
            "outside": _("outside the boundary"),
            "child_gap": _("gap between child regions"),
            "child_overlap": _("overlap of child regions"),
            "child_outside": _("child region outside the boundary"),
            "no_supervisor": _("grid without a supervisor"),
        }.get(self.kind, self.kind)

    def describe(self) -> str:
        where = f"({self.lon:.6f}, {self.lat:.6f})"
        codes = ", ".join(self.codes[:6]) + (" …" if len(self.codes) > 6 else "")
        if self.kind == "no_supervisor":
            return _("%(label)s: %(codes)s at %(where)s") % {
                "label": self.label,
                "codes": codes,
                "where": where,
            }
        return _("%(label)s: %(area).2f m² at %(where)s %(codes)s") % {
            "label": self.label,
            "area": self.area_m2,
            "where": where,
            "codes": codes,
        }

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "area_m2": round(self.area_m2, 3),
            "lon": self.lon,
            "lat": self.lat,
            "codes": self.codes,
            "geometry": shapely.geometry.mapping(self.geometry) if self.geometry is not None else None,
        }


@dataclass
class CoverageReport:
    """The result of a coverage proof for one region."""

    region_code: str
    region_name: str
    region_area_m2: float
    grids: int
    children: int
    sliver_m2: float
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def area_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in AREA_KINDS]

    @property
    def total_area_m2(self) -> float:
        return float(sum(f.area_m2 for f in self.area_findings))

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out

    def as_dict(self, with_geometry: bool = True) -> dict:
        return {
            "region": self.region_code,
            "name": self.region_name,
            "region_area_m2": round(self.region_area_m2, 2),
            "grids": self.grids,
            "children": self.children,
            "sliver_m2": self.sliver_m2,
            "ok": self.ok,
            "counts": self.counts(),
            "total_area_m2": round(self.total_area_m2, 3),
            "seconds": round(self.seconds, 3),
            "findings": [
                f.as_dict() if with_geometry else {k: v for k, v in f.as_dict().items() if k != "geometry"}
                for f in self.findings
            ],
        }


def default_sliver_m2() -> float:
    config: dict[str, Any] = settings.URBANGRID
    return float(config.get("SLIVER_M2", 1.0))


def _union(geoms: np.ndarray):
    """Union of a (nearly) exact coverage: the fast coverage union, else the robust overlay."""
    if len(geoms) == 0:
        return shapely.Polygon()
    try:
        u = shapely.coverage_union_all(geoms)
        if u.is_valid:
            return u
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(geoms)


def _safe_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Vectorised intersection; on a GEOS topology error, redo it with repaired inputs."""
    try:
        return shapely.intersection(a, b)
    except shapely.errors.GEOSException:
        return shapely.intersection(shapely.make_valid(a), shapely.make_valid(b))


def _parts_over(geom, sliver: float) -> list:
    if geom is None or geom.is_empty:
        return []
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == 3] if len(parts) else parts  # polygons only
    if len(parts) == 0:
        return []
    return list(parts[shapely.area(parts) >= sliver])


def _pairs_overlapping(geoms_m: np.ndarray, subset: np.ndarray, sliver: float):
    """(i, j, intersection) for pairs with i < j, i or j in ``subset``, overlapping >= sliver."""
    tree = shapely.STRtree(geoms_m)
    left, right = tree.query(geoms_m[subset], predicate="intersects")
    left = subset[left]
    a, b = np.minimum(left, right), np.maximum(left, right)
    keep = a < b
    pairs = np.unique(np.column_stack([a[keep], b[keep]]), axis=0) if keep.any() else np.zeros((0, 2), int)
    if len(pairs) == 0:
        return []
    a, b = pairs[:, 0], pairs[:, 1]
    # Neighbours that only share edges touch; everything else is intersected and measured.
    interior = ~shapely.touches(geoms_m[a], geoms_m[b])
    a, b = a[interior], b[interior]
    if len(a) == 0:
        return []
    inter = _safe_intersection(geoms_m[a], geoms_m[b])
    areas = shapely.area(inter)
    return [(int(a[k]), int(b[k]), inter[k]) for k in np.nonzero(areas >= sliver)[0]]


def analyse(
    boundary_m,
    geoms_m: np.ndarray,
    codes: np.ndarray,
    epsg: int,
    sliver: float,
    *,
    groups: np.ndarray | None = None,
    prefix: str = "",
) -> list[Finding]:
    """Gaps, overlaps and spill-over of metric ``geoms_m`` against metric ``boundary_m``.

    Speed: the area of a union equals the sum of the areas exactly when nothing is covered twice,
    so ``sum(areas) - area(union)`` bounds every overlap from above. Grids are unioned per group
    (``groups``: e.g. the community code; one noding each, so the fast coverage union applies),
    and the expensive pairwise intersections run only for groups whose excess reaches the sliver
    threshold, and for the grids of groups that overlap each other.
    """
    findings: list[Finding] = []
    geoms_m = np.asarray(geoms_m, dtype=object)
    n = len(geoms_m)
    tree = shapely.STRtree(geoms_m) if n else None

    def codes_touching(piece) -> list[str]:
        if tree is None:
            return []
        hits = tree.query(piece, predicate="intersects")
        return sorted(str(codes[i]) for i in hits)

    def finding(kind: str, piece_m, involved: list[str]) -> Finding:
        rep_ll = crs_mod.from_metric(piece_m.representative_point(), epsg)
        return Finding(
            kind=prefix + kind,
            area_m2=float(piece_m.area),
            lon=float(rep_ll.x),
            lat=float(rep_ll.y),
            codes=involved,
            geometry=crs_mod.from_metric(piece_m, epsg),
        )

    union = shapely.Polygon()
    if n:
        areas = shapely.area(geoms_m)
        keys = np.zeros(n, dtype=object) if groups is None else np.asarray(groups, dtype=object)
        order = np.argsort(keys, kind="stable")
        uniq, starts = np.unique(keys[order], return_index=True)
        members = np.split(order, starts[1:])
        candidates: list[np.ndarray] = []
        group_unions = []
        for idx in members:
            if len(idx) == 1:
                group_unions.append(geoms_m[idx[0]])
                continue
            u = _union(geoms_m[idx])
            excess = float(areas[idx].sum() - u.area)
            if abs(excess) >= sliver:
                u = shapely.union_all(geoms_m[idx])  # the coverage union may be wrong on overlaps
                excess = float(areas[idx].sum() - u.area)
            if excess >= sliver:
                candidates.append(idx)
            group_unions.append(u)
        gu = np.array(group_unions, dtype=object)
        union = shapely.union_all(gu) if len(gu) > 1 else gu[0]
        if float(shapely.area(gu).sum() - union.area) >= sliver and len(gu) > 1:
            g_tree = shapely.STRtree(gu)
            gl, gr = g_tree.query(gu, predicate="intersects")
            keep = gl < gr
            gl, gr = gl[keep], gr[keep]
            if len(gl):
                inter_area = shapely.area(_safe_intersection(gu[gl], gu[gr]))
                for k in np.nonzero(inter_area >= sliver)[0]:
                    candidates += [members[gl[k]], members[gr[k]]]
        if candidates:
            subset = np.unique(np.concatenate(candidates))
            for i, j, inter in _pairs_overlapping(geoms_m, subset, sliver):
                for piece in _parts_over(inter, sliver):
                    findings.append(finding("overlap", piece, [str(codes[i]), str(codes[j])]))

    if boundary_m is not None and not boundary_m.is_empty:
        for piece in _parts_over(shapely.difference(boundary_m, union), sliver):
            # The grids around a gap are those within a metre of it.
            findings.append(finding("gap", piece, codes_touching(piece.buffer(1.0))))
        for piece in _parts_over(shapely.difference(union, boundary_m), sliver):
            findings.append(finding("outside", piece, codes_touching(piece)))
    return findings


# The grid column that holds a region of each level; a city's grids are those of its districts.
_GRIDS_BY_LEVEL = {4: "community", 3: "street", 2: "district"}


def _current_grids_in(region) -> tuple[np.ndarray, np.ndarray]:
    """Codes and lon/lat geometries of the region's current grids that have a boundary."""

    column = _GRIDS_BY_LEVEL.get(region.level, "district__parent")
    grids = UnitGrid.objects.current().filter(**{column: region})
    rows = [r for r in grids.order_by("code").values_list("code", "geometry_wkb") if r[1]]
    codes = np.array([r[0] for r in rows], dtype=object)
    geoms_ll = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else np.array([], dtype=object)
    return codes, geoms_ll


def _child_findings(region, boundary_m, epsg: int, sliver: float) -> tuple[list[Finding], int]:
    """The child regions' findings (none for a community) and the number of children."""

    children = list(
        Region.objects.filter(parent=region).exclude(geometry_wkb=None).values_list("code", "geometry_wkb")
    )
    if not children or region.level >= 4:
        return [], len(children)
    c_codes = np.array([c for c, _w in children], dtype=object)
    c_geoms = crs_mod.to_metric(shapely.from_wkb([bytes(w or b"") for _c, w in children]), epsg)[0]
    return analyse(boundary_m, c_geoms, c_codes, epsg, sliver, groups=c_codes, prefix="child_"), len(children)


def check_region(region, *, sliver_m2: float | None = None, supervisors: bool = True) -> CoverageReport:
    """Run the coverage proof for a Region (any level) over its CURRENT grids."""
    started = time.perf_counter()
    sliver = default_sliver_m2() if sliver_m2 is None else float(sliver_m2)
    codes, geoms_ll = _current_grids_in(region)
    boundary_ll = region.geometry
    epsg = crs_mod.metric_epsg_for(boundary_ll if boundary_ll is not None else geoms_ll)
    boundary_m = crs_mod.to_metric(boundary_ll, epsg)[0] if boundary_ll is not None else None
    geoms_m = crs_mod.to_metric(geoms_ll, epsg)[0] if len(geoms_ll) else geoms_ll
    communities = np.array([c[:12] for c in codes], dtype=object)
    findings = analyse(boundary_m, geoms_m, codes, epsg, sliver, groups=communities)
    child_findings, n_children = _child_findings(region, boundary_m, epsg, sliver)
    findings += child_findings
    if supervisors and len(codes):
        findings += grids_without_supervisor(list(codes), geoms_ll)
    return CoverageReport(
        region_code=region.code,
        region_name=region.name,
        region_area_m2=float(boundary_m.area) if boundary_m is not None else 0.0,
        grids=len(codes),
        children=n_children,
        sliver_m2=sliver,
        findings=findings,
        seconds=time.perf_counter() - started,
    )


def grids_without_supervisor(codes: list[str], geoms_ll: np.ndarray) -> list[Finding]:
    """Current grids with no active supervisor assignment today (one query)."""

    today = timezone.localdate()
    staffed = set(
        GridAssignment.objects.filter(duty=GridDuty.SUPERVISOR, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .filter(person__is_active=True)
        .values_list("grid_code", flat=True)
        .distinct()
    )
    missing = [i for i, c in enumerate(codes) if c not in staffed]
    if not missing:
        return []
    reps = shapely.point_on_surface(np.asarray(geoms_ll, dtype=object)[missing])
    return [
        Finding("no_supervisor", 0.0, float(p.x), float(p.y), [codes[i]], None)
        for i, p in zip(missing, reps, strict=True)
    ]
