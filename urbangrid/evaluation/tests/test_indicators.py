"""Every indicator against values computed by hand on the fixed world (see world.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.db.models import Q

from urbangrid.evaluation import indicators
from urbangrid.evaluation.periods import Period
from urbangrid.lib.errors import InvalidInput

from .world import AS_OF, G1, G2, TZ, t

OCT = Period.parse("2026-10")


def values(kind, key):
    ms = indicators.compute(kind, OCT, as_of=AS_OF).get(str(key), {})
    return {code: (m.num, m.den) for code, m in ms.items()}


def test_registry_defines_every_domain_indicator_once():
    codes = [i.code for i in indicators._INDICATORS]
    assert len(codes) == len(set(codes))
    for code in [
        "valid_report_rate",
        "on_time_verify_rate",
        "on_time_check_rate",
        "missed_report_rate",
        "public_report_rate",
        "on_time_register_rate",
        "accurate_register_rate",
        "on_time_dispatch_rate",
        "accurate_dispatch_rate",
        "handling_rate",
        "on_time_handling_rate",
        "rework_rate",
        "closing_rate",
        "on_time_closing_rate",
        "overdue_unhandled",
        "postpone_rate",
        "late_closing_rate",
        "unclosed_rate",
        "intake_volume",
        "dispatched",
        "registered",
        "spot_pass_rate",
        "on_time_close_rate",
    ]:
        assert code in indicators.REGISTRY
    for ind in indicators._INDICATORS:
        assert ind.kinds and ind.direction in ("higher", "lower") and str(ind.name) and str(ind.description)


def test_handling_unit(world):
    u1 = values("unit", world.u1.id)
    # due: A, B, C (open overdue), D (postponed); G shelved and H cancelled are out.
    assert u1["handling_due"] == (4, None)
    assert u1["handled"] == (3, None)
    assert u1["handling_rate"] == (3, 4)
    assert u1["on_time_handling_rate"] == (2, 4)  # B late, C open overdue = late
    assert u1["rework_rate"] == (1, 4)  # B reworked twice counts once
    assert u1["postpone_rate"] == (1, 4)
    assert u1["closing_rate"] == (2, 4)
    assert u1["on_time_closing_rate"] == (1, 4)
    assert u1["late_closing_rate"] == (1, 4)
    assert u1["unclosed_rate"] == (2, 4)
    assert u1["overdue_unhandled"] == (1, None)
    assert u1["overdue_unhandled_rate"] == (1, 4)
    # U2: E's deadline is 1 October 03:00 (reported in September) → in October; F (November)
    # and J (September) are not.
    u2 = values("unit", world.u2.id)
    assert u2["handling_due"] == (1, None)
    assert u2["on_time_handling_rate"] == (0, 1)
    assert u2["late_closing_rate"] == (1, 1)
    assert u2["overdue_unhandled"] == (0, None)


def test_zero_denominator_is_none_not_zero(world):
    assert values("unit", world.u3.id) == {}
    m = indicators.Measure(0, 0)
    assert m.value is None
    assert indicators.Measure(3, None).value == 3.0
    # September for U1: nothing due → no row at all; a rate's value is None, shown as "—".
    sep = indicators.compute("unit", Period.parse("2026-09"), as_of=AS_OF)
    assert str(world.u1.id) not in sep


def test_regions(world):
    s1 = values("street", world.s1.id)
    assert s1["registered"] == (4, None)  # A B F G (E, J registered in September; I rejected)
    assert s1["public_report_rate"] == (2, 4)  # B, G by hotline
    assert s1["handling_due"] == (3, None)  # A B E
    assert s1["on_time_handling_rate"] == (1, 3)
    assert s1["closing_rate"] == (3, 3)
    s2 = values("street", world.s2.id)
    assert s2["registered"] == (3, None)
    assert s2["public_report_rate"] == (1, 3)
    assert s2["on_time_handling_rate"] == (1, 2)
    assert s2["closing_rate"] == (0, 2)
    assert s2["unclosed_rate"] == (2, 2)
    d = values("district", world.district.id)
    assert d["registered"] == (7, None)
    assert d["public_report_rate"] == (3, 7)
    assert d["on_time_handling_rate"] == (2, 5)
    assert d["closing_rate"] == (3, 5)
    # K: registration overdue and open → late; I (rejected, never registered) is out.
    assert d["on_time_register_rate"] == (6, 8)
    assert d["accurate_register_rate"] == (6, 7)  # H cancelled
    assert d["on_time_dispatch_rate"] == (5, 6)  # B late, H cancelled out
    assert d["accurate_dispatch_rate"] == (6, 7)  # B returned once
    # Roll-up consistency: grid = community = street here (one grid per community).
    assert values("grid", G1) == values("community", world.c1.id)
    assert values("community", world.c1.id) == s1
    assert values("grid", G2)["registered"] == (3, None)


def test_grid_workers(world):
    gw1 = values("grid_worker", world.people["gw1"].id)
    assert gw1["reports"] == (3, None)  # A F I
    assert gw1["valid_report_rate"] == (2, 3)  # I rejected
    assert gw1["on_time_verify_rate"] == (0, 2)  # B late, L open overdue (field worker gw1)
    assert gw1["on_time_check_rate"] == (4, 5)  # A B E J on time, F late
    assert gw1["missed_report_rate"] == (2, 4)  # G1: B, G found by the public
    gw2 = values("grid_worker", world.people["gw2"].id)
    assert gw2["valid_report_rate"] == (1, 2)  # H cancelled
    assert gw2["on_time_verify_rate"] == (1, 2)  # D on time, K late
    assert gw2["on_time_check_rate"] == (0, 1)  # D open overdue, field worker gw2
    assert gw2["missed_report_rate"] == (1, 3)


def test_centre_staff(world):
    sl = values("shift_leader", world.people["sl"].id)
    assert sl["registered"] == (7, None)
    assert sl["on_time_register_rate"] == (6, 7)  # C late; K is nobody's yet
    assert sl["accurate_register_rate"] == (6, 7)
    assert sl["on_time_close_rate"] == (3, 5)  # A F J within 4 h of the check; B E not
    dp = values("dispatcher", world.people["dp"].id)
    assert dp["dispatched"] == (7, None)
    assert dp["on_time_dispatch_rate"] == (5, 6)
    assert dp["accurate_dispatch_rate"] == (6, 7)
    op = values("intake_operator", world.people["op"].id)
    assert op["intake_volume"] == (4, None)  # the September event is out
    assert op["on_time_verify_dispatch_rate"] == (1, 2)  # D sent after 45 min
    assert op["on_time_check_dispatch_rate"] == (1, 2)  # B sent 60 min after report-back


def test_running_period_counts_only_deadlines_already_past(world):
    # As of 15 October 12:00: C (due 25 Oct) and D (due 20 Oct) are not due yet.
    ms = indicators.compute("unit", OCT, as_of=t(10, 15, 12))[str(world.u1.id)]
    assert (ms["on_time_handling_rate"].num, ms["on_time_handling_rate"].den) == (1, 2)  # A on time, B late


def test_drill_down_matches_numbers(world):
    ids = lambda qs: sorted(c.number for c in qs)  # noqa: E731
    c = world.cases
    den = indicators.drill_cases(
        "on_time_handling_rate", "unit", str(world.u1.id), OCT, "denominator", as_of=AS_OF
    )
    num = indicators.drill_cases(
        "on_time_handling_rate", "unit", str(world.u1.id), OCT, "numerator", as_of=AS_OF
    )
    assert ids(den) == sorted(c[k].number for k in "ABCD")
    assert ids(num) == sorted(c[k].number for k in "AD")
    gw1 = str(world.people["gw1"].id)
    assert ids(indicators.drill_cases("on_time_verify_rate", "grid_worker", gw1, OCT, as_of=AS_OF)) == sorted(
        c[k].number for k in "BL"
    )
    assert ids(
        indicators.drill_cases("missed_report_rate", "grid_worker", gw1, OCT, "numerator", as_of=AS_OF)
    ) == sorted(c[k].number for k in "BG")
    op = str(world.people["op"].id)
    assert ids(
        indicators.drill_cases("on_time_verify_dispatch_rate", "intake_operator", op, OCT, as_of=AS_OF)
    ) == sorted(c[k].number for k in "BD")
    # Jurisdiction: the east street's leader sees none of the west town's cases.
    leader = world.users["leader1"]
    west = indicators.drill_cases("handling_due", "street", str(world.s2.id), OCT, user=leader, as_of=AS_OF)
    assert list(west) == []
    with pytest.raises(InvalidInput):
        indicators.drill_cases("public_report_rate", "unit", str(world.u1.id), OCT)


@pytest.mark.parametrize(
    "text,start,end,kind",
    [
        ("2026-10", date(2026, 10, 1), date(2026, 11, 1), "month"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "month"),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "quarter"),
        ("2026-W42", date(2026, 10, 12), date(2026, 10, 19), "week"),
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "year"),
        ("2026-10-05", date(2026, 10, 5), date(2026, 10, 6), "day"),
        ("2026-10-01..2026-10-15", date(2026, 10, 1), date(2026, 10, 16), "custom"),
    ],
)
def test_periods(text, start, end, kind):
    p = Period.parse(text)
    assert (p.start, p.end, p.kind) == (start, end, kind)
    assert Period.parse(p.label) == p
    assert p.previous().end == p.start


def test_period_boundaries_are_local_midnight(world):
    p = Period.parse("2026-10-01")
    assert p.start_dt.isoformat().startswith("2026-10-01T00:00:00+08:00")
    assert Period.parse("2026-01").previous().label == "2025-12"
    with pytest.raises(InvalidInput):
        Period.parse("2026-13")
    with pytest.raises(InvalidInput):
        Period.parse("last month")


def _aggregates(fn):
    """The aggregate statements ``fn`` sends (not the savepoints and settings around them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"]]


def test_query_count_is_per_period_window_not_per_subject(world):
    codes = [c for c in indicators.REGISTRY if indicators.REGISTRY[c].source == "case"]
    # Every handling indicator: due to handle in the period.
    assert len(_aggregates(lambda: indicators.compute("unit", OCT, codes=codes, as_of=AS_OF))) == 1
    # All four region levels at once: registered, due to register, due to dispatch, dispatched,
    # due to handle; plus spot checks.
    regions = ["grid", "community", "street", "district"]
    assert len(_aggregates(lambda: indicators.compute_many(regions, OCT, as_of=AS_OF))) == 6


@pytest.mark.parametrize(
    "checked,closed,on_time",
    [
        ((10, 0, 0, 0), (14, 0, 0, 0), True),  # exactly at the limit (4 h)
        ((10, 0, 0, 0), (14, 0, 0, 1), False),  # one microsecond late
        ((10, 0, 0, 500_000), (14, 0, 0, 500_000), True),  # fractions on both sides
        ((10, 0, 0, 500_000), (14, 0, 0, 0), True),
        ((10, 0, 0, 500_000), (14, 0, 0, 500_001), False),
        ((23, 59, 59, 999_999), (27, 59, 59, 999_999), True),  # across midnight (27 h = next day 3:59)
    ],
)
def test_not_later_than_is_exact_to_the_microsecond(world, checked, closed, on_time):
    """a <= b + limit as the engine compiles it (plain SQL on SQLite, no per-row Python)."""
    from datetime import timedelta

    from urbangrid.cases.models import Case

    base = datetime(2026, 10, 5, tzinfo=TZ)

    def at(h, m, s, us):
        return base + timedelta(hours=h, minutes=m, seconds=s, microseconds=us)

    case = world.cases["A"]
    Case.objects.filter(pk=case.pk).update(checked_at=at(*checked), closed_at=at(*closed))
    q = Case.objects.filter(pk=case.pk)
    assert (
        q.filter(indicators.NotLaterThan("closed_at", "checked_at", timedelta(hours=4))).exists() is on_time
    )
    assert q.filter(~Q(indicators.NotLaterThan("closed_at", "checked_at", timedelta(hours=4)))).exists() is (
        not on_time
    )
    Case.objects.filter(pk=case.pk).update(checked_at=None)
    assert not q.filter(indicators.NotLaterThan("closed_at", "checked_at", timedelta(hours=4))).exists()


def test_every_indicator_window_is_a_conjunct_of_its_base_and_one_range():
    """The engine drives each aggregate by an index range over the window's one timestamp."""
    c = indicators.Ctx.for_period(OCT, AS_OF)
    for ind in indicators._INDICATORS:
        window = ind.window(c)
        cols = {lookup.rsplit("__", 1)[0] for lookup, _ in window.children}
        assert len(cols) == 1 and len(window.children) == 2, ind.code
        assert all(w in ind.base_q(c).children for w in window.children), ind.code


def test_each_statement_reads_one_window(world):
    """The whole evaluation (every kind) is one GROUP BY per (source, period window), each bounded
    by a range on that window's one timestamp: every kind needing a window shares its scan."""
    c = indicators.Ctx.for_period(OCT, AS_OF)
    windows = {(i.source, i.window(c)) for i in indicators._INDICATORS}
    sql = _aggregates(lambda: indicators.compute_many(indicators.K.values, OCT, as_of=AS_OF))
    assert len(sql) == len(windows) == 11
    assert all("UNION" not in s for s in sql)
