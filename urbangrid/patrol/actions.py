"""Writes of the patrol app: every one is a do_* action under one transaction with an audit record.

Validation happens before any write, so an error leaves the database unchanged.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from urbangrid.cases.choices import FINAL_STATES
from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.catalog.calendar import add_working_time
from urbangrid.catalog.models import ProblemClass
from urbangrid.catalog.queries import class_by_code, handling_limit
from urbangrid.geo.crs import check_plausible, resolve_crs, to_canonical_many
from urbangrid.geo.locator import locate, locate_many_indices
from urbangrid.geo.models import UnitGrid
from urbangrid.lib.access import require
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.orgs.models import Person

from . import conf, trackcodec
from . import policy as P
from .choices import CampaignState, CheckInMethod, InspectionOutcome, PlaceType, TrackState
from .models import (
    CheckIn,
    ChecklistItem,
    Checkpoint,
    Inspection,
    InspectionPhoto,
    InspectionResult,
    PatrolPlan,
    Place,
    SweepCampaign,
    Track,
    TrackBatch,
)

EARTH_R = 6371008.8


def distance_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (haversine); scalars or numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_R * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


# ----------------------------------------------------------------------------- helpers


def _person(actor):

    person = Person.objects.filter(user=actor, is_active=True).first() if getattr(actor, "pk", None) else None
    if person is None:
        raise PermissionDenied(_("Only registered staff can do this."))
    return person


def _not_allowed() -> str:
    return _("Your role does not allow this.")


def _require_region(scope, region) -> None:
    """The region must lie inside the actor's areas (answered as missing otherwise)."""
    if scope.all_city:
        return
    if region is None:
        raise PermissionDenied(_("Only city-level staff can act for the whole city."))
    if region.pk not in scope.subtree_region_ids:
        raise NotFound(_("Area not found."))


def _canonical(lon, lat, crs):

    try:
        xs = np.asarray(lon, dtype=float).reshape(-1)
        ys = np.asarray(lat, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidInput(_("Coordinates must be numbers."), field="points") from None
    spec = resolve_crs(crs or "wgs84")
    problem = check_plausible(xs, ys, spec)
    if problem:
        raise InvalidInput(problem, field="points")
    return to_canonical_many(xs, ys, spec)


def _locate(lon: float, lat: float):

    return locate(lon, lat, crs="cgcs2000")


def _first_location(lons, lats):
    """The location of the first of these points that lies in a grid (None if none does)."""

    index, found = locate_many_indices(lons, lats, crs="cgcs2000")
    inside = np.flatnonzero(found >= 0)
    if not len(inside):
        return None
    i = int(inside[0])
    return index.location(int(found[i]), float(lons[i]), float(lats[i]))


def _parse_hhmm(value) -> int:
    try:
        h, m = str(value).strip().split(":")[:2]
        h, m = int(h), int(m)
    except (TypeError, ValueError):
        raise InvalidInput(_("Times must be written HH:MM."), field="windows") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
        raise InvalidInput(_("Times must be written HH:MM."), field="windows")
    return h * 3600 + m * 60


def clean_windows(windows) -> list[dict]:
    out = []
    for w in windows or []:
        if not isinstance(w, dict):
            raise InvalidInput(
                _("Each time window needs a start, an end and a number of patrols."), field="windows"
            )
        start, end = _parse_hhmm(w.get("start")), _parse_hhmm(w.get("end"))
        if start == end:
            raise InvalidInput(_("A time window cannot start and end at the same time."), field="windows")
        try:
            need = int(w.get("min", 1))
        except (TypeError, ValueError):
            raise InvalidInput(_("The number of patrols must be a whole number."), field="windows") from None
        if not 1 <= need <= 24:
            raise InvalidInput(_("A window needs between 1 and 24 patrols."), field="windows")
        out.append(
            {
                "start": f"{start // 3600:02d}:{start % 3600 // 60:02d}",
                "end": f"{end // 3600:02d}:{end % 3600 // 60:02d}",
                "min": need,
                "label": str(w.get("label", ""))[:40],
            }
        )
    return out


def in_window(local_seconds: int, start: time | None, end: time | None) -> bool:
    """Whether a local time of day lies in [start, end); end before start crosses midnight."""
    if start is None or end is None:
        return True
    s = start.hour * 3600 + start.minute * 60
    e = end.hour * 3600 + end.minute * 60
    if s < e:
        return s <= local_seconds < e
    return local_seconds >= s or local_seconds < e


# ----------------------------------------------------------------------------- plans


def _clean_grid_codes(region, grid_codes) -> list[str]:
    """The distinct grid codes, each a current grid inside the region (any grid for the city)."""

    codes = sorted({str(c).strip() for c in (grid_codes or []) if str(c).strip()})
    if not codes:
        return codes
    grids = UnitGrid.objects.current().filter(code__in=codes)
    if region.level != 1:
        grids = grids.filter(code__startswith=region.code)
    found = set(grids.values_list("code", flat=True))
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput(
            _("These grids are not current grids of the area: %(codes)s")
            % {"codes": ", ".join(missing[:10])},
            field="grid_codes",
        )
    return codes


def _clean_patrols_per_day(value) -> int:
    try:
        per_day = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("Patrols per day must be a whole number."), field="min_patrols_per_day"
        ) from None
    if not 0 <= per_day <= 48:
        raise InvalidInput(_("Patrols per day must be between 0 and 48."), field="min_patrols_per_day")
    return per_day


