"""Coordinate systems: round trips (hypothesis), known offsets, resolution and plausibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from urbangrid.geo import crs
from urbangrid.lib.errors import InvalidInput

china_lon = st.floats(min_value=74.0, max_value=134.0)
china_lat = st.floats(min_value=4.0, max_value=53.0)


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip_below_1e7_degrees(lon, lat):
    g_lon, g_lat = crs.from_canonical(lon, lat, "gcj02")
    back = crs.to_canonical(g_lon, g_lat, "gcj02")
    assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7
    # The batch path agrees with the scalar one.
    b_lon, b_lat = crs.to_canonical_many(np.array([g_lon]), np.array([g_lat]), "gcj02")
    assert abs(b_lon[0] - back[0]) < 1e-9 and abs(b_lat[0] - back[1]) < 1e-9


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trip(lon, lat):
    b = crs.from_canonical(lon, lat, "bd09")
    back = crs.to_canonical(*b, "bd09")
    assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=106.6, max_value=109.4), st.floats(min_value=20.0, max_value=45.0))
def test_gauss_kruger_zone_round_trip(lon, lat):
    x, y = crs.from_canonical(lon, lat, "cgcs2000_gk", zone=36)
    assert 300_000 < x < 700_000
    back = crs.to_canonical(x, y, "cgcs2000_gk", epsg=4545)
    assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9


def test_gcj02_known_offset_and_outside_china():
    # The published algorithm shifts Xi'an by roughly 450 m east and 170 m south.
    g_lon, g_lat = crs.from_canonical(108.95, 34.27, "gcj02")
    assert 0.004 < g_lon - 108.95 < 0.006 and -0.002 < g_lat - 34.27 < -0.001
    assert crs.from_canonical(2.35, 48.85, "gcj02") == (2.35, 48.85)  # Paris: no offset
    assert crs.to_canonical(2.35, 48.85, "bd09") != (2.35, 48.85)  # BD-09's own shift still applies


def test_resolve_crs():
    assert crs.resolve_crs("wgs84").kind == "wgs84"
    assert crs.resolve_crs("cgcs2000_gk", zone=36).epsg == 4545
    assert crs.resolve_crs("epsg:4545").epsg == 4545
    assert crs.resolve_crs("cgcs2000_gk:36").epsg == 4545
    assert crs.resolve_crs("epsg:4490").kind == "cgcs2000"
    assert crs.gk_central_meridian(4545) == 108.0 and crs.gk_central_meridian(4524) == 108.0
    for bad in [("mars",), ("cgcs2000_gk",)]:
        with pytest.raises(InvalidInput):
            crs.resolve_crs(*bad)
    with pytest.raises(InvalidInput):
        crs.resolve_crs("cgcs2000_gk", zone=12)
    with pytest.raises(InvalidInput):
        crs.resolve_crs("wgs84", zone=36)


def test_plausibility_refuses_contradicting_coordinates():
    spec_geo = crs.resolve_crs("wgs84")
    spec_gk = crs.resolve_crs("cgcs2000_gk", zone=36)
    assert crs.check_plausible(np.array([108.9]), np.array([34.2]), spec_geo) is None
    assert crs.check_plausible(np.array([587488.0]), np.array([3794019.0]), spec_geo)  # metres as degrees
    assert crs.check_plausible(np.array([108.9]), np.array([34.2]), spec_gk)  # degrees as metres
    assert crs.check_plausible(np.array([587488.0]), np.array([3794019.0]), spec_gk) is None
    # Metres of zone 36 declared as zone 39 land far outside zone 39.
    assert crs.check_plausible(
        np.array([100000.0]), np.array([3794019.0]), crs.resolve_crs("cgcs2000_gk", zone=39)
    )


def test_area_m2_in_metric_zone():
    x, y = crs.from_canonical(108.95, 34.27, "cgcs2000_gk", zone=36)
    square = crs.geom_to_canonical(box(x, y, x + 100, y + 100), "cgcs2000_gk", zone=36)
    assert crs.area_m2(square) == pytest.approx(10000.0, rel=1e-6)
    assert crs.area_m2(box(108.95, 34.27, 108.96, 34.28)) == pytest.approx(1.0217e6, rel=2e-3)
