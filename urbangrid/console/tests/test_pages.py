"""Console pages and endpoints with the shared small demo city: each role lands where it works,
queues list what waits for the role, the case page offers exactly the allowed actions, and the
action forms drive the real case loop."""

from __future__ import annotations

import inspect
import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from urbangrid.cases import actions as case_actions
from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.cases.models import Case
from urbangrid.cases.workflow import ACTIONS, ACTIONS_BY_NAME, allowed_actions
from urbangrid.console.forms import FORMS
from urbangrid.lib.access import forget_scope


def jpeg(color=(200, 30, 30)):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "JPEG")
    return SimpleUploadedFile("p.jpg", buf.getvalue(), content_type="image/jpeg")


def point_in(grid):
    g = grid.geometry.representative_point()
    return g.x, g.y


def citizen_case(demo, street=1, description="路边有人占道经营摆摊", channel="hotline"):
    """A new case at the same point each call: the operator keeps it apart from the earlier ones
    (force_new), as it would after checking the duplicate the platform proposes."""
    grid = demo.grids_of(demo.street(street))[0]
    lon, lat = point_in(grid)
    op = demo.user("intake_operator")
    data = IntakeData(
        channel=channel,
        description=description,
        lon=lon,
        lat=lat,
        address="测试路1号",
        extra={"force_new": True},
    )
    return do_intake(op, data).case


@pytest.mark.parametrize(
    "role,expected",
    [
        ("intake_operator", "/queues/intake/"),
        ("shift_leader", "/queues/register/"),
        ("dispatcher", "/queues/dispatch/"),
        ("unit_handler", "/queues/handle/"),
        ("grid_worker", "/m/"),
        ("district_leader", "/dashboard/"),
    ],
)
def test_role_home(demo, role, expected):
    client = demo.client_for(role)
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"] == expected
    page = client.get(expected)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="zh-CN"' in html
    # Header shows the person's name and unit.
    person = demo.person(role)
    assert person.name in html


def test_nav_per_role(demo):
    from urbangrid.console.nav import build_nav

    keys = {i.key for i in build_nav(demo.user("dispatcher"))}
    assert {"map", "queues", "dashboard"} <= keys and "mobile" not in keys and "intake" not in keys
    keys = {i.key for i in build_nav(demo.user("grid_worker"))}
    assert "mobile" in keys and "queues" not in keys and "map" not in keys


def test_anonymous_redirected_to_login(client, db):
    resp = client.get("/queues/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")


def test_case_page_shows_exactly_allowed_actions(demo):
    case = citizen_case(demo)
    op = demo.user("intake_operator")
    client = demo.client_for("intake_operator")
    html = client.get(reverse("console:case_detail", args=[case.number])).content.decode()
    allowed = allowed_actions(case, op)
    assert "request_verify" in allowed
    for action in ACTIONS_BY_NAME:
        marker = f'id="action-{action}"'
        assert (marker in html) == (action in allowed), action
    # Outside the jurisdiction: 404 like missing.
    other = demo.client_for("grid_worker", street=2)
    assert other.get(reverse("console:case_detail", args=[case.number])).status_code == 404
    assert client.get(reverse("console:case_detail", args=["20990101999999"])).status_code == 404


