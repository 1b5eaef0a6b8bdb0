"""Writes of the catalog app: every one is a do_* action under one transaction with an audit record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from urbangrid.lib.access import is_admin, require
from urbangrid.lib.audit import record
from urbangrid.lib.errors import InvalidInput

from .calendar import invalidate_calendar
from .models import CalendarDay, ResponsibilityRule


def _require_catalogue_admin(actor) -> None:
    # The matrix and calendar are city-wide master data.
    require(actor, is_admin, _("Only a system administrator may change the catalogue."))


@transaction.atomic
def do_set_responsibility(actor, rows: Sequence[dict], *, now: datetime | None = None) -> int:
    """Add responsibility-matrix rows. Each row: problem_class or (major_code [, code_set, kind]),
    optional region, unit, note. All rows are validated before any is written."""
    _require_catalogue_admin(actor)
    objs = []
    for row in rows:
        pc, major = row.get("problem_class"), (row.get("major_code") or "")
        if pc is None and not major:
            raise InvalidInput(_("Choose a problem class or a major class code."), field="problem_class")
        if row.get("unit") is None:
            raise InvalidInput(_("Choose the responsible unit."), field="unit")
        objs.append(
            ResponsibilityRule(
                problem_class=pc,
                major_code="" if pc is not None else major,
                code_set=row.get("code_set"),
                kind=row.get("kind", ""),
                region=row.get("region"),
                unit=row["unit"],
                note=row.get("note", ""),
            )
        )
    ResponsibilityRule.objects.bulk_create(objs)
    record(
        actor,
        "catalog.set_responsibility",
        None,
        summary=f"{len(objs)} responsibility rules",
        rows=[
            [getattr(o.problem_class, "code", o.major_code), getattr(o.region, "code", None), o.unit.code]
            for o in objs
        ][:2000],
        at=now,
    )
    return len(objs)


@transaction.atomic
def do_deactivate_rule(actor, rule: ResponsibilityRule) -> ResponsibilityRule:
    _require_catalogue_admin(actor)
    rule.is_active = False
    rule.save(update_fields=["is_active"])
    record(actor, "catalog.deactivate_rule", rule, summary=str(rule))
    return rule


@transaction.atomic
def do_set_calendar_day(actor, day, is_working: bool, note: str = "") -> CalendarDay:
    """Mark a date as a working day or a holiday (an exception to Monday–Friday)."""
    _require_catalogue_admin(actor)
    row, created = CalendarDay.objects.update_or_create(
        date=day, defaults={"is_working": is_working, "note": note}
    )
    record(actor, "catalog.set_calendar_day", row, summary=str(row), created=created)
    transaction.on_commit(invalidate_calendar)
    return row
