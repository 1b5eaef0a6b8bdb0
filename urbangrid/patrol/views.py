"""Pages of the patrol app (Chinese first): plans, today's patrol map, track viewer, the grid
worker's mobile patrol page, sweep campaigns with progress, place register, inspection form."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Min, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import Person

from . import actions as A
from . import policy as P
from .choices import CampaignState, PlaceType, TrackState
from .forms import CampaignForm, PlaceForm, PlanForm
from .models import ChecklistItem, Inspection, PatrolPlan, Place, SweepCampaign, Track
from .queries import campaign_places, campaign_progress, day_bounds


def _map_ctx() -> dict:
    cfg = settings.URBANGRID
    return {"map_tiles": cfg.get("MAP_TILE_URL", ""), "map_tile_crs": cfg.get("MAP_TILE_CRS", "wgs84")}


def _regions(user, levels=(2, 3, 4)):

    return list(Region.objects.visible_to(user).filter(level__in=levels).order_by("code"))


def _plan_regions(user):
    scope = scope_for(user)
    regions = _regions(user, (1, 2, 3, 4))
    if scope.all_city:
        return regions
    return [r for r in regions if r.pk in scope.subtree_region_ids]


def _parse_day(value) -> date:
    try:
        return date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@login_required
def index(request):
    """Module home: today's figures and the way into every patrol and sweep page."""
    user = request.user
    scope = scope_for(user)
    today = timezone.localdate()
    start, end = day_bounds(today)
    tracks = Track.objects.visible_to(user).filter(started_at__gte=start, started_at__lt=end)
    ctx = {
        "today": today,
        "plans_active": PatrolPlan.objects.visible_to(user).active_on(today).count(),
        "tracks_today": tracks.count(),
        "patrolling_now": tracks.filter(state=TrackState.ACTIVE).count(),
        "campaigns": SweepCampaign.objects.visible_to(user)
        .filter(state=CampaignState.ACTIVE)
        .annotate(n_insp=Count("inspections"))[:10],
        "my_tracks": Track.objects.filter(person__user=user).order_by("-started_at")[:5],
        "can_plan": P.can_plan_patrols(scope),
        "can_patrol": P.can_patrol(scope),
        "can_inspect": P.can_inspect(scope),
    }
    return render(request, "patrol/index.html", ctx)


# ----------------------------------------------------------------------------- plans


@login_required
def plan_list(request):
    qs = (
        PatrolPlan.objects.visible_to(request.user)
        .select_related("region", "patroller")
        .annotate(n_cp=Count("checkpoints"))
    )
    show = request.GET.get("show", "active")
    if show == "active":
        qs = qs.filter(is_active=True)
    return render(
        request,
        "patrol/plan_list.html",
        {
            "plans": qs[:300],
            "show": show,
            "can_plan": P.can_plan_patrols(scope_for(request.user)),
        },
    )


@login_required
def plan_form(request, pk: int | None = None):

    user = request.user
    plan = get_object_or_404(PatrolPlan.objects.visible_to(user), pk=pk) if pk else None
    regions = _plan_regions(user)
    people = (
        Person.objects.visible_to(user)
        .filter(is_active=True, roles__role__in=[Role.GRID_WORKER, Role.ENFORCEMENT_OFFICER])
        .distinct()
        .order_by("name")[:500]
    )
    initial = {"valid_from": timezone.localdate(), "min_patrols_per_day": 2, "min_coverage": 0}
    if plan:
        w = plan.windows[0] if plan.windows else {}
        initial = {
            "name": plan.name,
            "region": plan.region.code,
            "grid_codes": " ".join(plan.grid_codes),
            "min_patrols_per_day": plan.min_patrols_per_day,
            "window_start": w.get("start", ""),
            "window_end": w.get("end", ""),
            "window_min": w.get("min", 1),
            "window_label": w.get("label", ""),
            "min_coverage": plan.min_coverage,
            "patroller": plan.patroller_id or "",
            "valid_from": plan.valid_from,
            "valid_to": plan.valid_to,
            "note": plan.note,
        }
    form = PlanForm(request.POST or None, initial=initial, regions=regions, people=people)
    if request.method == "POST" and form.is_valid():
        from urbangrid.geo.models import Region

        d = form.cleaned_data
        region = next((r for r in regions if r.code == d["region"]), None) or Region.objects.none().first()
        patroller = (
            Person.objects.visible_to(user).filter(pk=d["patroller"]).first() if d.get("patroller") else None
        )
        try:
            if plan:
                A.do_update_plan(
                    user,
                    plan,
                    name=d["name"],
                    grid_codes=form.codes(),
                    min_patrols_per_day=d["min_patrols_per_day"],
                    windows=form.windows(),
                    min_coverage=d["min_coverage"],
                    patroller=patroller,
                    valid_from=d["valid_from"],
                    valid_to=d["valid_to"],
                    note=d["note"],
                )
                for cp in form.checkpoints():
                    A.do_add_checkpoint(user, plan, **cp)
            else:
                plan = A.do_create_plan(
                    user,
                    name=d["name"],
                    region=region,
                    grid_codes=form.codes(),
                    min_patrols_per_day=d["min_patrols_per_day"],
                    windows=form.windows(),
                    min_coverage=d["min_coverage"],
                    patroller=patroller,
                    valid_from=d["valid_from"],
                    valid_to=d["valid_to"],
                    note=d["note"],
                    checkpoints=form.checkpoints(),
                )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Patrol plan “%(name)s” saved.") % {"name": plan.name})
            return redirect("patrol:plans")
    return render(request, "patrol/plan_form.html", {"form": form, "plan": plan})


