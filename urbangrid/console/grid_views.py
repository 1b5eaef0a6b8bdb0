"""Grid management pages: the region hierarchy as a tree with the map, grid details and
assignments, the coverage proof on the map (urbangrid.geo.coverage), and GeoJSON/Shapefile import
with a dry-run preview (urbangrid.geo.actions with dry_run=True) before anything is written."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import mapping

from urbangrid.cases.models import Case
from urbangrid.geo import actions as geo_actions
from urbangrid.geo.coverage import check_region
from urbangrid.geo.io import load
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import DomainError
from urbangrid.orgs.models import GridAssignment

from .views import map_settings

IMPORT_DIR_NAME = "imports"
CRS_CHOICES = [
    ("wgs84", "WGS-84"),
    ("cgcs2000", "CGCS2000"),
    ("gcj02", "GCJ-02"),
    ("bd09", "BD-09"),
    ("cgcs2000_gk", "CGCS2000 Gauss-Krüger"),
]


def _tree(user):

    regions = list(
        Region.objects.visible_to(user)
        .filter(level__gte=2)
        .only("id", "code", "name", "kind", "level", "parent_id", "area_m2")
        .order_by("code")
    )
    counts = {
        r["community_id"]: r["n"]
        for r in UnitGrid.objects.visible_to(user).current().values("community_id").annotate(n=Count("id"))
    }
    children: dict[int | None, list] = {}
    ids = {r.id for r in regions}
    for r in regions:
        r.grid_count = counts.get(r.id, 0)
        children.setdefault(r.parent_id if r.parent_id in ids else None, []).append(r)

    def walk(parent_id, depth):
        out = []
        for r in children.get(parent_id, []):
            sub = walk(r.id, depth + 1)
            r.total_grids = r.grid_count + sum(c.total_grids for c, _d in sub if c.parent_id == r.id)
            out.append((r, depth))
            out.extend(sub)
        return out

    return walk(None, 0)


@login_required
def grids_page(request):

    tree = _tree(request.user)
    code = request.GET.get("region") or (tree[0][0].code if tree else "")
    region = Region.objects.visible_to(request.user).filter(code=code).first() if code else None
    return render(
        request,
        "console/grids.html",
        {
            "tree": tree,
            "region": region,
            "can_import": scope_for(request.user).has_role("admin"),
            **map_settings(),
        },
    )


@login_required
def coverage(request, code):
    """The coverage proof of a region as JSON for the map (gaps and overlaps with geometry)."""

    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise Http404(_("No such region."))
    report = check_region(region)
    return JsonResponse(report.as_dict(with_geometry=True))


@login_required
def grid_detail(request, code):

    versions = list(
        UnitGrid.objects.visible_to(request.user)
        .filter(code=code)
        .select_related("community", "street", "district")
        .order_by("-version")
    )
    if not versions:
        raise Http404(_("No such grid."))
    grid = versions[0]
    today = timezone.localdate()
    assignments = list(
        GridAssignment.objects.filter(grid_code=code)
        .select_related("person", "person__unit")
        .order_by("-valid_from")
    )
    for a in assignments:
        a.active = a.valid_from <= today and (a.valid_to is None or a.valid_to >= today)

    geoms = [
        {
            "type": "Feature",
            "geometry": mapping(v.geometry),
            "properties": {"version": v.version, "current": v.valid_to is None},
        }
        for v in versions
        if v.geometry is not None
    ]
    cases = Case.objects.visible_to(request.user).filter(grid_code=code)
    return render(
        request,
        "console/grid_detail.html",
        {
            "grid": grid,
            "versions": versions,
            "assignments": assignments,
            "geojson": {"type": "FeatureCollection", "features": geoms},
            "case_count": cases.count(),
            "recent": cases.select_related("problem_class").order_by("-reported_at")[:10],
            **map_settings(),
        },
    )


def _import_dir() -> Path:
    d = Path(settings.VAR_DIR) / IMPORT_DIR_NAME
    d.mkdir(parents=True, exist_ok=True)
    return d


def _messages_of(exc: DomainError) -> list:
    """The problems a refused import lists, else its one message."""
    return getattr(exc, "details", None) or [exc.message]


def _import_options(post):
    """What to import (grids or regions), the coordinate system, the zone and the import action."""

    kind = post.get("kind") if post.get("kind") in ("grids", "regions") else "grids"
    crs = post.get("crs") if post.get("crs") in dict(CRS_CHOICES) else "wgs84"
    zone = post.get("zone") or None
    func = geo_actions.do_import_grids if kind == "grids" else geo_actions.do_import_regions
    kwargs = {"zone": int(zone)} if zone and zone.isdigit() else {}
    return kind, crs, zone, func, kwargs


def _confirm_import(request, ctx: dict, token: str, func, crs: str, kwargs: dict):
    """Step 2: the real import of the file kept under ``token`` at step 1."""
    path = _import_dir() / f"{token}.bin"
    if not path.exists():
        messages.error(request, _("The uploaded file has expired; upload it again."))
        return redirect("console:grid_import")
    try:
        result = func(request.user, path.read_bytes(), crs, dry_run=False, **kwargs)
    except DomainError as exc:
        ctx["errors"] = _messages_of(exc)
        return render(request, "console/grid_import.html", ctx)
    path.unlink(missing_ok=True)
    messages.success(
        request,
        _("Imported: %(c)d created, %(u)d updated, %(s)d unchanged.")
        % {"c": result.created, "u": result.updated, "s": result.unchanged},
    )
    return redirect("console:grids")


def _read_for_preview(data: bytes, crs: str, kwargs: dict, errors: list):
    """The file's first 5000 features as GeoJSON for the map; its problems go to ``errors``."""

    try:
        features, problems, _spec = load(data, crs, **kwargs)
    except DomainError as exc:
        errors.extend(_messages_of(exc))
        return None
    errors.extend(problems.items)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": mapping(f.geometry), "properties": {"code": f.code}}
            for f in features[:5000]
            if f.geometry is not None
        ],
    }


