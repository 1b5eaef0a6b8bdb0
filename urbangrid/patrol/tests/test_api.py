"""The patrol API: device token auth, idempotent batches over HTTP, coverage GeoJSON, jurisdiction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from urbangrid.orgs.auth import hash_token, new_token_key
from urbangrid.orgs.models import ApiToken, Person

from .conftest import to_lonlat

pytestmark = pytest.mark.django_db


def token_client(user):
    key = new_token_key()
    ApiToken.objects.create(
        person=Person.objects.get(user=user), name="phone", prefix=key[:8], key_hash=hash_token(key)
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post(c, url, data):
    return c.post(url, json.dumps(data), content_type="application/json")


def test_device_patrol_over_http(geo, people):
    c = token_client(people.worker)
    start = timezone.now() - timedelta(minutes=20)
    r = post(c, "/api/v1/patrol/tracks", {"client_id": "dev-1", "started_at": start.isoformat()})
    assert r.status_code == 201, r.content
    tid = r.json()["id"]
    assert post(c, "/api/v1/patrol/tracks", {"client_id": "dev-1"}).status_code == 200
    lon, lat = to_lonlat(range(0, 300, 14), [50] * 22)
    t0 = int(start.timestamp() * 1000)
    pts = [[float(a), float(b), t0 + i * 10000, 4] for i, (a, b) in enumerate(zip(lon, lat, strict=False))]
    r1 = post(c, f"/api/v1/patrol/tracks/{tid}/points", {"seq": 0, "points": pts[:11]})
    r2 = post(c, f"/api/v1/patrol/tracks/{tid}/points", {"seq": 0, "points": pts[:11]})
    r3 = post(c, f"/api/v1/patrol/tracks/{tid}/points", {"seq": 1, "points": pts[11:]})
    assert r1.json()["accepted"] == 11 and r2.json()["duplicate"] is True and r3.json()["point_count"] == 22
    bad = post(c, f"/api/v1/patrol/tracks/{tid}/points", {"seq": 2, "points": [[999, 999, t0, 1]]})
    assert bad.status_code == 400
    assert post(c, f"/api/v1/patrol/tracks/{tid}/stop", {}).json()["state"] == "finished"
    feature = c.get(f"/api/v1/patrol/tracks/{tid}").json()
    assert feature["properties"]["points"] == 22 and feature["properties"]["length_m"] == pytest.approx(
        294, abs=1
    )

    # The centre reads the coverage for the command map.
    centre = Client()
    centre.force_login(people.centre)
    day = timezone.localdate(start)
    fc = centre.get(f"/api/v1/patrol/coverage?date={day}").json()
    by_code = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert by_code[geo.grids[0].code]["share"] == pytest.approx(0.4, abs=0.03)
    assert by_code[geo.grids[5].code]["reason"] == "unpatrolled"
    assert fc["summary"]["grids"] >= 8 and fc["features"][0]["geometry"]["type"] == "Polygon"
    # Street B's leader sees only street B's grids, and not street A's track.
    b = Client()
    b.force_login(people.leader_b)
    codes = {f["properties"]["code"] for f in b.get(f"/api/v1/patrol/coverage?date={day}").json()["features"]}
    assert codes == {geo.grids[6].code, geo.grids[7].code}
    assert b.get(f"/api/v1/patrol/tracks/{tid}").status_code == 404
    # Another worker cannot append to this track.
    other = token_client(people.worker2)
    assert (
        post(other, f"/api/v1/patrol/tracks/{tid}/points", {"seq": 5, "points": pts[:2]}).status_code == 404
    )
    assert Client().get("/api/v1/patrol/tracks").status_code == 401


def test_plans_api_and_jurisdiction(geo, people):
    a = Client()
    a.force_login(people.leader_a)
    r = post(
        a,
        "/api/v1/patrol/plans",
        {
            "name": "东关街道每日两巡",
            "region": geo.sa.code,
            "min_patrols_per_day": 2,
            "windows": [{"start": "20:00", "end": "22:00", "min": 1, "label": "夜巡"}],
        },
    )
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    b = Client()
    b.force_login(people.leader_b)
    assert b.get(f"/api/v1/patrol/plans/{pid}").status_code == 404
    assert post(b, "/api/v1/patrol/plans", {"name": "越界", "region": geo.sa.code}).status_code == 404
    r = a.patch(
        f"/api/v1/patrol/plans/{pid}", json.dumps({"min_patrols_per_day": 3}), content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["min_patrols_per_day"] == 3
    w = Client()
    w.force_login(people.worker)
    assert [p["id"] for p in w.get("/api/v1/patrol/plans").json()] == [pid]  # the worker's street plan
    assert post(w, "/api/v1/patrol/plans", {"name": "x", "region": geo.a1.code}).status_code == 403
