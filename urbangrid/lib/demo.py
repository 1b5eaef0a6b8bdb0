"""What the demo histories share (cases, patrol, joint and credit ``demo.py``): a simulated clock,
weighted choices, and a pool of small generated photos."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from django.utils import timezone

T = TypeVar("T")


@contextmanager
def clock(moment: datetime) -> Iterator[None]:
    """Run the enclosed actions at a simulated ``moment``. Actions that take a time get it
    explicitly; this clock stamps what they write without asking (audit events, created_at).
    It replaces ``django.utils.timezone.now`` for the whole process: for the single-threaded
    demo build only, never in a server."""
    real = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real


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
    from PIL import Image, ImageDraw

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