def _clean_coverage(value) -> float:
    try:
        cov = float(value or 0)
    except (TypeError, ValueError):
        raise InvalidInput(_("The covered share must be between 0 and 1."), field="min_coverage") from None
    if not 0 <= cov <= 1:
        raise InvalidInput(_("The covered share must be between 0 and 1."), field="min_coverage")
    return cov


def _check_plan_validity(valid_from, valid_to, patroller) -> None:
    if valid_from is None:
        raise InvalidInput(_("A plan needs a start date."), field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput(_("The end date is before the start date."), field="valid_to")
    if patroller is not None and not patroller.is_active:
        raise InvalidInput(_("The patroller is not active."), field="patroller")


def _clean_plan(
    scope,
    *,
    name,
    region,
    grid_codes,
    min_patrols_per_day,
    windows,
    min_coverage,
    patroller,
    valid_from,
    valid_to,
):
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A plan needs a name."), field="name")
    if region is None:
        raise InvalidInput(_("A plan needs an area."), field="region")
    # A city-wide plan is allowed only to city-level staff: _require_region checks that.
    _require_region(scope, region)
    codes = _clean_grid_codes(region, grid_codes)
    per_day = _clean_patrols_per_day(min_patrols_per_day)
    wins = clean_windows(windows)
    cov = _clean_coverage(min_coverage)
    if per_day == 0 and not wins:
        raise InvalidInput(
            _("A plan needs patrols per day or at least one time window."), field="min_patrols_per_day"
        )
    _check_plan_validity(valid_from, valid_to, patroller)
    return dict(
        name=name[:100],
        region=region,
        grid_codes=codes,
        min_patrols_per_day=per_day,
        windows=wins,
        min_coverage=cov,
        patroller=patroller,
        valid_from=valid_from,
        valid_to=valid_to,
    )


@transaction.atomic
def do_create_plan(
    actor,
    *,
    name: str,
    region,
    grid_codes=(),
    min_patrols_per_day: int = 2,
    windows=(),
    min_coverage: float = 0.0,
    patroller=None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    note: str = "",
    checkpoints=(),
    now: datetime | None = None,
) -> PatrolPlan:
    """Create a patrol plan (street leaders and the centre, for their own area)."""
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _("Only street leaders and the command centre plan patrols."))
    fields = _clean_plan(
        scope,
        name=name,
        region=region,
        grid_codes=grid_codes,
        min_patrols_per_day=min_patrols_per_day,
        windows=windows,
        min_coverage=min_coverage,
        patroller=patroller,
        valid_from=valid_from or timezone.localdate(now),
        valid_to=valid_to,
    )
    cps = [_clean_checkpoint(**cp) for cp in checkpoints or []]
    plan = PatrolPlan.objects.create(
        **fields, note=(note or "")[:300], created_by=actor, created_at=now, updated_at=now
    )
    for cp in cps:
        Checkpoint.objects.create(plan=plan, **cp)
    record(
        actor, "patrol.create_plan", plan, summary=plan.name, region=region.code, checkpoints=len(cps), at=now
    )
    return plan


@transaction.atomic
def do_update_plan(actor, plan: PatrolPlan, *, now: datetime | None = None, **changes) -> PatrolPlan:
    """Change a plan's grids, frequency, windows, patroller or dates."""
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _("Only street leaders and the command centre plan patrols."))
    plan = PatrolPlan.objects.select_for_update().get(pk=plan.pk)
    _require_region(scope, plan.region)
    current = dict(
        name=plan.name,
        region=plan.region,
        grid_codes=plan.grid_codes,
        min_patrols_per_day=plan.min_patrols_per_day,
        windows=plan.windows,
        min_coverage=plan.min_coverage,
        patroller=plan.patroller,
        valid_from=plan.valid_from,
        valid_to=plan.valid_to,
    )
    unknown = set(changes) - set(current) - {"note", "is_active"}
    if unknown:
        raise InvalidInput(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    merged = {**current, **{k: v for k, v in changes.items() if k in current}}
    fields = _clean_plan(scope, **merged)
    before = {k: str(getattr(plan, k)) for k in changes}
    for k, v in fields.items():
        setattr(plan, k, v)
    if "note" in changes:
        plan.note = (changes["note"] or "")[:300]
    if "is_active" in changes:
        plan.is_active = bool(changes["is_active"])
    plan.updated_at = now
    plan.save()
    record(
        actor,
        "patrol.update_plan",
        plan,
        summary=plan.name,
        before=before,
        after={k: str(getattr(plan, k)) for k in changes},
        at=now,
    )
    return plan


@transaction.atomic
def do_deactivate_plan(actor, plan: PatrolPlan, *, now: datetime | None = None) -> PatrolPlan:
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _not_allowed())
    plan = PatrolPlan.objects.select_for_update().get(pk=plan.pk)
    _require_region(scope, plan.region)
    if not plan.is_active:
        raise Conflict(_("The plan is already inactive."))
    plan.is_active = False
    plan.updated_at = now
    plan.save(update_fields=["is_active", "updated_at"])
    record(actor, "patrol.deactivate_plan", plan, summary=plan.name, at=now)
    return plan


