"""Fixed-window rate limits counted in the database, so every web process shares them.

Call ``hit`` outside any transaction that may roll back: an abusive request that fails
validation must still count.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.lib.errors import DomainError

from .models import RateCounter


class RateLimited(DomainError):
    """Too many requests in the window (429); ``retry_after`` in seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def hit(key: str, limit: int, period: int, *, message: str | None = None) -> int:
    """Count one request for ``key`` in the current window of ``period`` seconds; raise
    RateLimited when the count passes ``limit``. Returns the count."""
    now = timezone.now()
    stamp = int(now.timestamp())
    slot = stamp // period
    window = f"{period}:{slot}"
    updated = RateCounter.objects.filter(key=key, window=window).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                RateCounter.objects.create(
                    key=key, window=window, count=1, expires_at=now + timedelta(seconds=period)
                )
        except IntegrityError:  # another process created it first
            RateCounter.objects.filter(key=key, window=window).update(count=F("count") + 1)
        if random.random() < 0.02:  # occasional cleanup keeps the table small
            RateCounter.objects.filter(expires_at__lt=now).delete()
    count = RateCounter.objects.filter(key=key, window=window).values_list("count", flat=True).first() or 0
    if count > limit:
        retry_after = (slot + 1) * period - stamp
        raise RateLimited(
            message
            or _("Too many requests. Please try again in %(seconds)d seconds.") % {"seconds": retry_after},
            retry_after=retry_after,
        )
    return count
