"""Duplicate merging: only an open case of the same class is a duplicate; a closed case is never
merged into (a new case follows it); staff channels propose the match and the person chooses;
the reporter always gets the number the report landed on."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from urbangrid.cases.choices import CaseState
from urbangrid.cases.intake import DuplicateProposed, IntakeData, do_intake
from urbangrid.cases.models import Case, Report
from urbangrid.catalog.models import ProblemClass
from urbangrid.lib.errors import InvalidInput

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def key(name: str) -> str:
    return ProblemClass.objects.get(code_set__is_default=True, kind="event", name=name).key


@pytest.fixture
def spot(demo):
    """A point inside the first street grid worker's own grid (so that the worker sees it)."""
    from urbangrid.orgs.queries import person_grids

    code = person_grids(demo.person("grid_worker", street=1))[0]
    p = next(g for g in demo.grids if g.code == code).geometry.representative_point()
    return round(p.x, 7), round(p.y, 7)


def hotline_case(demo, spot, name, now=NOW) -> Case:
    data = IntakeData(
        channel="hotline",
        description=f"来电：{name}",
        lon=spot[0],
        lat=spot[1],
        class_code=key(name),
        extra={"force_new": True},
    )
    return do_intake(demo.user("intake_operator"), data, now=now).case


def citizen(spot, name, now, rid):
    data = IntakeData(channel="citizen_web", description=name, lon=spot[0], lat=spot[1], class_code=key(name))
    return do_intake(AnonymousUser(), data, client_key="portal", request_id=rid, now=now)


def test_another_class_of_the_same_major_class_is_a_new_case(demo, spot):
    full = hotline_case(demo, spot, "垃圾满溢")
    result = citizen(spot, "焚烧垃圾树叶", NOW + timedelta(minutes=5), "r1")
    assert result.created and result.case.pk != full.pk
    assert result.case.problem_class.name == "焚烧垃圾树叶"
    full.refresh_from_db()
    assert full.report_count == 1


def test_the_same_class_still_counts_on_the_open_case(demo, spot):
    full = hotline_case(demo, spot, "垃圾满溢")
    result = citizen(spot, "垃圾满溢", NOW + timedelta(minutes=5), "r2")
    assert not result.created and result.case.pk == full.pk
    assert full.number in result.message


def test_a_report_at_a_closed_case_opens_a_new_case_that_follows_it(demo, spot):
    old = hotline_case(demo, spot, "垃圾满溢")
    Case.objects.filter(pk=old.pk).update(state=CaseState.CLOSED, closed_at=NOW + timedelta(hours=1))
    result = citizen(spot, "垃圾满溢", NOW + timedelta(hours=2), "r3")
    assert result.created and result.case.pk != old.pk
    assert result.case.follows_id == old.pk
    assert result.case.number in result.message and old.number in result.message
    old.refresh_from_db()
    assert (old.state, old.report_count) == (CaseState.CLOSED, 1)


def test_staff_intake_proposes_the_match_and_the_person_chooses(demo, spot):
    op = demo.user("intake_operator")
    open_case = hotline_case(demo, spot, "垃圾满溢")
    data = dict(
        channel="hotline", description="又一位市民来电", lon=spot[0], lat=spot[1], class_code=key("垃圾满溢")
    )
    before = (Case.objects.count(), Report.objects.count())
    with pytest.raises(DuplicateProposed) as exc:
        do_intake(op, IntakeData(**data), request_id="h1", now=NOW + timedelta(minutes=1))
    assert exc.value.details["number"] == open_case.number and exc.value.status == 409
    assert (Case.objects.count(), Report.objects.count()) == before
    linked = do_intake(
        op,
        IntakeData(**data, extra={"link_to": open_case.number}),
        request_id="h1",
        now=NOW + timedelta(minutes=2),
    )
    assert linked.case.pk == open_case.pk and open_case.number in linked.message
    new = do_intake(op, IntakeData(**data, extra={"force_new": True}), request_id="h2", now=NOW)
    assert new.created and new.case.pk != open_case.pk


def test_a_chosen_case_must_be_open_and_of_the_same_class(demo, spot):
    op = demo.user("intake_operator")
    other = hotline_case(demo, spot, "焚烧垃圾树叶")
    closed = hotline_case(demo, spot, "垃圾满溢")
    Case.objects.filter(pk=closed.pk).update(state=CaseState.CLOSED, closed_at=NOW)
    data = dict(channel="hotline", description="来电", lon=spot[0], lat=spot[1], class_code=key("垃圾满溢"))
    for number in (other.number, closed.number, "20990101000001"):
        with pytest.raises(InvalidInput) as exc:
            do_intake(op, IntakeData(**data, extra={"link_to": number}), now=NOW + timedelta(hours=1))
        assert exc.value.status == 400 and number in exc.value.message


