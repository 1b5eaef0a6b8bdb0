"""Coverage of tracks against hand-computed areas, plans met / not met, check-in radius rules,
idempotent point batches."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.patrol import actions as A
from urbangrid.patrol.models import CheckIn, Track, TrackBatch
from urbangrid.patrol.queries import day_bounds, patrol_coverage, summarize, track_geojson

from .conftest import to_lonlat

pytestmark = pytest.mark.django_db

# Regular 16-gon (buffer quad_segs=4) of radius 20: the round cap at a track's end.
HALF_CAP = 0.5 * 0.5 * 16 * 20**2 * math.sin(2 * math.pi / 16)


def day():
    return timezone.localdate() - timedelta(days=1)


def at(hh, mm=0, d=None):
    d = d or day()
    return timezone.make_aware(datetime(d.year, d.month, d.day, hh, mm))


def points(xs, ys, start, step_s=10):
    lon, lat = to_lonlat(xs, ys)
    t0 = int(start.timestamp() * 1000)
    return [
        [float(a), float(b), t0 + i * step_s * 1000, 5.0]
        for i, (a, b) in enumerate(zip(lon, lat, strict=False))
    ]


def walk(user, xs, ys, start, *, client_id=None, plan=None, batch=20):
    """A whole patrol through the actions: start, batches of points, stop."""
    track, _ = A.do_start_track(
        user,
        client_id=client_id or f"c{start.timestamp()}{xs[0]}{ys[0]}{user.pk}",
        plan=plan,
        started_at=start,
    )
    pts = points(xs, ys, start)
    for seq, i in enumerate(range(0, len(pts), batch)):
        A.do_append_points(user, track, seq=seq, points=pts[i : i + batch])
    A.do_stop_track(user, track, ended_at=start + timedelta(seconds=10 * len(pts)))
    return Track.objects.get(pk=track.pk)


def line(x0, x1, y, step=14.0):
    xs = np.arange(x0, x1 + 1e-9, step)
    return xs, np.full_like(xs, y)


def cov(geo):
    """Coverage of yesterday over this module's grids (the shared demo city is in the DB too)."""
    return patrol_coverage(*day_bounds(day()), [g.pk for g in geo.grids])


def rows_by_code(rows):
    return {r["code"]: r for r in rows}


def test_straight_track_through_a_100m_grid_covers_40_percent(geo, people):
    xs, ys = line(-60, 160, 50)
    walk(people.worker, xs, ys, at(10))
    rows = rows_by_code(cov(geo))
    g0, g1, g2 = (rows[g.code] for g in geo.grids[:3])
    # 20 m each side of a line crossing the whole 100 m square: 40 × 100 m² of 10,000 m².
    # Default method: a 2 m raster: each strip edge is exact to one cell (2 m × 100 m = 2 %).
    assert g0["share"] == pytest.approx(0.4, abs=0.025)
    assert g0["covered_m2"] == pytest.approx(4000, abs=250)
    # The last point lies 50 m into grid 1 (x = −60 + 15 × 14 = 150): 50 × 40 m plus the round cap.
    assert g1["covered_m2"] == pytest.approx(50 * 40 + HALF_CAP, abs=250)
    assert g2["covered_m2"] == 0 and g2["patrols"] == 0 and g2["reason"] == "unpatrolled"
    assert g0["patrols"] == 1 and g0["area_m2"] == pytest.approx(10000, abs=0.5)


def test_overlapping_passes_count_once_and_crossing_tracks_add_up(geo, people):
    xs, ys = line(-60, 160, 50)
    walk(people.worker, xs, ys, at(9))
    walk(people.worker2, xs, ys, at(11))
    ys2, xs2 = line(-60, 160, 50)  # a vertical pass x = 50 through grid 0
    walk(people.worker, xs2, ys2, at(15))
    g0 = rows_by_code(cov(geo))[geo.grids[0].code]
    # Two strips of 40 × 100 crossing: 4000 + 4000 − 40 × 40.
    assert g0["covered_m2"] == pytest.approx(6400, abs=400)
    assert g0["patrols"] == 3


