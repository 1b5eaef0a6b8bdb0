"""Bulk rows must be indistinguishable from action-produced rows for the same scenario."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from urbangrid.cases import actions as A
from urbangrid.cases import bulkgen
from urbangrid.cases.models import Case, CaseEvent, CaseTask, Report
from urbangrid.testing.world import photo, report

TZ = ZoneInfo("Asia/Shanghai")
IGNORED = {
    "id",
    "number",
    "public_token",
    "lon",
    "lat",
    "input_lon",
    "input_lat",
    "description",
    "created_at",
    "updated_at",
    "suggestion",
}


def profile(case):
    """Which columns are set (not null/empty/zero/false) on the case."""
    out = {}
    for f in Case._meta.concrete_fields:
        if f.attname in IGNORED:
            continue
        v = getattr(case, f.attname)
        out[f.attname] = v not in (None, "", 0, False, {})
    return out


def test_bulk_row_matches_action_row(world):
    w = world
    t0 = datetime(2026, 11, 3, 9, 0, tzinfo=TZ)
    c = report(w, cls="parking", now=t0).case
    A.do_register(w.user("sam"), c, now=t0 + timedelta(minutes=10))
    A.do_dispatch(w.user("dan"), c, now=t0 + timedelta(minutes=20))
    A.do_accept(w.user("hank"), c, now=t0 + timedelta(minutes=30))
    A.do_report_back(
        w.user("hank"),
        c,
        response="persuade",
        photos_before=photo(),
        photos_after=photo((0, 1, 0)),
        now=t0 + timedelta(hours=2),
    )
    A.do_request_check(w.user("olivia"), c, now=t0 + timedelta(hours=2, minutes=5))
    A.do_check(
        w.user("grace"), c, passed=True, photos=photo((0, 0, 1)), now=t0 + timedelta(hours=2, minutes=20)
    )
    A.do_close(w.user("sam"), c, now=t0 + timedelta(hours=2, minutes=30))
    acted = Case.objects.get(pk=c.pk)

    grid = w.grids["A1"]
    g = (
        grid.id,
        grid.code,
        grid.community_id,
        grid.street_id,
        grid.district_id,
        grid.min_lon,
        grid.min_lat,
        grid.max_lon,
        grid.max_lat,
    )
    bulkgen.generate(
        1, open_fraction=0.0, classes=[w.classes["parking"]], grids=[g], forced_times=[t0 + timedelta(days=1)]
    )
    bulk = Case.objects.exclude(pk=c.pk).get()
    assert profile(bulk) == profile(acted)
    assert bulk.state == acted.state == "closed" and bulk.version == acted.version
    assert bulk.assigned_unit_id == acted.assigned_unit_id and bulk.tier == acted.tier

    def ev(case):
        return list(
            CaseEvent.objects.filter(case=case)
            .order_by("at", "id")
            .values_list("action", "from_state", "to_state", "role")
        )  # noqa: E731

    assert ev(bulk) == ev(acted)
    assert list(CaseTask.objects.filter(case=bulk).values_list("role", "state")) == list(
        CaseTask.objects.filter(case=acted).values_list("role", "state")
    )
    assert Report.objects.filter(case=bulk).count() == Report.objects.filter(case=acted).count() == 1
    assert bulk.number[:8] == "20261104"


def test_bulk_open_rows_have_running_deadlines(world):
    w = world
    grid = w.grids["A1"]
    g = (
        grid.id,
        grid.code,
        grid.community_id,
        grid.street_id,
        grid.district_id,
        grid.min_lon,
        grid.min_lat,
        grid.max_lon,
        grid.max_lat,
    )
    bulkgen.generate(40, open_fraction=1.0, classes=[w.classes["stall"]], grids=[g], seed=3)
    for c in Case.objects.all():
        assert c.state != "closed"
        assert (c.due_at is None) == (c.state == "pending_check")
        assert CaseEvent.objects.filter(case=c).count() == c.version