def test_api_staff_intake_answers_409_with_the_proposal(demo, spot):
    open_case = hotline_case(demo, spot, "垃圾满溢", now=None)
    client = demo.client_for("intake_operator")
    body = {
        "channel": "hotline",
        "description": "来电",
        "lon": spot[0],
        "lat": spot[1],
        "class_code": key("垃圾满溢"),
    }
    r = client.post("/api/v1/cases/intake", {**body, "request_id": "a1"}, content_type="application/json")
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "duplicate_proposed" and r.json()["details"]["number"] == open_case.number
    r = client.post(
        "/api/v1/cases/intake",
        {**body, "request_id": "a1", "link_to": open_case.number},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["number"] == open_case.number


def test_hotline_form_offers_the_choice(demo, spot):
    open_case = hotline_case(demo, spot, "垃圾满溢", now=None)
    client = demo.client_for("intake_operator")
    check = client.get(
        reverse("console:intake_check"), {"lon": spot[0], "lat": spot[1], "class_code": key("垃圾满溢")}
    ).content.decode()
    assert f'value="link:{open_case.number}"' in check and 'value="new"' in check
    form = {"description": "又一位市民来电", "lon": spot[0], "lat": spot[1], "class_code": key("垃圾满溢")}
    before = Case.objects.count()
    resp = client.post(reverse("console:intake"), {**form, "request_id": "f1"})
    assert resp.status_code == 200 and open_case.number in resp.content.decode()
    assert Case.objects.count() == before
    resp = client.post(
        reverse("console:intake"),
        {**form, "request_id": "f1", "duplicate_choice": f"link:{open_case.number}"},
    )
    assert resp.status_code == 302 and resp["Location"].endswith(f"/case/{open_case.number}/")
    resp = client.post(reverse("console:intake"), {**form, "request_id": "f2", "duplicate_choice": "new"})
    assert resp.status_code == 302 and open_case.number not in resp["Location"]


def test_grid_worker_chooses_on_the_phone_and_sees_the_case_in_my_reports(demo, spot):
    open_case = hotline_case(demo, spot, "垃圾满溢", now=None)
    client = demo.client_for("grid_worker", street=1)
    form = {"request_id": "m1", "lon": spot[0], "lat": spot[1], "crs": "wgs84", "class_code": key("垃圾满溢")}
    r = client.post(reverse("console:mobile_report_submit"), form)
    assert r.status_code == 200 and not r.json()["ok"]
    assert r.json()["proposed"]["number"] == open_case.number and open_case.number in r.json()["error"]
    assert not Report.objects.filter(request_id="m1").exists()
    r = client.post(
        reverse("console:mobile_report_submit"), {**form, "duplicate_choice": f"link:{open_case.number}"}
    )
    assert r.status_code == 200 and r.json()["number"] == open_case.number and r.json()["duplicate"]
    home = client.get(reverse("console:mobile_home")).content.decode()
    assert open_case.number in home  # 我的上报 lists the case the report was added to


def test_the_case_page_links_the_closed_case_it_follows(demo, spot):
    old = hotline_case(demo, spot, "垃圾满溢")
    Case.objects.filter(pk=old.pk).update(state=CaseState.CLOSED, closed_at=NOW + timedelta(hours=1))
    new = citizen(spot, "垃圾满溢", NOW + timedelta(hours=2), "r4").case
    page = (
        demo.client_for("shift_leader")
        .get(reverse("console:case_detail", args=[new.number]))
        .content.decode()
    )
    assert 'id="follows"' in page and f"/case/{old.number}/" in page


def test_api_answer_names_the_closed_case_a_new_case_follows(demo, spot):
    from django.utils import timezone

    old = hotline_case(demo, spot, "垃圾满溢", now=None)
    Case.objects.filter(pk=old.pk).update(state=CaseState.CLOSED, closed_at=timezone.now())
    client = demo.client_for("intake_operator")
    body = {"channel": "citizen_web", "description": "垃圾桶又满了", "lon": spot[0], "lat": spot[1]}
    r = client.post(
        "/api/v1/cases/intake", {**body, "class_code": key("垃圾满溢")}, content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["follows"] == old.number and r.json()["number"] != old.number