@login_required
@require_POST
def plan_deactivate(request, pk: int):
    plan = get_object_or_404(PatrolPlan.objects.visible_to(request.user), pk=pk)
    try:
        A.do_deactivate_plan(request.user, plan)
        messages.success(request, _("Plan deactivated."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("patrol:plans")


# ----------------------------------------------------------------------------- map and tracks


@login_required
def today(request):
    """Today's (or a chosen day's) patrol status per grid: coverage map, tracks, flagged grids."""
    day = _parse_day(request.GET.get("date"))
    bbox = _home_bbox(request.user)
    return render(request, "patrol/today.html", {"day": day, "home_bbox": bbox, **_map_ctx()})


def _home_bbox(user):

    agg = (
        UnitGrid.objects.current()
        .visible_to(user)
        .aggregate(a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat"))
    )
    return [agg["a"], agg["b"], agg["c"], agg["d"]] if agg["a"] is not None else None


@login_required
def track_list(request):
    day = _parse_day(request.GET.get("date"))
    start, end = day_bounds(day)
    tracks = (
        Track.objects.visible_to(request.user)
        .filter(started_at__lt=end)
        .filter(Q(last_point_at__gte=start) | Q(last_point_at__isnull=True, started_at__gte=start))
        .select_related("person", "plan", "street")
        .annotate(n_checkins=Count("checkins", filter=Q(checkins__valid=True)))
        .order_by("-started_at")[:500]
    )
    return render(
        request,
        "patrol/track_list.html",
        {"tracks": tracks, "day": day, "prev": day - timedelta(days=1), "next": day + timedelta(days=1)},
    )


@login_required
def track_detail(request, pk: int):
    track = get_object_or_404(Track.objects.visible_to(request.user).select_related("person", "plan"), pk=pk)
    checkins = track.checkins.select_related("checkpoint").order_by("at")
    return render(request, "patrol/track_detail.html", {"track": track, "checkins": checkins, **_map_ctx()})


@login_required
def mobile(request):
    """The grid worker's patrol page (390×844): start/stop, GPS batching, offline queue."""
    scope = scope_for(request.user)
    if not P.can_patrol(scope):
        raise Http404
    active = (
        Track.objects.filter(person__user=request.user, state=TrackState.ACTIVE)
        .order_by("-started_at")
        .first()
    )

    def bounded(name, default, lo, hi):
        try:
            return max(lo, min(hi, int(request.GET.get(name, default))))
        except ValueError:
            return default

    return render(
        request,
        "patrol/mobile.html",
        {
            "active": active,
            # Upload every 30 s and keep a point every 8 s by default; overridable for field tests.
            "flush_ms": bounded("flush", 30000, 500, 300000),
            "min_interval_ms": bounded("every", 8000, 0, 60000),
        },
    )


# ----------------------------------------------------------------------------- sweeps


@login_required
def campaign_list(request):
    campaigns = (
        SweepCampaign.objects.visible_to(request.user)
        .select_related("region")
        .annotate(n_insp=Count("inspections"))
    )
    return render(
        request,
        "patrol/campaign_list.html",
        {
            "campaigns": campaigns[:200],
            "can_plan": P.can_plan_patrols(scope_for(request.user)),
        },
    )


@login_required
def campaign_form(request):
    user = request.user
    scope = scope_for(user)
    regions = _plan_regions(user)
    today_ = timezone.localdate()
    form = CampaignForm(
        request.POST or None,
        regions=[r for r in regions if r.level > 1],
        allow_city=scope.all_city,
        initial={
            "start_date": today_,
            "end_date": today_ + timedelta(days=30),
            "place_types": list(PlaceType.values),
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        region = next((r for r in regions if r.code == d["region"]), None) if d["region"] else None
        try:
            c = A.do_create_campaign(
                user,
                name=d["name"],
                region=region,
                place_types=d["place_types"],
                start_date=d["start_date"],
                end_date=d["end_date"],
                description=d["description"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Sweep campaign “%(name)s” opened.") % {"name": c.name})
            return redirect("patrol:campaign", pk=c.pk)
    return render(request, "patrol/campaign_form.html", {"form": form})


@login_required
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(
        SweepCampaign.objects.visible_to(request.user).select_related("region"), pk=pk
    )
    progress = campaign_progress(campaign, request.user)
    places = (
        campaign_places(campaign, request.user)
        .annotate(
            n_insp=Count("inspections", filter=Q(inspections__campaign=campaign)),
            n_failed=Count(
                "inspections__results",
                filter=Q(inspections__campaign=campaign, inspections__results__passed=False),
            ),
        )
        .select_related("street")
        .order_by("street__code", "place_type", "name")
    )
    q = request.GET.get("q", "").strip()
    if q:
        places = places.filter(name__icontains=q)
    recent = (
        Inspection.objects.filter(campaign=campaign, place__in=campaign_places(campaign, request.user))
        .select_related("place", "inspector")
        .prefetch_related("results__case", "results__item")[:20]
    )
    chart = {
        "types": [v["label"] for v in progress["by_type"].values()],
        "places": [v["places"] for v in progress["by_type"].values()],
        "inspected": [v["inspected"] for v in progress["by_type"].values()],
        "failed": [v["failed"] for v in progress["by_type"].values()],
        "rectified": [v["rectified"] for v in progress["by_type"].values()],
        "streets": [v["label"] for v in progress["by_street"].values()],
        "street_inspected_pct": [
            round(100 * v["inspected"] / v["places"], 1) if v["places"] else 0
            for v in progress["by_street"].values()
        ],
    }
    return render(
        request,
        "patrol/campaign_detail.html",
        {
            "campaign": campaign,
            "progress": progress,
            "places": places[:300],
            "recent": recent,
            "q": q,
            "chart": chart,
            "can_inspect": P.can_inspect(scope_for(request.user)),
            "can_plan": P.can_plan_patrols(scope_for(request.user)),
        },
    )


@login_required
@require_POST
def campaign_close(request, pk: int):
    campaign = get_object_or_404(SweepCampaign.objects.visible_to(request.user), pk=pk)
    try:
        A.do_close_campaign(request.user, campaign)
        messages.success(request, _("Campaign closed."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("patrol:campaign", pk=pk)


@login_required
def place_list(request):
    qs = Place.objects.visible_to(request.user).filter(is_active=True).select_related("street", "community")
    kind = request.GET.get("type", "")
    q = request.GET.get("q", "").strip()
    if kind:
        qs = qs.filter(place_type=kind)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(owner_name__icontains=q) | Q(address__icontains=q))
    form = PlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            place = A.do_register_place(request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Place “%(name)s” registered in grid %(grid)s.")
                % {"name": place.name, "grid": place.grid_code},
            )
            return redirect(reverse("patrol:places"))
    return render(
        request,
        "patrol/place_list.html",
        {
            "places": qs[:500],
            "form": form,
            "types": PlaceType.choices,
            "kind": kind,
            "q": q,
            "can_register": P.can_register_places(scope_for(request.user)),
            **_map_ctx(),
            "home_bbox": _home_bbox(request.user),
        },
    )


@login_required
def inspect(request, campaign_pk: int, place_pk: int):
    """The inspection form: every checklist item pass/fail with note and photo, general photos."""
    user = request.user
    campaign = get_object_or_404(SweepCampaign.objects.visible_to(user), pk=campaign_pk)
    place = get_object_or_404(Place.objects.visible_to(user), pk=place_pk)
    items = list(ChecklistItem.objects.filter(place_type=place.place_type, is_active=True))
    errors, values = [], {}
    if request.method == "POST":
        results = []
        for item in items:
            v = request.POST.get(f"item_{item.pk}")
            values[item.pk] = v
            if v not in ("pass", "fail"):
                continue
            results.append(
                {
                    "item": item.pk,
                    "passed": v == "pass",
                    "note": request.POST.get(f"note_{item.pk}", ""),
                    "photos": request.FILES.getlist(f"photo_{item.pk}"),
                }
            )
        try:
            insp = A.do_record_inspection(
                user,
                campaign=campaign,
                place=place,
                results=results,
                notes=request.POST.get("notes", ""),
                photos=request.FILES.getlist("photos"),
                client_key=request.POST.get("client_key", ""),
            )
        except DomainError as exc:
            errors.append(exc.message)
        else:
            cases = [r.case.number for r in insp.results.select_related("case") if r.case_id]
            if cases:
                messages.warning(
                    request, _("Inspection saved; hazards sent as cases: %(n)s") % {"n": "、".join(cases)}
                )
            else:
                messages.success(request, _("Inspection saved: no hazard found."))
            return redirect("patrol:campaign", pk=campaign.pk)
    return render(
        request,
        "patrol/inspect.html",
        {
            "campaign": campaign,
            "place": place,
            "items": items,
            "errors": errors,
            "values": values,
            "client_key": request.POST.get("client_key") or uuid.uuid4().hex,
            "history": place.inspections.filter(campaign=campaign).prefetch_related("results__case")[:5],
        },
    )