def _clean_checkpoint(*, name, lon, lat, crs="wgs84", radius_m=None, window_start=None, window_end=None):
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A checkpoint needs a name."), field="checkpoints")
    xs, ys = _canonical([lon], [lat], crs)
    clon, clat = float(xs[0]), float(ys[0])
    loc = _locate(clon, clat)
    if loc is None:
        raise InvalidInput(_("The checkpoint lies outside the jurisdiction."), field="checkpoints")
    radius = float(radius_m if radius_m not in (None, "") else conf.get("CHECKPOINT_RADIUS_M"))
    if not 5 <= radius <= 500:
        raise InvalidInput(_("A checkpoint radius must be between 5 and 500 m."), field="checkpoints")
    ws = _as_time(window_start)
    we = _as_time(window_end)
    if (ws is None) != (we is None):
        raise InvalidInput(_("Give both ends of the checkpoint window or neither."), field="checkpoints")
    return dict(
        name=name[:100],
        lon=clon,
        lat=clat,
        radius_m=radius,
        window_start=ws,
        window_end=we,
        grid_code=loc.grid_code,
    )


def _as_time(value):
    if value in (None, ""):
        return None
    if isinstance(value, time):
        return value
    s = _parse_hhmm(value)
    return time(s // 3600 % 24, s % 3600 // 60)


@transaction.atomic
def do_add_checkpoint(actor, plan: PatrolPlan, *, now: datetime | None = None, **cp) -> Checkpoint:
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _not_allowed())
    _require_region(scope, plan.region)
    fields = _clean_checkpoint(**cp)
    point = Checkpoint.objects.create(plan=plan, **fields)
    record(actor, "patrol.add_checkpoint", point, summary=point.name, plan=plan.pk, at=now)
    return point


@transaction.atomic
def do_remove_checkpoint(actor, checkpoint: Checkpoint, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _not_allowed())
    _require_region(scope, checkpoint.plan.region)
    record(
        actor,
        "patrol.remove_checkpoint",
        checkpoint,
        summary=checkpoint.name,
        plan=checkpoint.plan_id,
        at=now,
    )
    checkpoint.delete()


# ----------------------------------------------------------------------------- tracks


@transaction.atomic
def do_start_track(
    actor,
    *,
    client_id: str,
    plan: PatrolPlan | None = None,
    crs: str = "wgs84",
    started_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Track, bool]:
    """Start a patrol. ``client_id`` (generated by the phone) makes a retried start return the
    same track. Returns (track, created)."""
    now = now or timezone.now()

    require(actor, P.can_patrol, _("Only grid workers and officers record patrols."))
    person = _person(actor)
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise InvalidInput(_("A patrol needs a client id of at most 64 characters."), field="client_id")
    spec = resolve_crs(crs or "wgs84")
    started_at = started_at or now
    if started_at > now + timedelta(minutes=10):
        raise InvalidInput(_("The start time lies in the future."), field="started_at")
    existing = Track.objects.filter(person=person, client_id=client_id).first()
    if existing is not None:
        return existing, False
    track = Track.objects.create(
        person=person,
        plan=plan,
        client_id=client_id,
        input_crs=spec.kind if not spec.epsg else f"epsg:{spec.epsg}",
        started_at=started_at,
    )
    record(actor, "patrol.start_track", track, summary=str(track), plan=plan.pk if plan else None, at=now)
    return track, True


