"""Deadline arithmetic (docs/design.md, rule 4): pure functions of a start time, the step's limit and
the working calendar. Actions store the results in columns; the sweeper reads the columns.

Default limits (docs/domain.md), overridable in settings.URBANGRID["CASE_LIMITS"]:
verify and check 30 calendar minutes after the request; register, dispatch, accept and close
1 working hour; handling per problem class (its time_limit/time_unit). The warning (yellow) falls
at WARN_FRACTION (default 0.8) of the span, counted in the same kind of time as the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from . import deps
from .choices import DeadlineStep

DEFAULT_LIMITS: dict[str, tuple[float, str]] = {
    DeadlineStep.VERIFY: (0.5, "hours"),
    DeadlineStep.REGISTER: (1, "work_hours"),
    DeadlineStep.DISPATCH: (1, "work_hours"),
    DeadlineStep.ACCEPT: (1, "work_hours"),
    DeadlineStep.CHECK: (0.5, "hours"),
    DeadlineStep.CLOSE: (1, "work_hours"),
}
DEFAULT_HANDLE_LIMIT = (1.0, "work_days")

# The per-stage due column each step fills (evaluation compares stage times with these).
STAGE_DUE_COLUMN = {
    DeadlineStep.VERIFY: "verify_due_at",
    DeadlineStep.REGISTER: "register_due_at",
    DeadlineStep.DISPATCH: "dispatch_due_at",
    DeadlineStep.ACCEPT: "accept_due_at",
    DeadlineStep.HANDLE: "handle_due_at",
    DeadlineStep.CHECK: "check_due_at",
}


@dataclass(frozen=True)
class Deadline:
    step: str
    warn_at: datetime
    due_at: datetime


def warn_fraction() -> float:
    return float(settings.URBANGRID.get("WARN_FRACTION", 0.8))


def step_limit(step: str, problem_class=None) -> tuple[float, str]:
    """(amount, unit) of a step; handling comes from the class."""
    if step == DeadlineStep.HANDLE:
        if problem_class is None:
            return DEFAULT_HANDLE_LIMIT
        return float(problem_class.time_limit), str(problem_class.time_unit)
    overrides = settings.URBANGRID.get("CASE_LIMITS", {})
    amount, unit = overrides.get(str(step), DEFAULT_LIMITS[step])
    return float(amount), str(unit)


def span(start: datetime, amount: float | Decimal, unit: str, fraction: float | None = None) -> Deadline:
    """Warning and due times for a span of ``amount`` ``unit`` from ``start``."""
    amount = float(amount)
    frac = warn_fraction() if fraction is None else fraction
    due = deps.add_working_time(start, amount, unit)
    if unit == "work_days":
        # 80% of N working days, counted in working hours so the warning is inside working time.
        warn = deps.add_working_time(start, amount * frac * deps.work_hours_per_day(), "work_hours")
    else:
        warn = deps.add_working_time(start, amount * frac, unit)
    warn = min(warn, due)
    return Deadline("", warn, due)


def step_deadline(step: str, start: datetime, problem_class=None) -> Deadline:
    amount, unit = step_limit(step, problem_class)
    d = span(start, amount, unit)
    return Deadline(str(step), d.warn_at, d.due_at)


def extend(due_at: datetime, extra_hours: float) -> datetime:
    """A postponement adds working hours to the handling deadline."""
    return deps.add_working_time(due_at, extra_hours, "work_hours")


def columns_for(step: str | None, start: datetime | None, problem_class=None) -> dict:
    """The Case columns an action sets when the case enters ``step`` at ``start`` (None: no
    running deadline). Resets the sweeper's claims so the new step warns and expires once."""
    if step is None:
        return {"deadline_step": "", "warn_at": None, "due_at": None, "warned_at": None, "overdue_at": None}
    d = step_deadline(step, start, problem_class)
    cols = {
        "deadline_step": str(step),
        "warn_at": d.warn_at,
        "due_at": d.due_at,
        "warned_at": None,
        "overdue_at": None,
    }
    col = STAGE_DUE_COLUMN.get(step)
    if col:
        cols[col] = d.due_at
    return cols
