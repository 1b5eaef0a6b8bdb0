"""The functions the case loop uses from other apps, in one place: geo.locator (locate,
grid_codes_near), catalog.calendar (working time), catalog.queries.responsible_unit,
catalog.classify.suggest_classes, catalog.cache.class_key, and the distance used by the duplicate search."""

from __future__ import annotations

import math

from urbangrid.catalog.cache import class_key
from urbangrid.catalog.calendar import add_working_time
from urbangrid.catalog.calendar import hours_per_working_day as work_hours_per_day
from urbangrid.catalog.classify import suggest_classes
from urbangrid.catalog.queries import responsible_unit
from urbangrid.geo.locator import grid_codes_near, locate

__all__ = [
    "add_working_time",
    "class_key",
    "distance_m",
    "grid_codes_near",
    "locate",
    "responsible_unit",
    "suggest_classes",
    "work_hours_per_day",
]


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres (exact enough at duplicate-search range)."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
