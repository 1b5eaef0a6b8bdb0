"""Reads of the patrol app that several places use.

``patrol_coverage(period_start, period_end, grids=None)`` is the contract read by the command
map and by evaluation: one row per grid with the covered share and whether the plans were met.
"""

from __future__ import annotations

import time as _time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from urbangrid.cases.choices import CaseState
from urbangrid.geo.crs import from_canonical_many, metric_epsg_for, to_metric
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.orgs.choices import GridDuty
from urbangrid.orgs.models import GridAssignment

from . import conf, trackcodec
from .actions import distance_m
from .choices import PlaceType
from .coverage import compute_geometry, day_starts, parse_hhmm, patrol_counts
from .models import CheckIn, Inspection, InspectionResult, PatrolPlan, Place, SweepCampaign, Track, TrackBatch

# ----------------------------------------------------------------------------- loading


def load_grids(period_start, period_end, grids=None, *, bbox=None, user=None):
    """Grid versions valid during the period (optionally some of them, in a bbox, visible to user)."""

    qs = UnitGrid.objects.filter(valid_from__lt=period_end).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=period_start)
    )
    if user is not None:
        qs = qs.visible_to(user)
    if grids is not None:
        if hasattr(grids, "values_list"):
            qs = qs.filter(pk__in=grids.values("pk"))
        else:
            grids = list(grids)
            ids = [g for g in grids if isinstance(g, int)]
            codes = [g for g in grids if isinstance(g, str)]
            ids += [g.pk for g in grids if hasattr(g, "pk")]
            qs = qs.filter(Q(pk__in=ids) | Q(code__in=codes))
    if bbox is not None:
        qs = qs.filter(max_lon__gte=bbox[0], min_lon__lte=bbox[2], max_lat__gte=bbox[1], min_lat__lte=bbox[3])
    rows = list(
        qs.order_by("code", "version").values_list(
            "id", "code", "community_id", "street_id", "district_id", "geometry_wkb"
        )
    )
    return {
        "ids": np.array([r[0] for r in rows], dtype=np.int64),
        "codes": [r[1] for r in rows],
        "community": np.array([r[2] for r in rows], dtype=np.int64),
        "street": np.array([r[3] for r in rows], dtype=np.int64),
        "district": np.array([r[4] for r in rows], dtype=np.int64),
        "geoms": shapely.from_wkb([bytes(r[5]) for r in rows]) if rows else np.empty(0, dtype=object),
    }


def load_points(period_start, period_end, *, bbox=None, track_ids=None):
    """All track points in [start, end) sorted by (track, time): lon, lat, t (s), track id, person id."""
    qs = TrackBatch.objects.filter(t_last__gte=period_start, t_first__lt=period_end)
    if bbox is not None:
        qs = qs.filter(
            track__max_lon__gte=bbox[0],
            track__min_lon__lte=bbox[2],
            track__max_lat__gte=bbox[1],
            track__min_lat__lte=bbox[3],
        )
    if track_ids is not None:
        qs = qs.filter(track_id__in=track_ids)
    rows = list(qs.values_list("track_id", "track__person_id", "data").iterator(chunk_size=5000))
    lon, lat, t_ms, acc, owner = trackcodec.unpack_many([r[2] for r in rows])
    track = np.array([r[0] for r in rows], dtype=np.int64)[owner] if rows else np.empty(0, np.int64)
    person = np.array([r[1] for r in rows], dtype=np.int64)[owner] if rows else np.empty(0, np.int64)
    lo, hi = period_start.timestamp() * 1000, period_end.timestamp() * 1000
    max_acc = float(conf.get("MAX_ACCURACY_M"))
    keep = (t_ms >= lo) & (t_ms < hi) & ~(acc > max_acc)
    lon, lat, t_ms, track, person = lon[keep], lat[keep], t_ms[keep], track[keep], person[keep]
    order = np.lexsort((t_ms, track))
    lon, lat, t_ms, track, person = lon[order], lat[order], t_ms[order], track[order], person[order]
    # Overlapping batches (a client re-sent points under a new seq) must not count twice.
    if len(t_ms) > 1:
        dup = np.zeros(len(t_ms), dtype=bool)
        dup[1:] = (track[1:] == track[:-1]) & (t_ms[1:] == t_ms[:-1])
        lon, lat, t_ms, track, person = lon[~dup], lat[~dup], t_ms[~dup], track[~dup], person[~dup]
    return {"lon": lon, "lat": lat, "t": t_ms / 1000.0, "track": track, "person": person}


