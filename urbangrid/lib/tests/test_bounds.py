"""Numbers and moments the API takes stay within what the database and the calendar can hold:
outside, a 422 in the API's format instead of a 500."""

from __future__ import annotations

import json

import pytest

from urbangrid.joint.models import Meeting


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/patrol/inspections?campaign_id=-939570430021508661248",
        "/api/v1/patrol/inspections?campaign_id=99999999999999999999",
        "/api/v1/catalog/calendar/deadline?amount=nan&unit=days",
        "/api/v1/catalog/calendar/deadline?amount=inf&unit=days",
        "/api/v1/catalog/calendar/deadline?amount=1&unit=days&start=9999-12-31T23:59:59Z",
        "/api/v1/cases/?date_from=2026-12-07T10:00:00%2B17:00",
        "/api/v1/cases/?date_to=9999-12-31T23:59:59Z",
        "/api/v1/cases/?date_from=0001-01-01T00:00:00Z",
        "/api/v1/cases/?date_from=0001-01-01T00:01:01%2B01:01",
        "/api/v1/credit/subjects/1/score?on=9999-12-31",
    ],
)
def test_out_of_range_numbers_and_moments_are_422(demo, url):
    r = demo.client_named("admin").get(url)
    assert r.status_code == 422, (url, r.status_code, r.content[:200])
    assert r.json()["code"] == "invalid"


def test_ordinary_values_still_pass(demo):
    client = demo.client_named("admin")
    assert client.get("/api/v1/cases/?date_from=2026-12-07T10:00:00%2B08:00").status_code == 200
    assert client.get("/api/v1/cases/?date_from=2026-12-07T10:00:00-15:59").status_code == 200
    r = client.get("/api/v1/catalog/calendar/deadline?amount=1.5&unit=days&start=2026-12-07T10:00:00Z")
    assert r.status_code == 200, r.content


def test_meeting_far_in_the_future_is_refused_and_changes_nothing(demo):
    client = demo.client_named("admin")
    before = Meeting.objects.count()
    body = {"title": "联席会议", "scheduled_at": "9999-12-31T23:59:59Z"}
    r = client.post("/api/v1/joint/meetings", json.dumps(body), content_type="application/json")
    assert r.status_code == 422, r.content
    assert Meeting.objects.count() == before
