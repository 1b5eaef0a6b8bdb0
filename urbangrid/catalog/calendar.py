"""The working calendar: adding time limits to a moment and measuring working time.

A working day is Monday–Friday unless a CalendarDay row says otherwise (public holidays on
weekdays, make-up working days 调休 on weekends). Working hours are the two periods of
settings.URBANGRID WORK_MORNING / WORK_AFTERNOON in local time. ``work_days`` are counted as
working time too (1 working day = the length of one working day), so a case reported at 16:00
with "1 working day" is due at 16:00 on the next working day, and a case reported on Saturday is
due at the end of the next working day. This keeps ``add(add(t, a), b) == add(t, a + b)``.

The exceptions are read once per process and cached; saving or deleting a CalendarDay (admin,
seed) drops the cache, and the cache also expires after ``lib.memo.CACHE_SECONDS`` so an edit made
in another process is seen soon.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from urbangrid.lib.memo import ExpiringCache

from .models import CalendarDay


def _load_exceptions() -> dict[date, bool]:
    return dict(CalendarDay.objects.values_list("date", "is_working"))


_exceptions = ExpiringCache(_load_exceptions)


def invalidate_calendar(*args, **kwargs) -> None:
    _exceptions.clear()


def is_working_day(d: date) -> bool:
    override = _exceptions.get().get(d)
    if override is not None:
        return override
    return d.weekday() < 5


def _parse(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h), int(m))


@lru_cache(maxsize=8)
def _periods_for(morning: tuple[str, str], afternoon: tuple[str, str]) -> tuple[tuple[time, time], ...]:
    return tuple((_parse(a), _parse(b)) for a, b in (morning, afternoon))


def work_periods() -> tuple[tuple[time, time], ...]:
    conf = settings.URBANGRID
    return _periods_for(tuple(conf["WORK_MORNING"]), tuple(conf["WORK_AFTERNOON"]))


def hours_per_working_day() -> float:
    total = 0.0
    for a, b in work_periods():
        total += (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
    return total / 3600


def _local(dt: datetime) -> datetime:
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt)
    return timezone.localtime(dt)


def _day_periods(d: date, tz) -> list[tuple[datetime, datetime]]:
    if not is_working_day(d):
        return []
    return [
        (datetime.combine(d, a).replace(tzinfo=tz), datetime.combine(d, b).replace(tzinfo=tz))
        for a, b in work_periods()
    ]


def _add_work_seconds(start: datetime, seconds: float) -> datetime:
    local = _local(start)
    tz = local.tzinfo
    remaining = timedelta(seconds=seconds)
    day = local.date()
    cursor = local
    # Bounded: a year of holidays in a row would be a data error, not a time limit.
    for _ in range(3660):
        for a, b in _day_periods(day, tz):
            if cursor >= b:
                continue
            begin = max(cursor, a)
            available = b - begin
            if remaining <= available:
                if remaining == timedelta(0) and begin > cursor:
                    # Zero work left: the deadline is where we are (not the next opening).
                    return cursor
                return begin + remaining
            remaining -= available
            cursor = b
        day += timedelta(days=1)
        cursor = max(cursor, datetime.combine(day, time.min).replace(tzinfo=tz))
    raise ValueError("no working time found within ten years")


def add_working_time(start: datetime, amount, unit: str) -> datetime:
    """The moment ``amount`` of ``unit`` after ``start`` (aware, local time zone).

    Units: "hours" and "days" are calendar time; "work_hours" counts only working periods;
    "work_days" counts working time in whole (or fractional) working days.
    """
    amount = float(amount) if isinstance(amount, Decimal | int | float) else float(amount)
    if amount < 0:
        raise ValueError("amount must not be negative")
    if amount == 0 and unit in ("hours", "days", "work_hours", "work_days"):
        return _local(start)
    if unit == "hours":
        return _local(start) + timedelta(hours=amount)
    if unit == "days":
        return _local(start) + timedelta(days=amount)
    if unit == "work_hours":
        return _add_work_seconds(start, amount * 3600)
    if unit == "work_days":
        return _add_work_seconds(start, amount * hours_per_working_day() * 3600)
    raise ValueError(f"unknown time unit {unit!r}")


def working_hours_between(a: datetime, b: datetime) -> float:
    """Working hours from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    if b < a:
        return -working_hours_between(b, a)
    la, lb = _local(a), _local(b)
    tz = la.tzinfo
    total = 0.0
    day = la.date()
    while day <= lb.date():
        for p, q in _day_periods(day, tz):
            lo, hi = max(p, la), min(q, lb)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total / 3600


def working_days_in(year: int, month: int | None = None) -> list[date]:
    """Every working day of a year (or one month of it), for the calendar view."""
    d = date(year, month or 1, 1)
    end = date(year + (1 if not month or month == 12 else 0), (month % 12 + 1) if month else 1, 1)
    out = []
    while d < end:
        if is_working_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out