# ----------------------------------------------------------------------------- coverage


def _plans_for(period_start, period_end):
    first = timezone.localtime(period_start).date()
    last = timezone.localtime(period_end - timedelta(microseconds=1)).date()
    return list(
        PatrolPlan.objects.filter(is_active=True, valid_from__lte=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .select_related("region")
        .prefetch_related("checkpoints")
    )


def _plan_grid_mask(plan, G) -> np.ndarray:
    level = plan.region.level
    n = len(G["ids"])
    if level <= 1:
        mask = np.ones(n, dtype=bool)
    else:
        col = {2: "district", 3: "street", 4: "community"}[level]
        mask = G[col] == plan.region_id
    if plan.grid_codes:
        wanted = set(plan.grid_codes)
        mask &= np.array([c in wanted for c in G["codes"]], dtype=bool)
    return mask


def _supervisor_pairs(codes: list[str], period_start, period_end) -> dict[str, set[int]]:

    first = timezone.localtime(period_start).date()
    last = timezone.localtime(period_end - timedelta(microseconds=1)).date()
    out: dict[str, set[int]] = defaultdict(set)
    qs = GridAssignment.objects.filter(duty=GridDuty.SUPERVISOR, valid_from__lte=last).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=first)
    )
    if len(codes) < 2000:
        qs = qs.filter(grid_code__in=codes)
    for code, pid in qs.values_list("grid_code", "person_id"):
        out[code].add(pid)
    return out


# One int64 key per (grid, person) pair: grid index × _PAIR_KEY + person id.
_PAIR_KEY = np.int64(1) << 32


