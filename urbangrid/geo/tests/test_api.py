"""The geo API: regions, grids by viewport, locate (single and batch), coverage; jurisdiction."""

from __future__ import annotations

import pytest
import shapely

pytestmark = pytest.mark.django_db

API = "/api/v1/geo"


def test_regions_and_grids_for_admin(demo):
    client = demo.client_for("admin")
    body = client.get(f"{API}/regions", {"level": 3}).json()
    assert len(body["features"]) == 8
    props = body["features"][0]["properties"]
    assert set(props) >= {"code", "name", "kind", "level", "area_m2"}
    children = client.get(f"{API}/regions", {"parent": demo.district.code, "geometry": False}).json()
    assert len(children["features"]) == 8 and children["features"][0]["geometry"] is None
    assert client.get(f"{API}/regions", {"parent": "999999"}).status_code == 404

    minx, miny, maxx, maxy = demo.district.geometry.bounds
    bbox = f"{minx},{miny},{maxx},{maxy}"
    full = client.get(f"{API}/grids", {"bbox": bbox, "zoom": 18}).json()
    assert full["count"] == len(demo.grids) and not full["truncated"]
    coarse = client.get(f"{API}/grids", {"bbox": bbox, "zoom": 12}).json()
    n_full = sum(
        len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))) for f in full["features"]
    )
    n_coarse = sum(
        len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))) for f in coarse["features"]
    )
    assert n_coarse < n_full
    limited = client.get(f"{API}/grids", {"bbox": bbox, "limit": 10}).json()
    assert limited["count"] == 10 and limited["truncated"]
    assert client.get(f"{API}/grids", {"bbox": "1,2,3"}).status_code == 400
    assert client.get(f"{API}/grids", {"bbox": "5,5,1,1"}).status_code == 400
    assert client.get(f"{API}/grids").status_code == 422


def test_street_user_sees_only_their_street(demo):
    user = demo.user("grid_worker", street=1)
    client = demo._client(user)
    street1, street2 = demo.street(1), demo.street(2)
    minx, miny, maxx, maxy = demo.district.geometry.bounds
    body = client.get(f"{API}/grids", {"bbox": f"{minx},{miny},{maxx},{maxy}", "zoom": 18}).json()
    codes = {f["properties"]["code"] for f in body["features"]}
    assert codes, "a grid worker sees the grids of their area"
    other = {g.code for g in demo.grids_of(street2)}
    assert not codes & other
    # Locating a point in another street answers "outside your area", not its grid.
    g2 = demo.grids_of(street2)[0].geometry.representative_point()
    answer = client.get(f"{API}/locate", {"lon": g2.x, "lat": g2.y}).json()
    assert answer["status"] == "outside_your_area" and answer["grid_code"] is None
    assert client.get(f"{API}/coverage", {"region": street2.code}).status_code == 404
    assert client.get(f"{API}/coverage", {"region": demo.district.code}).status_code == 404
    regions = client.get(f"{API}/regions", {"level": 3}).json()["features"]
    assert street2.code not in {f["properties"]["code"] for f in regions}
    assert street1.code in {f["properties"]["code"] for f in regions} or any(
        f["properties"]["code"].startswith(street1.code)
        for f in client.get(f"{API}/regions").json()["features"]
    )


def test_locate_single_and_batch(demo):
    from urbangrid.geo import crs

    client = demo.client_for("admin")
    grid = demo.grids[3]
    p = grid.geometry.representative_point()
    gx, gy = crs.from_canonical(p.x, p.y, "gcj02")
    body = client.get(f"{API}/locate", {"lon": gx, "lat": gy, "crs": "gcj02"}).json()
    assert body["inside"] and body["grid_code"] == grid.code
    assert body["community"]["id"] == grid.community_id and body["district"]["code"] == demo.district.code
    outside = client.get(f"{API}/locate", {"lon": 100.0, "lat": 30.0}).json()
    assert outside["status"] == "outside" and not outside["inside"] and outside["message"]
    assert client.get(f"{API}/locate", {"lon": 100.0, "lat": 30.0, "crs": "mars"}).status_code == 422
    batch = client.post(
        f"{API}/locate",
        {"crs": "wgs84", "points": [{"lon": p.x, "lat": p.y}, {"lon": 0, "lat": 0}]},
        content_type="application/json",
    ).json()
    assert batch["count"] == 2 and batch["inside"] == 1
    assert batch["results"][0]["grid_code"] == grid.code and batch["results"][1]["status"] == "outside"
    bad = client.post(f"{API}/locate", {"points": [{"lon": "x"}]}, content_type="application/json")
    assert bad.status_code == 422


def test_coverage_endpoint(demo):
    client = demo.client_for("admin")
    body = client.get(f"{API}/coverage", {"region": demo.district.code, "supervisors": False}).json()
    assert body["ok"] and body["grids"] == len(demo.grids) and body["children"] == 8
    assert client.get(f"{API}/coverage", {"region": "000000"}).status_code == 404


def test_anonymous_is_refused(client):
    assert client.get(f"{API}/regions").status_code == 401
