"""The Chinese admin: region and grid lists, the coverage action, read-only geometry."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

pytestmark = pytest.mark.django_db


def test_admin_lists_and_coverage_action(demo):
    client = demo.client_named("admin")
    page = client.get("/admin/geo/region/")
    assert page.status_code == 200
    assert "区域" in page.content.decode()
    assert client.get("/admin/geo/unitgrid/").status_code == 200
    grid = demo.grids[0]
    assert client.get(f"/admin/geo/unitgrid/{grid.pk}/change/").status_code == 200
    response = client.post(
        "/admin/geo/region/",
        {"action": "check_coverage", "_selected_action": [demo.district.pk]},
        follow=True,
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)] or [response.content.decode()]
    joined = " ".join(texts)
    assert demo.district.code in joined and "网格" in joined
    # Grids come from import/division only: no "add" in the admin.
    assert client.get("/admin/geo/unitgrid/add/").status_code == 403
