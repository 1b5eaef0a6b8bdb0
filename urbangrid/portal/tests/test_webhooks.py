"""Signed machine webhooks: signature, timestamp window, replay, per-source schema and CRS."""

from __future__ import annotations

import json
import time

import pytest

from urbangrid.portal.actions import sign
from urbangrid.portal.tests.conftest import service_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(city):
    from urbangrid.portal.models import MachineEventType, MachineSource

    src = MachineSource.objects.create(
        code="cam-platform",
        name="视频智能分析平台",
        client=city.clients["camera"],
        crs="gcj02",
        field_map={
            "event_id": "id",
            "event_type": "alarm.type",
            "lon": "alarm.position.lng",
            "lat": "alarm.position.lat",
            "description": "alarm.text",
        },
    )
    MachineEventType.objects.create(source=src, event_type="PARKING", class_code=service_code("机动车乱停放"))
    MachineEventType.objects.create(
        source=src,
        event_type="STALL",
        class_code=service_code("占道经营"),
        description="摄像头识别到占道经营",
    )
    return src


def event(city, *, event_id="evt-1", kind="PARKING", point=None, text="识别到机动车违停"):
    from urbangrid.geo.crs import from_canonical

    lon, lat = point or city.A
    glon, glat = from_canonical(lon, lat, "gcj02")  # the platform speaks GCJ-02
    body = {"id": event_id, "alarm": {"type": kind, "position": {"lng": glon, "lat": glat}}}
    if text is not None:
        body["alarm"]["text"] = text
    return json.dumps(body, ensure_ascii=False).encode()


def send(
    client, city, body: bytes, *, secret=None, stamp=None, source="cam-platform", signature=None, headers=None
):
    stamp = str(int(time.time()) if stamp is None else stamp)
    secret = secret or city.clients["camera"].signing_secret
    extra = {
        "HTTP_X_URBANGRID_TIMESTAMP": stamp,
        "HTTP_X_URBANGRID_SIGNATURE": signature or "sha256=" + sign(secret, stamp, body),
    }
    extra.update(headers or {})
    return client.post(f"/public/webhooks/{source}/", body, content_type="application/json", **extra)


def count():
    from urbangrid.cases.models import Case

    return Case.objects.count()


def test_signed_event_opens_a_machine_case_located_from_gcj02(city, client, source):
    from urbangrid.cases.models import Case
    from urbangrid.portal.models import WebhookDelivery

    r = send(client, city, event(city))
    assert r.status_code == 202, r.content
    data = r.json()
    assert data["created"] is True and data["replayed"] is False
    case = Case.objects.get(number=data["case_number"])
    assert case.channel == "machine"
    assert case.problem_class.key == service_code("机动车乱停放")
    assert case.input_crs == "gcj02"
    assert case.grid_code == city.grids["A1"].code  # GCJ-02 converted back before locating
    assert case.lon == pytest.approx(city.A[0], abs=1e-5) and case.lat == pytest.approx(city.A[1], abs=1e-5)
    assert "识别到机动车违停" in case.description
    assert WebhookDelivery.objects.get(source=source, event_id="evt-1").case_number == case.number


def test_replay_returns_first_answer_and_opens_nothing(city, client, source):
    body = event(city)
    first = send(client, city, body)
    before = count()
    again = send(client, city, body)
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["case_number"] == first.json()["case_number"]
    assert count() == before
    # The same event id with another body is refused.
    other = send(client, city, event(city, text="另一段文字"))
    assert other.status_code == 409
    assert count() == before


@pytest.mark.parametrize(
    "case,code",
    [
        ("bad_signature", "bad_signature"),
        ("wrong_secret", "bad_signature"),
        ("stale", "stale"),
        ("future", "stale"),
        ("no_headers", "unsigned"),
        ("bad_stamp", "bad_timestamp"),
        ("tampered", "bad_signature"),
    ],
)
def test_signature_and_timestamp_are_enforced(city, client, source, case, code):
    body = event(city)
    before = count()
    if case == "bad_signature":
        r = send(client, city, body, signature="sha256=" + "0" * 64)
    elif case == "wrong_secret":
        r = send(client, city, body, secret="not-the-secret")
    elif case == "stale":
        r = send(client, city, body, stamp=int(time.time()) - 400)
    elif case == "future":
        r = send(client, city, body, stamp=int(time.time()) + 400)
    elif case == "no_headers":
        r = client.post("/public/webhooks/cam-platform/", body, content_type="application/json")
    elif case == "bad_stamp":
        r = send(client, city, body, stamp="yesterday")
    else:  # signed one body, sent another
        stamp = str(int(time.time()))
        sig = "sha256=" + sign(city.clients["camera"].signing_secret, stamp, body)
        r = send(client, city, event(city, event_id="evt-2"), stamp=stamp, signature=sig)
    assert r.status_code == 401
    assert r.json()["code"] == code
    assert count() == before


