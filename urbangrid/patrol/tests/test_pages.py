"""Every patrol page renders for the roles that use it, and the forms write through the actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from urbangrid.patrol import actions as A
from urbangrid.patrol.models import PatrolPlan, Place, SweepCampaign

from .conftest import to_lonlat

pytestmark = pytest.mark.django_db


def client(user):
    c = Client()
    c.force_login(user)
    return c


def test_pages_render_and_plan_form_creates_a_plan(geo, people):
    c = client(people.leader_a)
    for name in ("index", "plans", "plan_new", "today", "tracks", "campaigns", "campaign_new", "places"):
        r = c.get(reverse(f"patrol:{name}"))
        assert r.status_code == 200, name
        assert "巡查" in r.content.decode() or "排查" in r.content.decode() or "场所" in r.content.decode()
    r = c.post(
        reverse("patrol:plan_new"),
        {
            "name": "东关街道夜巡",
            "region": geo.sa.code,
            "min_patrols_per_day": 1,
            "window_start": "20:00",
            "window_end": "23:00",
            "window_min": 1,
            "window_label": "背街小巷",
            "min_coverage": 0,
            "valid_from": timezone.localdate().isoformat(),
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    plan = PatrolPlan.objects.get(name="东关街道夜巡")
    assert plan.windows == [{"start": "20:00", "end": "23:00", "min": 1, "label": "背街小巷"}]
    # Bad input shows the error and writes nothing.
    r = c.post(
        reverse("patrol:plan_new"),
        {
            "name": "坏",
            "region": geo.sa.code,
            "min_patrols_per_day": 1,
            "window_start": "26:00",
            "window_end": "23:00",
            "min_coverage": 0,
            "valid_from": timezone.localdate().isoformat(),
        },
    )
    assert r.status_code == 200 and "HH:MM" in r.content.decode()
    assert not PatrolPlan.objects.filter(name="坏").exists()
    assert client(people.leader_b).get(reverse("patrol:plan_edit", args=[plan.pk])).status_code == 404


def test_mobile_page_only_for_field_staff(geo, people):
    assert client(people.worker).get(reverse("patrol:mobile")).status_code == 200
    assert client(people.leader_a).get(reverse("patrol:mobile")).status_code == 404


def test_inspection_form_opens_a_case(geo, people, catalog):
    today = timezone.localdate()
    camp = A.do_create_campaign(
        people.leader_a,
        name="校园安全排查",
        region=geo.sa,
        place_types=["campus"],
        start_date=today,
        end_date=today + timedelta(days=7),
    )
    lon, lat = to_lonlat([50], [50])
    place = A.do_register_place(
        people.worker, name="东关小学", place_type="campus", lon=lon[0], lat=lat[0], owner_name="东关小学"
    )
    c = client(people.worker)
    page = c.get(reverse("patrol:inspect", args=[camp.pk, place.pk]))
    assert page.status_code == 200
    from urbangrid.patrol.models import ChecklistItem

    data = {"client_key": "form-1", "notes": ""}
    for i, item in enumerate(ChecklistItem.objects.filter(place_type="campus")):
        data[f"item_{item.pk}"] = "fail" if i == 0 else "pass"
        data[f"note_{item.pk}"] = "校门口无防冲撞设施" if i == 0 else ""
    r = c.post(reverse("patrol:inspect", args=[camp.pk, place.pk]), data)
    assert r.status_code == 302
    detail = c.get(reverse("patrol:campaign", args=[camp.pk])).content.decode()
    assert "东关小学" in detail
    assert place.inspections.get().results.filter(case__isnull=False).count() == 1
    assert SweepCampaign.objects.count() == 1 and Place.objects.count() == 1
