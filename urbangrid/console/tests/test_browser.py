"""Browser tests (Playwright + Chromium): each role's part of the case loop end to end, the
command map, dashboards, grid pages, and the grid worker's offline outbox. Screenshots of every
step go to test-artifacts/ for a person to look at. Any console error fails the test."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from conftest import CHROMIUM_ARGS, screenshot, wait_until  # noqa: F401

pytestmark = [pytest.mark.browser]

PASSWORD = "demo12345"


def jpeg_bytes(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


def photo(name="p.jpg", color=(200, 30, 30)):
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg_bytes(color)}


class Session:
    """One person's browser context; collects console errors like the conftest fixtures do."""

    def __init__(self, browser, base, *, mobile=False):
        args = (
            {
                "viewport": {"width": 390, "height": 844},
                "is_mobile": True,
                "has_touch": True,
                "device_scale_factor": 2,
            }
            if mobile
            else {"viewport": {"width": 1366, "height": 768}}
        )
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **args)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on(
            "console", lambda m: m.type == "error" and self.errors.append(f"{m.text} @ {self.page.url}")
        )
        self.page.on(
            "pageerror", lambda e: self.errors.append(f"{e} @ {self.page.url} {getattr(e, 'stack', '')}")
        )
        self.base = base

    def login(self, username):
        p = self.page
        p.goto(self.base + "/login/")
        p.fill("#id_username", username)
        p.fill("#id_password", PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_load_state("networkidle")
        return p

    def close(self):
        errors = list(self.errors)
        self.context.close()
        assert not errors, f"console errors: {errors}"


def username_of(person):
    return person.user.username


def do_action(page, action, fill=None, files=None):
    """Open an action's <details>, fill it and submit; waits for the page to reload."""
    box = page.locator(f"#action-{action}")
    box.locator("summary").click()
    for sel, value in (fill or {}).items():
        el = box.locator(sel)
        if el.get_attribute("type") == "radio":
            el.check()
        elif el.evaluate("e => e.tagName") == "SELECT":
            el.select_option(value)
        else:
            el.fill(value)
    for sel, value in (files or {}).items():
        box.locator(sel).set_input_files(value)
    with page.expect_navigation():
        box.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def state_of(number):
    from urbangrid.cases.models import Case

    return Case.objects.get(number=number).state


def test_full_case_loop(browser, live_server, demo):
    from urbangrid.orgs.models import Person
    from urbangrid.orgs.queries import person_grids

    base = live_server.url
    gw = demo.person("grid_worker", street=1)
    grid_code = person_grids(gw)[0]
    grid = next(g for g in demo.grids if g.code == grid_code)
    pt = grid.geometry.representative_point()
    operator, leader, dispatcher = (demo.person(r) for r in ("intake_operator", "shift_leader", "dispatcher"))

    # 1. Hotline: the operator takes a call, picks the place, sees the suggested class, saves.
    op = Session(browser, base)
    p = op.login(username_of(operator))
    assert "/queues/intake/" in p.url
    p.goto(base + "/intake/")
    p.fill("#id_description", "市民来电：小区门口有人占道经营，摆摊卖水果")
    p.wait_for_selector("#suggestions .chip", timeout=5000)
    p.locator("#suggestions .chip").first.click()
    p.evaluate(f"window.UG_INTAKE.setPoint({pt.x}, {pt.y}, 17)")
    p.wait_for_selector("#intake-check .ok", timeout=5000)
    p.fill("#id_address", "幸福路8号")
    p.fill("#id_reporter_phone", "13900000000")
    screenshot(p, "journey-01-hotline-intake")
    with p.expect_navigation():
        p.click("form#intake-form button[type=submit]")
    m = re.search(r"/case/(\d+)/", p.url)
    assert m, p.url
    number = m.group(1)
    assert state_of(number) == "reported"
    screenshot(p, "journey-02-case-reported")

    # 2. The operator requests verification (to the grid's supervisor).
    do_action(p, "request_verify")
    assert state_of(number) == "verifying"
    screenshot(p, "journey-03-verification-requested")
    op.close()

    # 3. The grid worker verifies on the phone, with a photo.
    gws = Session(browser, base, mobile=True)
    m = gws.login(username_of(gw))
    assert m.url.endswith("/m/")
    m.wait_for_selector(f"a.m-task[href*='{number}']")
    screenshot(m, "journey-04-mobile-tasks")
    m.click(f"a.m-task[href*='{number}']")
    m.wait_for_load_state("networkidle")
    do_action(
        m,
        "verify",
        fill={"input[name=confirmed][value=yes]": "yes", "textarea[name=note]": "现场确有占道经营"},
        files={"input[name=photos]": [photo()]},
    )
    assert state_of(number) == "pending_register"
    screenshot(m, "journey-05-mobile-verified")
    gws.close()

    # 4. The shift leader registers it from the 待立案 queue.
    sl = Session(browser, base)
    p = sl.login(username_of(leader))
    assert "/queues/register/" in p.url
    p.click(f"text={number}")
    p.wait_for_load_state("networkidle")
    do_action(p, "register")
    assert state_of(number) == "pending_dispatch"
    screenshot(p, "journey-06-registered")
    sl.close()

    # 5. The dispatcher dispatches to the suggested unit.
    dp = Session(browser, base)
    p = dp.login(username_of(dispatcher))
    assert "/queues/dispatch/" in p.url
    screenshot(p, "journey-07-dispatch-queue")
    p.click(f"text={number}")
    p.wait_for_load_state("networkidle")
    do_action(p, "dispatch", fill={"textarea[name=instruction]": "请当日处置"})
    assert state_of(number) == "pending_handle"
    screenshot(p, "journey-08-dispatched")
    dp.close()

    # 6. A handler of the unit accepts and reports back with before/after photos.
    from urbangrid.cases.models import Case

    case = Case.objects.get(number=number)
    handler = Person.objects.filter(
        unit_id=case.assigned_unit_id, roles__role="unit_handler", is_active=True
    ).first()
    assert handler is not None, f"no handler in {case.assigned_unit}"
    uh = Session(browser, base)
    p = uh.login(username_of(handler))
    assert "/queues/handle/" in p.url
    p.click(f"text={number}")
    p.wait_for_load_state("networkidle")
    do_action(p, "accept")
    assert state_of(number) == "handling"
    do_action(
        p,
        "report_back",
        fill={"select[name=response]": "persuade", "textarea[name=report]": "已劝离摊贩，恢复通行"},
        files={
            "input[name=photos_before]": [photo("b.jpg")],
            "input[name=photos_after]": [photo("a.jpg", (30, 160, 60))],
        },
    )
    assert state_of(number) == "pending_check"
    p.wait_for_selector(".before-after img")
    screenshot(p, "journey-09-reported-back")
    uh.close()

    # 7. The operator requests the on-site check.
    op = Session(browser, base)
    p = op.login(username_of(operator))
    p.goto(f"{base}/case/{number}/")
    do_action(p, "request_check")
    assert state_of(number) == "checking"
    op.close()

    # 8. The grid worker checks on the phone.
    gws = Session(browser, base, mobile=True)
    m = gws.login(username_of(gw))
    m.click(f"a.m-task[href*='{number}']")
    m.wait_for_load_state("networkidle")
    do_action(
        m,
        "check",
        fill={"input[name=passed][value=yes]": "yes"},
        files={"input[name=photos]": [photo("c.jpg")]},
    )
    assert state_of(number) == "pending_close"
    screenshot(m, "journey-10-mobile-checked")
    gws.close()

    # 9. The shift leader closes; the case shows closed with its whole timeline.
    sl = Session(browser, base)
    p = sl.login(username_of(leader))
    p.goto(f"{base}/queues/close/")
    p.click(f"text={number}")
    p.wait_for_load_state("networkidle")
    do_action(p, "close")
    assert state_of(number) == "closed"
    assert p.locator(".st-closed").first.is_visible()
    assert p.locator("ol.timeline li").count() >= 9
    screenshot(p, "journey-11-closed")
    sl.close()


def test_mobile_offline_report_sent_exactly_once(browser, live_server, demo):
    from urbangrid.cases.models import Case, Report
    from urbangrid.orgs.queries import person_grids

    gw = demo.person("grid_worker", street=1)
    grid = next(g for g in demo.grids if g.code == person_grids(gw)[0])
    pt = grid.geometry.representative_point()
    s = Session(browser, live_server.url, mobile=True)
    s.context.grant_permissions(["geolocation"])
    s.context.set_geolocation({"longitude": pt.x, "latitude": pt.y, "accuracy": 8})
    m = s.login(username_of(gw))
    m.goto(live_server.url + "/m/report/")
    m.wait_for_load_state("networkidle")
    wait_until(m, "document.getElementById('r-lon').value !== ''")
    before = Case.objects.count()
    s.context.set_offline(True)
    m.fill("#r-desc", "路灯不亮，灯杆倾斜")
    m.set_input_files("#r-photos", [photo()])
    m.click("#r-submit")
    m.wait_for_selector("#report-result.warn-box")
    assert m.locator("#queue-status").is_visible()
    screenshot(m, "mobile-offline-queued")
    assert Case.objects.count() == before
    # Back online: the outbox sends it once; a second flush (page reload) sends nothing more.
    s.context.set_offline(False)
    m.evaluate("window.dispatchEvent(new Event('online'))")
    m.wait_for_selector("#report-result.ok-box", timeout=10000)
    assert Case.objects.count() == before + 1
    m.reload()
    m.wait_for_load_state("networkidle")
    m.evaluate("UGQueue.flush()")
    m.wait_for_timeout(500)
    assert Case.objects.count() == before + 1
    assert m.evaluate("UGQueue.count()") == 0
    screenshot(m, "mobile-offline-sent")
    # A lost answer: the same request id sent twice gives one case (server idempotency).
    rid = m.evaluate(
        f"""async () => {{ const e = {{id: UGQueue.uuid(), url: '/m/report/submit', created: Date.now(),
              fields: {{lon: '{pt.x}', lat: '{pt.y}', crs: 'wgs84', description: '垃圾桶满溢'}}, files: []}};
             const a = await UGQueue.send(e); const b = await UGQueue.send(e); return [e.id, a.data.number, b.data.number]; }}"""
    )
    assert rid[1] == rid[2]
    assert Report.objects.filter(request_id=rid[0]).count() == 1
    s.close()


def test_command_map_and_panels(browser, live_server, demo):
    from urbangrid.cases.intake import IntakeData, do_intake

    op = demo.user("intake_operator")
    for i, g in enumerate(demo.grids[:30]):
        pt = g.geometry.representative_point()
        do_intake(op, IntakeData(channel="hotline", description=f"暴露垃圾 {i}", lon=pt.x, lat=pt.y))
    s = Session(browser, live_server.url)
    p = s.login(demo.person("dispatcher").user.username)
    p.goto(live_server.url + "/map/")
    wait_until(p, "window.UG_MAP && window.UG_MAP.loads > 0", timeout=10000)
    assert p.evaluate("UG_MAP.totalCases") >= 30
    screenshot(p, "map-01-overview")
    # Zoom to one case: single markers; click it → the side panel with timeline and actions.
    from urbangrid.cases.models import Case

    case = Case.objects.filter(description="暴露垃圾 0").first()
    p.evaluate("window.__loads = UG_MAP.loads")
    p.evaluate(f"void UG_MAP_API.map.setView([{case.lat}, {case.lon}], 18)")
    wait_until(p, "UG_MAP.loads > window.__loads && UG_MAP.mode === 'points'", timeout=10000)
    p.wait_for_timeout(300)
    xy = p.evaluate(
        f"(() => {{ const pt = UG_MAP_API.map.latLngToContainerPoint([{case.lat}, {case.lon}]); return [pt.x, pt.y]; }})()"
    )
    box = p.locator("#map").bounding_box()
    p.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    p.wait_for_selector("#side-panel .panel-head", timeout=10000)
    assert case.number in p.locator("#side-panel").inner_text()
    assert p.locator("#side-panel #action-dispatch").count() == 0  # not allowed from "reported"
    screenshot(p, "map-02-case-panel")
    # A grid: click beside the marker inside the grid polygon → its supervisors and recent cases.
    p.locator("#side-panel [data-close-panel]").click()
    grid = case.grid
    gp = grid.geometry.representative_point()
    xy = p.evaluate(
        f"(() => {{ const pt = UG_MAP_API.map.latLngToContainerPoint([{grid.geometry.bounds[1] + 0.00005}, {grid.geometry.bounds[0] + 0.00005}]); return [pt.x, pt.y]; }})()"
    )
    p.evaluate(f"void UG_MAP_API.map.setView([{gp.y}, {gp.x}], 18)")
    wait_until(p, "UG_MAP.gridsPainted > 0", timeout=10000)
    p.wait_for_timeout(500)
    # Click on the grid polygon away from case markers (near its representative point, offset).
    xy = p.evaluate(
        f"(() => {{ const pt = UG_MAP_API.map.latLngToContainerPoint([{gp.y}, {gp.x}]); return [pt.x + 25, pt.y + 25]; }})()"
    )
    opened = False
    for dx, dy in ((0, 0), (-50, -50), (30, -40), (-40, 30)):
        p.mouse.click(box["x"] + xy[0] + dx, box["y"] + xy[1] + dy)
        try:
            p.wait_for_selector("#side-panel .panel-head", timeout=3000)
            opened = True
            break
        except Exception:
            continue
    assert opened
    screenshot(p, "map-03-grid-panel")
    s.close()


def test_dashboard_and_grids_pages(browser, live_server, demo):
    s = Session(browser, live_server.url)
    p = s.login(demo.person("district_leader").user.username)
    assert "/dashboard/" in p.url
    wait_until(p, "window.UG_DASH && window.UG_DASH.charts >= 5")
    screenshot(p, "dashboard")
    p.goto(live_server.url + "/grids/")
    p.wait_for_load_state("networkidle")
    p.click("#run-coverage")
    wait_until(p, "window.UG_COVERAGE !== undefined", timeout=20000)
    screenshot(p, "grids-coverage")
    s.close()


def test_login_lockout_in_browser(browser, live_server, demo):
    s = Session(browser, live_server.url)
    p = s.page
    for _i in range(5):
        p.goto(live_server.url + "/login/")
        p.fill("#id_username", demo.person("dispatcher").user.username)
        p.fill("#id_password", "wrong-password")
        p.click("button[type=submit]")
        p.wait_for_load_state("networkidle")
    p.fill("#id_username", demo.person("dispatcher").user.username)
    p.fill("#id_password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_load_state("networkidle")
    assert "锁定" in p.content()
    screenshot(p, "login-locked")
    s.close()


def big_phone_photo() -> bytes:
    """A 4000×3000 photo of noise: about the 8–15 MB a modern phone's camera writes."""
    import os

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:12:07 09:15:30"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 15.0, 36.0), "E", (108.0, 54.0, 18.0)
    buf = io.BytesIO()
    Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3)).save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


