"""Open311 GeoReport v2 conformance, written from the specification
(http://wiki.open311.org/GeoReport_v2): every resource and its errors, in XML and JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from urbangrid.cases.models import Case
from urbangrid.portal.tests.conftest import service_code
from urbangrid.portal.tests.spec import as_bool, body, errors, is_w3c, parse
from urbangrid.testing.world import jpeg

pytestmark = pytest.mark.django_db
FORMATS = ["xml", "json"]
BASE = "/open311/v2"


def post(client, fmt, data, **extra):
    return client.post(f"{BASE}/requests.{fmt}", data, **extra)


def parking(city, **over):
    data = {
        "api_key": city.keys["app"],
        "service_code": service_code("机动车乱停放"),
        "lat": city.A[1],
        "long": city.A[0],
        "description": "一辆车停在人行道上，挡住盲道",
        "attribute[vehicle_kind]": "car",
        "attribute[plate_number]": "示A12345",
        "attribute[blocking][]": ["sidewalk", "tactile_paving"],
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def case_count():
    from urbangrid.cases.models import Case

    return Case.objects.count()


# --- discovery ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(city, client, fmt):
    r = client.get(f"{BASE}/discovery.{fmt}")
    assert r.status_code == 200
    d = body(r, fmt)
    assert is_w3c(d["changeset"])
    assert d["contact"] and d["key_service"]
    (ep,) = d["endpoints"]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ep["url"].endswith("/open311/v2/")
    assert ep["type"] == "production"
    assert set(ep["formats"]) == {"text/xml", "application/json"}


def test_format_by_extension_query_and_default(city, client):
    assert client.get(f"{BASE}/discovery")["Content-Type"].startswith("text/xml")
    assert client.get(f"{BASE}/discovery?format=json")["Content-Type"].startswith("application/json")
    r = client.get(f"{BASE}/services.csv")
    assert r.status_code == 400
    errors(r, "xml")


# --- services ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_services_list_active_classes_of_default_code_set(city, client, fmt):
    from urbangrid.catalog.models import ProblemClass

    r = client.get(f"{BASE}/services.{fmt}")
    assert r.status_code == 200
    services = body(r, fmt)
    assert isinstance(services, list)
    expected = ProblemClass.objects.filter(code_set__is_default=True, is_active=True)
    # One service per class, named by its key: 06001 is both a component and an event.
    assert sorted(s["service_code"] for s in services) == sorted(pc.key for pc in expected)
    by_code = {s["service_code"]: s for s in services}
    park = by_code[service_code("机动车乱停放")]
    assert park["service_name"] == "机动车乱停放"
    assert (
        park["group"]
        == ProblemClass.objects.get(
            code_set__is_default=True, kind="event", code=park["service_code"][1:]
        ).major_name
    )
    assert as_bool(park["metadata"]) is True
    assert park["type"] == "realtime"
    assert "违停" in park["keywords"]
    assert park["description"]
    plain = by_code[service_code("焚烧垃圾树叶")]
    assert as_bool(plain["metadata"]) is False


def test_inactive_class_is_not_offered(city, client):
    from urbangrid.catalog.models import ProblemClass

    code = service_code("焚烧垃圾树叶")
    ProblemClass.objects.filter(code_set__is_default=True, name="焚烧垃圾树叶").update(is_active=False)
    codes = {s["service_code"] for s in client.get(f"{BASE}/services.json").json()}
    assert code not in codes
    assert client.get(f"{BASE}/services/{code}.json").status_code == 404


# --- service definition -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_parking(city, client, fmt):
    code = service_code("机动车乱停放")
    r = client.get(f"{BASE}/services/{code}.{fmt}")
    assert r.status_code == 200
    d = body(r, fmt)
    assert d["service_code"] == code
    attrs = d["attributes"]
    assert [a["code"] for a in attrs] == ["vehicle_kind", "plate_number", "blocking"]
    orders = [int(a["order"]) for a in attrs]
    assert orders == sorted(orders)
    kind, plate, blocking = attrs
    assert kind["datatype"] == "singlevaluelist" and as_bool(kind["required"]) is True
    assert {v["key"] for v in kind["values"]} == {"car", "truck", "motorcycle"}
    assert all(v["name"] for v in kind["values"])
    assert plate["datatype"] == "string" and as_bool(plate["required"]) is False
    assert "values" not in plate or plate["values"] in ("", [])
    assert blocking["datatype"] == "multivaluelist"
    for a in attrs:
        assert as_bool(a["variable"]) is True
        assert a["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_stall_and_admin_rows_override(city, client, fmt):
    from urbangrid.catalog.models import ProblemClass
    from urbangrid.portal.models import ServiceAttribute

    code = service_code("占道经营")
    d = body(client.get(f"{BASE}/services/{code}.{fmt}"), fmt)
    assert d["attributes"][0]["code"] == "stall_type"
    assert {v["key"] for v in d["attributes"][0]["values"]} >= {"food", "produce"}
    # Rows edited in the admin replace the built-in defaults.
    pc = ProblemClass.objects.get(code_set__is_default=True, kind="event", code=code[1:])
    ServiceAttribute.objects.create(
        problem_class=pc, code="umbrella", datatype="number", required=True, order=1, description="伞的数量"
    )
    d = body(client.get(f"{BASE}/services/{code}.{fmt}"), fmt)
    assert [a["code"] for a in d["attributes"]] == ["umbrella"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_unknown_is_404(city, client, fmt):
    r = client.get(f"{BASE}/services/99999.{fmt}")
    assert r.status_code == 404
    assert "99999" in errors(r, fmt)[0]["description"]


# --- POST requests -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_request_creates_case_through_intake(city, client, fmt):
    from urbangrid.cases.models import Case, Report
    from urbangrid.portal.models import Open311Request

    r = post(
        client,
        fmt,
        parking(
            city,
            email="zhang@example.org",
            first_name="三",
            last_name="张",
            phone="13812345678",
            device_id="dev-1",
            account_id="acc-9",
        ),
    )
    assert r.status_code == 200, r.content
    data = body(r, fmt)
    assert isinstance(data, list) and len(data) == 1
    item = data[0]
    assert "token" not in item  # realtime: the id, never both
    case = Case.objects.get(number=item["service_request_id"])
    assert item["service_notice"]
    assert item["account_id"] in ("acc-9",)
    assert case.channel == "open311"
    assert case.problem_class.name == "机动车乱停放"
    assert case.grid_code == city.grids["A1"].code
    assert case.street_id == city.streets[0].id
    assert case.reporter_phone == "13812345678"
    report = Report.objects.get(case=case)
    assert report.client_key == city.clients["app"].key_id
    row = Open311Request.objects.get(case=case)
    assert row.attributes == {
        "vehicle_kind": "car",
        "plate_number": "示A12345",
        "blocking": ["sidewalk", "tactile_paving"],
    }
    assert r["X-Open311-Token"] == row.token
    assert case.events.filter(action="report").exists()  # audit trail written by the intake


@pytest.mark.parametrize("place", ["query", "body", "header", "json"])
def test_api_key_placement_variants(city, client, place):
    data = parking(city)
    key = data.pop("api_key")
    if place == "query":
        r = client.post(f"{BASE}/requests.json?api_key={key}", data)
    elif place == "body":
        r = client.post(f"{BASE}/requests.json", {**data, "api_key": key})
    elif place == "header":
        r = client.post(f"{BASE}/requests.json", data, HTTP_X_API_KEY=key)
    else:
        r = client.post(
            f"{BASE}/requests.json", json.dumps({**data, "api_key": key}), content_type="application/json"
        )
    assert r.status_code == 200, r.content
    assert r.json()[0]["service_request_id"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "change,status,needle",
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "ugk_nothere_secret"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "99999"}, 404, "99999"),
        ({"lat": None, "long": None}, 400, "lat"),
        ({"long": None}, 400, "lat"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "95", "long": "120"}, 400, "lat"),
        ({"attribute[vehicle_kind]": None}, 400, "vehicle_kind"),
        ({"attribute[vehicle_kind]": "spaceship"}, 400, "spaceship"),
        ({"attribute[blocking][]": ["sidewalk", "moon"]}, 400, "moon"),
        ({"media_url": "ftp://x/y.jpg"}, 400, "media_url"),
        ({"description": "x" * 4001}, 400, "4000"),
        ({"description": "车停在\x00人行道上"}, 400, "NUL"),
        ({"address_string": "\x00"}, 400, "NUL"),
    ],
)
def test_post_errors_change_nothing(city, client, fmt, change, status, needle):
    before = case_count()
    r = post(client, fmt, parking(city, **change))
    assert r.status_code == status, r.content
    descriptions = " ".join(e["description"] for e in errors(r, fmt))
    assert needle in descriptions
    assert case_count() == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_outside_jurisdiction_is_400(city, client, fmt):
    before = case_count()
    r = post(client, fmt, parking(city, lat=city.OUTSIDE[1], long=city.OUTSIDE[0]))
    assert r.status_code == 400
    errors(r, fmt)
    assert case_count() == before


def test_post_scope_and_inactive_client_are_403(city, client):
    from urbangrid.portal.models import ApiClient

    r = post(client, "json", parking(city, api_key=city.keys["readonly"]))
    assert r.status_code == 403 and "open311:post" in errors(r, "json")[0]["description"]
    ApiClient.objects.filter(pk=city.clients["app"].pk).update(is_active=False)
    assert post(client, "json", parking(city)).status_code == 403


def test_post_number_and_datetime_attributes_are_validated(city, client):
    code = service_code("非机动车乱停放")
    ok = {
        "api_key": city.keys["app"],
        "service_code": code,
        "lat": city.A[1],
        "long": city.A[0],
        "description": "电动车堆在出入口",
        "attribute[vehicle_kind]": "ebike",
    }
    r = post(client, "json", {**ok, "attribute[vehicle_count]": "many"})
    assert r.status_code == 400 and "vehicle_count" in r.json()[0]["description"]
    r = post(client, "json", {**ok, "attribute[vehicle_count]": "12", "attribute[unknown_extra]": "ignored"})
    assert r.status_code == 200
    stall = {
        "api_key": city.keys["app"],
        "service_code": service_code("占道经营"),
        "lat": city.B[1],
        "long": city.B[0],
        "description": "人行道摆摊卖水果",
        "attribute[stall_type]": "produce",
    }
    r = post(client, "json", {**stall, "attribute[seen_at]": "yesterday"})
    assert r.status_code == 400
    r = post(client, "json", {**stall, "attribute[seen_at]": "2026-11-28T18:30:00+08:00"})
    assert r.status_code == 200


def test_empty_parameters_are_treated_as_absent(city, client):
    r = post(client, "json", parking(city, address_string="", email="", media_url="", device_id=""))
    assert r.status_code == 200, r.content
    r = client.get(f"{BASE}/requests.json?service_request_id=&status=&service_code=&start_date=&end_date=")
    assert r.status_code == 200 and len(r.json()) == 1


def test_address_string_only_and_address_id(city, client):
    from urbangrid.cases.models import Case
    from urbangrid.geo.models import Region

    community = Region.objects.filter(level=4, parent=city.streets[1]).order_by("code").first()
    address = f"{community.name}3号楼门口"
    r = post(client, "json", parking(city, lat=None, long=None, address_string=address))
    assert r.status_code == 200, r.content
    case = Case.objects.get(number=r.json()[0]["service_request_id"])
    assert case.community_id == community.id and case.address == address
    r = post(client, "json", parking(city, lat=None, long=None, address_string="不存在的地方"))
    assert r.status_code == 400
    grid = city.grids["A2"]
    r = post(client, "json", parking(city, lat=None, long=None, address_id=grid.code, description="另一辆车"))
    assert r.status_code == 200, r.content
    assert Case.objects.get(number=r.json()[0]["service_request_id"]).grid_code == grid.code
    r = post(client, "json", parking(city, lat=None, long=None, address_id="000000000000000"))
    assert r.status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_with_media_upload_and_media_url(city, client, fmt):
    photo = SimpleUploadedFile("car.jpg", jpeg(), content_type="image/jpeg")
    r = post(client, fmt, parking(city, media=photo))
    assert r.status_code == 200, r.content
    number = body(r, fmt)[0]["service_request_id"]
    got = body(client.get(f"{BASE}/requests/{number}.{fmt}"), fmt)[0]
    assert got["media_url"] == ""  # the photo of an open case is not published
    Case.objects.filter(number=number).update(state="closed", closed_at=timezone.now())
    got = body(client.get(f"{BASE}/requests/{number}.{fmt}"), fmt)[0]
    assert got["media_url"].startswith("http://testserver/media/")
    assert client.get(got["media_url"].removeprefix("http://testserver")).status_code == 200
    r = post(
        client,
        fmt,
        parking(city, media_url="https://photos.example.org/1.jpg", lat=city.B[1], long=city.B[0]),
    )
    number = body(r, fmt)[0]["service_request_id"]
    assert (
        body(client.get(f"{BASE}/requests/{number}.{fmt}"), fmt)[0]["media_url"]
        == "https://photos.example.org/1.jpg"
    )


def test_post_rejects_a_non_image_upload(city, client):
    before = case_count()
    bad = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    r = post(client, "json", parking(city, media=bad))
    assert r.status_code == 400
    assert case_count() == before


@pytest.mark.parametrize("how", ["param", "header"])
def test_idempotent_retry_returns_first_request(city, client, how):
    from urbangrid.portal.models import Open311Request

    before = case_count()
    extra = {}
    data = parking(city)
    if how == "param":
        data["request_id"] = "phone-42-1"
    else:
        extra["HTTP_IDEMPOTENCY_KEY"] = "phone-42-1"
    first = post(client, "json", data, **extra)
    second = post(client, "json", data, **extra)
    assert first.status_code == second.status_code == 200
    assert first.json()[0]["service_request_id"] == second.json()[0]["service_request_id"]
    assert case_count() == before + 1
    assert Open311Request.objects.count() == 1
    assert first["X-Open311-Token"] == second["X-Open311-Token"]


def test_duplicate_nearby_report_joins_existing_case(city, client):
    first = post(client, "json", parking(city)).json()[0]
    second = post(client, "json", parking(city, description="同一辆车还在")).json()[0]
    assert second["service_request_id"] == first["service_request_id"]
    assert first["service_request_id"] in second["service_notice"]


# --- tokens ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_token_resolves_to_request(city, client, fmt):
    r = post(client, "json", parking(city))
    token, number = r["X-Open311-Token"], r.json()[0]["service_request_id"]
    got = client.get(f"{BASE}/tokens/{token}.{fmt}")
    assert got.status_code == 200
    assert body(got, fmt) == [{"service_request_id": number, "token": token}]
    missing = client.get(f"{BASE}/tokens/nope.{fmt}")
    assert missing.status_code == 404
    errors(missing, fmt)


# --- GET requests ------------------------------------------------------------------------------
def _make(city, client, n=1, **over):
    numbers = []
    for i in range(n):
        lon, lat = city.points[i]  # far enough apart not to be merged as duplicates
        r = post(
            client, "json", parking(city, **{"long": lon, "lat": lat, "description": f"车辆 {i}", **over})
        )
        assert r.status_code == 200, r.content
        numbers.append(r.json()[0]["service_request_id"])
    return numbers


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_fields_and_privacy(city, client, fmt):
    _make(
        city,
        client,
        1,
        email="zhang@example.org",
        first_name="三",
        last_name="张",
        phone="13812345678",
        device_id="device-xyz",
        description="车主电话13912345678，邮箱li@example.com",
    )
    r = client.get(f"{BASE}/requests.{fmt}")
    assert r.status_code == 200
    (item,) = body(r, fmt)
    for key in [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ]:
        assert key in item
    assert item["status"] == "open"
    assert is_w3c(item["requested_datetime"]) and is_w3c(item["updated_datetime"])
    assert float(item["lat"]) == pytest.approx(city.A[1]) and float(item["long"]) == pytest.approx(city.A[0])
    text = r.content.decode()
    for secret in ["zhang@example.org", "13812345678", "13912345678", "li@example.com", "device-xyz", "张"]:
        assert secret not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_default_window_is_90_days(city, client, fmt):
    from urbangrid.cases.models import Case

    old, recent = _make(city, client, 2)
    Case.objects.filter(number=old).update(reported_at=timezone.now() - timedelta(days=100))
    ids = [i["service_request_id"] for i in body(client.get(f"{BASE}/requests.{fmt}"), fmt)]
    assert ids == [recent]
    start = (timezone.now() - timedelta(days=101)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (timezone.now() - timedelta(days=99)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [
        i["service_request_id"]
        for i in body(client.get(f"{BASE}/requests.{fmt}?start_date={start}&end_date={end}"), fmt)
    ]
    assert ids == [old]
    # start_date alone: 90 days from it.
    ids = [
        i["service_request_id"] for i in body(client.get(f"{BASE}/requests.{fmt}?start_date={start}"), fmt)
    ]
    assert ids == [old]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "query",
    [
        "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",  # more than 90 days
        "start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z",  # reversed
        "start_date=yesterday",
        "status=pending",
        "page=0",
        "page_size=ten",
    ],
)
def test_get_requests_bad_parameters_are_400(city, client, fmt, query):
    r = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert r.status_code == 400
    errors(r, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters(city, client, fmt):
    from urbangrid.cases.models import Case

    a, b, c = _make(city, client, 3)
    stall = post(
        client,
        "json",
        {
            "api_key": city.keys["app"],
            "service_code": service_code("占道经营"),
            "lat": city.B[1],
            "long": city.B[0],
            "description": "摆摊",
            "attribute[stall_type]": "food",
        },
    ).json()[0]["service_request_id"]
    Case.objects.filter(number=b).update(state="closed", closed_at=timezone.now())
    Case.objects.filter(number=c).update(state="cancelled")

    def ids(q):
        r = client.get(f"{BASE}/requests.{fmt}?{q}")
        assert r.status_code == 200, r.content
        return {i["service_request_id"] for i in body(r, fmt)}

    assert ids("status=open") == {a, stall}
    assert ids("status=closed") == {b, c}
    assert ids("status=open,closed") == {a, b, c, stall}
    assert ids(f"service_code={service_code('占道经营')}") == {stall}
    assert ids(f"service_code={service_code('占道经营')},{service_code('机动车乱停放')}") == {a, b, c, stall}
    assert ids(f"service_code={service_code('占道经营')}&status=closed") == set()
    # service_request_id overrides every other argument.
    assert ids(f"service_request_id={a},{b}&status=closed&service_code=99999") == {a, b}
    closed = [i for i in body(client.get(f"{BASE}/requests.{fmt}?service_request_id={b}"), fmt)][0]
    assert closed["status"] == "closed" and closed["status_notes"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_paging(city, client, fmt):
    numbers = _make(city, client, 5)
    newest_first = list(reversed(numbers))
    p1 = [i["service_request_id"] for i in body(client.get(f"{BASE}/requests.{fmt}?page_size=2"), fmt)]
    p3 = [i["service_request_id"] for i in body(client.get(f"{BASE}/requests.{fmt}?page_size=2&page=3"), fmt)]
    assert p1 == newest_first[:2] and p3 == newest_first[4:]
    assert body(client.get(f"{BASE}/requests.{fmt}?page_size=2&page=9"), fmt) in ([], "")


# --- GET one request ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_get_one_request(city, client, fmt):
    from urbangrid.cases.models import Case

    (number,) = _make(city, client, 1)
    due = timezone.now() + timedelta(days=2)
    Case.objects.filter(number=number).update(
        assigned_unit=city.units["A"], handle_due_at=due, state="handling"
    )
    r = client.get(f"{BASE}/requests/{number}.{fmt}")
    assert r.status_code == 200
    (item,) = body(r, fmt)
    assert item["service_request_id"] == number
    assert item["agency_responsible"] == city.units["A"].name
    assert item["status"] == "open"
    assert is_w3c(item["expected_datetime"])
    assert item["expected_datetime"].startswith(timezone.localtime(due).strftime("%Y-%m-%dT%H:%M"))
    missing = client.get(f"{BASE}/requests/20990101000001.{fmt}")
    assert missing.status_code == 404
    errors(missing, fmt)


# --- servicerequestupdates extension -----------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_updates(city, client, fmt):
    from urbangrid.cases.models import Case, CaseEvent

    (number,) = _make(city, client, 1)
    case = Case.objects.get(number=number)
    CaseEvent.objects.create(
        case=case, at=timezone.now(), action="close", from_state="pending_close", to_state="closed"
    )
    r = client.get(f"{BASE}/servicerequestupdates.{fmt}")
    assert r.status_code == 403
    errors(r, fmt)
    r = client.get(f"{BASE}/servicerequestupdates.{fmt}?api_key={city.keys['readonly']}")
    assert r.status_code == 200
    updates = body(r, fmt)
    assert [u["status"] for u in updates] == ["open", "closed"]
    for u in updates:
        assert u["service_request_id"] == number
        assert u["update_id"] and is_w3c(u["updated_datetime"]) and u["description"]
    later = (timezone.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body(
        client.get(f"{BASE}/servicerequestupdates.{fmt}?api_key={city.keys['readonly']}&start_date={later}"),
        fmt,
    ) in ([], "")


# --- limits and methods ------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_client_rate_limit_is_429_with_error_list(city, client, fmt):
    from urbangrid.portal.models import ApiClient

    ApiClient.objects.filter(pk=city.clients["app"].pk).update(rate_per_minute=2)
    codes = [
        post(client, fmt, parking(city, long=city.points[i][0], lat=city.points[i][1])).status_code
        for i in range(2)
    ]
    assert codes[:2] == [200, 200]
    r = post(client, fmt, parking(city))
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert "Please try again" in errors(r, fmt)[0]["description"] or errors(r, fmt)


def test_wrong_method_is_405(city, client):
    r = client.post(f"{BASE}/services.json")
    assert r.status_code == 405 and r["Allow"] == "GET"
    assert client.delete(f"{BASE}/requests.json").status_code == 405


def test_xml_is_well_formed_with_special_characters(city, client):
    _make(city, client, 1, description='A&B <script>"x"</script>')
    root, items = parse(client.get(f"{BASE}/requests.xml"), "xml")
    assert root == "service_requests"
    assert items[0]["description"] == 'A&B <script>"x"</script>'


def test_get_requests_query_count_does_not_grow_with_results(city, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _make(city, client, 2)
    with CaptureQueriesContext(connection) as small:
        client.get(f"{BASE}/requests.json")
    assert len(small) <= 10
    _make_more = [
        post(client, "json", parking(city, long=lon, lat=lat, description=f"更多 {i}"))
        for i, (lon, lat) in enumerate(city.points[2:7])
    ]
    assert all(r.status_code == 200 for r in _make_more)
    with CaptureQueriesContext(connection) as large:
        r = client.get(f"{BASE}/requests.json")
    assert len(r.json()) == 7
    assert len(large) == len(small)


def test_portal_client_command_prints_key_once(city, capsys):
    from django.core.management import call_command

    from urbangrid.portal.actions import authenticate_key
    from urbangrid.portal.models import MachineSource

    call_command(
        "portal_client",
        name="视频平台",
        channel="machine",
        source="cam2",
        source_crs="gcj02",
        event=[f"PARKING={service_code('机动车乱停放')}"],
    )
    out = capsys.readouterr().out
    key = next(line.split()[-1] for line in out.splitlines() if line.startswith("api key:"))
    client = authenticate_key(key)
    assert client.channel == "machine" and client.scopes == ["webhook"]
    src = MachineSource.objects.get(code="cam2")
    assert src.crs == "gcj02" and src.event_types.get().event_type == "PARKING"


def test_errors_are_chinese_by_default_and_english_on_request(city, client):
    data = parking(city)
    data.pop("api_key")
    r = post(client, "json", data)
    assert r.json()[0]["description"] == "未提供 api_key。"
    r = post(client, "json", data, HTTP_ACCEPT_LANGUAGE="en")
    assert r.json()[0]["description"] == "api_key was not provided."


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["requests.{fmt}?service_request_id=%00", "requests.{fmt}?status=%00"])
def test_nul_in_a_query_is_refused_in_open311_format(city, client, fmt, path):
    r = client.get(f"{BASE}/" + path.format(fmt=fmt))
    assert r.status_code == 400, r.content
    assert "NUL" in " ".join(e["description"] for e in errors(r, fmt))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "query,needle",
    [
        ("page=99999999999999999999", "page"),
        ("start_date=9999-12-31T23:59:59Z", "start_date"),
        ("end_date=0001-01-01T00:00:00Z", "end_date"),
        ("start_date=2026-12-01T00:00:00%2B17:00", "start_date"),
    ],
)
def test_out_of_range_page_and_dates_are_400(city, client, fmt, query, needle):
    """Past bigint and past the calendar these were 500s (SQLite's driver, date arithmetic)."""
    r = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert r.status_code == 400, r.content
    assert needle in " ".join(e["description"] for e in errors(r, fmt))
