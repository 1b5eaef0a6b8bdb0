"""Scheme scoring, grades, rankings with change, publishing (freeze) and scheme versions."""

from __future__ import annotations

import pytest

from urbangrid.evaluation import actions
from urbangrid.evaluation.models import Assessment, AssessmentResult, Scheme
from urbangrid.evaluation.periods import Period
from urbangrid.evaluation.scoring import evaluate, grade_for, rank_rows, resolve_version
from urbangrid.lib.errors import Conflict, InvalidInput, PermissionDenied

from .world import AS_OF, t

OCT = Period.parse("2026-10")


@pytest.mark.parametrize(
    "total,grade",
    [
        (100, "A"),
        (90, "A"),
        (89.99, "B"),
        (75, "B"),
        (74.9, "C"),
        (60, "C"),
        (59.9, "D"),
        (40, "D"),
        (39.99, "E"),
        (0, "E"),
        (None, ""),
    ],
)
def test_grades(total, grade):
    assert grade_for(total) == grade


def by_key(ev):
    return {r.subject.key: r for r in ev.rows}


def test_unit_scores_by_hand(world):
    v = resolve_version("city")
    rows = by_key(evaluate("unit", OCT, v, as_of=AS_OF))
    u1, u2, u3 = rows[str(world.u1.id)], rows[str(world.u2.id)], rows[str(world.u3.id)]
    # U1: closing 50, on-time 50, rework (1-0.25)=75, handled volume 3 = best → 100
    assert u1.scores == {
        "closing_rate": 50.0,
        "on_time_handling_rate": 50.0,
        "rework_rate": 75.0,
        "handled": 100.0,
    }
    assert u1.base == pytest.approx(62.5)
    # B's reporter gave satisfaction 1: one complaint at −0.5
    assert u1.adjustments == {"complaint": {"count": 1, "points": -0.5}}
    assert u1.total == pytest.approx(62.0) and u1.grade == "C"
    # U2: closing 100, on-time 0, rework 100, volume 1/3 of the best
    assert u2.base == pytest.approx((3000 + 0 + 3000 + 10 * 100 / 3) / 100)
    assert u2.grade == "C"
    # U3 had nothing due: no score, no grade, no rank (never 0)
    assert u3.base is None and u3.total is None and u3.grade == "" and u3.rank is None
    assert (u2.rank, u1.rank) == (1, 2)


def test_missing_indicator_drops_its_weight(world):
    # The district scheme weighs spot_pass_rate 20 %, but nothing was re-inspected: the other 80 % count.
    v = resolve_version("district")
    u1 = by_key(evaluate("unit", OCT, v, as_of=AS_OF))[str(world.u1.id)]
    assert u1.scores["spot_pass_rate"] is None
    assert u1.base == pytest.approx((20 * 50 + 40 * 50 + 20 * 75) / 80)


def test_grid_worker_scores(world):
    v = resolve_version("city")
    rows = by_key(evaluate("grid_worker", OCT, v, as_of=AS_OF))
    gw1, gw2 = rows[str(world.people["gw1"].id)], rows[str(world.people["gw2"].id)]
    assert gw1.base == pytest.approx((40 * 200 / 3 + 20 * 50 + 20 * 0 + 20 * 80) / 100)
    assert gw2.base == pytest.approx((40 * 50 + 20 * 200 / 3 + 20 * 50 + 20 * 0) / 100)
    assert gw1.grade == "D" and gw2.grade == "D"


def test_intake_volume_band_table(world):
    v = resolve_version("city")
    op = by_key(evaluate("intake_operator", OCT, v, as_of=AS_OF))[str(world.people["op"].id)]
    assert op.scores["intake_volume"] == 40.0  # 4 tasks: the "≥ 1 → 40" band
    assert op.base == pytest.approx((25 * 40 + 40 * 50 + 35 * 50) / 100)