def test_action_form_validation_and_success(demo):
    case = citizen_case(demo)
    sl = demo.client_for("shift_leader")
    url = reverse("console:case_action", args=[case.number, "reject"])
    # Missing reason: the form answers with an error and nothing changes.
    resp = sl.post(url, {"expected_version": case.version}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and "errorlist" in resp.content.decode()
    case.refresh_from_db()
    assert case.state == "reported"
    # An action not allowed now is refused with a clear message.
    resp = sl.post(reverse("console:case_action", args=[case.number, "close"]), {}, HTTP_HX_REQUEST="true")
    assert (
        "no longer possible" in resp.content.decode()
        or "不再可行" in resp.content.decode()
        or "errorlist" in resp.content.decode()
    )
    case.refresh_from_db()
    assert case.state == "reported"
    # Operator requests verification through the form.
    op = demo.client_for("intake_operator")
    resp = op.post(
        reverse("console:case_action", args=[case.number, "request_verify"]),
        {"expected_version": case.version},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 204 and resp["HX-Redirect"].endswith(f"/case/{case.number}/")
    case.refresh_from_db()
    assert case.state == "verifying"


def test_stale_version_is_a_conflict(demo):
    case = citizen_case(demo)
    op = demo.client_for("intake_operator")
    resp = op.post(
        reverse("console:case_action", args=[case.number, "request_verify"]),
        {"expected_version": case.version + 5},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 200 and "errorlist" in resp.content.decode()
    case.refresh_from_db()
    assert case.state == "reported"


def test_queues_and_batch_dispatch(demo, django_assert_max_num_queries):
    from urbangrid.cases import actions as A

    sl, op = demo.user("shift_leader"), demo.user("intake_operator")
    cases = []
    for i in range(3):
        c = citizen_case(demo, description=f"占道经营摆摊 第{i}处", channel="hotline")
        # Move each to pending dispatch through the real actions.
        A.do_request_verify(op, c)
        gw = demo.user("grid_worker", street=1)
        c.refresh_from_db()
        c.field_worker = None
        A.do_verify(
            demo.user_named(c.field_worker.user.username) if c.field_worker else gw,
            c,
            confirmed=True,
            photos=[jpeg()],
        ) if False else None
        cases.append(c)
    client = demo.client_for("intake_operator")
    resp = client.get(reverse("console:queue", args=["verify"]))
    assert resp.status_code == 200
    for c in cases:
        assert c.number in resp.content.decode()
    # Listing does not run one query per row.
    with django_assert_max_num_queries(30):
        client.get(reverse("console:queue", args=["verify"]) + "?sort=-reported")
    assert client.get(reverse("console:queue", args=["nonsense"])).status_code == 404
    forget_scope(sl)


def test_map_cases_endpoint_points_and_cells(demo, settings):
    from urbangrid.console import map_views

    for i in range(6):
        citizen_case(demo, description=f"暴露垃圾 {i}")
    client = demo.client_for("intake_operator")
    resp = client.get(reverse("console:map_cases"), {"bbox": "-180,-90,180,90", "zoom": 16})
    data = resp.json()
    assert data["mode"] == "points" and data["total"] >= 6 and len(data["points"]) == data["total"]
    number, lon, lat, state_idx, sev = data["points"][0]
    assert data["states"][state_idx] in ("reported", "verifying") and sev in (0, 1, 2)
    old = map_views.MAX_POINTS
    map_views.MAX_POINTS = 2
    try:
        data = client.get(reverse("console:map_cases"), {"bbox": "-180,-90,180,90", "zoom": 10}).json()
    finally:
        map_views.MAX_POINTS = old
    assert data["mode"] == "cells" and sum(c[2] for c in data["cells"]) == data["total"]
    # A viewport with nothing in it.
    data = client.get(reverse("console:map_cases"), {"bbox": "0,0,1,1", "zoom": 14}).json()
    assert data["total"] == 0 and data["points"] == []
    # Another street's grid worker does not see the first street's cases.
    other = demo.client_for("grid_worker", street=2)
    numbers = {
        p[0]
        for p in other.get(reverse("console:map_cases"), {"bbox": "-180,-90,180,90", "zoom": 16}).json()[
            "points"
        ]
    }
    assert not numbers & {p[0] for p in data["points"]}


def test_dashboard_and_export(demo):
    from openpyxl import load_workbook

    for i in range(3):
        citizen_case(demo, description=f"机动车乱停放 {i}")
    client = demo.client_for("district_leader")
    resp = client.get(reverse("console:dashboard"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "echarts" in html
    x = client.get(reverse("console:dashboard_export", args=["by_area"]))
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.content))
    rows = list(wb.active.iter_rows(values_only=True))
    assert sum(r[2] for r in rows[3:]) == 3
    heat = client.get(reverse("console:dashboard_heat")).json()
    assert len(heat["points"]) == 3
    assert client.get(reverse("console:dashboard_export", args=["nope"])).status_code == 404


def test_intake_form_suggest_check_and_save(demo):
    client = demo.client_for("intake_operator")
    assert client.get(reverse("console:intake")).status_code == 200
    resp = client.post(reverse("console:intake_suggest"), {"description": "小区门口有人占道经营"})
    assert resp.status_code == 200
    grid = demo.grids_of(demo.street(1))[0]
    lon, lat = point_in(grid)
    resp = client.get(reverse("console:intake_check"), {"lon": lon, "lat": lat})
    assert grid.code in resp.content.decode()
    resp = client.get(reverse("console:intake_check"), {"lon": 0, "lat": 0})
    assert "field-error" in resp.content.decode()
    data = {
        "request_id": "abc123",
        "description": "小区门口有人占道经营",
        "lon": lon,
        "lat": lat,
        "address": "幸福路8号",
    }
    resp = client.post(reverse("console:intake"), data)
    assert resp.status_code == 302
    number = resp["Location"].rstrip("/").split("/")[-1]
    # The same request id again (double click) does not open a second case.
    resp2 = client.post(reverse("console:intake"), data)
    assert resp2["Location"].rstrip("/").split("/")[-1] == number
    # Missing place: a clear error, nothing saved.
    resp = client.post(reverse("console:intake"), {"request_id": "x2", "description": "占道经营"})
    assert resp.status_code == 200 and "errorlist" in resp.content.decode()
    places = client.get(reverse("console:intake_places"), {"address": "幸福路"})
    assert "幸福路8号" in places.content.decode()


def test_mobile_report_idempotent(demo):
    client = demo.client_for("grid_worker", street=1)
    assert client.get(reverse("console:mobile_home")).status_code == 200
    assert client.get(reverse("console:mobile_report")).status_code == 200
    gw = demo.person("grid_worker", street=1)
    from urbangrid.orgs.queries import person_grids

    code = person_grids(gw)[0]
    grid = next(g for g in demo.grids if g.code == code)
    lon, lat = point_in(grid)
    data = {
        "request_id": "7a1f-uuid",
        "lon": lon,
        "lat": lat,
        "crs": "wgs84",
        "description": "井盖缺失",
        "photos": jpeg(),
    }
    r1 = client.post(reverse("console:mobile_report_submit"), data).json()
    data["photos"] = jpeg()
    r2 = client.post(reverse("console:mobile_report_submit"), data).json()
    assert r1["ok"] and r2["ok"] and r1["number"] == r2["number"] and r2["replayed"]
    from urbangrid.cases.models import Report

    assert Report.objects.filter(request_id="7a1f-uuid").count() == 1
    bad = client.post(reverse("console:mobile_report_submit"), {"request_id": "z", "description": "x"})
    assert bad.status_code == 400 and bad.json()["error"]
    m = client.get(reverse("console:manifest")).json()
    assert m["display"] == "standalone" and m["start_url"] == "/m/"
    sw = client.get(reverse("console:service_worker"))
    assert sw["Content-Type"] == "application/javascript" and sw["Service-Worker-Allowed"] == "/m/"


def test_grid_pages(demo):
    client = demo.client_for("district_leader")
    resp = client.get(reverse("console:grids"))
    assert resp.status_code == 200
    grid = demo.grids[0]
    assert client.get(reverse("console:grid_detail", args=[grid.code])).status_code == 200
    assert client.get(reverse("console:grid_panel", args=[grid.code])).status_code == 200
    cov = client.get(reverse("console:grid_coverage", args=[demo.communities[0].code])).json()
    assert "findings" in cov and cov["region"] == demo.communities[0].code
    # Import is for administrators only.
    assert client.get(reverse("console:grid_import")).status_code == 404


def test_inbox_read_all_is_an_audited_action(demo):
    from urbangrid.cases.models import Notification
    from urbangrid.cases.notify import notify
    from urbangrid.lib.models import AuditEvent

    person = demo.person("shift_leader")
    notify([person], "test", "一条消息")
    notify([person], "test", "另一条消息")
    other = demo.person("dispatcher")
    notify([other], "test", "别人的消息")
    client = demo.client_named(person.user.username)
    assert client.post("/inbox/").status_code == 302
    assert not Notification.objects.filter(recipient=person, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=other, read_at__isnull=True).count() == 1
    ev = AuditEvent.objects.get(action="notification.read_all")
    assert ev.actor == person.user and ev.payload["person_id"] == person.pk
    assert len(ev.payload["notification_ids"]) == 2
    # Nothing left to mark: no empty audit line.
    client.post("/inbox/")
    assert AuditEvent.objects.filter(action="notification.read_all").count() == 1


def test_mobile_report_keeps_when_and_where_each_photo_was_taken(demo):
    from urbangrid.cases.models import Report

    gw = demo.person("grid_worker", street=1)
    grid = demo.grids_of(demo.street(1))[0]
    lon, lat = point_in(grid)
    client = demo.client_named(gw.user.username)

    def send(meta, rid):
        return client.post(
            "/m/report/submit",
            {
                "request_id": rid,
                "lon": lon,
                "lat": lat,
                "description": "井盖缺失",
                "photos": jpeg(),
                "photo_meta": meta,
            },
        )

    for bad in (
        "[",
        '[{"field": "photos", "taken_at": "昨天"}]',
        '[{"field": "photos", "taken_at": "2026-12-07T09:15:30", "lon": 999, "lat": 1}]',
        "[1, 2]",
    ):
        r = send(bad, "meta-bad")
        assert r.status_code == 400 and r.json()["field"] == "photos", bad
    assert not Report.objects.filter(request_id="meta-bad").exists()
    r = send(
        '[{"field": "photos", "taken_at": "2026-12-07T09:15:30", "lon": 108.9, "lat": 34.2, '
        '"source": "exif"}]',
        "meta-ok",
    )
    assert r.status_code == 200, r.content
    assert Report.objects.get(request_id="meta-ok").payload["photo_meta"] == [
        {
            "field": "photos",
            "taken_at": "2026-12-07T09:15:30+08:00",
            "lon": 108.9,
            "lat": 34.2,
            "source": "exif",
        }
    ]


def test_mobile_class_suggestion_takes_a_long_description(demo):
    client = demo.client_for("grid_worker")
    text = "路边有人占道经营摆摊，" + "行人只能绕到机动车道上走。" * 60
    r = client.post("/m/suggest", {"text": text})
    assert r.status_code == 200 and r.json()["suggestions"]
    # Not in the URL: a long text there overflows the request line (414).
    assert client.get("/m/suggest", {"text": "占道经营"}).status_code == 405


def test_hotline_point_outside_the_district_is_shown_beside_the_map(demo):
    client = demo.client_for("intake_operator")
    before = Case.objects.count()
    resp = client.post(
        reverse("console:intake"),
        {"request_id": "outside-1", "description": "来电：路灯不亮", "lon": 10.0, "lat": 10.0},
    )
    assert resp.status_code == 200
    page = resp.content.decode()
    # The error is in view beside the map, not attached to the hidden lon field.
    assert re.search(
        r'<p class="field-error" id="place-error" role="alert">[^<]*(jurisdiction|管辖范围)', page
    )
    # The refused point is dropped: no marker is drawn again from the hidden fields.
    assert re.search(r'<input type="hidden" name="lon"[^>]*>', page)
    assert not re.search(r'name="l(on|at)"[^>]*value="10', page)
    assert "来电：路灯不亮" in page  # the rest of the form is kept
    assert Case.objects.count() == before


@pytest.mark.parametrize("zoom", ["inf", "-inf", "nan", "-1000000000", "1e308", "abc", "99", "-3"])
@pytest.mark.parametrize("bbox", ["", "108,34,109,35", "nan,nan,nan,nan", "-inf,-inf,inf,inf"])
def test_map_cases_takes_any_zoom_and_bbox(demo, zoom, bbox):
    """inf and -1e9 reached 360 / 2**zoom (500s); like a bad bbox they fall back to defaults."""
    r = demo.client_for("dispatcher").get("/map/cases.json", {"zoom": zoom, "bbox": bbox})
    assert r.status_code == 200, (zoom, bbox)


@pytest.mark.parametrize(
    "change",
    [
        {"description": "井盖\x00缺失"},
        {"address": "\x00"},
        {"lon": "nan", "lat": "nan"},
        {"lon": "inf", "lat": "inf"},
    ],
)
def test_mobile_report_refuses_nul_and_non_finite_input_and_changes_nothing(demo, change):
    from urbangrid.cases.models import Report
    from urbangrid.orgs.queries import person_grids

    client = demo.client_for("grid_worker", street=1)
    gw = demo.person("grid_worker", street=1)
    grid = next(g for g in demo.grids if g.code == person_grids(gw)[0])
    lon, lat = point_in(grid)
    data = {
        "request_id": "nul-1",
        "lon": lon,
        "lat": lat,
        "crs": "wgs84",
        "description": "井盖缺失",
        **change,
    }
    before = Report.objects.count()
    r = client.post(reverse("console:mobile_report_submit"), data)
    assert r.status_code == 400, r.content
    assert r.json()["ok"] is False and r.json()["error"]
    assert Report.objects.count() == before


def test_every_action_record_has_a_form_whose_fields_its_handler_takes():
    """A form's cleaned fields are the arguments of the record's do_* function (forms.ActionForm.run)."""
    for spec in ACTIONS:
        params = set(inspect.signature(getattr(case_actions, spec.handler)).parameters)
        fields = set(FORMS[spec.name].base_fields) - {"expected_version"}
        assert fields | set(spec.handler_args) <= params, spec.name