def _clean_points(points, crs, track: Track, now: datetime):
    """Validate a batch: [[lon, lat, t_ms, accuracy?], ...] or dicts; returns canonical arrays."""
    if not isinstance(points, (list, tuple)) or not points:
        raise InvalidInput(_("A batch needs at least one point."), field="points")
    if len(points) > conf.get("MAX_BATCH_POINTS"):
        raise InvalidInput(
            _("A batch may hold at most %(n)s points.") % {"n": conf.get("MAX_BATCH_POINTS")}, field="points"
        )
    rows = []
    for p in points:
        if isinstance(p, dict):
            p = [p.get("lon"), p.get("lat"), p.get("t"), p.get("acc")]
        if not isinstance(p, (list, tuple)) or len(p) < 3:
            raise InvalidInput(
                _("Each point is [longitude, latitude, time in ms, accuracy]."), field="points"
            )
        rows.append([p[0], p[1], p[2], p[3] if len(p) > 3 and p[3] is not None else math.nan])
    try:
        arr = np.asarray(rows, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("Each point is [longitude, latitude, time in ms, accuracy]."), field="points"
        ) from None
    if not np.all(np.isfinite(arr[:, :3])):
        raise InvalidInput(_("Each point is [longitude, latitude, time in ms, accuracy]."), field="points")
    t_ms = arr[:, 2].astype(np.int64)
    now_ms = int(now.timestamp() * 1000)
    start_ms = int(track.started_at.timestamp() * 1000)
    if t_ms.max() > now_ms + 10 * 60 * 1000:
        raise InvalidInput(_("Point times lie in the future: check the phone clock."), field="points")
    if t_ms.min() < start_ms - 3600 * 1000:
        raise InvalidInput(_("Point times lie before the patrol started."), field="points")
    lon, lat = _canonical(arr[:, 0], arr[:, 1], crs or track.input_crs)
    order = np.argsort(t_ms, kind="stable")
    return lon[order], lat[order], t_ms[order], arr[order, 3].astype(np.float32)


@transaction.atomic
def do_append_points(
    actor, track: Track, *, seq: int, points, crs: str | None = None, now: datetime | None = None
) -> dict:
    """Store one batch of points. Idempotent on (track, seq): a retried batch changes nothing;
    batches may arrive late, out of order or after stop (offline queue), gaps are allowed."""
    now = now or timezone.now()
    person = _person(actor)
    if track.person_id != person.pk:
        raise NotFound(_("Patrol not found."))
    try:
        seq = int(seq)
    except (TypeError, ValueError):
        raise InvalidInput(_("The batch sequence number must be a whole number."), field="seq") from None
    if not 0 <= seq < 2**31:
        raise InvalidInput(_("The batch sequence number must be a whole number."), field="seq")
    if TrackBatch.objects.filter(track=track, seq=seq).exists():
        return {"seq": seq, "duplicate": True, "accepted": 0, "point_count": track.point_count}
    lon, lat, t_ms, acc = _clean_points(points, crs, track, now)
    try:
        with transaction.atomic():
            TrackBatch.objects.create(
                track=track,
                seq=seq,
                n=len(lon),
                t_first=_from_ms(t_ms[0]),
                t_last=_from_ms(t_ms[-1]),
                data=trackcodec.pack(lon, lat, t_ms, acc),
                received_at=now,
            )
    except IntegrityError:
        # A concurrent retry of the same batch won the race: same answer as a retry.
        return {"seq": seq, "duplicate": True, "accepted": 0, "point_count": track.point_count}
    t = Track.objects.select_for_update().get(pk=track.pk)
    t.point_count += len(lon)
    t.batch_count += 1
    first, last = _from_ms(t_ms[0]), _from_ms(t_ms[-1])
    t.first_point_at = min(filter(None, [t.first_point_at, first]))
    t.last_point_at = max(filter(None, [t.last_point_at, last]))
    t.min_lon = min(filter(lambda v: v is not None, [t.min_lon, float(lon.min())]))
    t.min_lat = min(filter(lambda v: v is not None, [t.min_lat, float(lat.min())]))
    t.max_lon = max(filter(lambda v: v is not None, [t.max_lon, float(lon.max())]))
    t.max_lat = max(filter(lambda v: v is not None, [t.max_lat, float(lat.max())]))
    if t.street_id is None:
        # The first point of the batch inside the district: a walk may start just outside it.
        loc = _first_location(lon, lat)
        if loc is not None:
            t.district_id, t.street_id, t.community_id = loc.district_id, loc.street_id, loc.community_id
    t.save()
    made = _auto_checkins(t, lon, lat, t_ms)
    track.__dict__.update(
        {k: getattr(t, k) for k in ("point_count", "batch_count", "last_point_at", "street_id")}
    )
    return {
        "seq": seq,
        "duplicate": False,
        "accepted": len(lon),
        "point_count": t.point_count,
        "checkins": made,
    }


def _from_ms(ms) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _candidate_checkpoints(track: Track, lon, lat):
    """Checkpoints of active plans near the batch (any plan: a worker may pass another's point)."""
    pad = 0.01  # ~1 km in degrees: larger than any radius
    qs = Checkpoint.objects.filter(
        plan__is_active=True,
        lon__gte=float(lon.min()) - pad,
        lon__lte=float(lon.max()) + pad,
        lat__gte=float(lat.min()) - pad,
        lat__lte=float(lat.max()) + pad,
    )
    return list(qs)