@dataclass
class _Visits:
    """The grid visits of the period's tracks: grid index, track index, time (s), person id."""

    grid: np.ndarray
    track: np.ndarray
    t: np.ndarray
    person: np.ndarray

    def select(self, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.grid[sel], self.track[sel], self.t[sel]


@dataclass
class _Coverage:
    """Per-grid figures, one array entry per grid of ``G``, filled step by step."""

    G: dict
    area: np.ndarray
    covered_m2: np.ndarray
    share: np.ndarray
    patrols: np.ndarray
    last_t: np.ndarray
    plan_ids: list[list[int]]
    plan_days: np.ndarray
    plan_days_met: np.ndarray
    cp_required: np.ndarray
    cp_done: np.ndarray

    @property
    def n(self) -> int:
        return len(self.G["ids"])

    def row(self, i: int, tz) -> dict:
        has_plan = self.plan_days[i] > 0
        plan_met = bool(self.plan_days_met[i] == self.plan_days[i]) if has_plan else None
        reason = "unpatrolled" if self.patrols[i] == 0 else ("plan_not_met" if plan_met is False else "")
        last_t = self.last_t[i]
        return {
            "grid_id": int(self.G["ids"][i]),
            "code": self.G["codes"][i],
            "community_id": int(self.G["community"][i]),
            "street_id": int(self.G["street"][i]),
            "district_id": int(self.G["district"][i]),
            "area_m2": round(float(self.area[i]), 1),
            "covered_m2": round(float(self.covered_m2[i]), 1),
            "share": round(float(self.share[i]), 4),
            "patrols": int(self.patrols[i]),
            "last_patrol_at": datetime.fromtimestamp(last_t, tz) if np.isfinite(last_t) else None,
            "plan_ids": self.plan_ids[i],
            "plan_days": int(self.plan_days[i]),
            "plan_days_met": int(self.plan_days_met[i]),
            "plan_met": plan_met,
            "checkpoints_required": int(self.cp_required[i]),
            "checkpoints_done": int(self.cp_done[i]),
            "flagged": bool(reason),
            "reason": reason,
        }


@dataclass
class _PlanCheck:
    """What checking the plans day by day needs besides the coverage itself."""

    period_start: datetime
    period_end: datetime
    code_index: dict[str, int]
    min_pts: int
    visits: _Visits
    any_supervisor: bool
    has_sup: np.ndarray
    sup_keys: np.ndarray
    checked: set[tuple[int, object]]


def _load_and_measure(period_start, period_end, grids, bbox, user, tm: dict):
    """The grids (None when there are none), their metric geometries and the visits of the tracks
    that pass near them."""

    t0 = _time.perf_counter()
    G = load_grids(period_start, period_end, grids, bbox=bbox, user=user)
    if len(G["ids"]) == 0:
        return None
    epsg = metric_epsg_for(G["geoms"])
    grids_m, _e = to_metric(G["geoms"], epsg)
    gb = shapely.total_bounds(G["geoms"])
    pad = 0.002
    P = load_points(period_start, period_end, bbox=(gb[0] - pad, gb[1] - pad, gb[2] + pad, gb[3] + pad))
    tm["load"] = _time.perf_counter() - t0

    t1 = _time.perf_counter()
    x, y = from_canonical_many(P["lon"], P["lat"], "cgcs2000_gk", epsg=epsg)
    track_ids, track_idx = (
        np.unique(P["track"], return_inverse=True) if len(P["track"]) else (np.empty(0), P["track"])
    )
    track_person = np.zeros(len(track_ids), dtype=np.int64)
    if len(track_ids):
        track_person[track_idx] = P["person"]
    geo = compute_geometry(grids_m, x, y, P["t"], track_idx.astype(np.int64))
    tm.update({f"geometry.{k}": v for k, v in geo.timings.items()})
    tm["geometry"] = _time.perf_counter() - t1
    vk = geo.visit_track
    visit_person = track_person[vk] if len(vk) else np.empty(0, np.int64)
    return G, grids_m, geo, _Visits(geo.visit_grid, vk, geo.visit_t, visit_person)


def _coverage_of_visits(G, grids_m, geo, visits: _Visits, min_pts: int) -> _Coverage:
    n = len(G["ids"])
    area = shapely.area(grids_m)
    vg, vk, vt = visits.grid, visits.track, visits.t
    patrols = patrol_counts(vg, vk, vt, -np.inf, np.inf, n, min_pts) if len(vg) else np.zeros(n, np.int64)
    last_t = np.full(n, -np.inf)
    if len(vg):
        np.maximum.at(last_t, vg, vt)
    return _Coverage(
        G=G,
        area=area,
        covered_m2=geo.covered_m2,
        share=np.divide(geo.covered_m2, area, out=np.zeros(n), where=area > 0),
        patrols=patrols,
        last_t=last_t,
        plan_ids=[[] for _ in range(n)],
        plan_days=np.zeros(n, dtype=np.int64),
        plan_days_met=np.zeros(n, dtype=np.int64),
        cp_required=np.zeros(n, dtype=np.int64),
        cp_done=np.zeros(n, dtype=np.int64),
    )


def _supervision(supervisors: dict[str, set[int]], code_index: dict[str, int], n: int):
    """Which grids have named supervisors, and the (grid, supervisor) pair keys."""
    has_sup = np.zeros(n, dtype=bool)
    sup_keys = np.array(
        [
            code_index[c] * _PAIR_KEY + pid
            for c, pids in supervisors.items()
            if c in code_index
            for pid in pids
        ],
        dtype=np.int64,
    )
    for c in supervisors:
        if c in code_index:
            has_sup[code_index[c]] = True
    return has_sup, sup_keys


def _valid_checkins(plans, period_start, period_end) -> set[tuple[int, object]]:
    """Valid check-ins in the period, as (checkpoint id, local date)."""
    checked: set[tuple[int, object]] = set()
    if any(p.checkpoints.all() for p in plans):
        for cp_id, at in CheckIn.objects.filter(
            valid=True, at__gte=period_start, at__lt=period_end, checkpoint__plan__in=plans
        ).values_list("checkpoint_id", "at"):
            checked.add((cp_id, timezone.localtime(at).date()))
    return checked


def _plan_visits(plan, pm: np.ndarray, ck: _PlanCheck):
    """The visits that count for a plan: to its grids, by its patroller or the grid's supervisors."""
    vg = ck.visits.grid
    sel = pm[vg] if len(vg) else np.zeros(0, dtype=bool)
    if plan.patroller_id:
        sel &= ck.visits.person == plan.patroller_id
    elif ck.any_supervisor:
        # Each grid's own supervisors patrol it; a grid without named supervisors takes anyone.
        sel &= ~ck.has_sup[vg] | np.isin(vg * _PAIR_KEY + ck.visits.person, ck.sup_keys)
    return ck.visits.select(sel)


def _plan_applies_on(plan, day) -> bool:
    return plan.valid_from <= day and (plan.valid_to is None or plan.valid_to >= day)


def _plan_met_on(plan, midnight, plan_visits, cps, ck: _PlanCheck, cov: _Coverage) -> np.ndarray:
    """Per grid, whether the plan was met on the day starting at ``midnight``; counts the
    checkpoints required and done into ``cov``."""
    sg, sk, st = plan_visits
    n = cov.n
    lo = max(midnight, ck.period_start).timestamp()
    hi = min(midnight + timedelta(days=1), ck.period_end).timestamp()
    met = np.ones(n, dtype=bool)
    if plan.min_patrols_per_day:
        met &= patrol_counts(sg, sk, st, lo, hi, n, ck.min_pts) >= plan.min_patrols_per_day
    base = midnight.timestamp()
    for w in plan.windows:
        ws, we = parse_hhmm(w["start"]), parse_hhmm(w["end"])
        if we <= ws:
            we += 86400
        met &= patrol_counts(sg, sk, st, base + ws, base + we, n, ck.min_pts) >= int(w.get("min", 1))
    day = midnight.date()
    for cp in cps:
        gi = ck.code_index[cp.grid_code]
        cov.cp_required[gi] += 1
        if (cp.pk, day) in ck.checked:
            cov.cp_done[gi] += 1
        else:
            met[gi] = False
    if plan.min_coverage:
        met &= cov.share >= plan.min_coverage
    return met


def _check_plans(plans, days, ck: _PlanCheck, cov: _Coverage) -> None:
    """Fills the plan figures of ``cov``: the days a plan applied to each grid and the days all
    its plans were met."""
    day_applies = np.zeros((len(days), cov.n), dtype=bool)
    day_met = np.ones((len(days), cov.n), dtype=bool)
    for plan in plans:
        pm = _plan_grid_mask(plan, cov.G)
        if not pm.any():
            continue
        for i in np.flatnonzero(pm):
            cov.plan_ids[i].append(plan.pk)
        plan_visits = _plan_visits(plan, pm, ck)
        cps = [cp for cp in plan.checkpoints.all() if cp.grid_code in ck.code_index]
        for d, midnight in enumerate(days):
            if not _plan_applies_on(plan, midnight.date()):
                continue
            met = _plan_met_on(plan, midnight, plan_visits, cps, ck, cov)
            day_applies[d] |= pm
            day_met[d] &= met | ~pm
    if len(days):
        cov.plan_days = day_applies.sum(axis=0)
        cov.plan_days_met = (day_applies & day_met).sum(axis=0)


def patrol_coverage(
    period_start: datetime,
    period_end: datetime,
    grids=None,
    *,
    bbox=None,
    user=None,
    timings: dict | None = None,
) -> list[dict]:
    """Per-grid patrol coverage and plan fulfilment over [period_start, period_end).

    Row keys: grid_id, code, community_id, street_id, district_id, area_m2, covered_m2, share
    (0–1, area within BUFFER_M of a track), patrols (distinct tracks with ≥ MIN_POINTS_IN_GRID
    points inside), last_patrol_at, plan_ids, plan_days (days a plan applied), plan_days_met,
    plan_met (None without a plan), checkpoints_required, checkpoints_done, flagged (no patrol
    at all, or a plan not met) and reason ("unpatrolled" | "plan_not_met" | "").
    """
    t0 = _time.perf_counter()
    tm = timings if timings is not None else {}
    measured = _load_and_measure(period_start, period_end, grids, bbox, user, tm)
    if measured is None:
        return []
    G, grids_m, geo, visits = measured

    t1 = _time.perf_counter()
    min_pts = int(conf.get("MIN_POINTS_IN_GRID"))
    cov = _coverage_of_visits(G, grids_m, geo, visits, min_pts)
    plans = _plans_for(period_start, period_end)
    code_index = {c: i for i, c in enumerate(G["codes"])}
    supervisors = _supervisor_pairs(G["codes"], period_start, period_end) if plans else {}
    has_sup, sup_keys = _supervision(supervisors, code_index, cov.n)
    ck = _PlanCheck(
        period_start=period_start,
        period_end=period_end,
        code_index=code_index,
        min_pts=min_pts,
        visits=visits,
        any_supervisor=bool(supervisors),
        has_sup=has_sup,
        sup_keys=sup_keys,
        checked=_valid_checkins(plans, period_start, period_end),
    )
    _check_plans(plans, day_starts(period_start, period_end), ck, cov)
    tm["plans"] = _time.perf_counter() - t1
    tm["total"] = _time.perf_counter() - t0

    tz = timezone.get_current_timezone()
    return [cov.row(i, tz) for i in range(cov.n)]


def patrol_indicator(period_start, period_end, *, region=None) -> dict:
    """The configurable patrol indicator for evaluation (0–100) over an area (None = city):
    weights["plan_met"] × share of planned grids whose plan was met every day
    + weights["coverage"] × mean covered share; weights from PATROL["INDICATOR_WEIGHTS"]."""

    grids = None
    if region is not None:
        col = {1: None, 2: "district", 3: "street", 4: "community"}[region.level]
        if col:
            grids = UnitGrid.objects.filter(**{col: region})
    rows = patrol_coverage(period_start, period_end, grids)
    return summarize(rows)


def summarize(rows: list[dict]) -> dict:
    weights = conf.get("INDICATOR_WEIGHTS")
    n = len(rows)
    planned = [r for r in rows if r["plan_met"] is not None]
    met = sum(1 for r in planned if r["plan_met"])
    mean_share = sum(r["share"] for r in rows) / n if n else 0.0
    met_rate = met / len(planned) if planned else 0.0
    total_w = sum(weights.values()) or 1.0
    score = (
        100.0 * (weights.get("plan_met", 0) * met_rate + weights.get("coverage", 0) * mean_share) / total_w
    )
    return {
        "grids": n,
        "patrolled": sum(1 for r in rows if r["patrols"] > 0),
        "unpatrolled": sum(1 for r in rows if r["patrols"] == 0),
        "planned": len(planned),
        "plan_met": met,
        "plan_met_rate": round(met_rate, 4),
        "mean_share": round(mean_share, 4),
        "score": round(score, 2),
    }


def day_bounds(day) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


# ----------------------------------------------------------------------------- tracks


def track_points(track: Track) -> dict:
    """A track's points (canonical lon/lat, epoch ms), merged from its batches in time order."""
    blobs = list(track.batches.order_by("t_first").values_list("data", flat=True))
    lon, lat, t, acc, _o = trackcodec.unpack_many(blobs)
    order = np.argsort(t, kind="stable")
    return {"lon": lon[order], "lat": lat[order], "t": t[order], "acc": acc[order]}


def track_geojson(track: Track) -> dict:
    """The track as a GeoJSON Feature: MultiLineString split at gaps (> MAX_JOIN_M)."""

    p = track_points(track)
    parts: list[list[list[float]]] = []
    if len(p["lon"]):
        step = distance_m(p["lon"][:-1], p["lat"][:-1], p["lon"][1:], p["lat"][1:])
        cut = np.flatnonzero(step > conf.get("MAX_JOIN_M")) + 1
        for a, b in zip(np.concatenate([[0], cut]), np.concatenate([cut, [len(p["lon"])]]), strict=False):
            parts.append(
                [
                    [round(float(x), 7), round(float(y), 7)]
                    for x, y in zip(p["lon"][a:b], p["lat"][a:b], strict=False)
                ]
            )
    length = 0.0
    for part in parts:
        if len(part) > 1:
            arr = np.asarray(part)
            length += float(distance_m(arr[:-1, 0], arr[:-1, 1], arr[1:, 0], arr[1:, 1]).sum())
    return {
        "type": "Feature",
        "geometry": {"type": "MultiLineString", "coordinates": parts},
        "properties": {
            "id": track.pk,
            "person": track.person.name,
            "state": track.state,
            "started_at": track.started_at.isoformat(),
            "ended_at": track.ended_at.isoformat() if track.ended_at else None,
            "points": int(len(p["lon"])),
            "length_m": round(length, 1),
            "gaps": max(0, len(parts) - 1),
        },
    }


# ----------------------------------------------------------------------------- sweeps


def campaign_places(campaign: SweepCampaign, user):
    qs = Place.objects.visible_to(user).filter(is_active=True)
    if campaign.place_types:
        qs = qs.filter(place_type__in=campaign.place_types)
    if campaign.region_id and campaign.region.level > 1:
        col = {2: "district_id", 3: "street_id", 4: "community_id"}[campaign.region.level]
        qs = qs.filter(**{col: campaign.region_id})
    return qs


def campaign_progress(campaign: SweepCampaign, user) -> dict:
    """Counts by street and place type: places, inspected, failed (a hazard found), rectified
    (every hazard's linked case closed). Aggregated in the database, one query."""

    failed_q = InspectionResult.objects.filter(
        inspection__campaign=campaign, inspection__place=OuterRef("pk"), passed=False
    )
    qs = campaign_places(campaign, user).annotate(
        _inspected=Exists(Inspection.objects.filter(campaign=campaign, place=OuterRef("pk"))),
        _failed=Exists(failed_q),
        _open=Exists(failed_q.filter(Q(case__isnull=True) | ~Q(case__state=CaseState.CLOSED))),
    )
    rows = list(
        qs.values("street_id", "place_type")
        .annotate(
            places=Count("id"),
            inspected=Count("id", filter=Q(_inspected=True)),
            failed=Count("id", filter=Q(_failed=True)),
            rectified=Count("id", filter=Q(_failed=True, _open=False)),
        )
        .order_by("street_id", "place_type")
    )
    names = dict(Region.objects.filter(id__in={r["street_id"] for r in rows}).values_list("id", "name"))

    labels = dict(PlaceType.choices)
    total = {"places": 0, "inspected": 0, "failed": 0, "rectified": 0}
    by_type: dict[str, dict] = {}
    by_street: dict[int, dict] = {}
    for r in rows:
        r["street"] = names.get(r["street_id"], "")
        r["type_label"] = str(labels.get(r["place_type"], r["place_type"]))
        for k in total:
            total[k] += r[k]
            by_type.setdefault(r["place_type"], {"label": r["type_label"], **{x: 0 for x in total}})[k] += r[
                k
            ]
            by_street.setdefault(r["street_id"], {"label": r["street"], **{x: 0 for x in total}})[k] += r[k]

    def pct(a, b):
        return round(100.0 * a / b, 1) if b else 0.0

    total["inspected_pct"] = pct(total["inspected"], total["places"])
    total["rectified_pct"] = pct(total["rectified"], total["failed"])
    return {"rows": rows, "total": total, "by_type": by_type, "by_street": by_street}
