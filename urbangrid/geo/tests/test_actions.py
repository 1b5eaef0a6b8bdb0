"""Import refusals (each changes nothing), imports, versioning, permissions, Shapefile round trip."""

from __future__ import annotations

import copy
import json
import re

import pytest
import shapely
from django.utils import translation
from shapely.geometry import box, mapping

from urbangrid.geo import crs
from urbangrid.geo.actions import do_change_grid_boundary, do_divide_grids, do_import_grids, do_import_regions
from urbangrid.geo.io import feature_collection, shapefile_zip
from urbangrid.geo.models import GeoRevision, Region, UnitGrid
from urbangrid.lib.errors import Conflict, InvalidInput, PermissionDenied

from .conftest import X0, Y0, D, feature, tiny_regions_fc

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Region.objects.order_by("code").values_list("code", "name", "geometry_wkb")),
        list(UnitGrid.objects.order_by("code", "version").values_list("code", "version", "valid_to")),
        GeoRevision.current(),
    )


def grids_fc(tiny, mutate=None):
    items = [(g.geometry, {"code": g.code, "name": g.name}) for g in tiny.grids()]
    fc = feature_collection(items, "wgs84")
    if mutate:
        mutate(fc)
    return fc


def refused(fn, *args, match=None, **kwargs):
    before = snapshot()
    with pytest.raises(InvalidInput) as info:
        fn(None, *args, **kwargs)
    assert snapshot() == before, "a refused import changed the database"
    if match:
        assert match in info.value.message, info.value.message
    return info.value.message


def test_import_regions_creates_hierarchy(tiny):
    assert [s.kind for s in tiny.streets] == ["street", "town"]
    assert [c.kind for c in tiny.communities] == ["community", "community", "village", "village"]
    assert tiny.communities[0].parent == tiny.streets[0]
    assert tiny.district.area_m2 == pytest.approx(1.013e6, rel=0.01)
    again = do_import_regions(None, tiny_regions_fc(), "wgs84")
    assert again.unchanged == 7 and again.created == again.updated == 0


@pytest.mark.parametrize(
    "kind",
    [
        "self_intersection",
        "open_ring",
        "empty",
        "point",
        "degrees_out_of_range",
        "outside_parent",
        "bad_code",
        "unknown_parent",
        "duplicate",
    ],
)
def test_region_import_refusals_change_nothing(db, kind):
    fc = tiny_regions_fc()
    f = fc["features"][3]
    if kind == "self_intersection":
        f["geometry"] = {
            "type": "Polygon",
            "coordinates": [
                [[X0, Y0], [X0 + 0.004, Y0 + 0.004], [X0 + 0.004, Y0], [X0, Y0 + 0.004], [X0, Y0]]
            ],
        }
        expected = "619803001001"
    elif kind == "open_ring":
        f["geometry"]["coordinates"] = [
            list(f["geometry"]["coordinates"][0][:-1]) + [[X0 + 0.001, Y0 + 0.0099]]
        ]
        expected = "619803001001"
    elif kind == "empty":
        f["geometry"] = {"type": "Polygon", "coordinates": []}
        expected = "619803001001"
    elif kind == "point":
        f["geometry"] = {"type": "Point", "coordinates": [X0, Y0]}
        expected = "Point"
    elif kind == "degrees_out_of_range":
        x, y = crs.from_canonical(X0, Y0, "cgcs2000_gk", zone=37)
        f["geometry"] = mapping(box(x, y, x + 100, y + 100))  # metres declared as WGS-84
        expected = "619803001001"
    elif kind == "outside_parent":
        f["geometry"] = mapping(box(X0 + 0.004, Y0 + 0.006, X0 + 0.007, Y0 + 0.01))  # spills into the town
        expected = "619803001"
    elif kind == "bad_code":
        f["properties"]["code"] = "61980300100"
        expected = "61980300100"
    elif kind == "unknown_parent":
        f["properties"]["code"] = "619803009001"
        expected = "619803009"
    else:
        fc["features"].append(copy.deepcopy(f))
        expected = "619803001001"
    message = refused(do_import_regions, fc, "wgs84")
    assert expected in message
    assert "要素" in message or "Feature" in message


def test_declared_projected_crs_with_degrees_is_refused(db):
    refused(do_import_regions, tiny_regions_fc(), "cgcs2000_gk", zone=36, match="619803")


def test_import_in_gauss_kruger_zone(db):
    fc = tiny_regions_fc()
    for f in fc["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        f["geometry"] = mapping(crs.geom_from_canonical(geom, "cgcs2000_gk", zone=37))
    result = do_import_regions(None, json.dumps(fc).encode(), "cgcs2000_gk", epsg=4546)
    assert result.created == 7
    district = Region.objects.get(code="619803")
    assert district.geometry.bounds == pytest.approx((X0, Y0, X0 + D, Y0 + D), abs=1e-8)


def test_dry_run_writes_nothing(db):
    before = snapshot()
    result = do_import_regions(None, tiny_regions_fc(), "wgs84", dry_run=True)
    assert result.created == 7 and result.dry_run
    assert snapshot() == before


def bowtie(fc):
    fc["features"][2]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[X0, Y0], [X0 + 0.001, Y0 + 0.001], [X0 + 0.001, Y0], [X0, Y0 + 0.001], [X0, Y0]]],
    }


