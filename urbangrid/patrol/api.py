"""JSON API of the patrol app, mounted under /api/v1/patrol/.

Devices use bearer tokens (orgs.auth), pages the session. Every list and fetch is filtered by
the caller's jurisdiction; outside it answers 404 like a missing object.
"""

from __future__ import annotations

from typing import Any

import shapely
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from urbangrid.geo.models import Region
from urbangrid.lib.bounds import Day, Float, Int, Moment
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit
from urbangrid.orgs.models import Person

from . import actions as A
from .models import ChecklistItem, Checkpoint, Inspection, PatrolPlan, Place, SweepCampaign, Track
from .queries import campaign_progress, day_bounds, patrol_coverage, summarize, track_geojson

router = Router(tags=["patrol"])


def _region(code: str | None, user):

    if not code:
        return None
    region = Region.objects.visible_to(user).filter(code=code).first()
    if region is None:
        raise NotFound(_("Area not found."), field="region")
    return region


def _person(pid, user):

    if not pid:
        return None
    p = Person.objects.visible_to(user).filter(pk=pid).first()
    if p is None:
        raise NotFound(_("Person not found."), field="patroller_id")
    return p


def _bbox(value: str | None):
    if not value:
        return None
    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        raise InvalidInput(_("bbox is minlon,minlat,maxlon,maxlat."), field="bbox") from None
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise InvalidInput(_("bbox is minlon,minlat,maxlon,maxlat."), field="bbox")
    return tuple(parts)


# ----------------------------------------------------------------------------- schemas


class Window(Schema):
    start: str
    end: str
    min: Int = 1
    label: str = ""


class CheckpointIn(Schema):
    name: str
    lon: Float
    lat: Float
    crs: str = "wgs84"
    radius_m: Float | None = None
    window_start: str | None = None
    window_end: str | None = None


class CheckpointOut(Schema):
    id: Int
    plan_id: Int
    name: str
    lon: Float
    lat: Float
    radius_m: Float
    window_start: str | None
    window_end: str | None
    grid_code: str

    @staticmethod
    def resolve_window_start(obj):
        return obj.window_start.strftime("%H:%M") if obj.window_start else None

    @staticmethod
    def resolve_window_end(obj):
        return obj.window_end.strftime("%H:%M") if obj.window_end else None


class PlanIn(Schema):
    name: str
    region: str = Field(..., description="code of the street/community/district")
    grid_codes: list[str] = []
    min_patrols_per_day: Int = 2
    windows: list[Window] = []
    min_coverage: Float = 0.0
    patroller_id: Int | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None
    note: str = ""
    checkpoints: list[CheckpointIn] = []


class PlanPatch(Schema):
    name: str | None = None
    grid_codes: list[str] | None = None
    min_patrols_per_day: Int | None = None
    windows: list[Window] | None = None
    min_coverage: Float | None = None
    patroller_id: Int | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None
    note: str | None = None
    is_active: bool | None = None


class PlanOut(Schema):
    id: Int
    name: str
    region: str
    region_name: str
    grid_codes: list[str]
    min_patrols_per_day: Int
    windows: list[dict]
    min_coverage: Float
    patroller_id: Int | None
    patroller_name: str | None
    valid_from: Day
    valid_to: Day | None
    is_active: bool
    note: str
    checkpoints: list[CheckpointOut]

    @staticmethod
    def resolve_region(obj):
        return obj.region.code

    @staticmethod
    def resolve_region_name(obj):
        return obj.region.name

    @staticmethod
    def resolve_patroller_name(obj):
        return obj.patroller.name if obj.patroller_id else None

    @staticmethod
    def resolve_checkpoints(obj):
        return list(obj.checkpoints.all())


class TrackStart(Schema):
    client_id: str
    plan_id: Int | None = None
    crs: str = "wgs84"
    started_at: Moment | None = None


class TrackOut(Schema):
    id: Int
    client_id: str
    state: str
    person_id: Int
    person_name: str
    plan_id: Int | None
    started_at: Moment
    ended_at: Moment | None
    last_point_at: Moment | None
    point_count: Int
    batch_count: Int

    @staticmethod
    def resolve_person_name(obj):
        return obj.person.name


class PointsIn(Schema):
    seq: Int = Field(..., description="client batch sequence number (idempotency key)")
    crs: str | None = None
    points: list[list[Float | None]] = Field(..., description="[[lon, lat, epoch_ms, accuracy_m], ...]")