def _auto_checkins(track: Track, lon, lat, t_ms) -> list[int]:
    """Record a check-in for every nearby checkpoint a point of the batch reached in its window."""
    made = []
    cps = _candidate_checkpoints(track, lon, lat)
    if not cps:
        return made
    done = set(
        CheckIn.objects.filter(track=track, method=CheckInMethod.TRACK).values_list(
            "checkpoint_id", flat=True
        )
    )
    tz = timezone.get_current_timezone()
    for cp in cps:
        if cp.pk in done:
            continue
        d = distance_m(cp.lon, cp.lat, lon, lat)
        for i in np.flatnonzero(d <= cp.radius_m):
            at = _from_ms(t_ms[i])
            local = timezone.localtime(at, tz)
            if not _plan_active_on(cp.plan, local.date()):
                continue
            if in_window(
                local.hour * 3600 + local.minute * 60 + local.second, cp.window_start, cp.window_end
            ):
                CheckIn.objects.create(
                    track=track,
                    checkpoint=cp,
                    person_id=track.person_id,
                    at=at,
                    lon=float(lon[i]),
                    lat=float(lat[i]),
                    distance_m=float(d[i]),
                    method=CheckInMethod.TRACK,
                    valid=True,
                )
                made.append(cp.pk)
                break
    return made


def _plan_active_on(plan: PatrolPlan, day: date) -> bool:
    return plan.is_active and plan.valid_from <= day and (plan.valid_to is None or plan.valid_to >= day)


@transaction.atomic
def do_stop_track(
    actor, track: Track, *, ended_at: datetime | None = None, now: datetime | None = None
) -> Track:
    """Stop a patrol. Stopping twice answers the same track (a retried stop)."""
    now = now or timezone.now()
    person = _person(actor)
    t = Track.objects.select_for_update().get(pk=track.pk)
    if t.person_id != person.pk:
        raise NotFound(_("Patrol not found."))
    if t.state != TrackState.ACTIVE:
        return t
    ended_at = ended_at or now
    if ended_at < t.started_at:
        raise InvalidInput(_("A patrol cannot end before it started."), field="ended_at")
    t.state = TrackState.FINISHED
    t.ended_at = min(ended_at, now + timedelta(minutes=10))
    t.save(update_fields=["state", "ended_at"])
    record(actor, "patrol.stop_track", t, summary=str(t), points=t.point_count, at=now)
    return t


@transaction.atomic
def do_check_in(
    actor,
    track: Track,
    checkpoint: Checkpoint,
    *,
    lon,
    lat,
    crs: str = "wgs84",
    at: datetime | None = None,
    client_key: str = "",
    note: str = "",
    now: datetime | None = None,
) -> CheckIn:
    """An explicit check-in with a position. Kept even when too far or outside the window (valid
    = False, with the distance) so supervisors can see attempts; a retried key returns the first."""
    now = now or timezone.now()
    person = _person(actor)
    if track.person_id != person.pk:
        raise NotFound(_("Patrol not found."))
    client_key = (client_key or "")[:64]
    if client_key:
        prior = CheckIn.objects.filter(track=track, client_key=client_key).first()
        if prior is not None:
            return prior
    xs, ys = _canonical([lon], [lat], crs)
    clon, clat = float(xs[0]), float(ys[0])
    at = at or now
    if at > now + timedelta(minutes=10):
        raise InvalidInput(_("The check-in time lies in the future."), field="at")
    dist = float(distance_m(checkpoint.lon, checkpoint.lat, clon, clat))
    local = timezone.localtime(at)
    in_time = in_window(
        local.hour * 3600 + local.minute * 60 + local.second, checkpoint.window_start, checkpoint.window_end
    ) and _plan_active_on(checkpoint.plan, local.date())
    valid = dist <= checkpoint.radius_m and in_time
    ci = CheckIn.objects.create(
        track=track,
        checkpoint=checkpoint,
        person=person,
        at=at,
        lon=clon,
        lat=clat,
        distance_m=dist,
        method=CheckInMethod.EXPLICIT,
        valid=valid,
        client_key=client_key,
        note=(note or "")[:200],
    )
    record(
        actor, "patrol.check_in", ci, summary=checkpoint.name, valid=valid, distance_m=round(dist, 1), at=now
    )
    return ci


