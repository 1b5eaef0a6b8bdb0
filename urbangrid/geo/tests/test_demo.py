"""The demo geography: deterministic, exact tiling at every level, grids that pass the coverage proof."""

from __future__ import annotations

import pytest
import shapely

from urbangrid.demo.geo import build_demo_geography, build_layout
from urbangrid.geo.choices import RegionKind
from urbangrid.geo.crs import area_m2
from urbangrid.geo.models import Region, UnitGrid

pytestmark = pytest.mark.django_db


def test_layout_is_deterministic_and_tiles_exactly():
    a = build_layout(7, "small")
    b = build_layout(7, "small")
    assert a["district"].equals_exact(b["district"], 0)
    communities = [c for s in a["streets"] for c in s[4]]
    streets = [s[3] for s in a["streets"]]
    assert len(streets) == 8
    for level in (streets, communities):
        union = shapely.union_all(level)
        assert a["district"].symmetric_difference(union).area < 1e-3
        assert abs(sum(g.area for g in level) - a["district"].area) < 1e-3  # no overlaps


def test_build_small_demo_geography():
    messages = []
    geo = build_demo_geography(3, "small", progress=messages.append)
    assert geo.city.code == "619900" and geo.city.kind == RegionKind.CITY
    assert geo.district.code == "619902"
    kinds = sorted(s.kind for s in geo.streets)
    assert kinds == [RegionKind.STREET] * 4 + [RegionKind.TOWN] * 4
    assert len(geo.communities) >= 16
    assert all(len(c.code) == 12 and c.code.startswith(c.parent.code) for c in geo.communities)
    assert 200 <= geo.grids <= 450
    assert 2e6 < geo.area_m2 < 4e6
    assert UnitGrid.objects.current().count() == geo.grids
    grid = UnitGrid.objects.current().select_related("community").first()
    assert len(grid.code) == 15 and grid.code.startswith(grid.community.code)
    assert abs(area_m2(grid.geometry) - grid.area_m2) < 1e-6
    assert messages and "unit grids" in messages[-1]
    assert Region.objects.filter(kind=RegionKind.VILLAGE, name__endswith="村").exists()