class StopIn(Schema):
    ended_at: Moment | None = None


class CheckInIn(Schema):
    checkpoint_id: Int
    lon: Float
    lat: Float
    crs: str = "wgs84"
    at: Moment | None = None
    client_key: str = ""
    note: str = ""


class CheckInOut(Schema):
    id: Int
    checkpoint_id: Int
    at: Moment
    distance_m: Float
    method: str
    valid: bool


class PlaceIn(Schema):
    name: str
    place_type: str
    lon: Float
    lat: Float
    crs: str = "wgs84"
    address: str = ""
    owner_name: str
    owner_contact: str = ""
    owner_phone: str = ""


class PlaceOut(Schema):
    id: Int
    name: str
    place_type: str
    place_type_label: str
    address: str
    lon: Float
    lat: Float
    grid_code: str
    street_id: Int
    community_id: Int
    owner_name: str
    owner_contact: str
    owner_phone: str

    @staticmethod
    def resolve_place_type_label(obj):
        return str(obj.get_place_type_display())


class PatrolCampaignIn(Schema):
    name: str
    region: str | None = None
    place_types: list[str] = []
    start_date: Day
    end_date: Day
    description: str = ""
    class_code: str = ""


class CampaignOut(Schema):
    id: Int
    name: str
    region: str | None
    place_types: list[str]
    start_date: Day
    end_date: Day
    state: str
    description: str

    @staticmethod
    def resolve_region(obj):
        return obj.region.code if obj.region_id else None


class ItemOut(Schema):
    id: Int
    code: str
    place_type: str
    text: str
    basis: str
    severity: str
    class_code: str


class ResultIn(Schema):
    item_id: Int
    passed: bool
    note: str = ""


class InspectionIn(Schema):
    campaign_id: Int
    place_id: Int
    results: list[ResultIn]
    notes: str = ""
    client_key: str = ""
    inspected_at: Moment | None = None


class ResultOut(Schema):
    item_id: Int
    item_code: str
    text: str
    passed: bool
    note: str
    case_number: str | None
    rectify_due_at: Moment | None

    @staticmethod
    def resolve_item_code(obj):
        return obj.item.code

    @staticmethod
    def resolve_text(obj):
        return obj.item.text

    @staticmethod
    def resolve_case_number(obj):
        return obj.case.number if obj.case_id else None


class InspectionOut(Schema):
    id: Int
    campaign_id: Int
    place_id: Int
    place_name: str
    inspected_at: Moment
    outcome: str
    notes: str
    results: list[ResultOut]

    @staticmethod
    def resolve_place_name(obj):
        return obj.place.name

    @staticmethod
    def resolve_results(obj):
        return list(obj.results.all())


# ----------------------------------------------------------------------------- plans


def _plan(user, pk) -> PatrolPlan:
    return get_object_or_404(
        PatrolPlan.objects.visible_to(user)
        .select_related("region", "patroller")
        .prefetch_related("checkpoints"),
        pk=pk,
    )


@router.get("/plans", response=list[PlanOut])
def list_plans(request, active: bool | None = None, region: str | None = None, on: Day | None = None):
    qs = (
        PatrolPlan.objects.visible_to(request.user)
        .select_related("region", "patroller")
        .prefetch_related("checkpoints")
    )
    if active is not None:
        qs = qs.filter(is_active=active)
    if region:
        qs = qs.filter(region__code__startswith=region)
    if on:
        qs = qs.active_on(on)
    return list(qs[:500])


@router.post("/plans", response={201: PlanOut})
def create_plan(request, payload: PlanIn):
    plan = A.do_create_plan(
        request.user,
        name=payload.name,
        region=_region(payload.region, request.user),
        grid_codes=payload.grid_codes,
        min_patrols_per_day=payload.min_patrols_per_day,
        windows=[w.dict() for w in payload.windows],
        min_coverage=payload.min_coverage,
        patroller=_person(payload.patroller_id, request.user),
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        note=payload.note,
        checkpoints=[c.dict() for c in payload.checkpoints],
    )
    return Status(201, _plan(request.user, plan.pk))


@router.get("/plans/{plan_id}", response=PlanOut)
def get_plan(request, plan_id: Int):
    return _plan(request.user, plan_id)