@transaction.atomic
def do_close_abandoned_tracks(now: datetime | None = None) -> int:
    """System action (periodic task): close tracks silent for ABANDON_AFTER_S."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=conf.get("ABANDON_AFTER_S"))

    qs = Track.objects.filter(state=TrackState.ACTIVE).filter(
        Q(last_point_at__lt=limit) | Q(last_point_at__isnull=True, started_at__lt=limit)
    )
    ids = list(qs.values_list("id", flat=True)[:5000])
    if not ids:
        return 0

    n = Track.objects.filter(id__in=ids, state=TrackState.ACTIVE).update(
        state=TrackState.ABANDONED, ended_at=Coalesce(F("last_point_at"), F("started_at"))
    )
    record(None, "patrol.close_abandoned", None, summary=f"{n}", track_ids=ids[:100], at=now)
    return n


# ----------------------------------------------------------------------------- sweeps (C6)


def _clean_place_types(values) -> list[str]:
    valid = set(PlaceType.values)
    out = [v for v in dict.fromkeys(values or [])]
    bad = [v for v in out if v not in valid]
    if bad:
        raise InvalidInput(_("Unknown place type: %(t)s") % {"t": ", ".join(bad)}, field="place_types")
    return out


@transaction.atomic
def do_create_campaign(
    actor,
    *,
    name: str,
    region=None,
    place_types=(),
    start_date: date,
    end_date: date,
    description: str = "",
    class_code: str = "",
    now: datetime | None = None,
) -> SweepCampaign:
    """Open a hazard sweep campaign for an area (or the whole city) and place types."""
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _("Only leaders and the command centre open sweep campaigns."))
    _require_region(scope, region)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A campaign needs a name."), field="name")
    types = _clean_place_types(place_types) or list(PlaceType.values)
    if start_date is None or end_date is None or end_date < start_date:
        raise InvalidInput(_("The end date is before the start date."), field="end_date")
    class_code = (class_code or "").strip()
    if class_code:
        from urbangrid.catalog.queries import class_by_code

        class_by_code(class_code)  # NotFound → clear error on an unknown code
    c = SweepCampaign.objects.create(
        name=name[:120],
        region=region,
        place_types=types,
        start_date=start_date,
        end_date=end_date,
        description=description or "",
        class_code=class_code,
        created_by=actor,
        state=CampaignState.ACTIVE,
        created_at=now,
    )
    record(
        actor,
        "patrol.create_campaign",
        c,
        summary=c.name,
        region=region.code if region else None,
        types=types,
        at=now,
    )
    return c


@transaction.atomic
def do_close_campaign(actor, campaign: SweepCampaign, *, now: datetime | None = None) -> SweepCampaign:
    now = now or timezone.now()
    scope = require(actor, P.can_plan_patrols, _not_allowed())
    c = SweepCampaign.objects.select_for_update().get(pk=campaign.pk)
    _require_region(scope, c.region)
    if c.state == CampaignState.CLOSED:
        raise Conflict(_("The campaign is already closed."))
    c.state = CampaignState.CLOSED
    c.save(update_fields=["state"])
    record(actor, "patrol.close_campaign", c, summary=c.name, at=now)
    return c


def _place_in_scope(scope, loc) -> bool:
    if scope.all_city:
        return True
    ids = scope.subtree_region_ids
    return bool({loc.community_id, loc.street_id, loc.district_id} & ids) or loc.grid_code in scope.grid_codes


@transaction.atomic
def do_register_place(
    actor,
    *,
    name: str,
    place_type: str,
    lon,
    lat,
    crs: str = "wgs84",
    address: str = "",
    owner_name: str,
    owner_contact: str = "",
    owner_phone: str = "",
    credit_subject_id: int | None = None,
    now: datetime | None = None,
) -> Place:
    """Register a place for sweeps; it is located in its grid, community, street and district."""
    now = now or timezone.now()
    scope = require(actor, P.can_register_places, _not_allowed())
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A place needs a name."), field="name")
    if place_type not in PlaceType.values:
        raise InvalidInput(_("Unknown place type: %(t)s") % {"t": place_type}, field="place_type")
    owner_name = (owner_name or "").strip()
    if not owner_name:
        raise InvalidInput(_("A place needs its owner or operator."), field="owner_name")
    xs, ys = _canonical([lon], [lat], crs)
    clon, clat = float(xs[0]), float(ys[0])
    loc = _locate(clon, clat)
    if loc is None:
        raise InvalidInput(_("The place lies outside the jurisdiction."), field="lon")
    if not _place_in_scope(scope, loc):
        raise PermissionDenied(_("The place lies outside your area."))
    place = Place.objects.create(
        name=name[:120],
        place_type=place_type,
        address=(address or "")[:200],
        lon=clon,
        lat=clat,
        input_crs=crs or "wgs84",
        grid_id=loc.grid_id,
        grid_code=loc.grid_code,
        community_id=loc.community_id,
        street_id=loc.street_id,
        district_id=loc.district_id,
        owner_name=owner_name[:120],
        owner_contact=(owner_contact or "")[:60],
        owner_phone=(owner_phone or "")[:20],
        credit_subject_id=credit_subject_id,
        created_by=actor,
        created_at=now,
    )
    record(
        actor, "patrol.register_place", place, summary=place.name, grid=loc.grid_code, type=place_type, at=now
    )
    return place


def _hazard_class_code(item: ChecklistItem, campaign: SweepCampaign) -> str:
    """The catalogue class for a failed item: the item's, else the campaign's default, else any
    safety-hazard class; empty when the catalogue has none (intake then classifies by text)."""

    for code in (item.class_code, campaign.class_code):
        if code:
            try:
                return class_by_code(code).code
            except NotFound:
                continue
    fallback = ProblemClass.objects.filter(is_active=True, name__contains="安全隐患").order_by("code").first()
    return fallback.code if fallback else ""


def _rectify_due(class_code: str, start: datetime):
    if not class_code:
        return None

    amount, unit = handling_limit(class_by_code(class_code))
    return add_working_time(start, amount, unit)


def _check_image(f) -> None:

    limit = settings.URBANGRID.get("UPLOAD_MAX_BYTES", 8 * 1024 * 1024)
    if f.size > limit:
        raise InvalidInput(
            _("A photo may be at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)}, field="photos"
        )
    try:
        f.seek(0)
        Image.open(f).verify()
    except Exception:
        raise InvalidInput(
            _("“%(name)s” is not an image.") % {"name": getattr(f, "name", "?")}, field="photos"
        ) from None
    finally:
        f.seek(0)


def _check_campaign_running(campaign: SweepCampaign, now: datetime) -> None:
    if campaign.state != CampaignState.ACTIVE:
        raise Conflict(_("The campaign is not running."))
    today = timezone.localdate(now)
    if not campaign.start_date <= today <= campaign.end_date:
        raise Conflict(
            _("The campaign runs from %(a)s to %(b)s.") % {"a": campaign.start_date, "b": campaign.end_date}
        )


def _check_place_in_campaign(actor, campaign: SweepCampaign, place: Place) -> None:
    if not Place.objects.visible_to(actor).filter(pk=place.pk).exists():
        raise NotFound(_("Place not found."))
    if not place.is_active:
        raise Conflict(_("The place is no longer active."))
    if campaign.place_types and place.place_type not in campaign.place_types:
        raise InvalidInput(_("This campaign does not cover this type of place."), field="place")
    # A campaign on the whole city (level 1) covers every place.
    place_regions = (place.district_id, place.street_id, place.community_id)
    if campaign.region_id and campaign.region_id not in place_regions and campaign.region.level > 1:
        raise InvalidInput(_("The place lies outside the campaign's area."), field="place")


def _checklist(place: Place) -> dict:
    items = {i.pk: i for i in ChecklistItem.objects.filter(place_type=place.place_type, is_active=True)}
    if not items:
        raise InvalidInput(_("There is no checklist for this type of place."), field="place")
    return items


def _answer_item_id(result, items: dict) -> int:
    item_id = getattr(result.get("item"), "pk", result.get("item"))
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Unknown checklist item."), field="results") from None
    if item_id not in items:
        raise InvalidInput(_("Unknown checklist item."), field="results")
    return item_id


def _answers(results, items: dict) -> dict:
    """The results by checklist item id: each item answered exactly once, passed or failed."""
    answers = {}
    for r in results or []:
        item_id = _answer_item_id(r, items)
        if item_id in answers:
            raise InvalidInput(_("An item was answered twice."), field="results")
        if not isinstance(r.get("passed"), bool):
            raise InvalidInput(_("Every item must be marked passed or failed."), field="results")
        answers[item_id] = r
    missing = [items[i].text for i in items if i not in answers]
    if missing:
        raise InvalidInput(
            _("Every checklist item must be answered; missing: %(items)s")
            % {"items": "；".join(missing[:5])},
            field="results",
        )
    return answers


def _inspection_time(inspected_at: datetime | None, now: datetime) -> datetime:
    at = inspected_at or now
    if at > now + timedelta(minutes=10):
        raise InvalidInput(_("The inspection time lies in the future."), field="inspected_at")
    return at


def _save_photos(insp: Inspection, photos, now: datetime, result: InspectionResult | None = None) -> None:
    for f in photos or []:
        f.seek(0)
        InspectionPhoto.objects.create(inspection=insp, result=result, image=f, uploaded_at=now)


def _earlier_open_hazard(place: Place, item: ChecklistItem) -> InspectionResult | None:
    """The latest failed result of this item at this place whose case is still open."""

    return (
        InspectionResult.objects.filter(inspection__place=place, item=item, passed=False, case__isnull=False)
        .exclude(case__state__in=FINAL_STATES)
        .select_related("case")
        .order_by("-id")
        .first()
    )


def _open_hazard_case(actor, person, insp: Inspection, res: InspectionResult, answer, class_code, now):
    """Opens the case of one failed item through the case intake; returns the intake's result."""

    campaign, place, item = insp.campaign, insp.place, res.item
    item_photos = list(answer.get("photos") or [])
    for f in item_photos:
        f.seek(0)
    description = _("[Hazard sweep] %(campaign)s: %(place)s (%(type)s) — %(item)s") % {
        "campaign": campaign.name,
        "place": place.name,
        "type": place.get_place_type_display(),
        "item": item.text,
    }
    if answer.get("note"):
        description += "。" + str(answer["note"])
    data = IntakeData(
        channel="inspection",
        description=description,
        lon=place.lon,
        lat=place.lat,
        crs="cgcs2000",
        address=place.address or place.name,
        class_code=class_code or None,
        reporter_name=person.name,
        reporter_phone=person.phone,
        anonymous=False,
        photos=item_photos,
        extra={
            # The sweep links a hazard to its own earlier open case (_earlier_open_hazard); the
            # intake's nearby-report rule (same major class within tens of metres) would instead
            # merge a place's distinct hazards into one case, or a hazard into an unrelated
            # citizen report next door (a restaurant's missing gas alarm into a fallen tree).
            "force_new": True,
            "source": "patrol.inspection",
            "inspection_id": insp.pk,
            "result_id": res.pk,
            "place_id": place.pk,
            "item_code": item.code,
            "owner": place.owner_name,
            "owner_phone": place.owner_phone,
        },
    )
    return do_intake(actor, data, request_id=f"patrol-inspection-result-{res.pk}", now=now)


