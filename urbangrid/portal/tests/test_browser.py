"""Public portal journeys in a real browser (Chromium): a citizen reports a problem with a photo
and a verified phone on a phone-sized screen, follows it by number; on a desktop screen sees the
problem already reported nearby, reports by address, and reads the statistics and publicity pages.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import time

import pytest

from conftest import screenshot, wait_until
from urbangrid.testing.world import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = "13800001111"


def click_map_at(page, lon, lat):
    """Click the report map at a geographic point (Leaflet converts it to a pixel)."""
    wait_until(page, "document.querySelector('#report-map path.leaflet-interactive') !== null")
    xy = page.evaluate(
        """([lat, lon]) => { const m = document.getElementById('report-map').leafletMap;
             m.setView([lat, lon], 17, {animate: false});
             const p = m.latLngToContainerPoint([lat, lon]);
             const r = document.getElementById('report-map').getBoundingClientRect();
             return [r.left + p.x, r.top + p.y]; }""",
        [lat, lon],
    )
    page.mouse.click(xy[0], xy[1])
    wait_until(page, "document.getElementById('id_lon').value !== ''")


def last_code() -> str:
    from urbangrid.cases.models import Notification

    n = Notification.objects.filter(to_phone=PHONE, kind="phone_code").order_by("-id").first()
    return re.search(r"\d{6}", n.title).group(0)


def test_citizen_reports_with_photo_on_phone_and_follows_it(city, live_server, mobile_page, tmp_path):
    from urbangrid.cases.models import Case

    page = mobile_page
    photo = tmp_path / "problem.jpg"
    photo.write_bytes(jpeg((150, 90, 40), (640, 480)))
    page.goto(live_server.url + "/public/")
    assert page.locator("h1").inner_text() == "发现城市问题，随手举报"
    started = time.time()
    click_map_at(page, *city.A)
    assert "已选位置" in page.locator("#picked").inner_text()
    # A long description (over ~450 characters made a 414 URL) still gets its suggestions,
    # asked for in a POST body.
    with page.expect_request(lambda r: "/suggest.json" in r.url) as asked:
        page.fill(
            "#id_description", "人行道上有人摆摊卖水果，占了大半条路。" + "行人只能走到机动车道上。" * 50
        )
    assert asked.value.method == "POST" and "text" not in asked.value.url
    page.wait_for_selector("#suggestion-list .chip")
    with page.expect_response("**/suggest.json"):
        page.fill("#id_description", "人行道上有人摆摊卖水果，占了大半条路")
    chip = page.locator("#suggestion-list .chip", has_text="占道经营")
    chip.click()
    assert page.locator("#id_class_code option:checked").inner_text() == "占道经营"
    page.set_input_files("#id_photos", str(photo))
    page.fill("#id_phone", PHONE)
    # Submitting before verifying the phone is stopped in the page.
    page.click("#submit-report")
    assert "请先验证手机号" in page.locator("#phone-status").inner_text()
    page.click("#send-code")
    page.wait_for_selector("#code-row:not([hidden])")
    assert "验证码已发送" in page.locator("#phone-status").inner_text()
    page.fill("#id_code", last_code())
    page.click("#verify-code")
    wait_until(page, "document.getElementById('id_phone_ticket').value !== ''")
    screenshot(page, "portal_mobile_1_report_form")
    time.sleep(max(0, 3.2 - (time.time() - started)))  # the minimum fill time
    page.click("#submit-report")
    page.wait_for_selector("#case-number")
    number = page.locator("#case-number").inner_text()
    assert "感谢您的举报" in page.locator(".messages").inner_text()
    assert page.locator("#follow-url").is_visible()
    screenshot(page, "portal_mobile_2_receipt")
    case = Case.objects.get(number=number)
    assert case.reporter_phone == PHONE and case.problem_class.name == "占道经营"
    assert case.attachments.count() == 1
    assert page.locator(".photos img").count() == 0  # an open case's photos are not published
    assert PHONE not in page.content()

    page.goto(live_server.url + "/public/follow/")
    page.fill("#id_number", number)
    page.fill("#id_phone4", PHONE[-4:])  # the second factor: a number alone is not enough
    page.click("button[type=submit]")
    page.wait_for_selector("#timeline li")
    assert page.locator("#case-number").inner_text() == number
    assert page.locator("#timeline li").count() >= 1
    assert PHONE not in page.content()
    screenshot(page, "portal_mobile_3_follow")
    # The page fits the phone: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_desktop_nearby_duplicate_hint_address_report_and_public_pages(city, live_server, page):
    from urbangrid.cases.intake import IntakeData, do_intake
    from urbangrid.geo.models import Region

    existing = do_intake(
        None,
        IntakeData(
            channel="citizen_web",
            description="路边垃圾桶满了",
            lon=city.A[0],
            lat=city.A[1],
            class_code=None,
            anonymous=True,
        ),
        client_key="t",
        request_id="seed-1",
    ).case
    page.goto(live_server.url + "/public/")
    click_map_at(page, *city.A)
    page.wait_for_selector("#nearby:not([hidden]) #nearby-list li")
    assert "附近已有的举报" in page.locator("#nearby").inner_text()
    assert page.locator("#nearby-list li").count() >= 1
    screenshot(page, "portal_desktop_1_nearby")

    # Report by address only (no map point): placed in the named community.
    community = Region.objects.filter(level=4, parent=city.streets[1]).order_by("code").first()
    page.goto(live_server.url + "/public/")
    wait_until(page, "document.querySelector('#report-map path.leaflet-interactive') !== null")
    page.fill("#id_address", f"{community.name}北门停车场")
    page.fill("#id_description", "停车场入口井盖破损，很危险")
    time.sleep(3.2)
    page.click("#submit-report")
    page.wait_for_selector("#case-number")
    number = page.locator("#case-number").inner_text()
    assert number != existing.number
    screenshot(page, "portal_desktop_2_receipt")

    # Errors are clear and in Chinese.
    page.goto(live_server.url + "/public/")
    page.fill("#id_description", "脏")
    time.sleep(3.2)
    page.click("#submit-report")
    assert "请描述问题" in page.locator("#error-description").inner_text()
    assert "请在地图上选择位置" in page.locator("#error-location").inner_text()
    screenshot(page, "portal_desktop_3_errors")

    page.goto(live_server.url + "/public/stats/")
    assert int(page.locator("#kpi-received").inner_text()) >= 2
    assert page.locator("#street-table tbody tr").count() == len(city.demo.streets)
    screenshot(page, "portal_desktop_4_stats")
    page.goto(live_server.url + "/public/publicity/")
    assert page.locator("#monthly-table tbody tr").count() == 12
    screenshot(page, "portal_desktop_5_publicity")


def test_stats_page_on_phone(city, live_server, mobile_page):
    mobile_page.goto(live_server.url + "/public/stats/")
    assert mobile_page.locator(".kpi").count() == 3
    assert mobile_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(mobile_page, "portal_mobile_4_stats")


@pytest.fixture
def production_server(live_server):
    """The live server without the media handler Django's test server adds: as under gunicorn,
    only the platform's own views can answer for a photo."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler

    live_server.thread.httpd.set_app(StaticFilesHandler(WSGIHandler()))
    return live_server


