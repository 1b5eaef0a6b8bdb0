"""Every list of the API takes bounded ``limit``/``offset``: out of bounds is a 422, never a 500
and never every row."""

from __future__ import annotations

import pytest

from urbangrid.lib.paging import MAX_OFFSET

# (path, the largest limit it serves, whether it takes an offset)
LISTS = [
    ("/api/v1/catalog/classes", 500, True),
    ("/api/v1/orgs/people", 500, True),
    ("/api/v1/orgs/grid-assignments", 5000, True),
    ("/api/v1/orgs/training/sessions", 1000, False),
    ("/api/v1/orgs/equipment", 5000, False),
    ("/api/v1/credit/subjects", 200, True),
    ("/api/v1/credit/lists/watch", 500, True),
    ("/api/v1/joint/campaigns", 200, True),
    ("/api/v1/joint/consultations", 200, True),
    ("/api/v1/joint/meetings", 200, True),
    ("/api/v1/patrol/places", 2000, False),
    ("/api/v1/cases/", 200, False),
    ("/api/v1/cases/inbox", 200, False),
    ("/api/v1/cases/my-tasks", 200, False),
]
TOO_BIG = "99999999999999999999"  # past bigint


@pytest.mark.parametrize("path,maximum,has_offset", LISTS)
def test_lists_refuse_out_of_bound_paging(demo, path, maximum, has_offset):
    client = demo.client_named("admin")
    assert client.get(path, {"limit": maximum}).status_code == 200
    bad = [{"limit": 0}, {"limit": -1}, {"limit": maximum + 1}, {"limit": TOO_BIG}]
    if has_offset:
        assert client.get(path, {"offset": MAX_OFFSET}).status_code == 200
        bad += [{"offset": -1}, {"offset": MAX_OFFSET + 1}, {"offset": TOO_BIG}]
    for params in bad:
        response = client.get(path, params)
        assert response.status_code == 422, (params, response.status_code)
        assert response.json()["code"] == "invalid"


def test_published_schema_states_the_bounds():
    from urbangrid.api import api

    params = api.get_openapi_schema()["paths"]["/api/v1/orgs/people"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in params}
    assert (by_name["limit"]["minimum"], by_name["limit"]["maximum"]) == (1, 500)
    assert (by_name["offset"]["minimum"], by_name["offset"]["maximum"]) == (0, MAX_OFFSET)
