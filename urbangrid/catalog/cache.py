"""The active classes, held per process: intake looks a class up (and its related classes for the
duplicate search) on every report, and the catalogue changes a few times a year.

Kept like the classifier's model: rebuilt after CACHE_SECONDS, and at once in this process when a
class or code set is saved or deleted (signals wired in apps.py). The instances are shared between
requests: read them, never modify or save them.
"""

from __future__ import annotations

import threading
import time as _time
from collections import defaultdict
from dataclasses import dataclass

from .classify import CACHE_SECONDS

_lock = threading.Lock()
_state: dict[str, tuple[float, ActiveClasses]] = {}


@dataclass(frozen=True)
class ActiveClasses:
    by_pk: dict
    # code -> classes with that code, the default code set's first, then events before components.
    by_code: dict
    # (code set, kind, major code) -> ids of the classes of that major class.
    by_major: dict

    def find(self, code: str, kind: str | None = None):
        found = [pc for pc in self.by_code.get(code, ()) if kind is None or pc.kind == kind]
        return found[0] if found else None

    def related_ids(self, pc) -> tuple[int, ...]:
        """Ids of the classes counted as the same problem for duplicates: the same major class."""
        return self.by_major.get((pc.code_set_id, pc.kind, pc.major_code), (pc.pk,))


def _build() -> ActiveClasses:
    from .models import ProblemClass

    classes = list(ProblemClass.objects.filter(is_active=True).select_related("code_set"))
    by_code: dict[str, list] = defaultdict(list)
    by_major: dict[tuple, list[int]] = defaultdict(list)
    for pc in classes:
        by_code[pc.code].append(pc)
        by_major[(pc.code_set_id, pc.kind, pc.major_code)].append(pc.pk)
    for found in by_code.values():
        found.sort(key=lambda pc: (not pc.code_set.is_default, pc.kind != "event", pc.pk))
    return ActiveClasses(
        by_pk={pc.pk: pc for pc in classes},
        by_code=dict(by_code),
        by_major={k: tuple(v) for k, v in by_major.items()},
    )


def active_classes() -> ActiveClasses:
    now = _time.monotonic()
    cached = _state.get("classes")
    if cached is None or now - cached[0] > CACHE_SECONDS:
        built = _build()
        with _lock:
            _state["classes"] = (now, built)
        return built
    return cached[1]


def invalidate_classes(*args, **kwargs) -> None:
    with _lock:
        _state.clear()