def test_photos_the_portal_shows_load_with_debug_off(city, production_server, page, settings):
    """The portal's photos come from the platform itself, also with DEBUG off as in production
    (Django's static() helper serves media only with DEBUG on)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from urbangrid.cases import attachments
    from urbangrid.cases.intake import IntakeData, do_intake
    from urbangrid.cases.models import Case

    assert not settings.DEBUG
    photo = SimpleUploadedFile("before.jpg", jpeg((30, 90, 150), (320, 240)), content_type="image/jpeg")
    case = do_intake(
        None,
        IntakeData(
            channel="citizen_web", description="路灯不亮了", lon=city.A[0], lat=city.A[1], photos=[photo]
        ),
        client_key="t",
        request_id="photo-1",
    ).case
    after = attachments.prepare_many([SimpleUploadedFile("a.jpg", jpeg((0, 160, 0), (320, 240)))])
    attachments.store(case, "after", None, prepared=after[0])
    Case.objects.filter(pk=case.pk).update(state="closed", closed_at=timezone.now())
    loaded = "[...document.images].filter(i => i.closest('.photos')).map(i => i.complete && i.naturalWidth)"
    for url in [f"/public/c/{case.public_token}/", "/public/stats/"]:
        page.goto(production_server.url + url)
        page.wait_for_load_state("networkidle")
        page.evaluate("[...document.images].forEach(i => i.loading = 'eager')")
        wait_until(page, f"{loaded}.every(w => w > 0)")
        assert page.evaluate(loaded) == [320, 320], url
