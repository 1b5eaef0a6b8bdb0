"""Browser journeys: a leader creates a plan; a worker patrols on the phone page with mocked
GPS; the status map shows the grid covered; a sweep inspection opens a case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import screenshot, wait_until
from urbangrid.patrol import actions as A
from urbangrid.patrol.models import PatrolPlan, Track

from .conftest import build_geography, make_person, to_lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    from types import SimpleNamespace

    from urbangrid.catalog.seed import load_catalog
    from urbangrid.patrol.checklists import load_checklists

    load_catalog()
    load_checklists()
    geo = build_geography()
    return SimpleNamespace(
        geo=geo,
        leader=make_person("street_leader", geo.sa, name="东关街道领导"),
        worker=make_person("grid_worker", geo.a1, name="张网格", grids=[g.code for g in geo.grids[:4]]),
    )


def login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_leader_creates_a_patrol_plan(page, live_server, world):
    login(page, live_server, world.leader)
    page.goto(f"{live_server.url}/patrol/plans/new/")
    page.fill("#id_name", "东关街道背街小巷夜巡")
    page.select_option("#id_region", world.geo.sa.code)
    page.fill("#id_min_patrols_per_day", "2")
    page.fill("#id_window_start", "20:00")
    page.fill("#id_window_end", "23:00")
    page.fill("#id_window_label", "背街小巷")
    screenshot(page, "patrol_plan_form")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#plans")
    assert "东关街道背街小巷夜巡" in page.inner_text("#plans")
    assert "20:00–23:00" in page.inner_text("#plans")
    screenshot(page, "patrol_plan_list")
    assert PatrolPlan.objects.get(name="东关街道背街小巷夜巡").windows[0]["label"] == "背街小巷"


def test_worker_patrols_on_the_phone_and_the_map_shows_it(mobile_page, page, live_server, world):
    lons, lats = to_lonlat([10, 30, 50, 70, 90], [50, 50, 50, 50, 50])
    ctx = mobile_page.context
    ctx.grant_permissions(["geolocation"], origin=live_server.url)
    ctx.set_geolocation({"latitude": float(lats[0]), "longitude": float(lons[0]), "accuracy": 5})
    login(mobile_page, live_server, world.worker)
    mobile_page.goto(f"{live_server.url}/patrol/m/?flush=700&every=0")
    mobile_page.click("#start")
    mobile_page.wait_for_selector("#stop:not([hidden])")
    for lon, lat in zip(lons[1:], lats[1:], strict=False):
        mobile_page.wait_for_timeout(400)
        ctx.set_geolocation({"latitude": float(lat), "longitude": float(lon), "accuracy": 5})
    mobile_page.wait_for_timeout(800)
    screenshot(mobile_page, "patrol_mobile_patrolling")
    mobile_page.click("#stop")
    mobile_page.wait_for_selector("#start:not([hidden])")
    wait_until(mobile_page, "document.getElementById('queued').textContent.trim() === '0'", timeout=15000)
    screenshot(mobile_page, "patrol_mobile_stopped")
    track = Track.objects.get()
    assert track.state == "finished" and track.point_count >= 4
    assert track.street_id == world.geo.sa.pk

    # The street leader's status map colours grid 0 as patrolled.
    login(page, live_server, world.leader)
    page.goto(f"{live_server.url}/patrol/today/")
    wait_until(page, "document.getElementById('summary').textContent.length > 0", timeout=15000)
    page.wait_for_timeout(500)
    screenshot(page, "patrol_status_map")
    summary = page.inner_text("#summary")
    assert "已巡查" in summary
    page.goto(f"{live_server.url}/patrol/tracks/{track.pk}/")
    wait_until(page, "document.getElementById('length').textContent !== '—'", timeout=15000)
    screenshot(page, "patrol_track_viewer")


def test_sweep_inspection_opens_a_case(page, live_server, world):
    today = timezone.localdate()
    camp = A.do_create_campaign(
        world.leader,
        name="校园及周边安全隐患排查",
        region=world.geo.sa,
        place_types=["campus"],
        start_date=today,
        end_date=today + timedelta(days=14),
    )
    lon, lat = to_lonlat([50], [50])
    place = A.do_register_place(
        world.worker,
        name="东关小学",
        place_type="campus",
        lon=lon[0],
        lat=lat[0],
        owner_name="东关小学",
        owner_phone="029-8888888",
        address="东关路12号",
    )
    login(page, live_server, world.worker)
    page.goto(f"{live_server.url}/patrol/sweeps/{camp.pk}/inspect/{place.pk}/")
    radios = page.locator("input[type=radio][value=pass]")
    for i in range(radios.count()):
        radios.nth(i).check()
    page.locator("input[type=radio][value=fail]").first.check()
    page.locator("input[name^=note_]").first.fill("校门口未设置防冲撞设施")
    screenshot(page, "patrol_inspection_form")
    page.click("#submit-inspection")
    page.wait_for_selector("#progress")
    assert "隐患已立案" in page.inner_text(".messages")
    assert "东关小学" in page.inner_text("#places")
    screenshot(page, "patrol_sweep_campaign")
    result = place.inspections.get().results.get(passed=False)
    assert result.case is not None and result.case.channel == "inspection"
