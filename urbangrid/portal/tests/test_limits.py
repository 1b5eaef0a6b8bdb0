"""Long texts: masking personal data takes time linear in the text's length, and every intake
channel refuses a text over the one set of limits (urbangrid.lib.limits) with a clear Chinese
error, changing nothing."""

from __future__ import annotations

import time
import uuid

import pytest

from urbangrid.lib import limits
from urbangrid.portal.queries import mask_text
from urbangrid.portal.tests.conftest import service_code
from urbangrid.portal.tests.test_portal import form
from urbangrid.portal.tests.test_webhooks import event, send, source  # noqa: F401 (fixture)

LONG = "路" * (limits.DESCRIPTION_MAX + 1)
# The Chinese refusal of an over-long description, whatever the channel.
REFUSED = f"最多 {limits.DESCRIPTION_MAX} 个字符"


def _best_time(text: str) -> float:
    best = float("inf")
    for _i in range(3):
        t = time.perf_counter()
        mask_text(text)
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.parametrize("unit", ["路", "a", "7", "a@", "a.", "+a", "a@b.c+", "13812345678 "])
def test_mask_text_time_grows_linearly(unit):
    """Ten times the text may cost up to thirty times the time, plus a second for a busy machine:
    linear masking takes milliseconds here, a quadratic pattern a hundred times 10,000 characters'
    time (about 40 s for 100,000 Chinese characters)."""
    small = unit * (10_000 // len(unit))
    large = unit * (100_000 // len(unit))
    assert _best_time(large) < 30 * _best_time(small) + 1.0


def test_mask_text_still_hides_what_it_hid():
    text = "电话13812345678，座机029-88889999，身份证11010519491231002X，邮箱zhang.san+x@qq.com。"
    masked = mask_text(text)
    for secret in ["12345678", "88889999", "11010519491231002X", "zhang.san", "qq.com"]:
        assert secret not in masked
    assert "138****5678" in masked and "***@***" in masked


def _cases():
    from urbangrid.cases.models import Case

    return Case.objects.count()


def test_api_intake_refuses_an_over_long_text(city):
    client = city.demo.client_for("intake_operator")
    before = _cases()
    body = {"channel": "hotline", "lon": city.A[0], "lat": city.A[1], "class_code": service_code("暴露垃圾")}
    for field, value in [
        ("description", LONG),
        ("address", "路" * (limits.ADDRESS_MAX + 1)),
        ("reporter_name", "张" * (limits.NAME_MAX + 1)),
        ("reporter_phone", "1" * (limits.PHONE_MAX + 1)),
    ]:
        r = client.post(
            "/api/v1/cases/intake", {"description": "垃圾没人清理", **body, field: value}, "application/json"
        )
        assert r.status_code == 400, (field, r.content)
        assert r.json()["field"] == field and "最多" in r.json()["detail"]
    assert _cases() == before


def test_portal_form_refuses_an_over_long_text(city, client):
    before = _cases()
    r = client.post("/public/", form(city, description=LONG))
    assert r.status_code == 200 and REFUSED in r.content.decode()
    r = client.post("/public/", form(city, address="路" * (limits.ADDRESS_MAX + 1), request_id="f-2"))
    assert r.status_code == 200 and f"最多 {limits.ADDRESS_MAX} 个字符" in r.content.decode()
    assert _cases() == before


def test_open311_refuses_an_over_long_text(city, client):
    before = _cases()
    base = {
        "api_key": city.keys["app"],
        "service_code": service_code("暴露垃圾"),
        "lat": city.A[1],
        "long": city.A[0],
        "description": "垃圾没人清理",
    }
    for field, value in [
        ("description", LONG),
        ("address_string", "路" * (limits.ADDRESS_MAX + 1)),
        ("email", "a" * limits.EMAIL_MAX + "@example.org"),
        ("device_id", "d" * (limits.IDENTIFIER_MAX + 1)),
    ]:
        r = client.post("/open311/v2/requests.json", {**base, field: value})
        assert r.status_code == 400, (field, r.content)
        assert "最多" in r.json()[0]["description"]
    assert _cases() == before


def test_webhook_refuses_an_over_long_text(city, client, source):  # noqa: F811
    before = _cases()
    r = send(client, city, event(city, text=LONG))
    assert r.status_code == 400 and r.json()["field"] == "description"
    assert "最多" in r.json()["detail"]
    assert _cases() == before


def test_hotline_form_refuses_an_over_long_text(city):
    client = city.demo.client_for("intake_operator")
    before = _cases()
    r = client.post(
        "/intake/",
        {"request_id": uuid.uuid4().hex, "description": LONG, "lon": city.A[0], "lat": city.A[1]},
    )
    assert r.status_code == 200 and f"不超过 {limits.DESCRIPTION_MAX} 字符" in r.content.decode()
    assert _cases() == before


def test_mobile_report_refuses_an_over_long_text(city):
    client = city.demo.client_for("grid_worker", street=city.streets[0])
    before = _cases()
    r = client.post(
        "/m/report/submit",
        {"request_id": uuid.uuid4().hex, "description": LONG, "lon": city.A[0], "lat": city.A[1]},
    )
    assert r.status_code == 400 and r.json()["field"] == "description" and REFUSED in r.json()["error"]
    assert _cases() == before
