"""The JSON API with the Django test client and device tokens."""

from __future__ import annotations

import base64
import io

import pytest

from urbangrid.cases import workflow
from urbangrid.cases.models import Attachment, Case, Report
from urbangrid.cases.notify import notify
from urbangrid.lib.access import scope_for
from urbangrid.lib.models import AuditEvent
from urbangrid.orgs.auth import hash_token, new_token_key
from urbangrid.orgs.models import ApiToken
from urbangrid.testing.world import jpeg

BASE = "/api/v1/cases"


@pytest.fixture
def api(world, client):
    tokens = {}

    def call(who, method, path, body=None, multipart=False, **kw):
        if who not in tokens:
            key = new_token_key()
            ApiToken.objects.create(
                person=world.persons[who], name="t", prefix=key[:8], key_hash=hash_token(key)
            )
            tokens[who] = key
        fn = getattr(client, method)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[who]}"}
        if multipart:
            return fn(path, body, **headers, **kw)
        if body is not None and method != "get":
            return fn(path, body, content_type="application/json", **headers, **kw)
        return fn(path, body or {}, **headers, **kw)

    return call


def intake_body(w, **kw):
    lon, lat = kw.pop("point", w.A)
    return {
        "channel": "grid_worker",
        "description": "路口有人占道经营",
        "lon": lon,
        "lat": lat,
        "class_code": w.classes["stall"].code,
        "class_kind": "event",
        **kw,
    }


def act(api, who, number, action, **body):
    return api(who, "post", f"{BASE}/{number}/actions/{action}", body)


def b64(color=(1, 2, 3)):
    return base64.b64encode(jpeg(color)).decode()


def test_intake_idempotent_and_loop_over_http(world, api):
    w = world
    body = intake_body(w, request_id="req-1", photos_base64=[b64()])
    r1 = api("grace", "post", f"{BASE}/intake", body)
    assert r1.status_code == 201, r1.content
    r2 = api("grace", "post", f"{BASE}/intake", body)
    assert r2.status_code == 200 and r2.json()["replayed"] and r2.json()["number"] == r1.json()["number"]
    assert Case.objects.count() == 1 and Report.objects.count() == 1 and Attachment.objects.count() == 1
    n = r1.json()["number"]
    d = api("sam", "get", f"{BASE}/{n}").json()
    assert "register" in d["allowed_actions"] and d["events"][0]["action"] == "report"
    assert act(api, "sam", n, "register").status_code == 200
    r = act(api, "dan", n, "dispatch")
    assert r.status_code == 200, r.content
    assert r.json()["unit"] == "T-SO-A"
    assert act(api, "hank", n, "accept").status_code == 200
    r = act(
        api,
        "hank",
        n,
        "report_back",
        response="persuade",
        photos_before_base64=[b64((9, 9, 9))],
        photos_after_base64=[b64((8, 8, 8))],
    )
    assert r.status_code == 200, r.content
    # Not allowed from this state: 409 whoever asks.
    assert act(api, "sam", n, "close").status_code == 409
    assert act(api, "dan", n, "register").status_code == 409
    r = act(api, "olivia", n, "request_check")
    assert r.status_code == 200
    assert act(api, "grace", n, "check", passed=True, photos_base64=[b64((7, 7, 7))]).status_code == 200
    assert act(api, "olivia", n, "close").status_code == 403
    assert act(api, "sam", n, "close").status_code == 200
    d = api("sam", "get", f"{BASE}/{n}").json()
    assert d["state"] == "closed" and len(d["events"]) == 8 and len(d["photos"]) == 4


def test_errors(world, api):
    w = world
    r = api("grace", "post", f"{BASE}/intake", intake_body(w, point=(121.5, 11.0)))
    assert r.status_code == 400 and r.json()["field"] == "lon"
    r = api("grace", "post", f"{BASE}/intake", intake_body(w, class_code="0000"))
    assert r.status_code == 400 and r.json()["field"] == "class_code"
    r = api("grace", "post", f"{BASE}/intake", {"channel": "grid_worker"})
    assert r.status_code in (400, 422)
    r = api(
        "grace",
        "post",
        f"{BASE}/intake",
        intake_body(w, photos_base64=[base64.b64encode(b"not an image").decode()]),
    )
    assert r.status_code == 400 and r.json()["field"] == "photos"
    assert Case.objects.count() == 0
    r = api(
        "olivia", "post", f"{BASE}/intake", intake_body(w)
    )  # an operator cannot use the grid-worker channel
    assert r.status_code == 403
    n = api("grace", "post", f"{BASE}/intake", intake_body(w)).json()["number"]
    assert act(api, "sam", n, "nonsense").status_code == 404
    assert act(api, "dan", n, "dispatch").status_code == 409
    assert act(api, "bella", n, "register").status_code == 404


