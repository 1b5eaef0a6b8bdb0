"""Values read from the database and held per process for a while: the active classes, the
classifier's model, the working calendar. The data change a few times a year but are read on every
report, so each value is rebuilt after ``seconds`` (an edit made in another process is seen soon) and
at once in this process when ``clear`` runs (a post_save signal or an on-commit hook after an edit).

The held values are shared between requests: read them, never modify them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

CACHE_SECONDS = 300


class ExpiringCache(Generic[T]):
    """``get(*key)`` returns ``build(*key)``, built again once it is older than ``seconds``."""

    def __init__(self, build: Callable[..., T], seconds: float = CACHE_SECONDS):
        self._build = build
        self._seconds = seconds
        self._lock = threading.Lock()
        self._held: dict[tuple[Hashable, ...], tuple[float, T]] = {}

    def get(self, *key: Hashable) -> T:
        now = time.monotonic()
        held = self._held.get(key)
        if held is not None and now - held[0] <= self._seconds:
            return held[1]
        value = self._build(*key)
        with self._lock:
            self._held[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
