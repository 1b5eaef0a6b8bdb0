from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.models import AuditEvent
from urbangrid.orgs import actions
from urbangrid.orgs.models import (
    Equipment,
    FundRecord,
    Person,
    TrainingCourse,
    TrainingRecord,
    TrainingSession,
)
from urbangrid.orgs.queries import funds_summary, grids_with_untrained_workers, untrained_workers

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_demo_has_trained_and_untrained_workers(demo):
    admin = demo.user_named("admin")
    untrained = untrained_workers(admin)
    assert untrained.exists()
    assert TrainingRecord.objects.filter(passed=True).exists()
    flagged = grids_with_untrained_workers(admin)
    assert flagged and all(pids for pids in flagged.values())


def _fresh_session(demo, leader, course_code="GW-01"):
    course = TrainingCourse.objects.get(code=course_code)
    start = datetime(2026, 11, 2, 9, tzinfo=SH)
    return actions.do_schedule_training(
        leader,
        course=course,
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        organiser=demo.street_unit(1),
        location="会议室",
    )


def test_passing_both_required_courses_clears_the_flag(demo):
    leader = demo.user("street_leader", street=1)
    worker = untrained_workers(leader).first()
    assert worker is not None
    for code in ("GW-01", "GW-02"):
        session = _fresh_session(demo, leader, code)
        actions.do_record_training(leader, session, [{"person": worker, "attended": True, "score": 95}])
    assert not untrained_workers(leader).filter(pk=worker.pk).exists()
    assert AuditEvent.objects.filter(action="orgs.record_training").exists()


def test_pass_mark_and_validation(demo):
    leader = demo.user("street_leader", street=1)
    session = _fresh_session(demo, leader, "GW-02")  # pass score 70
    worker = demo.person("grid_worker", street=1)
    actions.do_record_training(leader, session, [{"person": worker, "attended": True, "score": 69.5}])
    assert not TrainingRecord.objects.get(session=session, person=worker).passed
    actions.do_record_training(leader, session, [{"person": worker, "attended": True, "score": 70}])
    assert TrainingRecord.objects.get(session=session, person=worker).passed  # updated, not duplicated
    for bad in ({"score": 101}, {"score": "abc"}, {"attended": False, "score": 80}):
        with pytest.raises(InvalidInput):
            actions.do_record_training(leader, session, [{"person": worker, "attended": True, **bad}])
    assert TrainingRecord.objects.filter(session=session).count() == 1
    other = demo.person("grid_worker", street=2)
    with pytest.raises(NotFound):  # outside the leader's street
        actions.do_record_training(leader, session, [{"person": other, "score": 90}])


def test_only_organisers_schedule(demo):
    worker = demo.user("grid_worker", street=1)
    course = TrainingCourse.objects.get(code="GW-01")
    start = datetime(2026, 11, 2, 9, tzinfo=SH)
    with pytest.raises(PermissionDenied):
        actions.do_schedule_training(
            worker,
            course=course,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            organiser=demo.street_unit(1),
        )
    leader = demo.user("street_leader", street=1)
    with pytest.raises(PermissionDenied):  # another street's unit
        actions.do_schedule_training(
            leader,
            course=course,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            organiser=demo.street_unit(2),
        )
    with pytest.raises(InvalidInput):
        actions.do_schedule_training(
            leader, course=course, starts_at=start, ends_at=start, organiser=demo.street_unit(1)
        )


def test_records_visible_to_leaders_not_other_streets(demo):
    worker = demo.person("grid_worker", street=1)
    own_leader = demo.user("street_leader", street=1)
    other_leader = demo.user("street_leader", street=2)
    assert TrainingRecord.objects.visible_to(own_leader).filter(person=worker).exists()
    assert not TrainingRecord.objects.visible_to(other_leader).filter(person=worker).exists()
    assert TrainingRecord.objects.visible_to(worker.user).filter(person=worker).exists()
    client = demo.client_for("street_leader", street=2)
    assert client.get(f"/api/v1/orgs/people/{worker.pk}/training").status_code == 404
    assert client.get(f"/orgs/people/{worker.pk}/").status_code == 404
    ok = demo.client_for("street_leader", street=1)
    assert ok.get(f"/api/v1/orgs/people/{worker.pk}/training").json()


