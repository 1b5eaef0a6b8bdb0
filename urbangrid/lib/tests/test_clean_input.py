"""The input-cleaning layer (urbangrid.lib.middleware): NUL characters and oversized bodies are
refused before any view, in the format of the view they were meant for, and change nothing."""

from __future__ import annotations

import json

import pytest

from urbangrid.orgs.models import ApiToken


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/orgs/people?q=%00",
        "/api/v1/orgs/people?%00=1",
        "/api/v1/cases/2026%00",
        "/api/v1/catalog/calendar/deadline?start=%00&amount=1&unit=day",
    ],
)
def test_api_query_or_path_with_nul_is_a_400_in_the_api_format(demo, url):
    r = demo.client_named("admin").get(url)
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid"
    assert "NUL" in r.json()["detail"]


def test_api_json_body_with_nul_is_refused_and_changes_nothing(demo):
    client = demo.client_named("admin")
    before = ApiToken.objects.count()
    r = client.post(
        "/api/v1/orgs/tokens", json.dumps({"name": "phone\u0000"}), content_type="application/json"
    )
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid"
    assert ApiToken.objects.count() == before
    # A backslash followed by "u0000" is ordinary text.
    r = client.post(
        "/api/v1/orgs/tokens", json.dumps({"name": "phone\\u0000"}), content_type="application/json"
    )
    assert r.status_code == 201, r.content


def test_api_body_past_the_upload_limit_is_a_413_in_the_api_format(demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"name": "x" * 2048})
    r = demo.client_named("admin").post("/api/v1/orgs/tokens", body, content_type="application/json")
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"


def test_api_unparsable_body_answers_in_the_api_format(demo):
    r = demo.client_named("admin").post("/api/v1/orgs/tokens", "{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"


def test_api_missing_object_answers_in_the_api_format(demo):
    r = demo.client_named("admin").get("/api/v1/catalog/classes/999999999")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_page_form_with_nul_is_a_400(demo):
    client = demo.client_named("admin")
    assert client.get("/case/?n=%00").status_code == 400
    assert client.post("/login/", {"username": "admin\x00", "password": "x"}).status_code == 400
