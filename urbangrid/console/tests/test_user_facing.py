"""What users see: Chinese error pages in the site's layout, the CSP nonce on inline scripts, and
no internal strings (login names, unit codes, scheme and metric keys, Django's "---------",
references to documents, ASCII colons after Chinese) on the pages of any role."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.views import defaults

from urbangrid.evaluation.indicators import REGISTRY
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import Unit

pytestmark = pytest.mark.django_db

CJK = "\u4e00-\u9fff"
SKIP = re.compile(
    r"^/(admin|api|i18n|static|media|open311)/|/logout|\.(json|xlsx|csv|pdf|js|png|geojson|zip)$|/m/sw"
)


def visible_text(body: str) -> str:
    """The text a person reads: no scripts or styles, tags reduced to spaces, entities decoded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def crawl(client, start: list[str], limit: int = 45) -> dict[str, str]:
    """GET the start pages and the same-site links they show, one level deep."""
    pages: dict[str, str] = {}
    queue = list(start)
    for depth in (0, 1):
        next_queue = []
        for url in queue:
            if url in pages or len(pages) >= limit or SKIP.search(urlsplit(url).path):
                continue
            response = client.get(url)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            body = response.content.decode()
            pages[url] = body
            if depth == 0:
                next_queue += [
                    h for h in re.findall(r'href="(/[^"#]*)"', html.unescape(body)) if "?" not in h
                ]
        queue = next_queue
    return pages


def findings(pages: dict[str, str], usernames: set[str], unit_codes: set[str]) -> list[str]:
    metric_keys = {k for k in REGISTRY if "_" in k}
    found = []
    for url, body in pages.items():
        text = visible_text(body)
        words = set(re.findall(r"[A-Za-z0-9_]+", text))
        checks = {
            "unit code": words & unit_codes,
            "metric key": words & metric_keys,
            # People management pages show the account in a column of its own, by design.
            "login name": set() if url.startswith("/orgs/") else words & usernames,
            "scheme key": set(re.findall(r"\((?:city|district)\)", text)),
            "document reference": set(re.findall(r"\b[A-Z]+\.md\b", text)),
            "empty choice dashes": {"---------"} if "---------" in body else set(),
            "ASCII colon after Chinese": set(re.findall(rf"[{CJK}]:(?!//)", text)),
        }
        found += [f"{url}: {kind} {sorted(hits)}" for kind, hits in checks.items() if hits]
    return found


STAFF_ROLES = [
    Role.INTAKE_OPERATOR,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.UNIT_HANDLER,
    Role.UNIT_LEADER,
    Role.GRID_WORKER,
    Role.DISTRICT_LEADER,
]


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_pages_of_each_role_show_no_internal_strings(demo, role):
    from django.contrib.auth import get_user_model

    client = demo.client_for(role)
    start = ["/", "/evaluation/schemes/", "/orgs/", "/grids/import/", "/intake/"]
    pages = crawl(client, start)
    assert len(pages) >= 3, sorted(pages)
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    unit_codes = set(Unit.objects.values_list("code", flat=True))
    problems = findings(pages, usernames, unit_codes)
    assert not problems, "\n".join(problems)


def test_the_public_portal_shows_no_internal_strings(client):
    pages = crawl(client, ["/public/"])
    assert len(pages) >= 3
    assert not findings(pages, set(), set(Unit.objects.values_list("code", flat=True)))


@pytest.mark.parametrize("path", ["/no-such-page/", "/public/no-such-page/"])
def test_404_is_chinese_in_the_site_layout_with_a_way_back(demo, client, path):
    response = client.get(path)
    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body and "Not Found" not in body
    assert 'class="topbar"' in body
    back = "/public/" if path.startswith("/public/") else "/"
    assert f'href="{back}"' in body


def test_404_outside_the_jurisdiction_looks_like_any_other(demo):
    response = demo.client_for("grid_worker").get("/patrol/plans/999999/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_403_and_400_are_chinese_with_a_way_back():
    request = RequestFactory().get("/cases/")
    request.user = None
    forbidden = defaults.permission_denied(request, PermissionDenied())
    assert forbidden.status_code == 403
    assert "无权" in forbidden.content.decode() and 'href="/"' in forbidden.content.decode()
    bad = defaults.bad_request(request, ValueError())
    assert bad.status_code == 400 and "请求" in bad.content.decode()


def test_a_csrf_failure_is_chinese_and_says_nothing_was_saved():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "表单已过期" in body and "CSRF" not in visible_text(body) and 'href="/"' in body


def test_500_is_chinese_and_needs_no_database(django_assert_num_queries):
    request = RequestFactory().get("/cases/")
    with django_assert_num_queries(0):
        response = defaults.server_error(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错" in body and "Server Error" not in body
    assert 'href="/"' in body and 'class="topbar"' in body


def test_patrol_tabs_offer_the_mobile_patrol_only_to_those_who_may_patrol(demo):
    leader = demo.client_for("district_leader")
    assert leader.get("/patrol/m/").status_code == 404
    assert "/patrol/m/" not in leader.get("/patrol/").content.decode()
    worker = demo.client_for("grid_worker")
    assert worker.get("/patrol/m/").status_code == 200
    assert "/patrol/m/" in worker.get("/patrol/").content.decode()


def test_inline_scripts_carry_the_nonce_of_their_response(demo):
    response = demo.client_for("district_leader").get("/evaluation/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", response.content.decode())
    assert inline, "the evaluation page has an inline script"
    assert all(f'nonce="{nonce}"' in attrs for attrs in inline)


def test_a_supervision_order_names_its_issuer_not_the_login(demo):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from urbangrid.evaluation.actions import do_issue_order

    leader = demo.user("district_leader")
    now = datetime(2026, 11, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    order = do_issue_order(
        leader,
        unit=demo.unit("dept_market"),
        title="按期处置率偏低",
        body="说明原因并整改。",
        deadline=now + timedelta(days=3),
        indicator="on_time_handling_rate",
        indicator_value=0.5,
        threshold=0.8,
        period_label="2026年10月",
        now=now,
    )
    url = f"/evaluation/orders/{order.pk}/"
    body = demo.client_for("district_leader").get(url).content.decode()
    assert demo.person("district_leader").name in visible_text(body)
    assert not findings({url: body}, {leader.username}, {"dept_market"})


def test_the_empty_choice_and_form_labels_read_as_chinese():
    from django.utils import translation

    from urbangrid.credit.forms import SubjectForm

    with translation.override("zh-hans"):
        field = SubjectForm(user=None)["region"]
        select, label = str(field), field.label_tag()
    assert "---------" not in select and "请选择" in select
    assert visible_text(label).strip().endswith("：")


def test_scripts_do_not_put_an_ascii_colon_after_a_translated_label():
    """Labels that scripts show come translated from the page (T.x): a colon belongs inside the
    translation, where Chinese gets its full-width "："."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in root.glob("**/static/**/*.js")
        if "vendor" not in path.parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"""\bT\.\w+\s*\+\s*["']:""", line)
    ]
    assert not offenders, offenders