@router.patch("/plans/{plan_id}", response=PlanOut)
def update_plan(request, plan_id: Int, payload: PlanPatch):
    plan = _plan(request.user, plan_id)
    changes: dict[str, Any] = payload.dict(exclude_unset=True)
    if "patroller_id" in changes:
        changes["patroller"] = _person(changes.pop("patroller_id"), request.user)
    if "windows" in changes and changes["windows"] is not None:
        changes["windows"] = [dict(w) for w in changes["windows"]]
    A.do_update_plan(request.user, plan, **changes)
    return _plan(request.user, plan_id)


@router.post("/plans/{plan_id}/checkpoints", response={201: CheckpointOut})
def add_checkpoint(request, plan_id: Int, payload: CheckpointIn):
    plan = _plan(request.user, plan_id)
    return Status(201, A.do_add_checkpoint(request.user, plan, **payload.dict()))


@router.get("/checkpoints", response=list[CheckpointOut])
def list_checkpoints(request, on: Day | None = None):
    """Checkpoints of the plans active on a day (default today) that the caller can see."""
    plans = PatrolPlan.objects.visible_to(request.user).active_on(on or timezone.localdate())
    return list(Checkpoint.objects.filter(plan__in=plans)[:2000])


# ----------------------------------------------------------------------------- tracks


def _own_track(user, pk) -> Track:
    return get_object_or_404(Track.objects.visible_to(user).select_related("person"), pk=pk)


@router.post("/tracks", response={200: TrackOut, 201: TrackOut})
def start_track(request, payload: TrackStart):
    plan = _plan(request.user, payload.plan_id) if payload.plan_id else None
    track, created = A.do_start_track(
        request.user, client_id=payload.client_id, plan=plan, crs=payload.crs, started_at=payload.started_at
    )
    return Status(201 if created else 200, Track.objects.select_related("person").get(pk=track.pk))


@router.post("/tracks/{track_id}/points")
def append_points(request, track_id: Int, payload: PointsIn):
    track = _own_track(request.user, track_id)
    return A.do_append_points(request.user, track, seq=payload.seq, points=payload.points, crs=payload.crs)


@router.post("/tracks/{track_id}/stop", response=TrackOut)
def stop_track(request, track_id: Int, payload: StopIn | None = None):
    track = _own_track(request.user, track_id)
    A.do_stop_track(request.user, track, ended_at=payload.ended_at if payload else None)
    return Track.objects.select_related("person").get(pk=track.pk)


@router.post("/tracks/{track_id}/checkins", response={201: CheckInOut})
def check_in(request, track_id: Int, payload: CheckInIn):
    track = _own_track(request.user, track_id)
    plans = PatrolPlan.objects.visible_to(request.user)
    cp = get_object_or_404(
        Checkpoint.objects.select_related("plan").filter(plan__in=plans), pk=payload.checkpoint_id
    )
    return Status(
        201,
        A.do_check_in(
            request.user,
            track,
            cp,
            lon=payload.lon,
            lat=payload.lat,
            crs=payload.crs,
            at=payload.at,
            client_key=payload.client_key,
            note=payload.note,
        ),
    )


@router.get("/tracks", response=list[TrackOut])
def list_tracks(request, date: Day | None = None, person_id: Int | None = None, mine: bool = False):
    qs = Track.objects.visible_to(request.user).select_related("person")
    if date:
        start, end = day_bounds(date)
        qs = (
            qs.filter(started_at__lt=end)
            .exclude(last_point_at__lt=start)
            .exclude(last_point_at__isnull=True, started_at__lt=start)
        )
    if person_id:
        qs = qs.filter(person_id=person_id)
    if mine:
        qs = qs.filter(person__user=request.user)
    return list(qs.order_by("-started_at")[:500])


@router.get("/tracks/{track_id}")
def get_track(request, track_id: Int):
    """The track as a GeoJSON Feature (MultiLineString split at GPS gaps) with its check-ins."""
    track = _own_track(request.user, track_id)
    feature = track_geojson(track)
    feature["properties"]["checkins"] = [
        {
            "checkpoint": c.checkpoint.name,
            "at": c.at.isoformat(),
            "valid": c.valid,
            "distance_m": round(c.distance_m, 1),
            "method": c.method,
            "lon": c.lon,
            "lat": c.lat,
        }
        for c in track.checkins.select_related("checkpoint")
    ]
    return feature


# ----------------------------------------------------------------------------- coverage


