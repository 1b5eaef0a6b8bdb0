"""A third-party app's round trip over real HTTP (urllib against the live server): discover,
list services, read a definition, POST form-encoded and multipart with a photo, resolve the
token, read the request back in XML and JSON; and a sensor platform's signed webhook."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from xml.etree import ElementTree as ET

import pytest

from urbangrid.portal.actions import sign
from urbangrid.portal.tests.conftest import service_code
from urbangrid.testing.world import jpeg


def call(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes, str]]):
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, filename, content, ctype in files:
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
def test_open311_round_trip_with_plain_http(city, live_server):
    base = live_server.url + "/open311/v2/"
    status, headers, raw = call(base + "discovery.json")
    assert status == 200
    endpoint = json.loads(raw)["endpoints"][0]["url"]
    assert endpoint == base

    status, headers, raw = call(endpoint + "services.xml")
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    services = ET.fromstring(raw)
    park = next(s for s in services if s.findtext("service_name") == "机动车乱停放")
    code = park.findtext("service_code")
    assert park.findtext("metadata") == "true"

    status, _, raw = call(endpoint + f"services/{code}.json")
    definition = json.loads(raw)
    required = [a for a in definition["attributes"] if a["required"]]
    answers = {f"attribute[{a['code']}]": a["values"][0]["key"] for a in required}

    form = urllib.parse.urlencode(
        {
            "api_key": city.keys["app"],
            "service_code": code,
            "lat": city.A[1],
            "long": city.A[0],
            "description": "一辆白色轿车长时间停在盲道上",
            "email": "app-user@example.org",
            **answers,
        }
    ).encode()
    status, headers, raw = call(
        endpoint + "requests.json", form, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    )
    assert status == 200, raw
    created = json.loads(raw)
    assert isinstance(created, list)
    number = created[0]["service_request_id"]
    token = headers["X-Open311-Token"]

    status, _, raw = call(endpoint + f"tokens/{token}.xml")
    tok = ET.fromstring(raw)
    assert tok.tag == "service_requests" and tok.find("request").findtext("service_request_id") == number

    # Multipart with a photo, retried with the same request_id: one request.
    stall = service_code("占道经营")
    body, ctype = multipart(
        [
            ("api_key", city.keys["app"]),
            ("service_code", stall),
            ("lat", str(city.B[1])),
            ("long", str(city.B[0])),
            ("description", "人行道上摆摊卖水果"),
            ("attribute[stall_type]", "produce"),
            ("request_id", "app-7"),
        ],
        [("media", "stall.jpg", jpeg(), "image/jpeg")],
    )
    first = call(endpoint + "requests.xml", body, {"Content-Type": ctype})
    again = call(endpoint + "requests.xml", body, {"Content-Type": ctype})
    assert first[0] == again[0] == 200
    id1 = ET.fromstring(first[2]).find("request").findtext("service_request_id")
    id2 = ET.fromstring(again[2]).find("request").findtext("service_request_id")
    assert id1 == id2

    status, _, raw = call(endpoint + f"requests.json?service_request_id={number},{id1}")
    items = {i["service_request_id"]: i for i in json.loads(raw)}
    assert set(items) == {number, id1}
    assert items[id1]["media_url"] == ""  # the photo of an open case is not published
    assert "app-user@example.org" not in raw.decode()

    status, _, raw = call(endpoint + f"requests/{number}.xml")
    assert ET.fromstring(raw).find("request").findtext("status") == "open"

    status, _, raw = call(endpoint + "requests.json", urllib.parse.urlencode({"service_code": code}).encode())
    assert status == 403 and json.loads(raw)[0]["code"] == 403


@pytest.mark.django_db(transaction=True)
def test_signed_webhook_over_http(city, live_server):
    from urbangrid.portal.models import MachineEventType, MachineSource

    src = MachineSource.objects.create(
        code="iot", name="物联网平台", client=city.clients["camera"], crs="wgs84"
    )
    MachineEventType.objects.create(source=src, event_type="overflow", class_code=service_code("垃圾满溢"))
    body = json.dumps(
        {
            "event_id": "bin-1",
            "event_type": "overflow",
            "lon": city.A[0],
            "lat": city.A[1],
            "description": "垃圾桶满溢传感器报警",
        }
    ).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Urbangrid-Timestamp": stamp,
        "X-Urbangrid-Signature": "sha256=" + sign(city.clients["camera"].signing_secret, stamp, body),
    }
    status, _, raw = call(live_server.url + "/public/webhooks/iot/", body, headers)
    assert status == 202, raw
    assert json.loads(raw)["created"] is True
    status, _, raw = call(live_server.url + "/public/webhooks/iot/", body, headers)
    assert status == 200 and json.loads(raw)["replayed"] is True