def test_signature_covers_the_timestamp(city, client, source):
    """A captured signature cannot be reused with a fresh timestamp."""
    body = event(city)
    old = str(int(time.time()) - 10)
    sig = "sha256=" + sign(city.clients["camera"].signing_secret, old, body)
    r = send(client, city, body, stamp=int(time.time()), signature=sig)
    assert r.status_code == 401


@pytest.mark.parametrize(
    "body,field",
    [
        (b"not json", None),
        (b"[1, 2]", None),
        (json.dumps({"alarm": {"type": "PARKING", "position": {"lng": 1, "lat": 2}}}).encode(), "event_id"),
        (json.dumps({"id": "x1", "alarm": {"position": {"lng": 1, "lat": 2}}}).encode(), "event_type"),
        (
            json.dumps({"id": "x2", "alarm": {"type": "FIRE", "position": {"lng": 1, "lat": 2}}}).encode(),
            "event_type",
        ),
        (json.dumps({"id": "x3", "alarm": {"type": "PARKING", "position": {"lng": "east"}}}).encode(), "lon"),
    ],
)
def test_schema_errors_are_400_and_change_nothing(city, client, source, body, field):
    from urbangrid.portal.models import WebhookDelivery

    before = count()
    r = send(client, city, body)
    assert r.status_code == 400, r.content
    if field:
        assert r.json()["field"] == field
    assert count() == before
    assert not WebhookDelivery.objects.exists()


def test_outside_jurisdiction_is_400_and_can_be_retried_after(city, client, source):
    r = send(client, city, event(city, point=city.OUTSIDE))
    assert r.status_code == 400
    # Nothing was recorded, so the same event id can be sent again once corrected.
    assert send(client, city, event(city)).status_code == 202


def test_template_description_when_event_has_no_text(city, client, source):
    from urbangrid.cases.models import Case

    r = send(client, city, event(city, event_id="s1", kind="STALL", point=city.B, text=None))
    assert r.status_code == 202
    assert "摄像头识别到占道经营" in Case.objects.get(number=r.json()["case_number"]).description


def test_event_id_header_wins(city, client, source):
    r = send(
        client, city, event(city, event_id="body-id"), headers={"HTTP_X_URBANGRID_EVENT_ID": "header-id"}
    )
    assert r.status_code == 202 and r.json()["event_id"] == "header-id"


def test_unknown_source_scope_and_inactive(city, client, source):
    from urbangrid.portal.models import ApiClient, MachineSource

    assert send(client, city, event(city), source="nope").status_code == 404
    ApiClient.objects.filter(pk=city.clients["camera"].pk).update(scopes=["open311:post"])
    assert send(client, city, event(city)).status_code == 403
    ApiClient.objects.filter(pk=city.clients["camera"].pk).update(scopes=["webhook"])
    MachineSource.objects.filter(pk=source.pk).update(is_active=False)
    assert send(client, city, event(city)).status_code == 404
    assert client.get("/public/webhooks/cam-platform/").status_code == 405


def test_rate_limit_per_client(city, client, source):
    from urbangrid.portal.models import ApiClient

    ApiClient.objects.filter(pk=city.clients["camera"].pk).update(rate_per_minute=2)
    assert send(client, city, event(city, event_id="r1", point=city.points[0])).status_code == 202
    assert send(client, city, event(city, event_id="r2", point=city.points[1])).status_code == 202
    r = send(client, city, event(city, event_id="r3", point=city.points[2]))
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited" and int(r["Retry-After"]) >= 1


def test_reissued_key_rotates_signing_secret(city, client, source):
    from urbangrid.portal.actions import authenticate_key, do_issue_key

    old_secret = city.clients["camera"].signing_secret
    old_key = city.keys["camera"]
    new_key = do_issue_key(city.admin, city.clients["camera"])
    assert authenticate_key(old_key) is None
    assert authenticate_key(new_key).pk == city.clients["camera"].pk
    assert send(client, city, event(city), secret=old_secret).status_code == 401


def test_nul_character_in_an_event_is_refused_and_changes_nothing(city, client, source):
    before = count()
    r = send(client, city, event(city, text="识别到\x00机动车违停"))
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid" and "NUL" in r.json()["detail"]
    assert count() == before