def test_gps_gap_is_not_drawn_across_the_grid(geo, people):
    # Two points 300 m apart (> MAX_JOIN_M): the straight line between them is not a patrol.
    walk(people.worker, np.array([-50.0, -40.0, 250.0, 260.0]), np.full(4, 50.0), at(10))
    rows = rows_by_code(cov(geo))
    assert rows[geo.grids[0].code]["covered_m2"] == 0
    assert rows[geo.grids[1].code]["covered_m2"] == 0
    # the points at 250/260 lie in grid 2 and cover part of it
    assert rows[geo.grids[2].code]["covered_m2"] > 0


@pytest.mark.parametrize("method", ["vector", "raster"])
def test_exact_methods_on_hand_computed_tracks(method):
    """The exact vector method hits the hand-computed areas to 1 m²; the raster within 1 %."""
    import shapely

    from urbangrid.patrol.coverage import compute_geometry

    grids = np.array([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    x = np.concatenate([np.arange(-60, 161, 14.0), np.full(16, 50.0)])
    y = np.concatenate([np.full(16, 50.0), np.arange(-60, 161, 14.0)])
    track = np.repeat([0, 1], 16)
    r = compute_geometry(grids, x, y, np.arange(32) * 10.0, track, buffer_m=20, max_join_m=150, method=method)
    tol = 1 if method == "vector" else 400
    assert r.covered_m2[0] == pytest.approx(6400, abs=tol)  # two crossing 40 m strips
    assert r.covered_m2[1] == pytest.approx(50 * 40 + HALF_CAP, abs=tol)


def test_vectorised_and_naive_coverage_agree(geo):
    import shapely

    from urbangrid.patrol.coverage import compute_geometry, naive_coverage

    rng = np.random.default_rng(4)
    grids = np.array(
        [shapely.box(i * 100, j * 100, i * 100 + 100, j * 100 + 100) for i in range(6) for j in range(4)]
    )
    x = np.cumsum(rng.normal(0, 10, 600)) + 300
    y = np.cumsum(rng.normal(0, 10, 600)) + 200
    track = np.repeat([0, 1, 2], 200)
    fast = compute_geometry(
        grids, x, y, np.arange(600) * 10.0, track, buffer_m=20, max_join_m=150, method="vector"
    )
    raster = compute_geometry(
        grids, x, y, np.arange(600) * 10.0, track, buffer_m=20, max_join_m=150, method="raster"
    )
    assert abs(raster.covered_m2.sum() / fast.covered_m2.sum() - 1) < 0.02
    assert np.abs(raster.covered_m2 - fast.covered_m2).max() < 250
    slow = naive_coverage(grids, x, y, track, buffer_m=20, max_join_m=150)
    # Chunk joints are polygonal caps instead of the whole line's round joins: < 1 % apart.
    assert np.allclose(fast.covered_m2, slow, rtol=0.01, atol=1)
    assert fast.covered_m2.sum() > 1000


def test_plan_met_and_not_met(geo, people):
    plan = A.do_create_plan(
        people.leader_a,
        name="东关一社区每日两巡",
        region=geo.a1,
        min_patrols_per_day=2,
        valid_from=day() - timedelta(days=3),
    )
    xs, ys = line(10, 90, 50)
    walk(people.worker, xs, ys, at(9))  # the grid's supervisor
    walk(people.worker2, xs, ys, at(10))  # not a supervisor of grid 0: does not count for the plan
    rows = rows_by_code(cov(geo))
    g0 = rows[geo.grids[0].code]
    assert g0["patrols"] == 2 and g0["plan_ids"] == [plan.pk]
    assert g0["plan_met"] is False and g0["reason"] == "plan_not_met"
    walk(people.worker, xs, ys, at(16))
    rows = rows_by_code(cov(geo))
    assert rows[geo.grids[0].code]["plan_met"] is True
    assert rows[geo.grids[0].code]["flagged"] is False
    # Grid 1 of the same community saw nobody; grid 4 (community A2) has no plan.
    assert rows[geo.grids[1].code]["plan_met"] is False and rows[geo.grids[1].code]["reason"] == "unpatrolled"
    assert rows[geo.grids[4].code]["plan_met"] is None
    s = summarize(list(rows.values()))
    assert s["planned"] == 4 and s["plan_met"] == 1 and s["unpatrolled"] == 7


def test_night_window_and_named_patroller(geo, people):
    from urbangrid.orgs.models import Person

    worker2 = Person.objects.get(user=people.worker2)
    A.do_create_plan(
        people.leader_a,
        name="背街小巷夜巡",
        region=geo.a1,
        grid_codes=[geo.grids[0].code],
        min_patrols_per_day=0,
        windows=[{"start": "20:00", "end": "23:00", "min": 1, "label": "夜巡"}],
        patroller=worker2,
        valid_from=day(),
    )
    xs, ys = line(10, 90, 50)
    walk(people.worker2, xs, ys, at(14))
    code = geo.grids[0].code
    assert rows_by_code(cov(geo))[code]["plan_met"] is False
    walk(people.worker, xs, ys, at(21))  # right time, wrong person
    assert rows_by_code(cov(geo))[code]["plan_met"] is False
    walk(people.worker2, xs, ys, at(21, 30))
    assert rows_by_code(cov(geo))[code]["plan_met"] is True


def test_checkpoint_by_track_and_explicit_radius_rules(geo, people):
    cx, cy = to_lonlat([50], [50])
    plan = A.do_create_plan(
        people.leader_a,
        name="重点部位打卡",
        region=geo.a1,
        grid_codes=[geo.grids[0].code],
        min_patrols_per_day=1,
        valid_from=day() - timedelta(days=1),
        checkpoints=[{"name": "学校门口", "lon": cx[0], "lat": cy[0], "radius_m": 30}],
    )
    cp = plan.checkpoints.get()
    # A track 40 m from the point never reaches the 30 m radius: no check-in, plan not met.
    xs, ys = line(10, 90, 90)
    walk(people.worker, xs, ys, at(9))
    assert not CheckIn.objects.exists()
    assert rows_by_code(cov(geo))[geo.grids[0].code]["plan_met"] is False
    # A track 20 m away checks in automatically.
    xs, ys = line(10, 90, 70)
    t = walk(people.worker, xs, ys, at(10))
    ci = CheckIn.objects.get(track=t)
    # first point inside the radius: x = 38 on y = 70, i.e. √(12² + 20²) m from the point
    assert ci.valid and ci.method == "track" and ci.distance_m == pytest.approx(math.hypot(12, 20), abs=0.5)
    row = rows_by_code(cov(geo))[geo.grids[0].code]
    assert row["plan_met"] is True and row["checkpoints_done"] == 1

    # Explicit check-ins: 25 m valid, 35 m invalid (kept for audit), retry returns the first.
    track, _ = A.do_start_track(
        people.worker, client_id="explicit", started_at=timezone.now() - timedelta(minutes=5)
    )
    lon, lat = to_lonlat([75, 85], [50, 50])
    ok = A.do_check_in(people.worker, track, cp, lon=lon[0], lat=lat[0], client_key="k1")
    far = A.do_check_in(people.worker, track, cp, lon=lon[1], lat=lat[1], client_key="k2")
    again = A.do_check_in(people.worker, track, cp, lon=lon[1], lat=lat[1], client_key="k1")
    assert ok.valid and ok.distance_m == pytest.approx(25, abs=1)
    assert not far.valid and far.distance_m == pytest.approx(35, abs=1)
    assert again.pk == ok.pk


def test_checkpoint_window(geo, people):
    cx, cy = to_lonlat([50], [50])
    plan = A.do_create_plan(
        people.leader_a,
        name="夜间打卡",
        region=geo.a1,
        min_patrols_per_day=1,
        valid_from=day() - timedelta(days=1),
        checkpoints=[
            {
                "name": "背街",
                "lon": cx[0],
                "lat": cy[0],
                "radius_m": 30,
                "window_start": "20:00",
                "window_end": "02:00",
            }
        ],
    )
    xs, ys = line(10, 90, 50)
    walk(people.worker, xs, ys, at(10))
    assert not CheckIn.objects.exists()  # in radius but outside the window
    walk(people.worker, xs, ys, at(23, 30))
    assert CheckIn.objects.filter(checkpoint__plan=plan, valid=True).count() == 1
    assert A.in_window(1 * 3600, plan.checkpoints.get().window_start, plan.checkpoints.get().window_end)


def test_point_batches_are_idempotent_and_tolerate_gaps_and_disorder(geo, people):
    start = timezone.now() - timedelta(minutes=30)
    track, created = A.do_start_track(people.worker, client_id="phone-1", started_at=start)
    again, created2 = A.do_start_track(people.worker, client_id="phone-1")
    assert created and not created2 and again.pk == track.pk
    xs, ys = line(0, 300, 50)
    pts = points(xs, ys, start)
    r3 = A.do_append_points(people.worker, track, seq=3, points=pts[14:])  # late batch first
    r1 = A.do_append_points(people.worker, track, seq=1, points=pts[:7])
    dup = A.do_append_points(people.worker, track, seq=1, points=pts[:7])  # retry
    assert r3["accepted"] == len(pts) - 14 and r1["accepted"] == 7
    assert dup["duplicate"] and dup["accepted"] == 0
    track.refresh_from_db()
    assert track.point_count == len(pts) - 7 and track.batch_count == 2  # batch 2 never came: a gap
    assert TrackBatch.objects.filter(track=track).count() == 2
    assert track.street_id == geo.sa.pk
    feature = track_geojson(track)
    # The gap between point 6 (x=84) and 14 (x=196) is 112 m < MAX_JOIN_M: still one line.
    assert feature["properties"]["points"] == len(pts) - 7
    # Bad input changes nothing.
    with pytest.raises(InvalidInput):
        A.do_append_points(people.worker, track, seq=9, points=[[200.0, 95.0, pts[0][2], 5]])
    with pytest.raises(InvalidInput):
        A.do_append_points(
            people.worker, track, seq=9, points=[[pts[0][0], pts[0][1], pts[0][2] + 3600_000_00, 5]]
        )
    with pytest.raises(NotFound):
        A.do_append_points(people.worker2, track, seq=9, points=pts[:2])
    assert TrackBatch.objects.filter(track=track).count() == 2


def test_a_track_that_starts_outside_the_district_is_placed_by_its_first_point_inside(geo, people):
    start = timezone.now() - timedelta(minutes=30)
    track, _ = A.do_start_track(people.worker, client_id="phone-edge", started_at=start)
    xs = np.array([-200.0, -150.0, -100.0, 20.0, 40.0, 60.0])
    A.do_append_points(people.worker, track, seq=0, points=points(xs, np.full_like(xs, 50.0), start))
    track.refresh_from_db()
    assert track.street_id == geo.sa.pk and track.community_id == geo.a1.pk


def test_gcj02_points_are_converted_to_canonical(geo, people):
    from urbangrid.geo.crs import from_canonical_many

    start = timezone.now() - timedelta(minutes=5)
    track, _ = A.do_start_track(people.worker, client_id="gcj", crs="gcj02", started_at=start)
    lon, lat = to_lonlat([50], [50])
    glon, glat = from_canonical_many(lon, lat, "gcj02")
    A.do_append_points(
        people.worker, track, seq=0, points=[[glon[0], glat[0], int(start.timestamp() * 1000), 3]]
    )
    from urbangrid.patrol.queries import track_points

    p = track_points(track)
    assert A.distance_m(p["lon"][0], p["lat"][0], lon[0], lat[0]) < 0.05


def test_only_grid_workers_patrol_and_plans_stay_in_area(geo, people):
    from urbangrid.lib.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        A.do_start_track(people.leader_a, client_id="x")
    with pytest.raises(PermissionDenied):
        A.do_create_plan(people.worker, name="x", region=geo.a1, valid_from=day())
    with pytest.raises(NotFound):
        A.do_create_plan(people.leader_b, name="越界", region=geo.a1, valid_from=day())
    with pytest.raises(InvalidInput):
        A.do_create_plan(
            people.leader_a,
            name="坏窗口",
            region=geo.a1,
            valid_from=day(),
            windows=[{"start": "25:00", "end": "02:00"}],
        )
    with pytest.raises(InvalidInput):
        A.do_create_plan(
            people.leader_a, name="外网格", region=geo.a1, valid_from=day(), grid_codes=[geo.grids[6].code]
        )
    plan = A.do_create_plan(people.centre, name="全市", region=geo.city, valid_from=day())
    from urbangrid.lib.models import AuditEvent

    assert AuditEvent.objects.filter(action="patrol.create_plan", object_id=str(plan.pk)).exists()


def test_silent_tracks_are_closed_as_abandoned(geo, people):
    start = timezone.now() - timedelta(hours=6)
    track, _ = A.do_start_track(people.worker, client_id="silent", started_at=start)
    A.do_append_points(people.worker, track, seq=0, points=points(*line(0, 50, 50), start))
    assert A.do_close_abandoned_tracks() == 1
    track.refresh_from_db()
    assert track.state == "abandoned" and track.ended_at == track.last_point_at
    assert A.do_close_abandoned_tracks() == 0
