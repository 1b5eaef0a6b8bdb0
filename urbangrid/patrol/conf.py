"""Patrol settings: defaults here, each overridable by settings.URBANGRID["PATROL"][key]."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Half-width of the strip a walking patroller is deemed to see (m): coverage = area of the
    # track buffered by this, inside the grid. 15–20 m covers a street and its frontages.
    "BUFFER_M": 20.0,
    # "raster" (default): the buffered tracks are drawn on a RASTER_M raster per grid (fast at
    # city scale, within ~1 % of the exact area); "vector": exact shapely buffers, clipped to the
    # grids via STRtree and unioned per grid (exact, ~50× slower with heavily overlapping tracks).
    "METHOD": "raster",
    "RASTER_M": 2.0,
    # Consecutive points further apart than this are not joined by a line (GPS gap or jump).
    "MAX_JOIN_M": 150.0,
    # Points with a worse reported accuracy are ignored for coverage.
    "MAX_ACCURACY_M": 60.0,
    # A track counts as one patrol of a grid when at least this many of its points fall inside.
    "MIN_POINTS_IN_GRID": 2,
    # Default radius of a checkpoint (m).
    "CHECKPOINT_RADIUS_M": 30.0,
    # An active track silent for this long is closed as abandoned (s).
    "ABANDON_AFTER_S": 4 * 3600,
    # Largest batch a device may upload at once.
    "MAX_BATCH_POINTS": 2000,
    # Weight of the patrol indicator parts read by evaluation: share of grids whose plan is met,
    # and mean covered share.
    "INDICATOR_WEIGHTS": {"plan_met": 0.7, "coverage": 0.3},
}


def get(key: str):
    overrides = getattr(settings, "URBANGRID", {}).get("PATROL", {}) or {}
    return overrides.get(key, DEFAULTS[key])
