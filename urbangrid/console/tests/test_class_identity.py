"""A class is its code set, kind and code, never the bare code: components and events share code
numbers (06001 is 其他设施·健身设施 and 市容环境·私搭乱建). Every class is walked through every
picker and channel, and the case must store the class that was picked."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from urbangrid.cases.models import Case
from urbangrid.catalog.cache import class_label
from urbangrid.catalog.models import ProblemClass

OPTION = re.compile(r'<option value="([^"]*)"[^>]*>([^<]*)</option>')


def options(html: str, select_name: str) -> dict[str, str]:
    """label → value of the options of the <select name=select_name> in the page."""
    start = html.index(f'name="{select_name}"')
    block = html[start : html.index("</select>", start)]
    out: dict[str, str] = {}
    for value, label in OPTION.findall(block):
        label = unescape(label).strip()
        assert label not in out, f"two options read {label!r}"
        out[label] = value
    return out


@pytest.fixture
def classes(demo):
    return list(
        ProblemClass.objects.filter(code_set__is_default=True, is_active=True).order_by("kind", "code")
    )


@pytest.fixture
def apart(settings):
    # Each submission must open its own case: this test is about the class, not duplicates.
    settings.URBANGRID = {**settings.URBANGRID, "DUPLICATE_WINDOW_HOURS": 0}


def test_the_catalogue_shares_codes_between_kinds(classes):
    codes = [pc.code for pc in classes]
    shared = {c for c in codes if codes.count(c) > 1}
    assert {"06001", "06002"} <= shared  # what the pickers must keep apart


def _point(demo, street=1):
    p = demo.grids_of(demo.street(street))[0].geometry.representative_point()
    return round(p.x, 7), round(p.y, 7)


def test_hotline_picker_stores_the_picked_class(demo, classes, apart):
    client = demo.client_for("intake_operator")
    picker = options(client.get(reverse("console:intake")).content.decode(), "class_code")
    lon, lat = _point(demo)
    for i, pc in enumerate(classes):
        value = picker[class_label(pc)]
        resp = client.post(
            reverse("console:intake"),
            {
                "request_id": f"hot-{i}",
                "description": "来电反映",
                "lon": lon,
                "lat": lat,
                "class_code": value,
            },
        )
        assert resp.status_code == 302, resp.content.decode()[:500]
        case = Case.objects.get(number=resp["Location"].rstrip("/").split("/")[-1])
        assert case.problem_class_id == pc.pk, (class_label(pc), value)


def test_mobile_picker_stores_the_picked_class(demo, classes, apart):
    from urbangrid.orgs.queries import person_grids

    client = demo.client_for("grid_worker", street=1)
    picker = options(client.get(reverse("console:mobile_report")).content.decode(), "class_code")
    grid = next(g for g in demo.grids if g.code == person_grids(demo.person("grid_worker", street=1))[0])
    p = grid.geometry.representative_point()
    for i, pc in enumerate(classes):
        r = client.post(
            reverse("console:mobile_report_submit"),
            {"request_id": f"m-{i}", "lon": p.x, "lat": p.y, "class_code": picker[class_label(pc)]},
        ).json()
        assert r["ok"], r
        assert Case.objects.get(number=r["number"]).problem_class_id == pc.pk, class_label(pc)


def test_api_takes_keys_and_refuses_an_ambiguous_bare_code(demo, classes, apart):
    client = demo.client_for("intake_operator")
    lon, lat = _point(demo)

    def intake(i, **cls):
        body = {"channel": "hotline", "description": "来电", "lon": lon, "lat": lat, "request_id": f"api-{i}"}
        return client.post("/api/v1/cases/intake", {**body, **cls}, content_type="application/json")

    for i, pc in enumerate(classes):
        r = intake(i, class_code=pc.key)
        assert r.status_code == 201, r.content
        assert r.json()["number"]
        case = Case.objects.get(number=r.json()["number"])
        assert case.problem_class_id == pc.pk
        detail = client.get(f"/api/v1/cases/{case.number}").json()
        assert (detail["class_key"], detail["class_kind"]) == (pc.key, pc.kind)
        # The code with its kind names the same class.
        r = intake(f"k{i}", class_code=pc.code, class_kind=pc.kind)
        assert Case.objects.get(number=r.json()["number"]).problem_class_id == pc.pk
    before = Case.objects.count()
    r = intake("amb", class_code="06001")
    assert r.status_code == 400
    err = r.json()
    assert err["field"] == "class_code" and "E06001" in err["detail"] and "C06001" in err["detail"]
    assert {c["key"] for c in err["details"]["choices"]} == {"E06001", "C06001"}
    assert Case.objects.count() == before
    # A bare code naming one class only still works (older clients).
    unique = next(pc for pc in classes if [c.code for c in classes].count(pc.code) == 1)
    r = intake("old", class_code=unique.code)
    assert Case.objects.get(number=r.json()["number"]).problem_class_id == unique.pk


def test_open311_services_are_keys_and_post_stores_that_class(demo, classes, apart, client):
    from urbangrid.portal.actions import do_create_client

    admin = demo.user_named("admin")
    row, key = do_create_client(admin, name="class walk", channel="open311", scopes=["open311:post"])
    row.rate_per_minute = 1000  # one request per class, within a minute
    row.save(update_fields=["rate_per_minute"])
    services = client.get("/open311/v2/services.json").json()
    assert len(services) == len(classes) == len({s["service_code"] for s in services})
    by_name = {(s["group"], s["service_name"]): s["service_code"] for s in services}
    lon, lat = _point(demo)
    for i, pc in enumerate(classes):
        code = by_name[(pc.major_name, pc.name)]
        definition = client.get(f"/open311/v2/services/{code}.json").json()
        data = {"api_key": key, "service_code": code, "lat": lat, "long": lon, "description": "市民反映"}
        for attr in definition["attributes"]:  # required attributes get their first value
            if attr["required"]:
                values = attr.get("values") or [{"key": "1"}]
                data[f"attribute[{attr['code']}]"] = values[0]["key"]
        r = client.post("/open311/v2/requests.json", {**data, "request_id": f"o-{i}"})
        assert r.status_code == 200, r.content
        number = r.json()[0]["service_request_id"]
        assert Case.objects.get(number=number).problem_class_id == pc.pk, (code, class_label(pc))
    r = client.post(
        "/open311/v2/requests.json",
        {"api_key": key, "service_code": "06001", "lat": lat, "long": lon, "description": "x"},
    )
    assert r.status_code == 400 and "E06001" in r.content.decode() and "C06001" in r.content.decode()


def test_register_picker_lists_one_code_set_and_stores_the_twin(demo, classes, apart):
    from urbangrid.cases.intake import IntakeData, do_intake

    op = demo.user("intake_operator")
    lon, lat = _point(demo)
    component = next(pc for pc in classes if pc.key == "C06001")
    event = next(pc for pc in classes if pc.key == "E06001")
    case = do_intake(
        op, IntakeData(channel="staff", description="x", lon=lon, lat=lat, class_code=component.key)
    ).case
    client = demo.client_for("shift_leader")
    page = client.get(reverse("console:case_detail", args=[case.number])).content.decode()
    picker = options(page, "problem_class")
    assert len(picker) == len(classes) + 1  # one code set, plus "keep the reported class"
    for pc in classes:
        assert picker[class_label(pc)] == str(pc.pk)
    resp = client.post(
        reverse("console:case_action", args=[case.number, "register"]),
        {"problem_class": picker[class_label(event)], "expected_version": case.version},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 204, resp.content.decode()[:500]
    case.refresh_from_db()
    assert case.problem_class_id == event.pk and case.state == "pending_dispatch"
