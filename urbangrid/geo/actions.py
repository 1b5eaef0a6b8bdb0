"""Writes of the geo app: every one is a do_* action under one transaction with an audit record.

Actions validate everything first and write afterwards, so a refused input changes nothing. An
``actor`` of None means the system itself (management commands run by the server operator and
the demo builder); a person must hold the administrator role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.lib.access import is_admin, require
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound

from . import locator
from .choices import RegionKind
from .crs import area_m2, areas_m2, geom_to_canonical, resolve_crs
from .division import divide_lonlat
from .io import Feature, load, validate_polygon
from .models import GeoRevision, Region, UnitGrid

COMMUNITY_KINDS = (RegionKind.COMMUNITY, RegionKind.VILLAGE)
# Re-imported boundaries within 1e-9 degrees (~0.1 mm) of the stored ones count as unchanged:
# a CRS round trip moves vertices by ~1e-13 degrees and must not create a new grid version.
SAME_TOLERANCE_DEG = 1e-9


def require_geo_admin(actor) -> None:
    """Only administrators (or the system, actor None) change the geography."""
    if actor is None:
        return
    require(actor, is_admin, _("Only a system administrator may change regions and grids."))


def grid_target_m2() -> float:
    config: dict[str, Any] = settings.URBANGRID
    return float(config.get("GRID_TARGET_M2", 10000.0))


def sliver_m2() -> float:
    config: dict[str, Any] = settings.URBANGRID
    return float(config.get("SLIVER_M2", 1.0))


def geometry_columns(geom, area: float | None = None) -> dict:
    """The stored columns of a canonical lon/lat geometry (WKB, bbox, centroid, area)."""
    minx, miny, maxx, maxy = geom.bounds
    centroid = geom.centroid
    return {
        "geometry_wkb": shapely.to_wkb(geom),
        "min_lon": minx,
        "min_lat": miny,
        "max_lon": maxx,
        "max_lat": maxy,
        "centroid_lon": centroid.x,
        "centroid_lat": centroid.y,
        "area_m2": area_m2(geom) if area is None else float(area),
    }


def _after_grid_change() -> None:
    """Every change of current grids: bump the revision (other processes) and drop our index."""
    GeoRevision.bump()
    locator.invalidate()
    transaction.on_commit(locator.invalidate)


def _actor_user(actor):
    return actor if getattr(actor, "pk", None) else None


def _community_chain(community: Region) -> tuple[Region, Region]:
    street = community.parent
    district = street.parent if street else None
    if street is None or district is None:
        raise InvalidInput(
            _("Community %(code)s is not attached to a street/town and a district.")
            % {"code": community.code}
        )
    return street, district


@transaction.atomic
def do_divide_grids(
    actor,
    community: Region,
    target_m2: float | None = None,
    valid_from: datetime | None = None,
    *,
    sliver_ratio: float = 0.4,
) -> list[UnitGrid]:
    """Divide a community/village into unit grids of about ``target_m2`` and make them current.

    Current grids of the community are closed at ``valid_from`` (default now); a code that existed
    before continues with version+1, so cases keep pointing at the old rows.
    """
    require_geo_admin(actor)
    community = Region.objects.select_related("parent__parent").get(pk=community.pk)
    if community.kind not in COMMUNITY_KINDS:
        raise InvalidInput(
            _("Only a community or village can be divided into unit grids; %(code)s is a %(kind)s.")
            % {"code": community.code, "kind": community.get_kind_display()}
        )
    geom = community.geometry
    if geom is None or geom.is_empty:
        raise InvalidInput(_("Community %(code)s has no boundary to divide.") % {"code": community.code})
    street, district = _community_chain(community)
    target = float(target_m2) if target_m2 else grid_target_m2()
    if not 100.0 <= target <= 10_000_000.0:
        raise InvalidInput(
            _("The target grid area must be between 100 and 10,000,000 m²."), field="target_m2"
        )
    moment = valid_from or timezone.now()

    cells = divide_lonlat(geom, target, sliver_ratio=sliver_ratio)
    if len(cells) > 999:
        raise InvalidInput(
            _("Dividing %(code)s gives %(n)s grids; a community holds at most 999. Use a larger target area.")
            % {"code": community.code, "n": len(cells)},
            field="target_m2",
        )
    current = UnitGrid.objects.current().filter(community=community)
    if current.filter(valid_from__gt=moment).exists():
        raise Conflict(
            _("Some current grids of %(code)s start after the requested date.") % {"code": community.code}
        )

    codes = [f"{community.code}{cell.seq:03d}" for cell in cells]
    last_version = dict(
        UnitGrid.objects.filter(code__in=codes)
        .values("code")
        .annotate(v=Max("version"))
        .values_list("code", "v")
    )
    closed = current.update(valid_to=moment)
    # Codes of other communities cannot collide: a grid code starts with its community code.
    rows = [
        UnitGrid(
            code=code,
            version=last_version.get(code, 0) + 1,
            community=community,
            street=street,
            district=district,
            valid_from=moment,
            note=_("divided at about %(target)s m²") % {"target": int(target)},
            **geometry_columns(cell.lonlat, cell.area_m2),
        )
        for code, cell in zip(codes, cells, strict=True)
    ]
    created = UnitGrid.objects.bulk_create(rows, batch_size=500)
    _after_grid_change()
    record(
        _actor_user(actor),
        "geo.divide_grids",
        community,
        summary=f"{community.code}: {len(created)} grids (closed {closed})",
        target_m2=target,
        grids=len(created),
        closed=closed,
    )
    return created


@transaction.atomic
def do_change_grid_boundary(
    actor,
    code: str,
    new_geometry,
    valid_from: datetime | None = None,
    *,
    crs: str = "cgcs2000",
    zone: int | None = None,
    epsg: int | None = None,
) -> UnitGrid:
    """Close the current version of grid ``code`` and open version+1 with the new boundary."""
    require_geo_admin(actor)

    spec = resolve_crs(crs, zone=zone, epsg=epsg)
    grid = (
        UnitGrid.objects.current().select_for_update().select_related("community").filter(code=code).first()
    )
    if grid is None:
        raise NotFound(_("No current unit grid with code %(code)s.") % {"code": code})
    geom = geom_to_canonical(new_geometry, spec)
    problem = validate_polygon(geom)
    if problem:
        raise InvalidInput(_("Grid %(code)s: %(problem)s") % {"code": code, "problem": problem})
    outside = _area_outside(geom, grid.community.geometry)
    if outside > sliver_m2():
        raise InvalidInput(
            _("Grid %(code)s: %(area).1f m² lie outside its community %(community)s.")
            % {"code": code, "area": outside, "community": grid.community.code}
        )
    moment = valid_from or timezone.now()
    if moment <= grid.valid_from:
        raise Conflict(
            _("The new version must start after the current one (%(start)s).") % {"start": grid.valid_from}
        )
    UnitGrid.objects.filter(pk=grid.pk, valid_to__isnull=True).update(valid_to=moment)
    new = UnitGrid(
        code=grid.code,
        version=grid.version + 1,
        name=grid.name,
        community_id=grid.community_id,
        street_id=grid.street_id,
        district_id=grid.district_id,
        valid_from=moment,
        **geometry_columns(geom),
    )
    new.save()
    _after_grid_change()
    record(
        _actor_user(actor),
        "geo.change_grid_boundary",
        new,
        summary=f"{code} v{new.version}",
        previous=grid.pk,
    )
    return new


def _area_outside(geom, container) -> float:
    """m² of ``geom`` outside ``container`` (both canonical lon/lat)."""
    if container is None:
        return 0.0
    try:
        rest = shapely.difference(geom, container)
    except shapely.errors.GEOSException:
        rest = shapely.difference(shapely.make_valid(geom), shapely.make_valid(container))
    return area_m2(rest) if not rest.is_empty else 0.0


def areas_outside(geoms: np.ndarray, containers: np.ndarray) -> np.ndarray:
    """Vectorised _area_outside for parallel arrays."""

    rest = shapely.difference(geoms, containers)
    out = np.zeros(len(geoms))
    nonempty = ~shapely.is_empty(rest)
    if nonempty.any():
        out[nonempty] = areas_m2(rest[nonempty])
    return out


# --------------------------------------------------------------------------- import

KIND_ALIASES = {
    "city": RegionKind.CITY,
    "市": RegionKind.CITY,
    "district": RegionKind.DISTRICT,
    "区": RegionKind.DISTRICT,
    "县": RegionKind.DISTRICT,
    "street": RegionKind.STREET,
    "街道": RegionKind.STREET,
    "街道办": RegionKind.STREET,
    "town": RegionKind.TOWN,
    "镇": RegionKind.TOWN,
    "乡": RegionKind.TOWN,
    "community": RegionKind.COMMUNITY,
    "社区": RegionKind.COMMUNITY,
    "village": RegionKind.VILLAGE,
    "村": RegionKind.VILLAGE,
}
CODE_LENGTH: dict[str, int] = {
    RegionKind.CITY: 6,
    RegionKind.DISTRICT: 6,
    RegionKind.STREET: 9,
    RegionKind.TOWN: 9,
    RegionKind.COMMUNITY: 12,
    RegionKind.VILLAGE: 12,
}


def infer_kind(code: str) -> str | None:
    """Kind from a GB/T 2260 / GB/T 10114 code: 6 digits city (..00) or district; 9 digits street
    (001-099) or town (100+); 12 digits community (001-199) or village (200+)."""
    if not code.isdigit():
        return None
    if len(code) == 6:
        return RegionKind.CITY if code.endswith("00") else RegionKind.DISTRICT
    if len(code) == 9:
        return RegionKind.STREET if int(code[6:]) < 100 else RegionKind.TOWN
    if len(code) == 12:
        return RegionKind.COMMUNITY if int(code[9:]) < 200 else RegionKind.VILLAGE
    return None


def parent_code(code: str, kind: str) -> str | None:
    if kind == RegionKind.CITY:
        return None
    if kind == RegionKind.DISTRICT:
        return code[:4] + "00"
    return code[:6] if len(code) == 9 else code[:9]


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    codes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _check_inside(problems, checks, message) -> None:
    """Reports the features that reach further outside their container than a sliver.

    ``checks``: (feature, container geometry, context) triples; ``message(area, context)`` words
    the problem."""
    if not checks:
        return
    outside = areas_outside(
        np.array([f.geometry for f, _g, _c in checks], dtype=object),
        np.array([g for _f, g, _c in checks], dtype=object),
    )
    limit = sliver_m2()
    for (f, _g, context), area in zip(checks, outside, strict=True):
        if area > limit:
            problems.add(f, message(area, context))


def _record_import(actor, action: str, summary: str, result: ImportResult, crs) -> None:
    record(
        _actor_user(actor),
        action,
        None,
        summary=summary,
        created=result.created,
        updated=result.updated,
        crs=str(crs),
    )


def _region_kind(f: Feature) -> tuple[str | None, str]:
    """The kind a region feature names (or its code implies), and the name as written."""
    kind_raw = str(f.properties.get("kind") or "").strip()
    if not kind_raw:
        return infer_kind(f.code), kind_raw
    return KIND_ALIASES.get(kind_raw.lower(), KIND_ALIASES.get(kind_raw)), kind_raw


def _region_problem(f: Feature, kind: str | None, kind_raw: str, seen: dict[str, Feature]) -> str | None:
    code = f.code
    if not code.isdigit() or len(code) not in (6, 9, 12):
        return _("the region code must have 6, 9 or 12 digits")
    if kind is None:
        return _("unknown region kind “%(kind)s”") % {"kind": kind_raw}
    if CODE_LENGTH[kind] != len(code):
        return _("a %(kind)s needs a %(n)s-digit code") % {
            "kind": RegionKind(kind).label,
            "n": CODE_LENGTH[kind],
        }
    if not str(f.properties.get("name") or "").strip():
        return _("the name is missing")
    if code in seen:
        return _("the code appears twice in the file (also feature %(other)s)") % {"other": seen[code].index}
    return None


def _valid_regions(features, problems) -> tuple[dict[str, Feature], dict[str, str]]:
    """The well-formed region features by code, and their kinds."""
    seen: dict[str, Feature] = {}
    kinds: dict[str, str] = {}
    for f in features:
        kind, kind_raw = _region_kind(f)
        problem = _region_problem(f, kind, kind_raw, seen)
        if problem:
            problems.add(f, problem)
            continue
        seen[f.code] = f
        kinds[f.code] = kind
    return seen, kinds


def _check_regions_in_parents(seen, kinds, existing, problems) -> None:
    """Every region lies inside its parent, from the file or stored."""
    checks = []
    for code, f in seen.items():
        pcode = parent_code(code, kinds[code])
        if pcode is None:
            continue
        if pcode in seen:
            pgeom = seen[pcode].geometry
        elif pcode in existing:
            pgeom = existing[pcode].geometry
        elif kinds[code] == RegionKind.DISTRICT:
            continue  # a district may be imported before (or without) its city
        else:
            problems.add(
                f, _("its parent region %(parent)s is neither in the file nor stored") % {"parent": pcode}
            )
            continue
        if pgeom is not None:
            checks.append((f, pgeom, pcode))
    _check_inside(
        problems,
        checks,
        lambda area, pcode: (
            _("%(area).1f m² lie outside its parent region %(parent)s") % {"area": area, "parent": pcode}
        ),
    )


def _region_unchanged(region: Region | None, name: str, kind: str, f: Feature) -> bool:
    return (
        region is not None
        and region.name == name
        and region.kind == kind
        and region.geometry is not None
        and region.geometry.equals_exact(f.geometry, SAME_TOLERANCE_DEG)
    )


def _save_regions(seen, kinds, existing, dry_run: bool) -> ImportResult:
    result = ImportResult(dry_run=dry_run)
    # Parents first, so children can point at them.
    for code in sorted(seen, key=lambda c: (len(c), c)):
        f = seen[code]
        name = str(f.properties.get("name")).strip()
        region = existing.get(code)
        if _region_unchanged(region, name, kinds[code], f):
            result.unchanged += 1
            continue
        result.created += region is None
        result.updated += region is not None
        result.codes.append(code)
        if dry_run:
            continue
        region = region or Region(code=code)
        region.name = name
        region.kind = kinds[code]
        pcode = parent_code(code, kinds[code])
        region.parent = existing.get(pcode) if pcode else None
        for key, value in geometry_columns(f.geometry).items():
            setattr(region, key, value)
        region.save()
        existing[code] = region
    return result


@transaction.atomic
def do_import_regions(
    actor,
    data,
    crs: str,
    *,
    zone: int | None = None,
    epsg: int | None = None,
    fmt: str = "auto",
    dry_run: bool = False,
) -> ImportResult:
    """Import (create or update) regions from GeoJSON or a zipped Shapefile.

    Properties: ``code`` (required), ``name`` (required), ``kind`` (optional: inferred from the
    code). Parents follow from the code. Every feature is validated and every child must lie
    inside its parent (in the file or already stored) before anything is written.
    """
    require_geo_admin(actor)

    features, problems, _spec = load(data, crs, zone=zone, epsg=epsg, fmt=fmt)
    seen, kinds = _valid_regions(features, problems)
    problems.raise_if_any()

    wanted = set(seen) | {parent_code(c, k) for c, k in kinds.items()}
    wanted.discard(None)
    existing = {r.code: r for r in Region.objects.filter(code__in=wanted)}
    _check_regions_in_parents(seen, kinds, existing, problems)
    problems.raise_if_any()

    result = _save_regions(seen, kinds, existing, dry_run)
    if dry_run:
        transaction.set_rollback(True)
        return result
    _record_import(
        actor,
        "geo.import_regions",
        f"regions: {result.created} created, {result.updated} updated",
        result,
        crs,
    )
    return result


def _valid_grids(features, problems) -> dict[str, Feature]:
    """The grid features with a well-formed code, by code."""
    seen: dict[str, Feature] = {}
    for f in features:
        if not (f.code.isdigit() and len(f.code) == 15):
            problems.add(f, _("a grid code must have 15 digits (12-digit community code + 3-digit sequence)"))
        elif f.code in seen:
            problems.add(
                f,
                _("the code appears twice in the file (also feature %(other)s)")
                % {"other": seen[f.code].index},
            )
        else:
            seen[f.code] = f
    return seen


def _grid_communities(seen: dict[str, Feature], problems) -> list[tuple[Feature, Region]]:
    """Each grid with its stored community (code[:12]), attached to a street and a district."""
    communities = {
        r.code: r
        for r in Region.objects.filter(code__in={c[:12] for c in seen}).select_related("parent__parent")
    }
    checked: list[tuple[Feature, Region]] = []
    for code, f in seen.items():
        community = communities.get(code[:12])
        if community is None or community.kind not in COMMUNITY_KINDS:
            problems.add(f, _("its community %(community)s does not exist") % {"community": code[:12]})
            continue
        if community.parent is None or community.parent.parent is None:
            problems.add(
                f,
                _("its community %(community)s is not attached to a street and district")
                % {"community": code[:12]},
            )
            continue
        checked.append((f, community))
    return checked


def _current_grids(codes: list[str], moment: datetime) -> dict[str, UnitGrid]:
    """The current versions of the codes; none may start at or after ``moment``."""
    current = {g.code: g for g in UnitGrid.objects.current().filter(code__in=codes)}
    late = [c for c, g in current.items() if g.valid_from >= moment]
    if late:
        raise Conflict(
            _("Grids %(codes)s already have versions starting at or after %(moment)s.")
            % {"codes": ", ".join(late[:5]), "moment": moment}
        )
    return current


def _last_versions(codes: list[str]) -> dict[str, int]:
    return dict(
        UnitGrid.objects.filter(code__in=codes)
        .values("code")
        .annotate(v=Max("version"))
        .values_list("code", "v")
    )


def _new_grid_versions(checked, current, last_version, moment: datetime, result: ImportResult):
    """The grid versions to insert and the ids of the versions they replace (counted in
    ``result``); a boundary equal to the current one is left alone."""
    rows, to_close = [], []
    for f, community in checked:
        old = current.get(f.code)
        if (
            old is not None
            and old.geometry is not None
            and old.geometry.equals_exact(f.geometry, SAME_TOLERANCE_DEG)
        ):
            result.unchanged += 1
            continue
        if old is not None:
            to_close.append(old.pk)
            result.updated += 1
        else:
            result.created += 1
        result.codes.append(f.code)
        rows.append(
            UnitGrid(
                code=f.code,
                version=last_version.get(f.code, 0) + 1,
                name=str(f.properties.get("name") or "")[:100],
                community=community,
                street=community.parent,
                district=community.parent.parent,  # type: ignore[union-attr]  # checked above
                valid_from=moment,
                **geometry_columns(f.geometry),
            )
        )
    return rows, to_close


@transaction.atomic
def do_import_grids(
    actor,
    data,
    crs: str,
    *,
    zone: int | None = None,
    epsg: int | None = None,
    fmt: str = "auto",
    valid_from: datetime | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import unit grids (15-digit ``code``, optional ``name``) from GeoJSON or a zipped Shapefile.

    A new code starts at version 1; a code whose current boundary differs gets version+1 (the
    old row is closed at ``valid_from``); an identical boundary is left alone. Every grid must lie
    inside its community (code[:12], already stored); otherwise nothing is written.
    """
    require_geo_admin(actor)

    features, problems, _spec = load(data, crs, zone=zone, epsg=epsg, fmt=fmt)
    seen = _valid_grids(features, problems)
    problems.raise_if_any()
    checked = _grid_communities(seen, problems)
    _check_inside(
        problems,
        [(f, c.geometry, c.code) for f, c in checked if c.geometry_wkb],
        lambda area, community: (
            _("%(area).1f m² lie outside its community %(community)s")
            % {"area": area, "community": community}
        ),
    )
    problems.raise_if_any()

    moment = valid_from or timezone.now()
    current = _current_grids(list(seen), moment)
    result = ImportResult(dry_run=dry_run)
    rows, to_close = _new_grid_versions(checked, current, _last_versions(list(seen)), moment, result)
    if dry_run or not rows:
        return result
    UnitGrid.objects.filter(pk__in=to_close).update(valid_to=moment)
    UnitGrid.objects.bulk_create(rows, batch_size=500)
    _after_grid_change()
    _record_import(
        actor,
        "geo.import_grids",
        f"grids: {result.created} created, {result.updated} new versions",
        result,
        crs,
    )
    return result


@transaction.atomic
def do_rename_region(actor, region: Region, name: str) -> Region:
    """Change a region's display name (boundaries change only through the import)."""
    require_geo_admin(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("The name must not be empty."), field="name")
    old = Region.objects.filter(pk=region.pk).values_list("name", flat=True).first()
    Region.objects.filter(pk=region.pk).update(name=name[:100])
    record(_actor_user(actor), "geo.rename_region", region, summary=f"{old} -> {name}")
    region.name = name[:100]
    return region


@transaction.atomic
def do_rename_grid(actor, grid: UnitGrid, *, name: str, note: str = "") -> UnitGrid:
    """Change a grid version's name and note (no new version: the boundary is unchanged)."""
    require_geo_admin(actor)
    UnitGrid.objects.filter(pk=grid.pk).update(name=(name or "")[:100], note=(note or "")[:200])
    record(_actor_user(actor), "geo.rename_grid", grid, summary=f"{grid.code} v{grid.version}: {name}")
    return grid