def test_mobile_refused_report_stays_editable_and_big_photos_go_through(browser, live_server, demo, settings):
    from urbangrid.cases.models import Attachment, Case, Report
    from urbangrid.orgs.queries import person_grids

    gw = demo.person("grid_worker", street=1)
    grid = next(g for g in demo.grids if g.code == person_grids(gw)[0])
    pt = grid.geometry.representative_point()
    s = Session(browser, live_server.url, mobile=True)
    s.context.grant_permissions(["geolocation"])
    s.context.set_geolocation({"longitude": pt.x, "latitude": pt.y, "accuracy": 8})
    m = s.login(username_of(gw))
    m.goto(live_server.url + "/m/report/")
    m.wait_for_load_state("networkidle")
    wait_until(m, "document.getElementById('r-lon').value !== ''")
    before = Case.objects.count()
    # A renamed program as the photo: the server refuses the report.
    m.set_input_files(
        "#r-photos", [{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00" * 2048}]
    )
    with m.expect_request(lambda r: "/m/suggest" in r.url) as asked:
        m.fill("#r-desc", "井盖缺失，有行人踩空的危险")
    assert asked.value.method == "POST" and "text" not in asked.value.url
    m.wait_for_selector("#r-suggest .chip")
    klass = m.locator("#r-class option").nth(3).get_attribute("value")
    m.select_option("#r-class", klass)
    m.click("#r-submit")
    wait_until(m, "document.getElementById('report-error').textContent !== ''")
    assert Case.objects.count() == before
    # Nothing is wiped: text, class and photo are still in the form ...
    assert m.input_value("#r-desc") == "井盖缺失，有行人踩空的危险"
    assert m.input_value("#r-class") == klass
    assert m.evaluate("document.getElementById('r-photos').files.length") == 1
    # ... the outbox keeps the report with the reason ...
    kept = m.evaluate("UGQueue.all()")
    assert len(kept) == 1 and kept[0]["refused"]["error"]
    assert m.evaluate("UGQueue.pending().then(p => p.length)") == 0
    # ... and the reason is in view, above the tab bar.
    box = m.locator("#report-error").bounding_box()
    tabs = m.locator(".m-tabs").bounding_box()
    assert box["height"] > 0 and box["y"] >= 0 and box["y"] + box["height"] <= tabs["y"]
    assert "拒绝" in m.locator("#report-error").inner_text()
    screenshot(m, "mobile-report-refused-kept")
    # The person swaps in a real phone photo, bigger than the server takes: it is downscaled here.
    big = big_phone_photo()
    assert len(big) > settings.URBANGRID["UPLOAD_MAX_BYTES"]
    m.set_input_files("#r-photos", [{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": big}])
    m.click("#r-submit")
    m.wait_for_selector("#report-result.ok-box", timeout=20000)
    assert Case.objects.count() == before + 1
    case = Case.objects.order_by("-id").first()
    (att,) = Attachment.objects.filter(case=case)
    assert max(att.width, att.height) <= 2048 and att.size < 2 * 1024 * 1024
    assert case.problem_class.key == klass
    # The photo still says when and where it was taken (read from its EXIF before downscaling).
    (meta,) = Report.objects.get(case=case).payload["photo_meta"]
    assert meta["field"] == "photos" and meta["source"] == "exif"
    assert meta["taken_at"] == "2026-12-07T09:15:30+08:00"
    assert meta["lat"] == pytest.approx(34.26) and meta["lon"] == pytest.approx(108.905)
    # Sent: the form is cleared and the refused entry left the outbox with it.
    assert m.input_value("#r-desc") == "" and m.evaluate("UGQueue.count()") == 0
    # The browser logs the refused request itself; anything else is an error of the page.
    s.errors[:] = [e for e in s.errors if "status of 400" not in e]
    s.close()


def test_hotline_point_outside_the_district_loses_its_marker(browser, live_server, demo):
    base = live_server.url
    op = Session(browser, base)
    p = op.login(username_of(demo.person("intake_operator")))
    p.goto(base + "/intake/")
    p.fill("#id_description", "市民来电：路灯不亮")
    p.evaluate("window.UG_INTAKE.setPoint(10.0, 10.0, 5)")
    p.wait_for_selector("#intake-check .field-error", timeout=5000)
    # The check says why, and neither a marker nor hidden coordinates are left behind.
    wait_until(p, "document.querySelectorAll('.leaflet-marker-icon').length === 0", timeout=5000)
    assert p.input_value("#id_lon") == "" and p.input_value("#id_lat") == ""
    screenshot(p, "hotline-point-outside")
    with p.expect_navigation():
        p.click("form#intake-form button[type=submit]")
    assert p.locator(".errorlist").first.is_visible()  # "pick the place", in view
    assert p.input_value("#id_description") == "市民来电：路灯不亮"
    op.close()


def test_mobile_report_near_an_open_case_asks_and_shows_the_number(browser, live_server, demo):
    from urbangrid.cases.intake import IntakeData, do_intake
    from urbangrid.cases.models import Case
    from urbangrid.orgs.queries import person_grids

    gw = demo.person("grid_worker", street=1)
    grid = next(g for g in demo.grids if g.code == person_grids(gw)[0])
    pt = grid.geometry.representative_point()
    data = IntakeData(channel="hotline", description="垃圾桶满了", lon=pt.x, lat=pt.y, class_code="E06011")
    open_case = do_intake(demo.user("intake_operator"), data).case
    s = Session(browser, live_server.url, mobile=True)
    s.context.grant_permissions(["geolocation"])
    s.context.set_geolocation({"longitude": pt.x, "latitude": pt.y, "accuracy": 8})
    m = s.login(username_of(gw))
    m.goto(live_server.url + "/m/report/")
    wait_until(m, "document.getElementById('r-lon').value !== ''")
    asked = []
    m.on("dialog", lambda d: (asked.append(d.message), d.accept()))  # "the same problem": add it
    m.fill("#r-desc", "垃圾箱满溢")
    m.select_option("#r-class", "E06011")
    before = Case.objects.count()
    m.click("#r-submit")
    m.wait_for_selector("#report-result.ok-box", timeout=10000)
    assert asked and open_case.number in asked[0]
    assert open_case.number in m.text_content("#report-result")
    assert Case.objects.count() == before
    assert Case.objects.get(pk=open_case.pk).report_count == 2
    screenshot(m, "mobile-duplicate-chosen")
    s.close()
