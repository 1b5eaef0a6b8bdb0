"""Batch intake (do_intake_many, POST /intake/batch): the same answers as one-by-one intake,
written together."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from urbangrid.cases import intake
from urbangrid.cases.intake import DuplicateProposed, IntakeData, do_intake, do_intake_many
from urbangrid.cases.models import Attachment, Case, CaseEvent, Report
from urbangrid.lib.errors import InvalidInput
from urbangrid.testing.world import jpeg, report

pytestmark = pytest.mark.clock


def item(w, point=None, cls="stall", rid=None, **kw):
    lon, lat = point or w.A
    data = IntakeData(
        channel=kw.pop("channel", "grid_worker"),
        description=kw.pop("description", "路边占道经营"),
        lon=lon,
        lat=lat,
        class_code=w.classes[cls].code if cls else None,
        extra={"class_kind": w.classes[cls].kind} if cls else {},
        **kw,
    )
    return data, rid


def counts():
    return Case.objects.count(), Report.objects.count(), CaseEvent.objects.count()


def test_new_cases_are_shaped_like_single_intake(world):
    w = world
    # One moment for both: deadlines computed at two moments differ (by hours across the end of
    # the working day).
    now = timezone.now()
    single = report(w, point=w.B, cls="parking", now=now).case
    out = do_intake_many(
        w.user("grace"), [item(w, rid="r1"), item(w, point=w.B, cls="building", rid="r2")], now=now
    )
    assert [r.created for r in out] == [True, True]
    a, b = (Case.objects.get(pk=r.case.pk) for r in out)
    assert int(b.number) == int(a.number) + 1 and int(a.number) == int(single.number) + 1
    # Every column the actions set is the same kind of value; only identity and content differ.
    differ = {
        "id",
        "number",
        "public_token",
        "problem_class",
        "description",
        "lon",
        "lat",
        "input_lon",
        "input_lat",
        "grid",
        "grid_code",
        "community",
        "street",
        "reported_at",
        "updated_at",
        "created_at",
        "warn_at",
        "due_at",
        "tier",
    }
    for f in Case._meta.concrete_fields:
        if f.name not in differ:
            assert getattr(b, f.attname) == getattr(single, f.attname), f.name
    for r in out:
        assert r.report.opened_case and r.report.request_id in ("r1", "r2")
        ev = CaseEvent.objects.get(case=r.case)
        assert ev.action == "report" and ev.payload["report"] == r.report.pk and ev.to_state == r.case.state


def test_duplicates_inside_the_batch_and_against_the_database(world):
    w = world
    existing = report(w, point=w.B).case
    web = {"channel": "citizen_web"}  # a citizen's report is counted on its duplicate at once
    out = do_intake_many(
        w.user("grace"),
        [item(w, rid="a", **web), item(w, rid="b", **web), item(w, point=w.B, rid="c", **web)],
    )
    first, second, third = out
    assert first.created and not second.created and second.duplicate_of.pk == first.case.pk
    # Numbers are given last in the transaction; every answer carries the final one.
    number = Case.objects.get(pk=first.case.pk).number
    assert len(number) == 14 and number.isdigit()
    assert first.case.number == second.duplicate_of.number == number and number in second.message
    assert not third.created and third.case.pk == existing.pk
    assert Case.objects.get(pk=first.case.pk).report_count == 2
    assert Case.objects.get(pk=existing.pk).report_count == 2
    assert CaseEvent.objects.filter(case=first.case, action="link_report").count() == 1


def test_reports_without_class_meet_inside_the_batch(world):
    w = world
    web = {"channel": "citizen_web"}
    out = do_intake_many(
        w.user("grace"), [item(w, cls=None, rid="t1", **web), item(w, cls=None, rid="t2", **web)]
    )
    assert out[0].created and out[0].case.problem_class_id is None
    assert not out[1].created and out[1].duplicate_of.pk == out[0].case.pk


def test_staff_reports_in_a_batch_are_never_merged_unasked(world):
    w = world
    existing = report(w, point=w.B).case
    before = Case.objects.get(pk=existing.pk).report_count
    chosen = item(w, point=w.B, rid="s4")
    chosen[0].extra["link_to"] = existing.number
    out = do_intake_many(
        w.user("grace"), [item(w, point=w.B, rid="s1"), item(w, rid="s2"), item(w, rid="s3"), chosen]
    )
    # The stored match is proposed (nothing written), the batch's own twin opens its own case,
    # and the chosen case counts the report.
    assert isinstance(out[0], DuplicateProposed) and out[0].details["number"] == existing.number
    assert out[1].created and out[2].created and out[1].case.pk != out[2].case.pk
    assert not out[3].created and out[3].case.pk == existing.pk
    assert Case.objects.get(pk=existing.pk).report_count == before + 1


def test_bad_items_are_refused_alone_and_write_nothing(world):
    w = world
    before = counts()
    out = do_intake_many(
        w.user("grace"),
        [item(w, rid="ok"), item(w, point=(121.5, 11.0), rid="outside"), item(w, cls=None, description="")],
    )
    assert out[0].created
    assert isinstance(out[1], InvalidInput) and out[1].field == "lon"
    assert isinstance(out[2], InvalidInput) and out[2].field == "description"
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_retried_batch_and_repeated_ids_change_nothing(world):
    w = world
    items = [item(w, rid="x1"), item(w, point=w.B, rid="x2"), item(w, point=w.B, rid="x2")]
    first = do_intake_many(w.user("grace"), items)
    assert first[0].created and first[1].created
    assert first[2].replayed and first[2].case.pk == first[1].case.pk
    before = counts()
    again = do_intake_many(w.user("grace"), items)
    assert counts() == before
    assert all(r.replayed for r in again)
    assert [r.case.pk for r in again] == [r.case.pk for r in first]
    # A single retry of a batch item answers the same case too.
    single = do_intake(w.user("grace"), items[0][0], request_id="x1")
    assert single.replayed and single.case.pk == first[0].case.pk


def test_a_conflicting_writer_falls_back_to_one_by_one(world, monkeypatch):
    w = world
    real = intake._write_new
    calls = []

    def racing(*args, **kw):
        # The batch's write meets another client's row; the one-by-one fallback (the same
        # writer, a report at a time) then goes through.
        calls.append(len(args[1]))
        written = real(*args, **kw)
        if len(calls) == 1:
            raise IntegrityError("another client wrote the same request id")
        return written

    monkeypatch.setattr(intake, "_write_new", racing)
    before = counts()
    out = do_intake_many(w.user("grace"), [item(w, rid="p1"), item(w, point=w.B, rid="p2")])
    assert calls == [2, 1, 1] and all(r.created for r in out)
    assert counts() == (before[0] + 2, before[1] + 2, before[2] + 2)


@pytest.mark.parametrize("channel", ["hotline"])
def test_channel_permission_is_checked_per_item(world, channel):
    w = world
    out = do_intake_many(w.user("grace"), [item(w, channel=channel, rid="h1")])
    assert out[0].__class__.__name__ == "PermissionDenied"


def test_photos_of_new_cases_are_stored_once_per_report(world):
    w = world
    photo = jpeg((5, 6, 7))
    a, _rid = item(w, rid="ph1", photos=[photo, photo, jpeg((9, 9, 1))])
    b, _rid = item(w, point=w.B, cls="parking", rid="ph2", photos=[photo])
    out = do_intake_many(w.user("grace"), [(a, "ph1"), (b, "ph2")])
    assert [r.created for r in out] == [True, True]
    first, second = (Attachment.objects.filter(case=r.case).order_by("pk") for r in out)
    # The same photo twice in one report is one attachment; another case may carry it too (one file).
    assert len(first) == 2 and len(second) == 1
    assert {att.report_id for att in first} == {out[0].report.pk} and second[0].report_id == out[1].report.pk
    assert second[0].file.name == next(att.file.name for att in first if att.sha256 == second[0].sha256)
    assert all(att.file.storage.exists(att.file.name) for att in [*first, *second])