def test_competition_ranking_and_change(world):
    from urbangrid.evaluation.queries import Subject
    from urbangrid.evaluation.scoring import Row

    rows = [Row(Subject("unit", k, k), {}) for k in "abcd"]
    for r, total in zip(rows, [80, 90, 80, None], strict=True):
        r.total = total
    rank_rows(rows)
    assert [(r.subject.key, r.rank) for r in rows] == [("b", 1), ("a", 2), ("c", 2), ("d", None)]
    # Change since September: in September only U2 (J closed... ) — compute and compare.
    v = resolve_version("city")
    ev = evaluate("street", OCT, v, as_of=AS_OF)
    s = by_key(ev)
    sep = by_key(evaluate("street", OCT.previous(), v, as_of=AS_OF, with_change=False))
    for key, r in s.items():
        assert r.prev_rank == sep[key].rank
        if r.rank and r.prev_rank:
            assert r.change == r.prev_rank - r.rank


def test_publish_freezes_and_needs_new_version_to_recompute(world):
    v = resolve_version("city")
    city = world.users["city"]
    with pytest.raises(PermissionDenied):
        actions.do_publish(world.users["gw1"], v, "unit", OCT)
    a = actions.do_publish(city, v, "unit", OCT, as_of=AS_OF)
    frozen = {r.subject_key: r for r in a.results.all()}
    assert float(frozen[str(world.u1.id)].total) == pytest.approx(62.0)
    assert frozen[str(world.u1.id)].grade == "C"
    assert frozen[str(world.u1.id)].values["on_time_handling_rate"] == {"num": 2, "den": 4, "value": 0.5}
    with pytest.raises(ValueError):
        frozen[str(world.u1.id)].save()
    with pytest.raises(ValueError):
        a.save()
    with pytest.raises(Conflict):
        actions.do_publish(city, v, "unit", OCT)
    # The data changes afterwards: the published rows do not.
    from urbangrid.cases.models import Case

    Case.objects.filter(pk=world.cases["C"].pk).update(handled_at=t(10, 24), state="pending_check")
    assert float(AssessmentResult.objects.get(pk=frozen[str(world.u1.id)].pk).total) == pytest.approx(62.0)
    # Recompute = a new version (same weights) → can publish the same period again.
    v2 = actions.do_new_scheme_version(city, Scheme.objects.get(code="city"), note="recompute")
    assert v2.number == 2 and resolve_version("city").pk == v2.pk
    a2 = actions.do_publish(city, resolve_version("city"), "unit", OCT, as_of=AS_OF)
    u1 = a2.results.get(subject_key=str(world.u1.id))
    assert u1.values["on_time_handling_rate"]["num"] == 3
    assert Assessment.objects.count() == 2
    # A period that has not ended cannot be published.
    with pytest.raises(InvalidInput):
        actions.do_publish(city, v2, "unit", Period.parse("2099-01"))


def test_new_version_validates_weights(world):
    city = world.users["city"]
    scheme = Scheme.objects.get(code="city")
    with pytest.raises(InvalidInput):
        actions.do_new_scheme_version(city, scheme, weights={"unit": {"missed_report_rate": 10}})
    with pytest.raises(InvalidInput):
        actions.do_new_scheme_version(city, scheme, weights={"unit": {"closing_rate": 150}})
    v = actions.do_new_scheme_version(city, scheme, weights={"unit": {"closing_rate": 100}})
    assert {w.indicator for w in v.weights.filter(subject_kind="unit")} == {"closing_rate"}
    assert v.weights.filter(subject_kind="grid_worker").count() == 4  # other kinds copied


def test_jurisdiction_street_leader_sees_only_own_street(world):
    v = resolve_version("city")
    leader = world.users["leader1"]
    streets = evaluate("street", OCT, v, as_of=AS_OF).visible(leader)
    assert [r.subject.key for r in streets.rows] == [str(world.s1.id)]
    units = evaluate("unit", OCT, v, as_of=AS_OF).visible(leader)
    assert [r.subject.key for r in units.rows] == [str(world.u2.id)]
    people = evaluate("grid_worker", OCT, v, as_of=AS_OF).visible(leader)
    assert [r.subject.key for r in people.rows] == [str(world.people["gw1"].id)]
    # Ranks stay the city-wide ranks.
    all_units = by_key(evaluate("unit", OCT, v, as_of=AS_OF))
    assert units.rows[0].rank == all_units[str(world.u2.id)].rank


