import pytest

pytestmark = pytest.mark.django_db


def test_codesets_and_classes(demo):
    client = demo.client_for("dispatcher")
    sets = client.get("/api/v1/catalog/codesets").json()
    assert {s["minor_digits"] for s in sets} == {2, 3} and sets[0]["is_default"] and sets[0]["classes"] >= 60
    page = client.get("/api/v1/catalog/classes?kind=event&major=09").json()
    assert page["count"] > 10 and all(c["code"].startswith("09") for c in page["items"])
    legacy = client.get("/api/v1/catalog/classes?code_set=GB/T 30428.2-2013&q=占道").json()
    assert any(c["code"] == "0406" for c in legacy["items"])
    services = client.get("/api/v1/catalog/classes?kind=service").json()
    assert services["count"] >= 5
    assert client.get("/api/v1/catalog/classes?kind=bogus").status_code == 400


def test_one_class_with_standard(demo):
    client = demo.client_for("shift_leader")
    c = client.get("/api/v1/catalog/classes/by-code/06010").json()
    assert c["name"] == "暴露垃圾" and c["acceptance_condition"] and c["closing_condition"]
    assert c["equivalent"]["code"] == "0110"
    assert "工作日" in c["time_limit_display"]
    same = client.get(f"/api/v1/catalog/classes/{c['id']}").json()
    assert same["code"] == "06010"
    assert client.get("/api/v1/catalog/classes/by-code/77777").status_code == 404


def test_a_code_shared_by_a_component_and_an_event_is_not_guessed(demo):
    client = demo.client_for("shift_leader")
    r = client.get("/api/v1/catalog/classes/by-code/06001")
    assert r.status_code == 400
    assert {c["key"] for c in r.json()["details"]["choices"]} == {"C06001", "E06001"}
    event = client.get("/api/v1/catalog/classes/by-code/E06001").json()
    assert (event["kind"], event["key"], event["name"]) == ("event", "E06001", "私搭乱建")
    component = client.get("/api/v1/catalog/classes/by-code/06001?kind=component").json()
    assert (component["key"], component["name"]) == ("C06001", "健身设施")


def test_suggest(demo):
    client = demo.client_for("intake_operator")
    res = client.post(
        "/api/v1/catalog/suggest", {"text": "井盖丢失了，很危险", "limit": 3}, content_type="application/json"
    )
    assert res.status_code == 200
    top = res.json()[0]
    assert "井盖" in top["problem_class"]["name"] and top["matched"]
    assert (
        client.get("/api/v1/catalog/suggest?text=人行道上有人摆摊卖水果").json()[0]["problem_class"]["code"]
        == "09006"
    )
    assert (
        client.post("/api/v1/catalog/suggest", {"text": " "}, content_type="application/json").status_code
        == 400
    )


def test_calendar_and_deadline(demo):
    client = demo.client_for("dispatcher")
    y = client.get("/api/v1/catalog/calendar/2026").json()
    assert y["working_days"] == 248 and y["holidays_on_weekdays"] == 19 and y["makeup_working_days"] == 6
    d = client.get(
        "/api/v1/catalog/calendar/deadline?start=2025-09-30T10:00:00%2B08:00&amount=1&unit=work_days"
    ).json()
    assert d["deadline"].startswith("2025-10-09T10:00:00") and d["working_hours"] == 7.0
    assert client.get("/api/v1/catalog/calendar/deadline?amount=1&unit=weeks").status_code == 400


def test_responsibility_lookup(demo):
    town = next(s for s in demo.streets if s.kind == "town")
    community = next(c for c in demo.communities if c.parent_id == town.pk)
    from urbangrid.catalog.models import ProblemClass

    pc = ProblemClass.objects.get(code_set__is_default=True, name="违法占地")
    admin = demo.client_for("admin")
    body = admin.get(f"/api/v1/catalog/responsibility?class_id={pc.pk}&community={community.code}").json()
    assert body["unit"]["code"] == demo.street_unit(town).code and body["source"] == "rule"
    assert len(body["candidates"]) >= 2
    other_street = next(s for s in demo.streets if s.pk != town.pk)
    client = demo.client_for("street_leader", street=demo.streets.index(other_street) + 1)
    res = client.get(f"/api/v1/catalog/responsibility?class_id={pc.pk}&community={community.code}")
    assert res.status_code == 404  # outside the asker's area


def test_catalogue_page(demo):
    client = demo.client_for("shift_leader")
    html = client.get("/catalog/?kind=event&q=暴露").content.decode()
    assert "暴露垃圾" in html and "立案条件" in html
    html = client.get("/catalog/?year=2026").content.decode()
    assert "春节" in html
