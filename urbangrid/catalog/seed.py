"""Load the seed catalogue: both code sets with their minor classes and 立结案标准, and the
working calendar 2025–2027. Idempotent: rows that exist are left as the city edited them
(``update=True`` rewrites them from the seed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from urbangrid.lib.audit import record

from . import seed_data
from .cache import invalidate_classes
from .calendar import invalidate_calendar
from .classify import invalidate_classifier
from .models import CalendarDay, CodeSet, ProblemClass

LEGACY = "GB/T 30428.2-2013"
NEW = "GB/T 47678.5"


def _class_fields(row: tuple, *, legacy: bool) -> dict:
    kind, code4, name, keywords, accept, close, limit, unit, tier, unit_kind, unit_code, spot = row
    code = code4 if legacy else seed_data.new_code(kind, code4)
    majors = seed_data.LEGACY_MAJORS if legacy else seed_data.NEW_MAJORS
    major = code[:2]
    return {
        "kind": kind,
        "code": code,
        "major_code": major,
        "major_name": majors[(kind, major)],
        "minor_code": code[2:],
        "name": name,
        "keywords": keywords,
        "acceptance_condition": accept,
        "closing_condition": close,
        "time_limit": Decimal(str(limit)),
        "time_unit": unit,
        "tier": tier,
        "default_unit_kind": "street_office" if unit_kind == seed_data.T else unit_kind,
        "default_unit_code": unit_code,
        "on_spot_allowed": spot,
    }


def _code_sets() -> tuple[CodeSet, CodeSet]:
    """The legacy and the new code set; the new one is the default unless another already is."""
    legacy, _ = CodeSet.objects.get_or_create(
        code=LEGACY,
        defaults={
            "name": "GB/T 30428.2 数字化城市管理信息系统 管理部件和事件（旧版 2+2 位）",
            "minor_digits": 2,
            "effective_from": date(2013, 12, 1),
        },
    )
    has_default = CodeSet.objects.filter(is_default=True).exists()
    new, _ = CodeSet.objects.get_or_create(
        code=NEW,
        defaults={
            "name": "GB/T 47678.5 城市运行管理服务平台 管理部件和事项（2+3 位）",
            "minor_digits": 3,
            "effective_from": date(2026, 7, 1),
            "is_default": not has_default,
        },
    )
    return legacy, new


def _classes_by_key(code_sets) -> dict[tuple, ProblemClass]:
    return {
        (pc.code_set_id, pc.kind, pc.code): pc for pc in ProblemClass.objects.filter(code_set__in=code_sets)
    }


def _link_equivalents(classes: dict[tuple, ProblemClass], keys) -> None:
    """Equivalents point both ways so either code set translates to the other."""
    linked = []
    for k_old, k_new in keys:
        old, nw = classes[k_old], classes[k_new]
        if old.equivalent_id != nw.pk:
            old.equivalent_id = nw.pk
            linked.append(old)
        if nw.equivalent_id != old.pk:
            nw.equivalent_id = old.pk
            linked.append(nw)
    ProblemClass.objects.bulk_update(linked, ["equivalent"])


def _load_classes(legacy: CodeSet, new: CodeSet, update: bool) -> int:
    """Every seed class in both code sets, linked as equivalents; returns the number created."""
    # One query to read what exists, bulk inserts for what is missing: seconds matter in tests.
    existing_classes = _classes_by_key([legacy, new])
    to_create: list[ProblemClass] = []
    to_update: list[ProblemClass] = []
    keys: list[tuple[tuple, tuple]] = []
    for row in seed_data.CLASSES:
        pair = []
        for cs, is_legacy in ((legacy, True), (new, False)):
            fields = _class_fields(row, legacy=is_legacy)
            kind, code = fields.pop("kind"), fields.pop("code")
            key = (cs.pk, kind, code)
            obj = existing_classes.get(key)
            if obj is None:
                obj = ProblemClass(code_set=cs, kind=kind, code=code, **fields)
                existing_classes[key] = obj
                to_create.append(obj)
            elif update:
                for k, v in fields.items():
                    setattr(obj, k, v)
                to_update.append(obj)
            pair.append(key)
        keys.append((pair[0], pair[1]))
    ProblemClass.objects.bulk_create(to_create)
    if to_update:
        ProblemClass.objects.bulk_update(
            to_update,
            [f for f in _class_fields(seed_data.CLASSES[0], legacy=True) if f not in ("kind", "code")],
        )
    if to_create and any(o.pk is None for o in to_create):  # backends that do not return ids
        existing_classes = _classes_by_key([legacy, new])
    _link_equivalents(existing_classes, keys)
    return len(to_create)


def _load_calendar(update: bool) -> int:
    """The seed's holidays and working weekends; returns the number of days created."""
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    new_days = []
    for iso, working, note in seed_data.CALENDAR:
        d = date.fromisoformat(iso)
        if d not in existing:
            new_days.append(CalendarDay(date=d, is_working=working, note=note))
        elif update:
            CalendarDay.objects.filter(date=d).update(is_working=working, note=note)
    CalendarDay.objects.bulk_create(new_days)
    return len(new_days)


@transaction.atomic
def load_catalog(*, update: bool = False, actor=None) -> dict[str, int]:
    """Create (or with ``update`` refresh) the two code sets, their classes with equivalents,
    and the calendar exceptions. Returns counts of rows created."""
    legacy, new = _code_sets()
    created = {"classes": _load_classes(legacy, new, update), "calendar_days": _load_calendar(update)}
    if created["classes"] or created["calendar_days"] or update:
        record(actor, "catalog.load", None, summary=f"seed catalogue loaded {created}", **created)
    transaction.on_commit(invalidate_calendar)

    transaction.on_commit(invalidate_classifier)
    transaction.on_commit(invalidate_classes)
    return created