@pytest.mark.parametrize("scheme", ["city", "district"])
def test_evaluate_many_equals_one_kind_at_a_time(world, scheme):
    """The shared queries (all kinds' indicators, one query for complaints and self-handled
    cases, the previous month once) give exactly what evaluating each kind alone gives."""
    from urbangrid.cases.models import Case
    from urbangrid.evaluation.choices import SubjectKind
    from urbangrid.evaluation.scoring import evaluate_many

    # Complaints and a self-handled case closed in October, so those adjustments are non-zero.
    Case.objects.filter(pk=world.cases["A"].pk).update(self_handled=True)  # a grid worker's
    Case.objects.filter(pk=world.cases["B"].pk).update(satisfaction=2)  # a hotline report's
    v = resolve_version(scheme)

    def flat(ev):
        return {
            r.subject.key: (r.total, r.grade, r.rank, r.prev_rank, r.adjustments, r.scores) for r in ev.rows
        }

    many = evaluate_many(SubjectKind.values, OCT, v, as_of=AS_OF)
    assert [ev.kind for ev in many] == list(SubjectKind.values)
    for ev in many:
        assert flat(ev) == flat(evaluate(ev.kind, OCT, v, as_of=AS_OF)), ev.kind
    if scheme == "city":  # it deducts for complaints and rewards self-handled cases
        assert any("complaint" in r.adjustments for ev in many for r in ev.rows)
        assert any("self_handled" in r.adjustments for ev in many for r in ev.rows)


def test_a_partial_list_says_what_its_ranks_are_among(world, client):
    """A street leader sees only the street's unit; its rank is a place among every ranked unit,
    and the page, the API and the export say so."""
    from unittest import mock

    v = resolve_version("city")
    leader = world.users["leader1"]
    ev = evaluate("unit", OCT, v, as_of=AS_OF).visible(leader)
    assert ev.ranked == 2 and [(r.subject.key, r.rank) for r in ev.rows] == [(str(world.u2.id), 1)]
    client.force_login(leader)
    with mock.patch("django.utils.timezone.now", return_value=AS_OF):
        page = client.get("/evaluation/", {"period": "2026-10", "kind": "unit"}).content.decode()
        api = client.get("/api/v1/evaluation/results", {"period": "2026-10", "kind": "unit"})
    assert "排名（共2个）" in page and "名次为本类全部 2 个参评对象中的排名" in page
    assert api.json()["ranked_among"] == 2


def test_excel_ranking_holds_numbers_with_number_formats(world):
    import io

    from openpyxl import load_workbook

    from urbangrid.evaluation import reports
    from urbangrid.evaluation.indicators import REGISTRY

    v = resolve_version("city")
    ev = evaluate("unit", OCT, v, as_of=AS_OF)
    wb = load_workbook(io.BytesIO(reports.rankings_workbook([ev], "十月")))
    ws = wb[wb.sheetnames[1]]
    header = [c.value for c in ws[1]]
    assert header[0] == "排名（共2个）"
    (u1,) = [row for row in ws.iter_rows(min_row=2) if row[2].value == "市政管理处"]
    cell = dict(zip(header, u1, strict=True))
    rank = cell["排名（共2个）"]
    assert (rank.value, rank.number_format) == (2, "0")
    closing = cell[str(REGISTRY["closing_rate"].name)]
    assert (closing.value, closing.number_format) == (0.5, "0.0%")
    handled = cell[str(REGISTRY["handled"].name)]
    assert (handled.value, handled.number_format) == (3, "0")
    total = cell["总分"]
    assert (total.value, total.number_format) == (62.0, "0.00")
    # An unranked unit (nothing due) has empty number cells, not the text "—".
    (u3,) = [row for row in ws.iter_rows(min_row=2) if row[2].value == "西镇政府"]
    assert u3[0].value is None and closing.column and u3[closing.column - 1].value is None
