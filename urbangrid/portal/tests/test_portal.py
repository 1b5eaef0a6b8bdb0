"""The public portal: reporting without an account (phone verified by a one-time code), abuse
protection without captcha, following by number and link, statistics and publicity pages, and
that no personal data ever appears in a public answer."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from urbangrid.portal.tests.conftest import service_code
from urbangrid.portal.views import FORM_SALT
from urbangrid.testing.world import jpeg

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


def form(city, **over):
    data = {
        "description": "小区门口垃圾堆了三天没人清理",
        "class_code": service_code("暴露垃圾"),
        "lon": city.A[0],
        "lat": city.A[1],
        "address": "东门",
        "phone": "",
        "started": signing.dumps(time.time() - 20, salt=FORM_SALT),
        "request_id": "form-1",
        "website": "",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def cases():
    from urbangrid.cases.models import Case

    return Case.objects.count()


def last_code(phone=PHONE) -> str:
    from urbangrid.cases.models import Notification

    n = Notification.objects.filter(to_phone=phone, kind="phone_code").order_by("-id").first()
    return re.search(r"\d{6}", n.title).group(0)


def verified_ticket(client, phone=PHONE) -> str:
    r = client.post("/public/phone/code/", {"phone": phone})
    assert r.status_code == 200, r.content
    r = client.post("/public/phone/verify/", {"phone": phone, "code": last_code(phone)})
    assert r.status_code == 200, r.content
    return r.json()["ticket"]


def test_report_page_renders_with_classes_and_map(city, client):
    r = client.get("/public/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="report-map"' in html and "vendor/leaflet/leaflet.js" in html
    assert "暴露垃圾" in html and 'name="website"' in html
    assert 'class="portal"' in html


def test_anonymous_report_with_photo_gets_number_and_follow_link(city, client):
    from urbangrid.cases.models import Case

    photo = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    r = client.post("/public/", form(city, photos=photo))
    assert r.status_code == 302, r.content.decode()[:2000]
    case = Case.objects.get(public_token=r["Location"].rstrip("/").split("/")[-1])
    assert case.channel == "citizen_web" and case.anonymous and case.reporter_phone == ""
    assert case.attachments.filter(stage="report").count() == 1
    page = client.get(r["Location"])
    html = page.content.decode()
    assert case.number in html and "follow-url" in html
    assert case.events.filter(action="report").exists()


def test_double_submit_is_idempotent(city, client):
    before = cases()
    a = client.post("/public/", form(city))
    b = client.post("/public/", form(city))
    assert a.status_code == b.status_code == 302
    assert a["Location"] == b["Location"]
    assert cases() == before + 1


def test_address_only_report_is_placed_in_the_named_community(city, client):
    from urbangrid.cases.models import Case
    from urbangrid.geo.models import Region

    community = Region.objects.filter(level=4, parent=city.streets[1]).order_by("code").first()
    r = client.post("/public/", form(city, lon="", lat="", address=f"{community.name}菜市场旁"))
    assert r.status_code == 302
    assert Case.objects.order_by("-id").first().community_id == community.id
    r = client.post("/public/", form(city, lon="", lat="", address="火星基地", request_id="f2"))
    assert r.status_code == 200 and "error-location" in r.content.decode()


def test_phone_must_be_verified_by_code(city, client):
    from urbangrid.cases.models import Case

    before = cases()
    r = client.post("/public/", form(city, phone=PHONE))
    assert r.status_code == 200 and "error-phone" in r.content.decode()
    assert cases() == before
    ticket = verified_ticket(client)
    r = client.post("/public/", form(city, phone=PHONE, phone_ticket=ticket, request_id="f3"))
    assert r.status_code == 302
    case = Case.objects.order_by("-id").first()
    assert case.reporter_phone == PHONE and not case.anonymous
    # A ticket is good for one report only.
    r = client.post(
        "/public/",
        form(city, phone=PHONE, phone_ticket=ticket, request_id="f4", lon=city.B[0], lat=city.B[1]),
    )
    assert r.status_code == 200 and "error-phone" in r.content.decode()


def test_wrong_codes_are_limited_and_expired_codes_refused(city, client):
    from urbangrid.portal.models import PhoneVerification

    assert client.post("/public/phone/code/", {"phone": PHONE}).status_code == 200
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = client.post("/public/phone/verify/", {"phone": PHONE, "code": wrong})
        assert r.status_code == 400
    r = client.post("/public/phone/verify/", {"phone": PHONE, "code": code})
    assert r.status_code == 400  # locked after 5 wrong tries
    assert PhoneVerification.objects.get().code_hash != code  # only a hash is kept
    PhoneVerification.objects.all().delete()
    client.post("/public/phone/code/", {"phone": "13700000000"})
    PhoneVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post("/public/phone/verify/", {"phone": "13700000000", "code": last_code("13700000000")})
    assert r.status_code == 400


def test_code_requests_are_rate_limited_per_phone(city, client):
    assert client.post("/public/phone/code/", {"phone": PHONE}).status_code == 200
    r = client.post("/public/phone/code/", {"phone": PHONE})
    assert r.status_code == 429 and r["Retry-After"]
    assert "minute" in r.json()["detail"] or "分钟" in r.json()["detail"]
    assert client.post("/public/phone/code/", {"phone": "12345"}).status_code == 400


@pytest.mark.parametrize(
    "change,needle",
    [
        ({"website": "http://spam.example"}, "could not be accepted"),
        ({"started": None}, "expired"),
        ({"started": "forged"}, "expired"),
        ("fast", "too quickly"),
        ({"description": "脏"}, "at least 5"),
        ({"lon": "", "lat": "", "address": ""}, "pick the place"),
        ({"lon": "east", "lat": "x"}, "not valid"),
        ({"phone": "12345"}, "11-digit"),
    ],
)
def test_abuse_and_bad_input_are_refused_with_clear_errors(city, client, change, needle):
    if change == "fast":
        change = {"started": signing.dumps(time.time(), salt=FORM_SALT)}
    before = cases()
    r = client.post("/public/", form(city, **change), HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    assert needle in r.content.decode()
    assert cases() == before


def test_errors_are_in_chinese_by_default(city, client):
    r = client.post("/public/", form(city, description="脏"))
    assert "请描述问题" in r.content.decode()


def test_per_ip_report_limit(city, client):
    before = cases()
    codes = []
    for i in range(11):
        lon, lat = city.points[i % len(city.points)]
        r = client.post(
            "/public/", form(city, request_id=f"ip-{i}", lon=lon, lat=lat), HTTP_ACCEPT_LANGUAGE="en"
        )
        codes.append(r.status_code)
    assert codes[:10] == [302] * 10
    assert codes[10] == 200 and "Too many requests" in r.content.decode()  # the form again, with the reason
    assert cases() - before <= 10


def test_follow_by_number_shows_public_timeline_only(city, client):
    from urbangrid.cases.models import Case, CaseEvent

    ticket = verified_ticket(client)
    client.post("/public/", form(city, phone=PHONE, phone_ticket=ticket))
    case = Case.objects.order_by("-id").first()
    operator = city.demo.person("intake_operator")
    CaseEvent.objects.create(
        case=case,
        at=timezone.now(),
        action="verify",
        from_state="reported",
        to_state="pending_register",
        actor_person=operator,
        reason="核实人内部备注：联系人李四",
        role="grid_worker",
    )
    r = client.get(f"/public/follow/?number={case.number}&phone4={PHONE[-4:]}")
    assert r.status_code == 200
    html = r.content.decode()
    assert case.number in html and 'id="timeline"' in html
    for secret in [PHONE, operator.name, "李四", "follow-url"]:
        assert secret not in html
    assert client.get(f"/public/follow/?number=20990101999999&phone4={PHONE[-4:]}").status_code == 404
    assert client.get("/public/follow/").status_code == 200
    assert client.get("/public/c/not-a-token/").status_code == 404


def test_stats_page_counts_this_month(city, client):
    from urbangrid.cases.models import Attachment, Case

    for i in range(3):
        lon, lat = city.points[i]
        assert client.post("/public/", form(city, request_id=f"s{i}", lon=lon, lat=lat)).status_code == 302
    now = timezone.now()
    mine = list(Case.objects.order_by("-id")[:3])
    Case.objects.filter(pk=mine[0].pk).update(
        state="closed", closed_at=now, handle_due_at=now + timedelta(hours=1), handled_at=now
    )
    Case.objects.filter(pk=mine[1].pk).update(
        state="closed", closed_at=now, handle_due_at=now - timedelta(hours=2), handled_at=now
    )
    photo = Attachment.objects.filter(case=mine[2]).first()
    r = client.get("/public/stats/")
    assert r.status_code == 200
    html = r.content.decode()
    received = int(re.search(r'id="kpi-received">(\d+)<', html).group(1))
    closed = int(re.search(r'id="kpi-closed">(\d+)<', html).group(1))
    assert received >= 3 and closed == 2
    assert 'id="kpi-ontime">50.0%<' in html
    assert city.streets[0].name in html
    assert photo is None  # no photos sent: the solved list stays empty rather than showing half a pair


def test_recent_closed_cases_show_before_and_after(city, client):
    from urbangrid.cases import attachments
    from urbangrid.cases.models import Case

    client.post(
        "/public/",
        form(city, photos=SimpleUploadedFile("b.jpg", jpeg((10, 10, 10)), content_type="image/jpeg")),
    )
    case = Case.objects.order_by("-id").first()
    prepared = attachments.prepare_many(
        [SimpleUploadedFile("a.jpg", jpeg((0, 200, 0)), content_type="image/jpeg")]
    )
    attachments.store(case, "after", None, prepared=prepared[0])
    Case.objects.filter(pk=case.pk).update(state="closed", closed_at=timezone.now())
    html = client.get("/public/stats/").content.decode()
    assert html.count("/media/cases/") == 2
    assert PHONE not in html


def test_publicity_page(city, client):
    r = client.get("/public/publicity/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="monthly-table"' in html
    assert html.count("<tr><td>20") >= 12  # twelve months
    assert "机动车乱停放" in html  # the standards table


def test_regions_endpoint_is_public_geojson_without_people(city, client):
    r = client.get("/public/regions.geojson")
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    levels = {f["properties"]["level"] for f in fc["features"]}
    assert levels == {3, 4}
    assert set(fc["features"][0]["properties"]) == {"code", "name", "level"}


def test_nearby_open_problems(city, client):
    client.post("/public/", form(city, description="路口垃圾 13812345678 请处理"))
    r = client.get(f"/public/nearby.json?lon={city.A[0]}&lat={city.A[1]}")
    assert r.status_code == 200
    (item,) = [c for c in r.json()["cases"] if c["distance_m"] == 0]
    assert item["class_name"] == "暴露垃圾"
    assert "13812345678" not in r.content.decode() and "138****5678" in item["description"]
    far = client.get(f"/public/nearby.json?lon={city.B[0]}&lat={city.B[1]}").json()["cases"]
    assert item["number"] not in {c["number"] for c in far}
    assert client.get("/public/nearby.json?lon=x").status_code == 400


def test_suggest_uses_catalog_classifier(city, client):
    r = client.post("/public/suggest.json", {"text": "门口有人摆摊卖水果"})
    names = [s["name"] for s in r.json()["suggestions"]]
    assert "占道经营" in names
    assert client.post("/public/suggest.json", {"text": "a"}).json() == {"suggestions": []}
    # A long description travels in the body (in a URL it was a 414 past ~450 characters).
    long = client.post("/public/suggest.json", {"text": "门口有人摆摊卖水果，" + "占了大半条路" * 400})
    assert "占道经营" in [s["name"] for s in long.json()["suggestions"]]
    assert client.get("/public/suggest.json?text=摆摊").status_code == 405


def test_no_personal_data_in_any_public_answer(city, client):
    """Reporter phone, names and e-mail never leave through the portal or Open311 reads."""
    ticket = verified_ticket(client)
    client.post(
        "/public/",
        form(
            city,
            phone=PHONE,
            phone_ticket=ticket,
            description="我是王五，电话13912345678，邮箱w5@example.org",
        ),
    )
    client.post(
        "/open311/v2/requests.json",
        {
            "api_key": city.keys["app"],
            "service_code": service_code("焚烧垃圾树叶"),
            "lat": city.B[1],
            "long": city.B[0],
            "description": "有人烧树叶",
            "email": "reporter@example.org",
            "first_name": "六",
            "last_name": "赵",
            "phone": "13600000000",
            "device_id": "imei-123",
        },
    )
    from urbangrid.cases.models import Case

    numbers = list(Case.objects.values_list("number", flat=True))
    tokens = list(Case.objects.values_list("public_token", flat=True))
    pages = [
        "/public/",
        "/public/stats/",
        "/public/publicity/",
        *(f"/public/follow/?number={n}&phone4={PHONE[-4:]}" for n in numbers),
        f"/public/nearby.json?lon={city.A[0]}&lat={city.A[1]}",
        f"/public/nearby.json?lon={city.B[0]}&lat={city.B[1]}",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        "/open311/v2/requests/" + numbers[-1] + ".json",
    ] + [f"/public/c/{t}/" for t in tokens]
    for url in pages:
        text = client.get(url).content.decode()
        for secret in [
            PHONE,
            "13912345678",
            "w5@example.org",
            "reporter@example.org",
            "13600000000",
            "imei-123",
            "赵",
        ]:
            assert secret not in text, (url, secret)


def test_admin_issues_key_once_and_stores_only_hash(city, client):
    from urbangrid.portal.models import ApiClient

    client.force_login(city.admin)
    r = client.post(
        "/admin/portal/apiclient/add/",
        {
            "name": "12345热线",
            "channel": "messaging",
            "scopes": '["open311:post"]',
            "rate_per_minute": 30,
            "rate_per_day": 1000,
            "is_active": "on",
            "contact": "",
            "note": "",
        },
        follow=True,
    )
    assert r.status_code == 200
    html = r.content.decode()
    key = re.search(r"<code>(ugk_[\w-]+)</code>", html).group(1)
    row = ApiClient.objects.get(name="12345热线")
    assert key not in str(ApiClient.objects.filter(pk=row.pk).values().first())
    from urbangrid.portal.actions import authenticate_key

    assert authenticate_key(key).pk == row.pk
    r = client.post(
        "/admin/portal/apiclient/", {"action": "issue_key", "_selected_action": [row.pk]}, follow=True
    )
    new_key = re.search(r"<code>(ugk_[\w-]+)</code>", r.content.decode()).group(1)
    assert new_key != key and authenticate_key(key) is None and authenticate_key(new_key).pk == row.pk
    assert client.get(f"/admin/portal/apiclient/{row.pk}/change/").content.decode().count(new_key) == 0


def test_only_admins_manage_clients(city):
    from urbangrid.lib.errors import PermissionDenied
    from urbangrid.portal.actions import do_create_client, do_issue_key

    dispatcher = city.demo.user("dispatcher")
    with pytest.raises(PermissionDenied):
        do_create_client(dispatcher, name="x")
    with pytest.raises(PermissionDenied):
        do_issue_key(dispatcher, city.clients["app"])


def test_follow_refuses_a_nul_character(city, client):
    r = client.get("/public/follow/?number=%00")
    assert r.status_code == 400
