"""Joint pages and API: rendering per role, 404 outside jurisdiction, form validation messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from urbangrid.joint import actions as A
from urbangrid.joint.models import Campaign

pytestmark = pytest.mark.django_db


def client(user):
    c = Client()
    c.force_login(user)
    return c


def test_pages_render_and_hide_outside_jurisdiction(world):
    today = timezone.localdate()
    c = A.do_create_campaign(
        world.user("bruno"),
        title="湖滨整治",
        lead_unit=world.units["B"],
        regions=[world.regions["B"]],
        start_date=today,
        end_date=today + timedelta(days=7),
    )
    case = world.case(return_count=2)
    cons = A.do_open_consultation(
        world.user("paul"), case, reason="推诿", units=[world.units["market"], world.units["housing"]]
    )
    m = A.do_schedule_meeting(
        world.user("paul"),
        title="联席会议",
        scheduled_at=timezone.now() + timedelta(days=1),
        host_unit=world.units["bureau"],
    )
    d = client(world.user("paul"))
    for url in [
        "/joint/",
        "/joint/campaigns/",
        f"/joint/campaigns/{c.pk}/",
        "/joint/campaigns/new/",
        "/joint/consultations/",
        f"/joint/consultations/{cons.pk}/",
        f"/joint/consultations/{cons.pk}/decide/",
        "/joint/consultations/new/",
        "/joint/meetings/",
        "/joint/meetings/new/",
        f"/joint/meetings/{m.pk}/",
    ]:
        assert d.get(url).status_code == 200, url
    other = client(world.user("stella"))
    assert other.get(f"/joint/campaigns/{c.pk}/").status_code == 404
    assert other.get(f"/api/v1/joint/campaigns/{c.pk}").status_code == 404
    assert client(world.user("steve")).get(f"/joint/campaigns/{c.pk}/").status_code == 200


def test_campaign_form_validation_message(world):
    c = client(world.user("bruno"))
    today = timezone.localdate()
    r = c.post(
        "/joint/campaigns/new/",
        {
            "title": "倒序日期",
            "lead_unit": world.units["bureau"].pk,
            "regions": [world.regions["A"].pk],
            "start_date": today,
            "end_date": today - timedelta(days=1),
        },
    )
    assert r.status_code == 200 and "结束日期不能早于开始日期" in r.content.decode()
    assert not Campaign.objects.exists()


def test_api_campaign_and_consultation(world):
    c = client(world.user("bruno"))
    today = timezone.localdate()
    r = c.post(
        "/api/v1/joint/campaigns",
        {
            "title": "API 整治",
            "lead_unit": world.units["bureau"].code,
            "units": [world.units["market"].code],
            "regions": [world.regions["A"].code],
            "start_date": str(today - timedelta(days=3)),
            "end_date": str(today + timedelta(days=3)),
            "targets": [{"name": "发现", "metric": "cases_found", "value": 1}],
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    world.case(reported_at=timezone.now() - timedelta(days=1))
    got = c.get(f"/api/v1/joint/campaigns/{cid}").json()
    assert got["summary"]["cases"]["found"] == 1 and got["summary"]["targets"][0]["achieved"]
    assert (
        client(world.user("mark"))
        .post(f"/api/v1/joint/campaigns/{cid}/end", {}, content_type="application/json")
        .status_code
        == 403
    )
    case = world.case(return_count=2)
    d = client(world.user("paul"))
    assert d.get("/api/v1/joint/consultations/candidates").json()["results"][0]["number"] == case.number
    r = d.post(
        "/api/v1/joint/consultations",
        {"case": case.number, "reason": "推诿", "units": [world.units["market"].code]},
        content_type="application/json",
    )
    assert r.status_code == 201
    r = d.post(
        "/api/v1/joint/consultations",
        {"case": case.number, "reason": "again", "units": [world.units["housing"].code]},
        content_type="application/json",
    )
    assert r.status_code == 409
