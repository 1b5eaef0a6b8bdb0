"""The grid import page: an upload is validated and previewed by a dry run; nothing is written
until the administrator confirms, and a file with any invalid feature is refused whole."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from shapely import affinity
from shapely.geometry import mapping

from urbangrid.geo.models import UnitGrid


def upload(features):
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return SimpleUploadedFile("grids.geojson", body, content_type="application/geo+json")


def feature(code, geometry):
    return {"type": "Feature", "properties": {"code": code}, "geometry": geometry}


def test_invalid_feature_is_listed_and_nothing_is_written(demo):
    client = demo.client_for("admin")
    grid = UnitGrid.objects.current().order_by("code").first()
    versions_before = list(UnitGrid.objects.values_list("code", "version"))
    x0, y0, x1, y1 = grid.geometry.bounds
    bow_tie = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    moved = mapping(affinity.translate(grid.geometry, xoff=1e-5))
    resp = client.post(
        reverse("console:grid_import"),
        {
            "kind": "grids",
            "crs": "wgs84",
            "file": upload([feature(grid.code, moved), feature(grid.code[:-1] + "9", bow_tie)]),
        },
    )
    page = resp.content.decode()
    assert resp.status_code == 200
    assert "未写入任何数据" in page
    assert 'name="token"' not in page  # no confirmation offered
    assert list(UnitGrid.objects.values_list("code", "version")) == versions_before


def test_valid_change_is_previewed_then_written_on_confirm(demo):
    client = demo.client_for("admin")
    grid = UnitGrid.objects.current().order_by("code").first()
    count_before = UnitGrid.objects.count()
    # Move one vertex-free edge: shrinking the grid slightly is a boundary change of that grid only.
    smaller = mapping(affinity.scale(grid.geometry, xfact=0.999, yfact=0.999))
    resp = client.post(
        reverse("console:grid_import"),
        {"kind": "grids", "crs": "wgs84", "file": upload([feature(grid.code, smaller)])},
    )
    page = resp.content.decode()
    assert resp.status_code == 200, page
    token = resp.context["token"]
    assert resp.context["result"].updated == 1
    assert UnitGrid.objects.count() == count_before  # the dry run wrote nothing

    resp = client.post(
        reverse("console:grid_import"), {"kind": "grids", "crs": "wgs84", "token": token, "confirm": "1"}
    )
    assert resp.status_code == 302
    current = UnitGrid.objects.current().get(code=grid.code)
    assert current.version == grid.version + 1
    assert UnitGrid.objects.get(pk=grid.pk).valid_to is not None  # the old version is kept, closed