def test_jurisdiction_in_list_detail_and_actions(world, api):
    w = world
    na = api("grace", "post", f"{BASE}/intake", intake_body(w)).json()["number"]
    nb = api("gavin", "post", f"{BASE}/intake", intake_body(w, point=w.B)).json()["number"]
    numbers = [c["number"] for c in api("adam", "get", f"{BASE}/").json()["items"]]
    assert numbers == [na]
    assert api("adam", "get", f"{BASE}/{nb}").status_code == 404
    assert api("adam", "get", f"{BASE}/{na}").status_code == 200
    assert act(api, "adam", nb, "escalate", reason="x").status_code == 404
    assert api(
        "adam", "post", f"{BASE}/{nb}/photos", {"stage": "report", "file": io.BytesIO(jpeg())}, multipart=True
    ).status_code in (404, 422)
    both = {c["number"] for c in api("dan", "get", f"{BASE}/").json()["items"]}
    assert both == {na, nb}


def test_contact_hidden_from_unit_and_grid_worker(world, api):
    w = world
    body = intake_body(w, channel="hotline", reporter_name="张三", reporter_phone="13911112222")
    n = api("olivia", "post", f"{BASE}/intake", body).json()["number"]
    assert api("olivia", "get", f"{BASE}/{n}").json()["reporter_phone"] == "13911112222"
    assert api("grace", "get", f"{BASE}/{n}").json()["reporter_phone"] is None


def test_cursor_pagination_and_filters(world, api):
    w = world
    for i in range(7):
        api(
            "grace",
            "post",
            f"{BASE}/intake",
            intake_body(w, force_new=True, point=(100.001 + i * 0.0005, 20.002)),
        )
    seen, cursor = [], None
    while True:
        url = f"{BASE}/?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api("dan", "get", url).json()
        seen += [c["number"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert len(api("dan", "get", f"{BASE}/?area={w.regions['B'].code}").json()["items"]) == 0
    assert (
        len(api("dan", "get", f"{BASE}/?state=open&class_code={w.classes['stall'].code}").json()["items"])
        == 7
    )
    assert api("dan", "get", f"{BASE}/?state=bogus").status_code == 400
    assert api("dan", "get", f"{BASE}/?cursor=@@@").status_code == 400


def test_photo_upload_idempotent_and_served_by_jurisdiction(world, api, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    w = world
    n = api("grace", "post", f"{BASE}/intake", intake_body(w)).json()["number"]

    def up():
        return api(
            "grace",
            "post",
            f"{BASE}/{n}/photos",  # noqa: E731
            {"stage": "report", "file": SimpleUploadedFile("a.jpg", jpeg((4, 5, 6)), "image/jpeg")},
            multipart=True,
        )

    r1, r2 = up(), up()
    assert r1.status_code == 201 and r2.status_code == 200 and r1.json()["sha256"] == r2.json()["sha256"]
    assert Attachment.objects.count() == 1
    url = r1.json()["url"]
    client.force_login(w.users["grace"])
    assert client.get(url).status_code == 200
    client.force_login(w.users["gavin"])
    assert client.get(url).status_code == 404


def test_my_tasks_and_inbox(world, api):
    w = world
    n = api("grace", "post", f"{BASE}/intake", intake_body(w)).json()["number"]
    assert [c["number"] for c in api("sam", "get", f"{BASE}/my-tasks").json()["shift_leader"]] == [n]
    act(api, "sam", n, "register")
    act(api, "dan", n, "dispatch")
    tasks = api("hank", "get", f"{BASE}/my-tasks").json()
    assert [c["number"] for c in tasks["unit_handler"]] == [n]
    box = api("hank", "get", f"{BASE}/inbox").json()
    assert box["unread"] == 1 and box["items"][0]["case"] == n
    nid = box["items"][0]["id"]
    assert api("hugo", "post", f"{BASE}/inbox/{nid}/read").status_code == 404
    assert api("hank", "post", f"{BASE}/inbox/{nid}/read").json()["marked"] == 1
    assert api("hank", "get", f"{BASE}/inbox").json()["unread"] == 0
    notify([scope_for(w.users["hank"]).person_id] * 2, "test", "再一条")
    assert api("hank", "post", f"{BASE}/inbox/read-all").json()["marked"] == 1
    audit = AuditEvent.objects.filter(action__startswith="notification.read").order_by("id")
    assert [(e.action, e.actor) for e in audit] == [
        ("notification.read", w.users["hank"]),
        ("notification.read_all", w.users["hank"]),
    ]


def test_openapi_documents_the_actions(world, client):
    client.force_login(world.users["sam"])
    spec = client.get("/api/v1/openapi.json").json()
    for action in workflow.ACTIONS:
        op = spec["paths"][f"/api/v1/cases/{{number}}/actions/{action.name}"]["post"]
        body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert body == action.input.__name__
        assert set(spec["components"]["schemas"][body]["properties"]) == set(action.input.model_fields)
    assert "/api/v1/cases/intake/batch" in spec["paths"]


def test_batch_intake(world, api):
    w = world
    items = [intake_body(w, request_id="b1"), intake_body(w, point=(121.5, 11.0), request_id="b2")]
    r = api("grace", "post", f"{BASE}/intake/batch", items).json()
    assert r[0]["ok"] and not r[1]["ok"] and r[1]["error"]["field"] == "lon"
