"""Grid division: exact cover, no overlaps, slivers merged, numbering (hypothesis on random shapes)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPoint, Point, Polygon

from urbangrid.geo import crs
from urbangrid.geo.coverage import analyse
from urbangrid.geo.division import divide_lonlat, divide_metric, shared_lengths

X, Y = 587_000.0, 3_794_000.0  # metres in GK zone 36 (near the demo city)
TARGET = 10_000.0


def convex_polygons():
    pts = st.lists(st.tuples(st.floats(0, 800), st.floats(0, 800)), min_size=3, max_size=12)
    return pts.map(lambda p: MultiPoint([(X + a, Y + b) for a, b in p]).convex_hull).filter(
        lambda g: g.geom_type == "Polygon" and g.area > 2000
    )


def concave_polygons():
    """Star-shaped polygons with random radii: concave, sometimes with deep notches."""
    radii = st.lists(st.floats(50, 500), min_size=5, max_size=16)
    holes = st.booleans()

    def build(args):
        rs, with_hole = args
        n = len(rs)
        ring = [
            (X + r * math.cos(2 * math.pi * i / n), Y + r * math.sin(2 * math.pi * i / n))
            for i, r in enumerate(rs)
        ]
        poly = Polygon(ring)
        if with_hole and min(rs) > 120:
            poly = poly.difference(Point(X + 10, Y - 5).buffer(40, quad_segs=3))
        return poly

    return st.tuples(radii, holes).map(build).filter(lambda g: g.is_valid and g.area > 2000)


def check_division(poly, target=TARGET):
    cells = divide_metric(poly, target)
    geoms = np.array([c.geometry for c in cells], dtype=object)
    assert all(shapely.is_valid(geoms))
    union = shapely.union_all(geoms)
    # Exact cover: nothing missing, nothing outside, and the areas add up (so nothing twice).
    assert poly.symmetric_difference(union).area < 1e-3
    assert abs(sum(c.area_m2 for c in cells) - poly.area) < 1e-3
    codes = np.array([f"{c.seq:03d}" for c in cells], dtype=object)
    assert analyse(poly, geoms, codes, 4545, 1e-3) == []
    # Slivers were merged: a small cell remains only when it has no edge neighbour.
    lengths = shared_lengths(list(geoms))
    for i, c in enumerate(cells):
        if c.area_m2 < 0.4 * target:
            assert not any(i in pair for pair in lengths), f"sliver {c.seq} ({c.area_m2:.0f} m²) kept"
    # Numbered row-major from the north-west.
    keys = [(c.row, c.col) for c in cells]
    assert keys == sorted(keys)
    assert [c.seq for c in cells] == list(range(1, len(cells) + 1))
    return cells


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(convex_polygons())
def test_division_of_convex_polygons_covers_exactly(poly):
    check_division(poly)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(concave_polygons())
def test_division_of_concave_polygons_covers_exactly(poly):
    check_division(poly)


def test_square_gives_target_sized_cells_and_neighbours_share_vertices():
    poly = Polygon([(X, Y), (X + 400, Y), (X + 400, Y + 300), (X, Y + 300)])
    cells = check_division(poly)
    assert len(cells) == 12
    assert all(abs(c.area_m2 - TARGET) < 1e-6 for c in cells)
    # Cell 1 is the north-west corner, cell 4 the north-east one.
    assert cells[0].geometry.bounds[0] == X and cells[0].geometry.bounds[3] == Y + 300
    assert cells[3].geometry.bounds[2] == X + 400
    v1 = set(shapely.get_coordinates(cells[0].geometry).round(9).view(complex).ravel())
    v2 = set(shapely.get_coordinates(cells[1].geometry).round(9).view(complex).ravel())
    assert len(v1 & v2) == 2


def test_lonlat_division_restores_boundary_vertices():
    poly = crs.from_metric(Point(X, Y).buffer(450, quad_segs=6), 4545)
    cells = divide_lonlat(poly, TARGET)
    union = shapely.union_all([c.lonlat for c in cells])
    assert crs.area_m2(poly.symmetric_difference(union)) < 0.01
    boundary = set(map(tuple, shapely.get_coordinates(poly)))
    used = set(map(tuple, shapely.get_coordinates(np.array([c.lonlat for c in cells]))))
    assert boundary <= used  # original vertices come back bit-for-bit
    assert 55 < len(cells) < 75
