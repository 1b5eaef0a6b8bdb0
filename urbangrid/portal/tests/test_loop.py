"""The citizen's side of the whole loop: a report from the portal is verified, registered,
dispatched, handled with photos, checked and closed by staff (through the case loop's actions);
the citizen then sees it closed with before/after photos on the follow page, the statistics and
Open311, and never sees a staff name."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from urbangrid.portal.tests.conftest import service_code
from urbangrid.portal.views import FORM_SALT
from urbangrid.testing.world import jpeg

pytestmark = pytest.mark.django_db


def _fresh(case):
    case.refresh_from_db()
    return case


def _photo(color):
    return SimpleUploadedFile("x.jpg", jpeg(color), content_type="image/jpeg")


def _person_with(role, unit):
    from urbangrid.orgs.models import Person

    return Person.objects.filter(unit=unit, roles__role=role, is_active=True).select_related("user").first()


def test_citizen_report_goes_round_the_loop_and_shows_closed(city, client):
    from urbangrid.cases import actions as A
    from urbangrid.cases.models import Case

    r = client.post(
        "/public/",
        {
            "description": "人行道上有人摆摊卖水果",
            "class_code": service_code("占道经营"),
            "lon": city.A[0],
            "lat": city.A[1],
            "address": "东门",
            "started": signing.dumps(time.time() - 20, salt=FORM_SALT),
            "request_id": "loop-1",
            "photos": SimpleUploadedFile("b.jpg", jpeg((120, 60, 20)), content_type="image/jpeg"),
        },
    )
    assert r.status_code == 302
    follow = r["Location"]
    case = Case.objects.get(public_token=follow.rstrip("/").split("/")[-1])
    demo = city.demo

    A.do_request_verify(demo.user("intake_operator"), case)
    case = _fresh(case)
    A.do_verify(case.field_worker.user, case, confirmed=True, photos=[_photo((90, 90, 90))])
    A.do_register(demo.user("shift_leader"), _fresh(case))
    A.do_dispatch(demo.user("dispatcher"), _fresh(case))
    case = _fresh(case)
    handler = _person_with("unit_handler", case.assigned_unit) or _person_with(
        "unit_leader", case.assigned_unit
    )
    A.do_accept(handler.user, case)
    A.do_report_back(
        handler.user,
        _fresh(case),
        response="persuade",
        report="已劝离",
        photos_before=[_photo((120, 60, 30))],
        photos_after=[SimpleUploadedFile("a.jpg", jpeg((20, 160, 40)), content_type="image/jpeg")],
    )
    A.do_request_check(demo.user("intake_operator"), _fresh(case))
    case = _fresh(case)
    A.do_check(case.field_worker.user, case, passed=True, photos=[_photo((30, 30, 200))])
    A.do_close(demo.user("shift_leader"), _fresh(case))
    case = _fresh(case)
    assert case.state == "closed"

    html = client.get(follow).content.decode()
    assert "badge-green" in html
    for label in ["待核实", "待立案", "待派遣", "结案"]:
        assert label in html, label
    # The citizen's photo, the unit's before and after photos; field verification/check photos stay internal.
    assert html.count("/media/cases/") == 3
    staff = [case.field_worker.name, handler.name, case.assigned_unit.name]
    for name in staff[:2]:
        assert name not in html
    assert case.assigned_unit.name in html  # the unit is public, people are not

    stats = client.get("/public/stats/").content.decode()
    assert 'id="kpi-closed">1<' in stats and stats.count("/media/cases/") == 2

    item = client.get(f"/open311/v2/requests/{case.number}.json").json()[0]
    assert item["status"] == "closed" and item["agency_responsible"] == case.assigned_unit.name
    updates = client.get(f"/open311/v2/servicerequestupdates.json?api_key={city.keys['readonly']}").json()
    mine = [u for u in updates if u["service_request_id"] == case.number]
    assert mine[-1]["status"] == "closed" and len(mine) >= 8