def _preview_import(request, ctx: dict, upload, func, crs: str, kwargs: dict):
    """Step 1: a dry run of the uploaded file; a clean one is kept under a token for step 2."""
    data = upload.read()
    errors: list = []
    preview = _read_for_preview(data, crs, kwargs, errors)
    result = None
    if not errors:
        try:
            result = func(request.user, data, crs, dry_run=True, **kwargs)
        except DomainError as exc:
            errors.extend(_messages_of(exc))
    if result is not None and not errors:
        token = uuid.uuid4().hex
        (_import_dir() / f"{token}.bin").write_bytes(data)
        ctx["token"] = token
    ctx.update(errors=errors, result=result, preview=preview or "", filename=upload.name)
    return render(request, "console/grid_import.html", ctx)


@login_required
def grid_import(request):
    """Step 1: upload → dry run → preview with problems. Step 2 (confirm): the real import."""
    if not scope_for(request.user).has_role("admin"):
        raise Http404(_("Only a system administrator may import regions and grids."))
    ctx = {"crs_choices": CRS_CHOICES, **map_settings()}
    if request.method != "POST":
        return render(request, "console/grid_import.html", ctx)
    kind, crs, zone, func, kwargs = _import_options(request.POST)
    ctx.update(kind=kind, crs=crs, zone=zone)
    token = request.POST.get("token", "")
    if request.POST.get("confirm") and re.fullmatch(r"[0-9a-f]{32}", token):
        return _confirm_import(request, ctx, token, func, crs, kwargs)
    upload = request.FILES.get("file")
    if upload is None:
        ctx["errors"] = [_("Choose a GeoJSON file or a zipped Shapefile.")]
        return render(request, "console/grid_import.html", ctx)
    return _preview_import(request, ctx, upload, func, crs, kwargs)
