import pytest

pytestmark = pytest.mark.django_db


def test_me(demo):
    res = demo.client_for("grid_worker", street=1).get("/api/v1/orgs/me")
    assert res.status_code == 200
    body = res.json()
    assert body["roles"] == ["grid_worker"] and not body["all_city"]
    assert body["grids"] and body["areas"]
    assert body["role_details"][0]["label"] == "网格员"


def test_anonymous_is_refused(client, demo):
    assert client.get("/api/v1/orgs/me").status_code == 401
    assert client.get("/api/v1/orgs/people").status_code == 401


def test_people_are_filtered_by_jurisdiction(demo):
    client = demo.client_for("street_leader", street=1)
    body = client.get("/api/v1/orgs/people?role=grid_worker&limit=500").json()
    assert body["count"] > 0
    own = demo.person("grid_worker", street=1)
    other = demo.person("grid_worker", street=2)
    ids = {p["id"] for p in body["items"]}
    assert own.pk in ids and other.pk not in ids
    assert client.get(f"/api/v1/orgs/people/{other.pk}").status_code == 404
    assert client.get(f"/api/v1/orgs/people/{own.pk}").status_code == 200
    assert client.get("/api/v1/orgs/people?role=bogus").status_code == 400


def test_units_and_assignments(demo):
    client = demo.client_for("street_leader", street=1)
    codes = {u["code"] for u in client.get("/api/v1/orgs/units").json()}
    assert demo.street_unit(1).code in codes and demo.street_unit(2).code not in codes
    assert client.get(f"/api/v1/orgs/units/{demo.street_unit(2).code}").status_code == 404
    grid1 = demo.grids_of(demo.street(1))[0].code
    grid2 = demo.grids_of(demo.street(2))[0].code
    rows = client.get(f"/api/v1/orgs/grid-assignments?grid_code={grid1}").json()
    assert {r["duty"] for r in rows} == {"supervisor", "enforcement"}
    assert client.get(f"/api/v1/orgs/grid-assignments?grid_code={grid2}").json() == []
    gaps = demo.client_for("admin").get("/api/v1/orgs/grid-gaps").json()
    assert gaps["count"] == 0


def test_token_endpoints(demo):
    client = demo.client_for("dispatcher")
    res = client.post("/api/v1/orgs/tokens", {"name": "脚本"}, content_type="application/json")
    assert res.status_code == 201
    key, tid = res.json()["key"], res.json()["id"]
    listed = client.get("/api/v1/orgs/tokens").json()
    assert listed[0]["prefix"] == key[:8] and "key" not in listed[0]
    other = demo.client_for("grid_worker", street=1)
    assert other.delete(f"/api/v1/orgs/tokens/{tid}").status_code == 404
    assert client.delete(f"/api/v1/orgs/tokens/{tid}").status_code == 200
    assert (
        client.post("/api/v1/orgs/tokens", {"name": " "}, content_type="application/json").status_code == 400
    )