@router.get("/coverage")
def coverage(
    request,
    date: Day | None = None,
    bbox: str | None = None,
    region: str | None = None,
    geometry: bool = True,
):
    """Per-grid patrol coverage of one day for the command map: a GeoJSON FeatureCollection of
    the caller's visible grids (in bbox / region) with share, patrols, plan_met and flagged."""

    day = date or timezone.localdate()
    start, end = day_bounds(day)
    grids = None
    reg = _region(region, request.user)
    if reg is not None and reg.level > 1:
        from urbangrid.geo.models import UnitGrid

        col = {2: "district", 3: "street", 4: "community"}[reg.level]
        grids = UnitGrid.objects.filter(**{col: reg})
    rows = patrol_coverage(start, end, grids, bbox=_bbox(bbox), user=request.user)
    geoms = {}
    if geometry and rows:
        from urbangrid.geo.models import UnitGrid

        wkbs = UnitGrid.objects.filter(pk__in=[r["grid_id"] for r in rows]).values_list("pk", "geometry_wkb")
        for pk, wkb in wkbs:
            geoms[pk] = shapely.geometry.mapping(shapely.from_wkb(bytes(wkb)))
    features = []
    for r in rows:
        props = {k: v for k, v in r.items()}
        props["last_patrol_at"] = r["last_patrol_at"].isoformat() if r["last_patrol_at"] else None
        features.append({"type": "Feature", "geometry": geoms.get(r["grid_id"]), "properties": props})
    return {
        "type": "FeatureCollection",
        "date": day.isoformat(),
        "summary": summarize(rows),
        "features": features,
    }


# ----------------------------------------------------------------------------- sweeps


@router.get("/checklists", response=list[ItemOut])
def checklists(request, place_type: str | None = None):
    qs = ChecklistItem.objects.filter(is_active=True)
    if place_type:
        qs = qs.filter(place_type=place_type)
    return list(qs)


@router.get("/places", response=list[PlaceOut])
def list_places(
    request,
    place_type: str | None = None,
    q: str | None = None,
    street_id: Int | None = None,
    limit: int = Limit(200, 2000),
):
    qs = Place.objects.visible_to(request.user).filter(is_active=True)
    if place_type:
        qs = qs.filter(place_type=place_type)
    if street_id:
        qs = qs.filter(street_id=street_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return list(qs[:limit])


@router.post("/places", response={201: PlaceOut})
def register_place(request, payload: PlaceIn):
    return Status(201, A.do_register_place(request.user, **payload.dict()))


@router.get("/campaigns", response=list[CampaignOut])
def list_campaigns(request):
    return list(SweepCampaign.objects.visible_to(request.user).select_related("region")[:200])


@router.post("/campaigns", response={201: CampaignOut})
def create_campaign(request, payload: PatrolCampaignIn):
    data = payload.dict()
    data["region"] = _region(data.pop("region"), request.user)
    return Status(201, A.do_create_campaign(request.user, **data))


@router.get("/campaigns/{campaign_id}/progress")
def progress(request, campaign_id: Int):
    campaign = get_object_or_404(SweepCampaign.objects.visible_to(request.user), pk=campaign_id)
    data = campaign_progress(campaign, request.user)
    return {"campaign": campaign.name, "total": data["total"], "rows": data["rows"]}


@router.post("/inspections", response={201: InspectionOut})
def record_inspection(request, payload: InspectionIn):
    campaign = get_object_or_404(SweepCampaign.objects.visible_to(request.user), pk=payload.campaign_id)
    place = get_object_or_404(Place.objects.visible_to(request.user), pk=payload.place_id)
    insp = A.do_record_inspection(
        request.user,
        campaign=campaign,
        place=place,
        results=[{"item": r.item_id, "passed": r.passed, "note": r.note} for r in payload.results],
        notes=payload.notes,
        client_key=payload.client_key,
        inspected_at=payload.inspected_at,
    )
    return Status(201, _inspection(request.user, insp.pk))


def _inspection(user, pk):
    return get_object_or_404(
        Inspection.objects.visible_to(user)
        .select_related("place")
        .prefetch_related("results__item", "results__case"),
        pk=pk,
    )


@router.get("/inspections/{inspection_id}", response=InspectionOut)
def get_inspection(request, inspection_id: Int):
    return _inspection(request.user, inspection_id)


@router.get("/inspections", response=list[InspectionOut])
def list_inspections(request, campaign_id: Int | None = None, place_id: Int | None = None):
    qs = (
        Inspection.objects.visible_to(request.user)
        .select_related("place")
        .prefetch_related("results__item", "results__case")
    )
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    if place_id:
        qs = qs.filter(place_id=place_id)
    return list(qs[:200])
