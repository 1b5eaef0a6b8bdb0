"""The command-centre map (监督指挥中心): page, the compact open-cases endpoint and the grid panel.

Cases come from ``/map/cases.json`` as compact arrays, only those inside the viewport and the
user's jurisdiction; when a zoomed-out viewport holds more than MAX_POINTS cases they are
aggregated in the database into cells (count, overdue, warning) instead of sent one by one.
Grids and regions come from the geo API by viewport and zoom.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Avg, Count, F, FloatField, IntegerField, Max, Min, Q, Value
from django.db.models.functions import Cast
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from urbangrid.cases.choices import OPEN_STATES, CaseState
from urbangrid.cases.models import Case
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.orgs.models import Unit
from urbangrid.orgs.queries import grid_officers, grid_supervisors

from . import queries
from .views import _filter_options, map_settings

log = logging.getLogger(__name__)

MAX_POINTS = 4000
DEFAULT_ZOOM = 12
MAX_ZOOM = 22
# Below this zoom cases are always aggregated server-side.
POINTS_MIN_ZOOM = 14
# Order of states in the compact payload (the client maps indexes to labels and colours).
STATE_ORDER = [str(s) for s in CaseState.values if s in OPEN_STATES]
SEVERITY = {"normal": 0, "warning": 1, "overdue": 2}


def _bbox(value: str):
    try:
        parts = [float(v) for v in (value or "").split(",")]
    except ValueError:
        return None
    if len(parts) != 4 or not all(map(math.isfinite, parts)) or parts[0] > parts[2] or parts[1] > parts[3]:
        return None
    return parts


def _zoom(value: str) -> int:
    """Leaflet's zoom, kept to 0..22: the cell size below is 360 / 2**zoom (inf, or a zoom of
    -1e9, raised), and like a bad bbox an unreadable zoom falls back to the default."""
    try:
        zoom = float(value)
    except ValueError:
        return DEFAULT_ZOOM
    if not math.isfinite(zoom):
        return DEFAULT_ZOOM
    return int(min(max(zoom, 0), MAX_ZOOM))


@login_required
def map_page(request):

    ctx = {
        **map_settings(),
        **_filter_options(request.user),
        "states": [(s, CaseState(s).label) for s in STATE_ORDER],
        "units": Unit.objects.visible_to(request.user)
        .filter(is_active=True)
        .only("id", "code", "name")
        .order_by("level", "code"),
        "state_order": STATE_ORDER,
        "state_labels": {s: str(CaseState(s).label) for s in STATE_ORDER},
        "home_bbox": home_bbox(request.user),
    }
    return render(request, "console/map.html", ctx)


def home_bbox(user):
    """The extent of the user's area (their regions' bounding boxes), for the first view."""

    scope = scope_for(user)
    qs = Region.objects.visible_to(user).filter(min_lon__isnull=False)
    if scope.all_city:
        top = qs.order_by("level").values_list("level", flat=True).first()
        qs = qs.filter(level=max(top or 2, 2))
    else:
        qs = qs.filter(code__in=scope.region_codes)
    agg = qs.aggregate(a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat"))
    if agg["a"] is None:
        return None
    return [agg["a"], agg["b"], agg["c"], agg["d"]]


def open_cases_in(user, bbox, params):
    qs = Case.objects.visible_to(user).filter(state__in=STATE_ORDER, lon__isnull=False)
    if bbox:
        qs = qs.filter(lon__gte=bbox[0], lon__lte=bbox[2], lat__gte=bbox[1], lat__lte=bbox[3])
    return queries.apply_filters(qs, params)


@login_required
@require_GET
def map_cases(request):
    params = request.GET.dict()
    bbox = _bbox(params.get("bbox", ""))
    zoom = _zoom(params.get("zoom", ""))
    now = timezone.now()
    qs = open_cases_in(request.user, bbox, params)
    # Zoomed out, single markers are unreadable anyway: aggregate at once (one query, no count).
    total = None if zoom < POINTS_MIN_ZOOM else qs.count()
    if total is None or total > MAX_POINTS:
        # Cells of ~48 px at this zoom: 256 px per tile spans 360 / 2**zoom degrees. CAST truncates
        # (fine for positive lon/lat) and, unlike FLOOR, is native in SQLite.
        size = 360.0 / (2**zoom) / (256 / 48)
        rows = (
            qs.annotate(
                cx=Cast(_div("lon", size), IntegerField()), cy=Cast(_div("lat", size), IntegerField())
            )
            .values("cx", "cy")
            .annotate(
                n=Count("id"),
                lon=Avg("lon"),
                lat=Avg("lat"),
                overdue=Count("id", filter=Q(due_at__lte=now)),
                warning=Count("id", filter=Q(warn_at__lte=now, due_at__gt=now)),
            )
            .order_by()
        )
        cells = [[round(r["lon"], 6), round(r["lat"], 6), r["n"], r["overdue"], r["warning"]] for r in rows]
        total = sum(c[2] for c in cells)
        return JsonResponse({"mode": "cells", "total": total, "cells": cells, "states": STATE_ORDER})
    rows = qs.order_by().values_list("number", "lon", "lat", "state", "due_at", "warn_at")[: MAX_POINTS * 2]
    idx = {s: i for i, s in enumerate(STATE_ORDER)}
    points = []
    for number, lon, lat, state, due, warn in rows:
        sev = 2 if due is not None and due <= now else 1 if warn is not None and warn <= now else 0
        points.append([number, round(lon, 6), round(lat, 6), idx.get(state, 0), sev])
    return JsonResponse({"mode": "points", "total": total, "points": points, "states": STATE_ORDER})


def _div(field, size):

    return F(field) / Value(size, output_field=FloatField())


@login_required
def grid_panel(request, code):

    grid = (
        UnitGrid.objects.visible_to(request.user)
        .current()
        .filter(code=code)
        .select_related("community", "street", "district")
        .first()
    )
    if grid is None:
        raise Http404(_("No such grid."))
    now = timezone.now()
    recent = list(
        Case.objects.visible_to(request.user)
        .filter(grid_code=code)
        .select_related("problem_class")
        .order_by("-reported_at")[:10]
    )
    open_count = Case.objects.visible_to(request.user).filter(grid_code=code, state__in=STATE_ORDER).count()
    patrol = None
    try:
        from urbangrid.patrol.queries import patrol_coverage

        rows = patrol_coverage(now - timedelta(days=7), now, grids=[code], user=request.user)
        patrol = rows[0] if rows else None
    except Exception:  # the patrol app may be absent or have no data yet; the panel still works
        log.exception("patrol coverage unavailable for grid %s", code)
        patrol = None
    return render(
        request,
        "console/_grid_panel.html",
        {
            "grid": grid,
            "supervisors": list(grid_supervisors(code).select_related("unit")),
            "officers": list(grid_officers(code).select_related("unit")),
            "recent": recent,
            "open_count": open_count,
            "patrol": patrol,
            "now": now,
        },
    )
