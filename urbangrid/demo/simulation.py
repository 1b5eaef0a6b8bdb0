"""What the demo histories share (demo/cases.py, patrol.py, joint.py, credit.py): the simulation's
event queue and its plans, office hours, weighted choices, and a pool of small generated photos."""

from __future__ import annotations

import heapq
import io
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from urbangrid.lib.errors import DomainError

T = TypeVar("T")
log = logging.getLogger(__name__)

# A plan is a generator of (time, fn(now)) steps; it may receive each step's result.
Plan = Iterator[tuple[datetime, Callable[[datetime], Any]]]
# Two steps of one plan never happen at the same instant.
STEP = timedelta(seconds=1)


class PlanStep(NamedTuple):
    """A scheduled step: its plan, the time the plan gave it, its action and the plan's context."""

    plan: Plan
    planned: datetime
    fn: Callable[[datetime], Any]
    context: dict


class Simulation:
    """Simulated time from ``start`` to ``end``: one queue of events, fired in time order (events
    at the same moment in the order they were scheduled). An event is a kind and a payload; the
    kind "step" carries the next step of a plan."""

    def __init__(self, start: datetime, end: datetime):
        self.start, self.end = start, end
        self._queue: list = []
        self._seq = 0

    def schedule(self, at: datetime, kind: Any, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, payload))

    def scheduled(self, kind: Any) -> int:
        """How many events of ``kind`` are waiting."""
        return sum(1 for event in self._queue if event[2] == kind)

    def events(self) -> Iterator[tuple[datetime, Any, Any]]:
        """(time, kind, payload) in time order, including the events scheduled meanwhile."""
        while self._queue:
            at, _seq, kind, payload = heapq.heappop(self._queue)
            yield at, kind, payload

    def follow(self, plan: Plan, not_before: datetime | None = None, result: Any = None, **context) -> None:
        """Schedule the next step of ``plan`` (sent ``result``, the previous step's), no earlier
        than ``not_before``; a finished plan schedules nothing."""
        try:
            nxt = next(plan) if result is None else plan.send(result)
        except StopIteration:
            return
        if nxt is not None:
            planned, fn = nxt
            at = planned if not_before is None else max(planned, not_before)
            self.schedule(at, "step", PlanStep(plan, planned, fn, context))


def run_step(fn: Callable[[datetime], Any], now: datetime, stats: dict) -> tuple[bool, Any]:
    """Run one step in its own transaction: (True, its result), or (False, None) when an action
    refused it (counted in ``stats["refused_steps"]``)."""
    try:
        with transaction.atomic():
            return True, fn(now)
    except DomainError as exc:
        stats["refused_steps"] += 1
        log.debug("demo step refused at %s: %s", now, exc)
        return False, None


@contextmanager
def notifications_held() -> Iterator[None]:
    """Notices of the simulated past are not sent while the history runs (there was no outbound
    channel then); each history marks them sent afterwards."""
    real = settings.URBANGRID
    settings.URBANGRID = {**real, "NOTIFY_IMMEDIATE": False}
    try:
        yield
    finally:
        settings.URBANGRID = real


# -- office hours -----------------------------------------------------------------------------------


def local_time(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def office_moment(rng: random.Random, day: date, lo: float = 8.7, hi: float = 17.5) -> datetime:
    """A moment during office hours of ``day``."""
    minutes = int(rng.uniform(lo, hi) * 60)
    return local_time(day, minutes // 60, minutes % 60)


def last_office_moment(end: datetime) -> datetime:
    """The latest office-hours moment not after ``end``: the last day's work ends there."""
    u = timezone.localtime(end)
    hour = u.hour + u.minute / 60
    if 9 <= hour <= 18:
        return end
    day = u.date() if hour > 18 else u.date() - timedelta(days=1)
    return local_time(day, 17, 30)


def later_in_office_hours(rng: random.Random, t: datetime, hours: float) -> datetime:
    """About ``hours`` after ``t``, moved into office hours (evening work waits for the morning)."""
    u = timezone.localtime(t + timedelta(hours=hours))
    hour = u.hour + u.minute / 60
    if 8.5 <= hour <= 18:
        return u
    day = u.date() if hour < 8.5 else u.date() + timedelta(days=1)
    return local_time(day, 8, 40) + timedelta(minutes=rng.uniform(0, 90))


def in_office_hours(rng: random.Random, t: datetime) -> datetime:
    """``t`` if it falls in office hours (08–18), else a moment of the next morning."""
    local = timezone.localtime(t)
    if local.hour >= 18:
        return local_time(local.date() + timedelta(days=1), rng.randint(8, 10), rng.randrange(60))
    if local.hour < 8:
        return local_time(local.date(), rng.randint(8, 10), rng.randrange(60))
    return t


def next_weekday(d: date) -> date:
    """``d``, or the Monday after when it falls on a weekend."""
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    """One value of (value, weight) pairs, drawn in proportion to the weights."""
    total = sum(w for _v, w in pairs)
    x = rng.uniform(0, total)
    for value, w in pairs:
        x -= w
        if x <= 0 and w:
            return value
    return next(v for v, w in reversed(pairs) if w)


def photo_pool(rng: random.Random, n: int = 10) -> list[bytes]:
    """``n`` small JPEG pictures of coloured blocks, different for every draw of ``rng``."""

    out = []
    for _ in range(n):
        im = Image.new("RGB", (96, 72), tuple(rng.randrange(40, 220) for _ in range(3)))
        d = ImageDraw.Draw(im)
        for _ in range(6):
            x, y = rng.randrange(96), rng.randrange(72)
            d.rectangle(
                [x, y, x + rng.randrange(5, 30), y + rng.randrange(5, 20)],
                fill=tuple(rng.randrange(256) for _ in range(3)),
            )
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
        out.append(buf.getvalue())
    return out
