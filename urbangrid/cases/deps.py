"""The functions the case loop uses from other apps, through their documented contracts
(team brief): geo.locator.locate, catalog.calendar.add_working_time, catalog.queries.responsible_unit,
catalog.classify.suggest_classes.

Each is imported lazily. While a dependency has not landed yet the case loop keeps working on a
minimal stand-in (marked FALLBACK below); the stand-ins are only reached on ImportError, so once the
owner's module exists it is always used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


# --- geo -------------------------------------------------------------------------------------
@dataclass
class _Location:
    grid_id: int
    grid_code: str
    community_id: int
    street_id: int
    district_id: int
    lon: float
    lat: float


def locate(lon: float, lat: float, crs: str = "wgs84"):
    try:
        from urbangrid.geo.locator import locate as real
    except ImportError:
        return _fallback_locate(lon, lat, crs)
    return real(lon, lat, crs=crs)


def _fallback_locate(lon, lat, crs):  # FALLBACK until urbangrid.geo.locator lands
    from shapely import Point

    from urbangrid.geo.models import UnitGrid

    if crs not in ("wgs84", "cgcs2000"):
        from urbangrid.lib.errors import InvalidInput

        raise InvalidInput("unsupported CRS before the geo locator lands", field="crs")
    p = Point(lon, lat)
    qs = UnitGrid.objects.current().filter(
        min_lon__lte=lon, max_lon__gte=lon, min_lat__lte=lat, max_lat__gte=lat
    )
    for g in qs:
        if g.geometry is not None and g.geometry.covers(p):
            return _Location(g.id, g.code, g.community_id, g.street_id, g.district_id, lon, lat)
    return None


# --- catalog ---------------------------------------------------------------------------------
def add_working_time(start: datetime, amount, unit: str) -> datetime:
    try:
        from urbangrid.catalog.calendar import add_working_time as real
    except ImportError:
        return _fallback_add_working_time(start, float(amount), str(unit))
    return real(start, amount, unit)


def _hhmm(s: str) -> tuple[int, int]:
    h, m = s.split(":")
    return int(h), int(m)


def work_hours_per_day() -> float:
    cfg = settings.URBANGRID
    total = 0.0
    for a, b in (cfg["WORK_MORNING"], cfg["WORK_AFTERNOON"]):
        (ah, am), (bh, bm) = _hhmm(a), _hhmm(b)
        total += (bh * 60 + bm - ah * 60 - am) / 60
    return total


def _is_working_day(d) -> bool:
    from urbangrid.catalog.models import CalendarDay

    row = CalendarDay.objects.filter(date=d).values_list("is_working", flat=True).first()
    return row if row is not None else d.weekday() < 5


def _fallback_add_working_time(start: datetime, amount: float, unit: str) -> datetime:  # FALLBACK
    if unit == "hours":
        return start + timedelta(hours=amount)
    if unit == "days":
        return start + timedelta(days=amount)
    minutes = amount * 60 * (work_hours_per_day() if unit == "work_days" else 1)
    cfg = settings.URBANGRID
    local = timezone.localtime(start)
    periods = [(_hhmm(a), _hhmm(b)) for a, b in (cfg["WORK_MORNING"], cfg["WORK_AFTERNOON"])]
    day = local.date()
    cursor = local
    for _ in range(400):
        if _is_working_day(day):
            for (ah, am), (bh, bm) in periods:
                ps = cursor.replace(
                    year=day.year, month=day.month, day=day.day, hour=ah, minute=am, second=0, microsecond=0
                )
                pe = ps.replace(hour=bh, minute=bm)
                s = max(ps, cursor) if cursor.date() == day else ps
                if s >= pe:
                    continue
                avail = (pe - s).total_seconds() / 60
                if minutes <= avail + 1e-9:
                    return s + timedelta(minutes=minutes)
                minutes -= avail
        day = day + timedelta(days=1)
        cursor = cursor.replace(
            year=day.year, month=day.month, day=day.day, hour=0, minute=0, second=0, microsecond=0
        )
    raise ValueError("working time beyond 400 days")


def responsible_unit(problem_class, community, street):
    try:
        from urbangrid.catalog.queries import responsible_unit as real
    except ImportError:
        real = None
    if real is not None:
        return real(problem_class, community, street)
    # FALLBACK: the street office/town of the area (属地兜底).
    from urbangrid.orgs.models import Unit

    return Unit.objects.filter(region=street, kind__in=["street_office", "town_gov"]).first()


@dataclass
class _Suggestion:
    problem_class: object
    score: float
    matched: list[str] = field(default_factory=list)


def suggest_classes(text: str, limit: int = 3):
    try:
        from urbangrid.catalog.classify import suggest_classes as real
    except ImportError:
        real = None
    if real is not None:
        return real(text, limit=limit)
    # FALLBACK: count keyword hits over the default code set.
    from urbangrid.catalog.models import ProblemClass

    out = []
    for pc in ProblemClass.objects.filter(is_active=True, code_set__is_default=True):
        words = [w.strip() for w in (pc.keywords or "").split(",") if w.strip()] + [pc.name]
        hits = [w for w in words if w and w in text]
        if hits:
            out.append(_Suggestion(pc, float(len(hits)), hits))
    out.sort(key=lambda s: -s.score)
    return out[:limit]


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres (exact enough at duplicate-search range)."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
