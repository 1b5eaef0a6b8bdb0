"""Locator: agrees with a brute-force shapely check (incl. shared edges/vertices), rebuilds on change."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from urbangrid.geo import crs, locator
from urbangrid.geo.actions import do_change_grid_boundary
from urbangrid.geo.division import divide_lonlat
from urbangrid.geo.locator import GridIndex
from urbangrid.geo.models import GeoRevision

# One community divided into grids, in lon/lat, and an in-memory index over them (no database).
_X, _Y = 587_000.0, 3_794_000.0
_COMMUNITY = crs.from_metric(
    Polygon([(_X, _Y), (_X + 520, _Y + 40), (_X + 480, _Y + 330), (_X + 250, _Y + 200), (_X + 30, _Y + 360)]),
    4545,
)
_CELLS = divide_lonlat(_COMMUNITY, 10_000)
_CODES = [f"619902001001{c.seq:03d}" for c in _CELLS]
_GEOMS = np.array([c.lonlat for c in _CELLS], dtype=object)
_INDEX = GridIndex(
    ids=np.arange(100, 100 + len(_CELLS)),
    codes=_CODES,
    community_ids=[1] * len(_CELLS),
    street_ids=[2] * len(_CELLS),
    district_ids=[3] * len(_CELLS),
    geoms=_GEOMS,
    revision=0,
)
_VERTICES = shapely.get_coordinates(_GEOMS)


def brute_force(lon: float, lat: float) -> int:
    """Index of the lowest-coded grid whose closed polygon contains the point, else -1."""
    hits = [i for i, g in enumerate(_GEOMS) if g.intersects(shapely.Point(lon, lat))]
    return min(hits, key=lambda i: _CODES[i]) if hits else -1


minx, miny, maxx, maxy = _COMMUNITY.bounds
random_points = st.tuples(st.floats(minx - 1e-3, maxx + 1e-3), st.floats(miny - 1e-3, maxy + 1e-3))
vertex_points = st.integers(0, len(_VERTICES) - 1).map(lambda i: tuple(_VERTICES[i]))


def edge_points():
    """Points ON grid edges, shared ones included: the midpoint of a vertex pair of one ring."""

    def pick(args):
        g, k = args
        ring = shapely.get_coordinates(_GEOMS[g % len(_GEOMS)].exterior)
        k %= len(ring) - 1
        (x1, y1), (x2, y2) = ring[k], ring[k + 1]
        return ((x1 + x2) / 2, (y1 + y2) / 2)

    return st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)).map(pick)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(random_points, vertex_points, edge_points()), min_size=1, max_size=40))
def test_locator_agrees_with_brute_force(points):
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    batch = _INDEX.lookup_many(lons, lats)
    for (lon, lat), got in zip(points, batch, strict=True):
        expected = brute_force(lon, lat)
        assert got == expected
        assert _INDEX.lookup_one(lon, lat) == expected


def test_shared_vertex_goes_to_lowest_code():
    # A vertex shared by several grids: every one of them intersects it, the lowest code wins.
    counts = {}
    for x, y in _VERTICES:
        counts[(x, y)] = counts.get((x, y), 0) + 1
    (x, y), _n = max(counts.items(), key=lambda kv: kv[1])
    hits = [i for i, g in enumerate(_GEOMS) if g.intersects(shapely.Point(x, y))]
    assert len(hits) >= 3
    assert _INDEX.lookup_one(x, y) == min(hits)


def test_locate_in_database_with_crs_and_outside(tiny):
    grid = tiny.grids(tiny.communities[0])[0]
    p = grid.geometry.representative_point()
    loc = locator.locate(p.x, p.y)
    assert loc.grid_code == grid.code and loc.community_id == grid.community_id
    assert loc.street_id == grid.street_id and loc.district_id == grid.district_id
    # The same place as a GCJ-02 and a BD-09 device would report it.
    assert locator.locate(*crs.from_canonical(p.x, p.y, "gcj02"), crs="gcj02").grid_id == grid.pk
    assert locator.locate(*crs.from_canonical(p.x, p.y, "bd09"), crs="bd09").grid_id == grid.pk
    x, y = crs.from_canonical(p.x, p.y, "cgcs2000_gk", zone=36)
    assert locator.locate(x, y, crs="cgcs2000_gk", zone=36).grid_id == grid.pk
    assert locator.locate(0.0, 0.0) is None
    ids = locator.locate_many(np.array([p.x, 0.0]), np.array([p.y, 0.0]))
    assert list(ids) == [grid.pk, -1]


def test_locator_rebuilds_when_grids_change(tiny):
    grids = tiny.grids(tiny.communities[0])
    first = grids[0]
    p = first.geometry.representative_point()
    assert locator.locate(p.x, p.y).grid_id == first.pk
    before = GeoRevision.current()
    # Shrink the first grid: the point now lies in no grid, or in the new version.
    smaller = shapely.affinity.scale(first.geometry, 0.5, 0.5, origin=first.geometry.centroid)
    new = do_change_grid_boundary(None, first.code, smaller)
    assert GeoRevision.current() == before + 1
    q = new.geometry.representative_point()
    assert locator.locate(q.x, q.y).grid_id == new.pk
    index = locator.get_index(force_check=True)
    assert first.pk not in set(index.ids)


@pytest.mark.parametrize("n", [0, 1])
def test_locate_many_edge_cases(tiny, n):
    pts = np.full(n, 110.002)
    assert len(locator.locate_many(pts, np.full(n, 35.002))) == n


def test_bucket_path_equals_strtree_path_on_vertices_edges_and_random_points():
    rng = np.random.default_rng(3)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(_GEOMS))
    mids = (ring[:-1] + ring[1:]) / 2
    lons = np.concatenate([_VERTICES[:, 0], mids[:, 0], rng.uniform(minx - 1e-3, maxx + 1e-3, 20_000)])
    lats = np.concatenate([_VERTICES[:, 1], mids[:, 1], rng.uniform(miny - 1e-3, maxy + 1e-3, 20_000)])
    fast = _INDEX.lookup_many(lons, lats)
    assert (fast == _INDEX.lookup_many_strtree(lons, lats)).all()
    assert (fast[: len(_VERTICES)] >= 0).all()  # every grid vertex belongs to some grid
    assert (_INDEX.answer >= 0).any(), "some buckets are answered without a geometry test"