def test_equipment_and_funds(demo):
    chief = demo.user_named("street1_chief")
    unit = demo.street_unit(1)
    worker = demo.person("grid_worker", street=1)
    item = actions.do_issue_equipment(
        chief,
        unit=unit,
        kind="recorder",
        name="执法记录仪",
        asset_no="R-T-1",
        issued_on=date(2026, 1, 5),
        holder=worker,
        value=1800,
    )
    with pytest.raises(Conflict):
        actions.do_issue_equipment(
            chief, unit=unit, kind="recorder", name="x", asset_no="R-T-1", issued_on=date(2026, 1, 5)
        )
    with pytest.raises(InvalidInput):
        actions.do_issue_equipment(
            chief, unit=unit, kind="spaceship", name="x", asset_no="R-T-2", issued_on=date(2026, 1, 5)
        )
    with pytest.raises(PermissionDenied):
        actions.do_issue_equipment(
            chief,
            unit=demo.street_unit(2),
            kind="device",
            name="x",
            asset_no="R-T-3",
            issued_on=date(2026, 1, 5),
        )
    with pytest.raises(InvalidInput):
        actions.do_return_equipment(chief, item, date(2025, 1, 1))
    actions.do_return_equipment(chief, item, date(2026, 3, 1))
    assert Equipment.objects.get(pk=item.pk).returned_on == date(2026, 3, 1)
    before = {
        (r["unit__code"], r["category"]): r["total"]
        for r in funds_summary(chief, date(2026, 1, 1), date(2026, 12, 31))
    }
    actions.do_record_funds(
        chief, unit=unit, category="training", amount="1234.50", spent_on=date(2026, 6, 1), description="补训"
    )
    after = {
        (r["unit__code"], r["category"]): r["total"]
        for r in funds_summary(chief, date(2026, 1, 1), date(2026, 12, 31))
    }
    assert after[(unit.code, "training")] - before.get((unit.code, "training"), 0) == pytest.approx(1234.5)
    for bad in ({"amount": -5}, {"amount": "x"}, {"category": "party"}, {"description": " "}):
        args = {
            "unit": unit,
            "category": "training",
            "amount": 10,
            "spent_on": date(2026, 6, 1),
            "description": "d",
            **bad,
        }
        with pytest.raises(InvalidInput):
            actions.do_record_funds(chief, **args)
    other = demo.user_named("street2_chief")
    assert not FundRecord.objects.visible_to(other).filter(unit=unit).exists()
    assert not Equipment.objects.visible_to(other).filter(unit=unit).exists()


def test_training_api(demo):
    client = demo.client_named("street1_chief")
    course = TrainingCourse.objects.get(code="GW-01")
    unit = demo.street_unit(1)
    res = client.post(
        "/api/v1/orgs/training/sessions",
        {
            "course_id": course.pk,
            "organiser_code": unit.code,
            "starts_at": "2026-11-03T09:00:00+08:00",
            "ends_at": "2026-11-03T13:00:00+08:00",
        },
        content_type="application/json",
    )
    assert res.status_code == 201, res.content
    sid = res.json()["id"]
    worker = demo.person("grid_worker", street=1)
    res = client.post(
        f"/api/v1/orgs/training/sessions/{sid}/results",
        [{"person_id": worker.pk, "score": 88}],
        content_type="application/json",
    )
    assert res.status_code == 200 and res.json()[0]["passed"]
    body = client.get("/api/v1/orgs/training/untrained").json()
    assert body["count"] == len(body["people"])
    s2 = demo.person("grid_worker", street=2)
    assert s2.pk not in {p["id"] for p in body["people"]}
    assert client.get("/api/v1/orgs/equipment").status_code == 200
    assert client.get("/api/v1/orgs/funds?start=2026-01-01").status_code == 200
    res = client.post(
        "/api/v1/orgs/funds",
        {
            "unit_code": demo.street_unit(2).code,
            "category": "training",
            "amount": 10,
            "spent_on": "2026-06-01",
            "description": "x",
        },
        content_type="application/json",
    )
    assert res.status_code == 404


def test_pages(demo):
    client = demo.client_for("street_leader", street=1)
    for url in ("/orgs/", "/orgs/training/"):
        res = client.get(url)
        assert res.status_code == 200
    html = client.get("/orgs/").content.decode()
    assert "培训" in html and demo.street_unit(1).name in html and demo.street_unit(2).name not in html
    session = TrainingSession.objects.filter(organiser=demo.street_unit(2)).first()
    assert client.get(f"/orgs/training/{session.pk}/").status_code == 404
    assert (
        demo.client_for("grid_worker", street=1)
        .get(f"/orgs/people/{Person.objects.get(user__username='s1_worker1').pk}/")
        .status_code
        == 200
    )
