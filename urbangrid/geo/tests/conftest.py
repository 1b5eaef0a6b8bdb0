"""Geo test fixtures: a tiny geography away from the demo city, built through the real actions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from shapely.geometry import Polygon, box, mapping

from urbangrid.geo import locator
from urbangrid.geo.actions import do_divide_grids, do_import_regions
from urbangrid.geo.models import Region, UnitGrid

# A 0.01° x 0.01° district near (110.0, 35.0), far from the demo city at (108.95, 34.27).
X0, Y0, D = 110.0, 35.0, 0.01
TINY_TARGET_M2 = 20000.0


@pytest.fixture(autouse=True)
def _fresh_locator():
    """Tests roll back grid changes: never let a locator index outlive the test that built it."""
    locator.invalidate()
    yield
    locator.invalidate()


def feature(code, name, geom, **props):
    return {"type": "Feature", "properties": {"code": code, "name": name, **props}, "geometry": mapping(geom)}


def ring(*points):
    return Polygon([(X0 + a * D, Y0 + b * D) for a, b in points])


def tiny_regions_fc() -> dict:
    """District > street + town > 2 communities each. Like clean survey data, every level carries
    the vertices of the level below on its outline (boundaries are compared as straight segments
    between vertices in the metric zone, so a long edge must not skip a neighbour's corner)."""
    h = D / 2
    return {
        "type": "FeatureCollection",
        "features": [
            feature(
                "619803",
                "测试区",
                ring((0, 0), (0.5, 0), (1, 0), (1, 0.5), (1, 1), (0.5, 1), (0, 1), (0, 0.5)),
            ),
            feature("619803001", "测试街道", ring((0, 0), (0.5, 0), (0.5, 0.5), (0.5, 1), (0, 1), (0, 0.5))),
            feature("619803101", "测试镇", ring((0.5, 0), (1, 0), (1, 0.5), (1, 1), (0.5, 1), (0.5, 0.5))),
            feature("619803001001", "北社区", box(X0, Y0 + h, X0 + h, Y0 + D)),
            feature("619803001002", "南社区", box(X0, Y0, X0 + h, Y0 + h)),
            feature("619803101201", "北村", box(X0 + h, Y0 + h, X0 + D, Y0 + D)),
            feature("619803101202", "南村", box(X0 + h, Y0, X0 + D, Y0 + h)),
        ],
    }


@dataclass
class Tiny:
    district: Region
    streets: list[Region]
    communities: list[Region]

    def grids(self, community=None):
        qs = UnitGrid.objects.current().filter(district=self.district)
        if community is not None:
            qs = qs.filter(community=community)
        return list(qs.order_by("code"))


@pytest.fixture
def tiny(db) -> Tiny:
    do_import_regions(None, tiny_regions_fc(), "wgs84")
    district = Region.objects.get(code="619803")
    streets = list(Region.objects.filter(parent=district).order_by("code"))
    communities = list(Region.objects.filter(parent__in=streets).order_by("code"))
    for c in communities:
        do_divide_grids(None, c, TINY_TARGET_M2)
    return Tiny(district, streets, communities)