def test_grid_import_refusals_change_nothing(tiny):
    def outside(fc):
        fc["features"][0]["geometry"] = mapping(box(X0 - 0.002, Y0, X0 + 0.001, Y0 + 0.001))

    def bad_code(fc):
        fc["features"][1]["properties"]["code"] = "6198030010011"

    def wrong_community(fc):
        # A grid of the north community drawn inside the south community: wrong nesting.
        fc["features"][0]["geometry"] = mapping(box(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002))

    for mutate, needle in [
        (outside, "619803001001001"),
        (bad_code, "6198030010011"),
        (bowtie, "自相交"),
        (wrong_community, "619803001001"),
    ]:
        fc = grids_fc(tiny, mutate)
        message = refused(do_import_grids, fc, "wgs84")
        assert needle in message or needle in message.lower(), message


def test_invalid_geometry_is_explained_in_chinese_with_its_place(tiny):
    with translation.override("zh-hans"):
        message = refused(do_import_grids, grids_fc(tiny, bowtie), "wgs84")
    # GEOS says "Self-intersection[x y]"; the user reads the reason and the crossing point.
    assert "边界自相交" in message and "Self-intersection" not in message and "[" not in message
    lon, lat = (float(v) for v in re.search(r"(\d+\.\d+), (\d+\.\d+)", message).groups())
    assert (lon, lat) == pytest.approx((X0 + 0.0005, Y0 + 0.0005), abs=1e-9)


def test_grid_import_versions_changed_boundaries(tiny):
    grids = tiny.grids(tiny.communities[0])
    target = grids[0]
    smaller = shapely.affinity.scale(target.geometry, 0.9, 0.9, origin=target.geometry.centroid)
    fc = feature_collection(
        [(smaller, {"code": target.code})] + [(g.geometry, {"code": g.code}) for g in grids[1:]], "gcj02"
    )
    rev = GeoRevision.current()
    result = do_import_grids(None, fc, "gcj02")
    assert (result.created, result.updated) == (0, 1)
    assert result.unchanged == len(grids) - 1  # a GCJ-02 round trip is not a change
    rows = list(UnitGrid.objects.filter(code=target.code).order_by("version"))
    assert [r.version for r in rows] == [1, 2]
    assert rows[0].valid_to is not None and rows[1].valid_to is None
    assert rows[1].valid_from == rows[0].valid_to
    assert GeoRevision.current() == rev + 1


def test_change_grid_boundary_keeps_history(tiny):
    grid = tiny.grids(tiny.communities[1])[3]
    smaller = shapely.affinity.scale(grid.geometry, 0.8, 0.8, origin=grid.geometry.centroid)
    new = do_change_grid_boundary(None, grid.code, smaller)
    grid.refresh_from_db()
    assert grid.valid_to == new.valid_from and new.version == grid.version + 1
    assert UnitGrid.objects.current().filter(code=grid.code).get().pk == new.pk
    assert UnitGrid.objects.valid_at(grid.valid_from).filter(code=grid.code).get().pk == grid.pk
    with pytest.raises(InvalidInput):
        do_change_grid_boundary(None, grid.code, box(X0 + 0.006, Y0, X0 + 0.007, Y0 + 0.001))
    with pytest.raises(Conflict):
        do_change_grid_boundary(None, grid.code, smaller, grid.valid_from)


def test_redivision_closes_and_versions(tiny):
    community = tiny.communities[2]
    old = tiny.grids(community)
    new = do_divide_grids(None, community, 40_000)
    assert len(new) < len(old)
    assert all(g.version == 2 for g in new)
    assert UnitGrid.objects.filter(pk__in=[g.pk for g in old], valid_to__isnull=True).count() == 0
    codes = [g.code for g in new]
    assert codes == sorted(codes) and codes[0].endswith("001")


def test_only_admins_change_geography(demo, tiny):
    worker = demo.user("grid_worker")
    before = snapshot()
    with pytest.raises(PermissionDenied):
        do_divide_grids(worker, tiny.communities[0])
    with pytest.raises(PermissionDenied):
        do_import_regions(worker, tiny_regions_fc(), "wgs84")
    assert snapshot() == before
    assert do_divide_grids(demo.user("admin"), tiny.communities[0])


def test_shapefile_round_trip(tiny):
    items = [(g.geometry, {"code": g.code, "name": "网格"}) for g in tiny.grids()]
    data = shapefile_zip(items, "cgcs2000_gk:37")
    assert data[:2] == b"PK"
    result = do_import_grids(None, data, "cgcs2000_gk", zone=37)
    # The projection round trip moves vertices by ~1e-13 degrees: recognised as unchanged.
    assert result.unchanged == len(items) and result.created == result.updated == 0
    # A .prj that says projected contradicts a declared geographic CRS.
    refused(do_import_grids, data, "wgs84", match=".prj")


def test_region_feature_names_in_messages(db):
    fc = {
        "type": "FeatureCollection",
        "features": [
            feature("619803", "测试区", box(X0, Y0, X0 + D, Y0 + D)),
            {"type": "Feature", "properties": {"code": "619803001", "name": "x"}, "geometry": None},
        ],
    }
    message = refused(do_import_regions, fc, "wgs84")
    assert "2" in message and "619803001" in message