def _record_result(actor, person, insp: Inspection, item: ChecklistItem, answer, now: datetime):
    """Saves one item's result; a failed item is linked to its hazard's case (an earlier open one,
    else a new one). Returns the id of the case it opened, or None."""
    res = InspectionResult.objects.create(
        inspection=insp, item=item, passed=answer["passed"], note=(answer.get("note") or "")[:300]
    )
    _save_photos(insp, answer.get("photos"), now, result=res)
    if answer["passed"]:
        return None
    # One hazard, one case: an open case from an earlier inspection of the same item is reused.
    earlier = _earlier_open_hazard(insp.place, item)
    if earlier is not None:
        res.case = earlier.case
        res.rectify_due_at = earlier.rectify_due_at
        res.save(update_fields=["case", "rectify_due_at"])
        return None
    class_code = _hazard_class_code(item, insp.campaign)
    result = _open_hazard_case(actor, person, insp, res, answer, class_code, now)
    res.case = result.case
    res.rectify_due_at = _rectify_due(class_code, insp.inspected_at)
    res.save(update_fields=["case", "rectify_due_at"])
    return result.case.pk


@transaction.atomic
def do_record_inspection(
    actor,
    *,
    campaign: SweepCampaign,
    place: Place,
    results,
    notes: str = "",
    photos=(),
    inspected_at: datetime | None = None,
    client_key: str = "",
    now: datetime | None = None,
) -> Inspection:
    """Record an inspection: one pass/fail per checklist item of the place's type (all required).
    Each failed item becomes a case through the case intake (channel "inspection", a
    safety-hazard class, rectification deadline from the class); a hazard whose earlier case is
    still open is linked to that case instead of opening another.

    ``results``: list of dicts {item (ChecklistItem or id), passed (bool), note, photos}.
    ``now`` (default the clock) is when the record arrives: it decides whether the campaign is
    running and stamps the hazard cases; the demo history passes a simulated one.
    """
    now = now or timezone.now()
    require(actor, P.can_inspect, _("Your role does not allow inspections."))
    person = _person(actor)
    client_key = (client_key or "")[:64]
    if client_key:
        prior = Inspection.objects.filter(inspector=person, client_key=client_key).first()
        if prior is not None:
            return prior
    _check_campaign_running(campaign, now)
    _check_place_in_campaign(actor, campaign, place)
    items = _checklist(place)
    answers = _answers(results, items)
    for f in list(photos or []) + [p for r in answers.values() for p in (r.get("photos") or [])]:
        _check_image(f)
    failed_ids = [i for i, r in answers.items() if not r["passed"]]
    insp = Inspection.objects.create(
        campaign=campaign,
        place=place,
        inspector=person,
        inspected_at=_inspection_time(inspected_at, now),
        notes=notes or "",
        outcome=InspectionOutcome.FAILED if failed_ids else InspectionOutcome.PASSED,
        client_key=client_key,
        created_at=now,
    )
    _save_photos(insp, photos, now)
    opened = [_record_result(actor, person, insp, items[i], r, now) for i, r in answers.items()]
    record(
        actor,
        "patrol.record_inspection",
        insp,
        summary=f"{place.name}: {insp.outcome}",
        campaign=campaign.pk,
        failed=len(failed_ids),
        cases=[pk for pk in opened if pk is not None],
        at=now,
    )
    return insp


__all__ = [n for n in dir() if n.startswith("do_")] + ["distance_m", "in_window", "clean_windows"]
