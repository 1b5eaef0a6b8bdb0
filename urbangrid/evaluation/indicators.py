"""Every evaluation indicator, defined once, and the engine that computes them.

An indicator is a row of ``REGISTRY``: a code, a Chinese name (gettext), the subject kinds it
applies to, a numerator and (for rates) a denominator given as ``Q`` objects over one source
table, a direction (higher/lower is better), a description and a period window (the range over
ONE timestamp that decides membership, see below). The engine sends ONE aggregate query per
(source, window) for everything requested: the rows whose window timestamp lies in the period
(an index range scan on that column, never an OR over several timestamps), grouped by every
column that names a subject needing that window (region columns, unit, registrar ...), with
conditional ``Count(filter=Q(...))`` per distinct numerator/denominator, so the database does the
counting and Python only sums the group rows per subject with numpy. Region kinds (grid,
community, street, district) share one target and are rolled up, since every measure is an
additive count. A month of the full evaluation is 11 statements whatever the number of subjects.

Period membership (which timestamp decides that a case belongs to a period [start, end)):

* report-based measures (上报数, 有效上报率): ``reported_at`` in the period;
* registration-based (立案数, 准确立案率, 监督举报率, 漏报率): ``registered_at`` in the period;
* dispatch-based (派遣数, 准确派遣率): ``dispatched_at`` in the period;
* on-time rates: the step's due date (``verify_due_at``, ``check_due_at``, ``register_due_at``,
  ``dispatch_due_at``, ``handle_due_at``) falls in the period AND is already past at ``as_of``
  (the earlier of the period end and now). A step done by its due date is on time; a step done
  late, or still not done (open overdue), is late. So a running month never counts a case whose
  deadline has not come yet, and a past month's values no longer change;
* handling/closing rates (应处置数 = handled + overdue unhandled): ``handle_due_at`` in the period
  as above; shelved (挂账, approved) and cancelled (作废) cases are excluded from them;
* spot checks (抽查合格率): ``inspected_at`` of the item in the period;
* the intake operator's measures: the time of the operator's CaseEvent in the period.

A rate whose denominator is 0 is ``None`` (shown as “—”), never 0.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.models import BooleanField, Count, F, Func, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from urbangrid.cases.choices import CaseState, Channel
from urbangrid.cases.models import Case
from urbangrid.lib.errors import NotFound
from urbangrid.orgs.choices import GridDuty
from urbangrid.orgs.models import GridAssignment

from .choices import Direction, SubjectKind
from .models import SpotCheckItem
from .periods import Period

K = SubjectKind

# Channels through which the public reports (监督举报); the grid worker's own channel.
PUBLIC_CHANNELS = (Channel.CITIZEN_WEB, Channel.HOTLINE, Channel.MESSAGING, Channel.OPEN311)
WORKER_CHANNELS = (Channel.GRID_WORKER,)
# CaseEvent actions by which the intake operator sends verification and check tasks
# (the cases app's do_request_verify / do_request_check record these names).
EVENT_REQUEST_VERIFY = "request_verify"
EVENT_REQUEST_CHECK = "request_check"
# A reporter's satisfaction at or below this (1–5 scale) counts as a complaint.
COMPLAINT_SATISFACTION = 2


def _limit(name: str, default_minutes: int) -> timedelta:
    conf = getattr(settings, "URBANGRID", {}).get("EVALUATION", {})
    return timedelta(minutes=int(conf.get(name, default_minutes)))


def verify_dispatch_limit() -> timedelta:
    """How soon after a report the operator must send the verification task."""
    return _limit("VERIFY_DISPATCH_MINUTES", 30)


def check_dispatch_limit() -> timedelta:
    """How soon after the unit's report-back the operator must send the check task."""
    return _limit("CHECK_DISPATCH_MINUTES", 30)


def _work_mem() -> str:
    """PostgreSQL work_mem for the evaluation's aggregate queries."""
    return str(getattr(settings, "URBANGRID", {}).get("EVALUATION", {}).get("WORK_MEM", "32MB"))


def _connections_wanted() -> int:
    """How many database connections run the evaluation's aggregate statements at once."""
    return max(1, int(getattr(settings, "URBANGRID", {}).get("EVALUATION", {}).get("CONNECTIONS", 2)))


def close_limit() -> timedelta:
    """How soon after a passed on-site check the shift leader must close the case."""
    return _limit("CLOSE_MINUTES", 240)


@dataclass(frozen=True)
class Ctx:
    """The time window of one computation."""

    start: datetime
    end: datetime
    as_of: datetime

    @property
    def due_end(self) -> datetime:
        return min(self.end, self.as_of)

    @classmethod
    def for_period(cls, period: Period, as_of: datetime | None = None) -> Ctx:
        return cls(period.start_dt, period.end_dt, as_of or timezone.now())


# ---------------------------------------------------------------- membership building blocks
def _in(col: str, c: Ctx) -> Q:
    return Q(**{f"{col}__gte": c.start, f"{col}__lt": c.end})


def _due(col: str, c: Ctx) -> Q:
    """The step's deadline is inside the period and already past (or reached) at as_of."""
    return Q(**{f"{col}__gte": c.start, f"{col}__lt": c.due_end})


class NotLaterThan(Func):
    """``a <= b + limit`` for two timestamp columns and a fixed limit.

    PostgreSQL gets exactly that. SQLite has no interval type, and Django compiles ``F(b) + limit``
    there into a call of a Python function per row (``django_format_dtdelta``), which cost about a
    second per 100,000 rows; here the difference is computed in SQL instead, in whole microseconds
    over Django's text timestamps (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC; a shorter fraction is
    padded): exact, like the original comparison, and NULL when either side is NULL."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, a: str, b: str, limit: timedelta):
        super().__init__(F(a), F(b))
        self.limit = limit

    def as_sql(self, compiler, connection, **extra):
        a, b = (compiler.compile(e) for e in self.get_source_expressions())
        return f"({a[0]} <= ({b[0]} + %s))", [*a[1], *b[1], self.limit]

    def as_sqlite(self, compiler, connection, **extra):
        a, b = (compiler.compile(e) for e in self.get_source_expressions())
        sql = (
            f"((CAST(strftime('%%s', {a[0]}) AS INTEGER) - CAST(strftime('%%s', {b[0]}) AS INTEGER)) * 1000000"
            f" + CAST(substr({a[0]} || '000000', 21, 6) AS INTEGER)"
            f" - CAST(substr({b[0]} || '000000', 21, 6) AS INTEGER) <= %s)"
        )
        return sql, [*a[1], *b[1], *a[1], *b[1], self.limit // timedelta(microseconds=1)]


def _done_by(done: str, due: str) -> Q:
    return Q(**{f"{done}__isnull": False, f"{done}__lte": F(due)})


EXCLUDED_FROM_HANDLING = (CaseState.SHELVED, CaseState.CANCELLED)


def handling_due(c: Ctx) -> Q:
    """应处置数: dispatched cases whose handling deadline fell in the period (shelved/cancelled out)."""
    return _due("handle_due_at", c) & Q(dispatched_at__isnull=False) & ~Q(state__in=EXCLUDED_FROM_HANDLING)


def _handled(c: Ctx) -> Q:
    return Q(handled_at__isnull=False, handled_at__lt=c.as_of)


def _closed(c: Ctx) -> Q:
    return Q(state=CaseState.CLOSED, closed_at__lt=c.as_of)


def _registered(c: Ctx) -> Q:
    return _in("registered_at", c)


def _reported_by_worker(c: Ctx) -> Q:
    return _in("reported_at", c) & Q(reporter_person__isnull=False, channel__in=WORKER_CHANNELS)


def _close_window(c: Ctx) -> Q:
    # Closing is due `close_limit` after the passed check, i.e. checked_at in [start-L, due_end-L).
    lim = close_limit()
    return Q(checked_at__gte=c.start - lim, checked_at__lt=c.due_end - lim)


def _close_due(c: Ctx) -> Q:
    # Only cases that passed the check (awaiting closing or closed) owe a closing.
    return _close_window(c) & (Q(state=CaseState.PENDING_CLOSE) | Q(closed_at__isnull=False))


def within(col: str, due: bool = False) -> Callable[[Ctx], Q]:
    """An indicator's period window: ``col`` in [start, end), or for a deadline [start, due_end)."""
    if due:
        return lambda c: _due(col, c)
    return lambda c: _in(col, c)


# ------------------------------------------------------------------------- the registry
SOURCE_CASE = "case"
SOURCE_EVENT = "event"  # cases.CaseEvent (the intake operator's actions)
SOURCE_SPOT = "spot"  # evaluation.SpotCheckItem

# Attribution columns: which column names the subject of a row, per source.
ATTR_REPORTER = "reporter"
ATTR_VERIFIER = "verifier"
ATTR_CHECKER = "checker"
ATTR_GRID_SUPERVISOR = "grid_supervisor"  # grid-level counts handed to the grid's supervisors
ATTR_REGISTRAR = "registrar"
ATTR_CLOSER = "closer"
ATTR_DISPATCHER = "dispatcher"
ATTR_OPERATOR = "operator"
ATTR_UNIT = "unit"
ATTR_REGION = "region"  # grid_code + community/street/district, rolled up


def attribution_expr(source: str, attr: str):
    """The SQL expression of an attribution column (None for the region roll-up)."""
    if source == SOURCE_CASE:
        return {
            ATTR_REPORTER: F("reporter_person_id"),
            # An open verification/check belongs to the assigned field worker until someone does it.
            ATTR_VERIFIER: Coalesce("verified_by_id", "field_worker_id"),
            ATTR_CHECKER: Coalesce("checked_by_id", "field_worker_id"),
            ATTR_REGISTRAR: F("registered_by_id"),
            ATTR_CLOSER: F("closed_by_id"),
            ATTR_DISPATCHER: F("dispatched_by_id"),
            ATTR_UNIT: F("assigned_unit_id"),
        }[attr]
    if source == SOURCE_EVENT:
        return {ATTR_OPERATOR: F("actor_person_id")}[attr]
    if source == SOURCE_SPOT:
        return {ATTR_UNIT: F("case__assigned_unit_id")}[attr]
    raise KeyError(attr)


# Subject column of a region kind on a case row, and the path prefix per source.
REGION_COLUMNS = {
    K.GRID: "grid_code",
    K.COMMUNITY: "community_id",
    K.STREET: "street_id",
    K.DISTRICT: "district_id",
}
SOURCE_PREFIX = {SOURCE_CASE: "", SOURCE_EVENT: "case__", SOURCE_SPOT: "case__"}


@dataclass(frozen=True)
class Indicator:
    code: str
    name: Promise
    kinds: frozenset[str]
    numerator: Callable[[Ctx], Q]
    denominator: Callable[[Ctx], Q] | None  # None: a count (the numerator is the value)
    direction: str
    description: Promise
    # The period window: the range over ONE timestamp column that decides membership. It must be a
    # top-level conjunct of the denominator (of the numerator for a count); the engine drives each
    # aggregate by an index range scan over it (see _aggregate).
    window: Callable[[Ctx], Q] | None = None
    source: str = SOURCE_CASE
    # Attribution per person kind (units and regions use ATTR_UNIT / ATTR_REGION).
    by: Mapping[str, str] = field(default_factory=dict)
    volume: bool = False  # a workload count scored by the scheme's volume table

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    def attribution(self, kind: str) -> str:
        if kind in self.by:
            return self.by[kind]
        if kind == K.UNIT:
            return ATTR_UNIT
        if kind in REGION_COLUMNS:
            return ATTR_REGION
        raise KeyError(f"{self.code} has no attribution for {kind}")

    def num_q(self, c: Ctx) -> Q:
        # A rate's numerator is always a subset of its denominator.
        if self.denominator is None:
            return self.numerator(c)
        return self.denominator(c) & self.numerator(c)

    def den_q(self, c: Ctx) -> Q | None:
        return self.denominator(c) if self.denominator else None

    def base_q(self, c: Ctx) -> Q:
        """Rows that can matter at all (the denominator, or the numerator of a count)."""
        return self.den_q(c) or self.num_q(c)


REGIONS = frozenset(REGION_COLUMNS)
HANDLERS = REGIONS | {K.UNIT}

_INDICATORS = [
    # --- grid worker (监督员/网格员)
    Indicator(
        "reports",
        _("Reports filed"),
        frozenset({K.GRID_WORKER}),
        window=within("reported_at"),
        numerator=_reported_by_worker,
        denominator=None,
        direction=Direction.HIGHER,
        volume=True,
        description=_("上报数: cases the grid worker reported in the period (by report time)."),
        by={K.GRID_WORKER: ATTR_REPORTER},
    ),
    Indicator(
        "valid_report_rate",
        _("Valid report rate"),
        frozenset({K.GRID_WORKER}),
        window=within("reported_at"),
        numerator=lambda c: (
            (Q(registered_at__isnull=False) & ~Q(state=CaseState.CANCELLED)) | Q(self_handled=True)
        ),
        denominator=_reported_by_worker,
        direction=Direction.HIGHER,
        description=_(
            "有效上报率 = reports registered (and not cancelled) or fixed on the spot / reports, by report time."
        ),
        by={K.GRID_WORKER: ATTR_REPORTER},
    ),
    Indicator(
        "on_time_verify_rate",
        _("On-time verification rate"),
        frozenset({K.GRID_WORKER}),
        window=within("verify_due_at", due=True),
        numerator=lambda c: _done_by("verified_at", "verify_due_at"),
        denominator=lambda c: _due("verify_due_at", c),
        direction=Direction.HIGHER,
        description=_(
            "按时核实率 = verifications done by their deadline / verifications due in the period (open overdue ones count as late)."
        ),
        by={K.GRID_WORKER: ATTR_VERIFIER},
    ),
    Indicator(
        "on_time_check_rate",
        _("On-time check rate"),
        frozenset({K.GRID_WORKER}),
        window=within("check_due_at", due=True),
        numerator=lambda c: _done_by("checked_at", "check_due_at"),
        denominator=lambda c: _due("check_due_at", c),
        direction=Direction.HIGHER,
        description=_(
            "按时核查率 = on-site checks done by their deadline / checks due in the period (open overdue ones count as late)."
        ),
        by={K.GRID_WORKER: ATTR_CHECKER},
    ),
    Indicator(
        "missed_report_rate",
        _("Missed report rate"),
        frozenset({K.GRID_WORKER}),
        window=within("registered_at"),
        numerator=lambda c: ~Q(channel__in=WORKER_CHANNELS),
        denominator=_registered,
        direction=Direction.LOWER,
        description=_(
            "漏报率 = cases registered in the worker's grids that someone else found first / cases registered in those grids."
        ),
        by={K.GRID_WORKER: ATTR_GRID_SUPERVISOR},
    ),
    # --- intake operator (受理员): measured on the operator's own case events
    Indicator(
        "intake_volume",
        _("Tasks sent"),
        frozenset({K.INTAKE_OPERATOR}),
        window=within("at"),
        source=SOURCE_EVENT,
        numerator=lambda c: _in("at", c) & Q(action__in=(EVENT_REQUEST_VERIFY, EVENT_REQUEST_CHECK)),
        denominator=None,
        direction=Direction.HIGHER,
        volume=True,
        description=_("受理量: verification and check tasks the operator sent in the period."),
        by={K.INTAKE_OPERATOR: ATTR_OPERATOR},
    ),
    Indicator(
        "on_time_verify_dispatch_rate",
        _("On-time verification dispatch rate"),
        frozenset({K.INTAKE_OPERATOR}),
        window=within("at"),
        source=SOURCE_EVENT,
        numerator=lambda c: Q(NotLaterThan("at", "case__reported_at", verify_dispatch_limit())),
        denominator=lambda c: _in("at", c) & Q(action=EVENT_REQUEST_VERIFY),
        direction=Direction.HIGHER,
        description=_(
            "按时派发核实率 = verification tasks sent within the limit after the report / verification tasks sent."
        ),
        by={K.INTAKE_OPERATOR: ATTR_OPERATOR},
    ),
    Indicator(
        "on_time_check_dispatch_rate",
        _("On-time check dispatch rate"),
        frozenset({K.INTAKE_OPERATOR}),
        window=within("at"),
        source=SOURCE_EVENT,
        numerator=lambda c: (
            Q(case__handled_at__isnull=True)
            | Q(NotLaterThan("at", "case__handled_at", check_dispatch_limit()))
        ),
        denominator=lambda c: _in("at", c) & Q(action=EVENT_REQUEST_CHECK),
        direction=Direction.HIGHER,
        description=_(
            "按时派发核查率 = check tasks sent within the limit after the unit reported back / check tasks sent."
        ),
        by={K.INTAKE_OPERATOR: ATTR_OPERATOR},
    ),
    # --- shift leader (值班长)
    Indicator(
        "registered",
        _("Cases registered"),
        frozenset({K.SHIFT_LEADER}) | REGIONS,
        window=within("registered_at"),
        numerator=_registered,
        denominator=None,
        direction=Direction.HIGHER,
        volume=True,
        description=_("立案数: cases registered in the period."),
        by={K.SHIFT_LEADER: ATTR_REGISTRAR},
    ),
    Indicator(
        "on_time_register_rate",
        _("On-time registration rate"),
        frozenset({K.SHIFT_LEADER, K.DISTRICT}),
        window=within("register_due_at", due=True),
        numerator=lambda c: _done_by("registered_at", "register_due_at"),
        denominator=lambda c: (
            _due("register_due_at", c)
            & ~(Q(registered_at__isnull=True) & Q(state__in=(CaseState.REJECTED, CaseState.CANCELLED)))
        ),
        direction=Direction.HIGHER,
        description=_(
            "按时立案率 = registrations done by their deadline / registrations due in the period (not-registered rejections excluded; open overdue count as late)."
        ),
        by={K.SHIFT_LEADER: ATTR_REGISTRAR},
    ),
    Indicator(
        "accurate_register_rate",
        _("Accurate registration rate"),
        frozenset({K.SHIFT_LEADER, K.DISTRICT}),
        window=within("registered_at"),
        numerator=lambda c: ~Q(state=CaseState.CANCELLED),
        denominator=_registered,
        direction=Direction.HIGHER,
        description=_("准确立案率 = (registered − cancelled) / registered, by registration time."),
        by={K.SHIFT_LEADER: ATTR_REGISTRAR},
    ),
    Indicator(
        "on_time_close_rate",
        _("On-time closing rate"),
        frozenset({K.SHIFT_LEADER}),
        window=_close_window,
        numerator=lambda c: (
            Q(closed_at__isnull=False) & Q(NotLaterThan("closed_at", "checked_at", close_limit()))
        ),
        denominator=_close_due,
        direction=Direction.HIGHER,
        description=_(
            "按时结案率 = cases closed within the limit after the passed check / closings due in the period."
        ),
        by={K.SHIFT_LEADER: ATTR_CLOSER},
    ),
    # --- dispatcher (派遣员)
    Indicator(
        "dispatched",
        _("Cases dispatched"),
        frozenset({K.DISPATCHER}),
        window=within("dispatched_at"),
        numerator=lambda c: _in("dispatched_at", c),
        denominator=None,
        direction=Direction.HIGHER,
        volume=True,
        description=_("派遣数: cases dispatched in the period."),
        by={K.DISPATCHER: ATTR_DISPATCHER},
    ),
    Indicator(
        "on_time_dispatch_rate",
        _("On-time dispatch rate"),
        frozenset({K.DISPATCHER, K.DISTRICT}),
        window=within("dispatch_due_at", due=True),
        numerator=lambda c: _done_by("dispatched_at", "dispatch_due_at"),
        denominator=lambda c: (
            _due("dispatch_due_at", c) & ~Q(state__in=(CaseState.CANCELLED, CaseState.REJECTED))
        ),
        direction=Direction.HIGHER,
        description=_(
            "按时派遣率 = dispatches done by their deadline / dispatches due in the period (open overdue count as late)."
        ),
        by={K.DISPATCHER: ATTR_DISPATCHER},
    ),
    Indicator(
        "accurate_dispatch_rate",
        _("Accurate dispatch rate"),
        frozenset({K.DISPATCHER, K.DISTRICT}),
        window=within("dispatched_at"),
        numerator=lambda c: Q(return_count=0),
        denominator=lambda c: _in("dispatched_at", c),
        direction=Direction.HIGHER,
        description=_("准确派遣率 = (dispatched − returned) / dispatched, by dispatch time."),
        by={K.DISPATCHER: ATTR_DISPATCHER},
    ),
    # --- handling units and regions
    Indicator(
        "handling_due",
        _("Cases due"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=handling_due,
        denominator=None,
        direction=Direction.HIGHER,
        description=_(
            "应处置数 = handled + overdue unhandled: cases whose handling deadline fell in the period."
        ),
    ),
    Indicator(
        "handled",
        _("Cases handled"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: handling_due(c) & _handled(c),
        denominator=None,
        direction=Direction.HIGHER,
        volume=True,
        description=_("处置数: cases due in the period that the unit reported back as handled."),
    ),
    Indicator(
        "handling_rate",
        _("Handling rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=_handled,
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_("处置率 = handled / due (应处置数)."),
    ),
    Indicator(
        "on_time_handling_rate",
        _("On-time handling rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: _done_by("handled_at", "handle_due_at"),
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_(
            "按期处置率 = handled by the (possibly extended) deadline / due; open overdue cases count as late."
        ),
    ),
    Indicator(
        "rework_rate",
        _("Rework rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: Q(rework_count__gt=0),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_(
            "返工率 = cases sent back at least once after a failed check / due (a case reworked twice counts once)."
        ),
    ),
    Indicator(
        "postpone_rate",
        _("Postponement rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: Q(postpone_count__gt=0),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("延期率 = cases with an approved postponement / due."),
    ),
    Indicator(
        "closing_rate",
        _("Closing rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=_closed,
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_("结案率 = closed / due (应结案数)."),
    ),
    Indicator(
        "on_time_closing_rate",
        _("On-time closing rate (handling)"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: _closed(c) & _done_by("handled_at", "handle_due_at"),
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_("按期结案率 = closed and handled by the deadline / due."),
    ),
    Indicator(
        "late_closing_rate",
        _("Overdue closing rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: _closed(c) & Q(handled_at__gt=F("handle_due_at")),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("超期结案率 = closed but handled after the deadline / due."),
    ),
    Indicator(
        "unclosed_rate",
        _("Unclosed rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: ~_closed(c),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("未结案率 = due but not closed at the time of computation / due."),
    ),
    Indicator(
        "overdue_unhandled",
        _("Overdue unhandled"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: handling_due(c) & ~_handled(c),
        denominator=None,
        direction=Direction.LOWER,
        description=_("超期未处置数: cases due in the period and still not handled."),
    ),
    Indicator(
        "overdue_unhandled_rate",
        _("Overdue unhandled rate"),
        HANDLERS,
        window=within("handle_due_at", due=True),
        numerator=lambda c: ~_handled(c),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("超期待处置率 = cases due in the period and still not handled / due."),
    ),
    Indicator(
        "public_report_rate",
        _("Public report rate"),
        REGIONS,
        window=within("registered_at"),
        numerator=lambda c: Q(channel__in=PUBLIC_CHANNELS),
        denominator=_registered,
        direction=Direction.LOWER,
        description=_(
            "监督举报率 = registered cases the public reported (before a grid worker did) / registered cases."
        ),
    ),
    Indicator(
        "spot_pass_rate",
        _("Spot check pass rate"),
        HANDLERS,
        window=within("inspected_at"),
        source=SOURCE_SPOT,
        numerator=lambda c: Q(result="passed"),
        denominator=lambda c: _in("inspected_at", c) & Q(result__in=("passed", "failed")),
        direction=Direction.HIGHER,
        description=_(
            "抽查合格率 = re-inspected closed cases found in order / cases re-inspected in the period."
        ),
    ),
]

REGISTRY: dict[str, Indicator] = {i.code: i for i in _INDICATORS}


def for_kind(kind: str) -> list[Indicator]:
    return [i for i in _INDICATORS if kind in i.kinds]


def get(code: str) -> Indicator:

    try:
        return REGISTRY[code]
    except KeyError:
        raise NotFound(_("Unknown indicator “%(code)s”.") % {"code": code}) from None


# ------------------------------------------------------------------------------ engine
@dataclass
class Measure:
    """One indicator's numerator, denominator and value for one subject."""

    num: int = 0
    den: int | None = None

    @property
    def value(self) -> float | None:
        if self.den is None:
            return float(self.num)
        return self.num / self.den if self.den else None

    def as_dict(self) -> dict[str, Any]:
        return {"num": self.num, "den": self.den, "value": self.value}


def _source_qs(source: str):
    if source == SOURCE_CASE:
        from urbangrid.cases.models import Case

        return Case.objects.all()
    if source == SOURCE_EVENT:
        from urbangrid.cases.models import CaseEvent

        return CaseEvent.objects.all()

    return SpotCheckItem.objects.all()


def _conjuncts(q: Q) -> list:
    """The top-level conditions of an AND (a single condition otherwise)."""
    return list(q.children) if q.connector == Q.AND and not q.negated else [q]


def _implies(a: Q, b: Q) -> bool:
    """Whether ``a`` has every condition of ``b`` and more (so a row matching a matches b)."""
    ca, cb = _conjuncts(a), _conjuncts(b)
    return len(ca) > len(cb) and all(x in ca for x in cb)


def _strip(q: Q, known: list) -> Q | None:
    """``q`` without the conditions in ``known`` (all true for the rows at hand), when it has them
    all as top-level conjuncts; None when nothing is left (count every row)."""
    own = _conjuncts(q)
    if not all(k in own for k in known):
        return q
    rest = [ch for ch in own if ch not in known]
    return Q(*rest) if rest else None


@dataclass
class _Target:
    """Who receives one group of indicators: the subjects of ``kinds`` named by one attribution.
    (All requested region kinds share one target, whose rows are summed up the hierarchy.)"""

    kinds: list[str]
    source: str
    attr: str
    inds: list[Indicator]
    # subject key → code → [numerator, denominator]
    acc: dict[str, dict[str, list[int]]] = field(default_factory=dict)


def _key_columns(t: _Target) -> list[tuple[str, Any]]:
    """(alias, expression) of the columns that name a target's subjects."""
    prefix = SOURCE_PREFIX[t.source]
    if t.attr == ATTR_REGION:  # only the requested levels: one row per district is cheaper than per grid
        return [(prefix + REGION_COLUMNS[k], F(prefix + REGION_COLUMNS[k])) for k in t.kinds]
    if t.attr == ATTR_GRID_SUPERVISOR:
        return [(prefix + "grid_code", F(prefix + "grid_code"))]
    return [(f"_by_{t.attr}", attribution_expr(t.source, t.attr))]


@dataclass
class _Statement:
    """One aggregate statement and what to do with its rows."""

    db: str
    sql: str
    params: Any
    roll_up: Callable[[list[tuple]], None]


def _scan(source: str, window: Q, parts: list[tuple[_Target, list[Indicator]]], c: Ctx) -> _Statement:
    """One GROUP BY query over the rows whose window timestamp lies in the period (an index range
    scan on that one column), grouped by every column that names a subject of ``parts``; its
    roll-up sums each target's counts per subject in numpy and adds them to its accumulator.

    Every conditional count is written once (the 应处置数 shared by ten handling rates as their
    denominator, by units and by regions alike), without the conditions the WHERE guarantees. A
    target whose indicators need fewer rows than the WHERE admits gets a presence count, so that
    a subject only appears when a row of its own indicators exists (as with a query of its own)."""

    def rests(inds):
        out = list(dict.fromkeys(_strip(i.base_q(c), window.children) for i in inds))
        if None in out:  # some indicator needs every row of the window
            return []
        # A OR (A AND B) is A
        return [r for n, r in enumerate(out) if not any(_implies(r, o) for o in out[:n] + out[n + 1 :])]

    everything = rests([i for _, inds in parts for i in inds])
    known = list(window.children) + (_conjuncts(everything[0]) if len(everything) == 1 else [])
    where = window & reduce(or_, everything) if everything else window

    def strip(q):
        key = _strip(q, known)
        return _strip(q, window.children) if key is q else key

    counts: dict[Any, str] = {}  # stripped Q (None: every row) → alias

    def count(q):
        return counts.setdefault(q, f"n{len(counts)}")

    layout = []  # per part: key aliases, presence alias or None, [(code, num alias, den alias)]
    keys: dict[str, Any] = {}
    for t, inds in parts:
        cols = _key_columns(t)
        keys.update(cols)
        own = rests(inds)
        presence = None
        if set(own) != set(everything):
            presence = count(strip(reduce(or_, own)) if own else None)
        cols_of = [
            (i.code, count(strip(i.num_q(c))), count(strip(i.den_q(c))) if i.is_rate else None) for i in inds
        ]
        layout.append(([a for a, _ in cols], presence, cols_of))

    qs = _source_qs(source).filter(where)
    plain = {a: e for a, e in keys.items() if not (isinstance(e, F) and e.name == a)}
    if plain:
        qs = qs.annotate(**plain)
    key_names = list(keys)
    aggs = {alias: Count("pk", filter=q) if q is not None else Count("pk") for q, alias in counts.items()}
    qs = qs.values(*key_names).annotate(**aggs).order_by().values_list(*key_names, *aggs)
    # Plain integers and keys: the cursor is read directly (Django's per-value converters cost
    # more than the query for the ~25,000 group rows of a month).
    sql, params = qs.query.sql_with_params()

    def roll_up(rows: list[tuple]) -> None:
        _roll_up(rows, key_names, list(aggs), parts, layout)

    return _Statement(qs.db, sql, params, roll_up)


def _subject_codes(columns, key_names: list[str], alias: str, codes_of: dict) -> tuple[dict, np.ndarray]:
    """The subject keys of one key column, numbered in first-seen order, and each row's number
    (memoised in ``codes_of``: targets share key columns)."""
    if alias not in codes_of:
        values = columns[key_names.index(alias)]
        index = {v: k for k, v in enumerate(dict.fromkeys(values))}
        codes_of[alias] = (index, np.fromiter(map(index.__getitem__, values), np.intp, len(values)))
    return codes_of[alias]


def _accumulate(t: _Target, level, index: dict, seen, sums, columns_of) -> None:
    """Adds each subject's summed counts into the target's accumulator. ``columns_of``:
    (indicator code, numerator column, denominator column or None) into ``sums``."""
    for key, u in index.items():
        if key is None or key == "" or not seen[u]:
            continue
        acc = t.acc.setdefault(f"{level}:{key}" if level else str(key), {})
        for code, num, den in columns_of:
            m = acc.setdefault(code, [0, 0])
            m[0] += int(sums[u, num])
            if den is not None:
                m[1] += int(sums[u, den])


def _roll_up(rows: list[tuple], key_names: list[str], aggs: list[str], parts, layout) -> None:
    """Sum one statement's group rows per subject of each target (see _scan)."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    data = np.array(columns[len(key_names) :], dtype=np.int64).T
    col = {alias: n for n, alias in enumerate(aggs)}
    codes_of: dict[str, tuple[dict, np.ndarray]] = {}
    for (t, _inds), (aliases, presence, cols_of) in zip(parts, layout, strict=True):
        mask = data[:, col[presence]] > 0 if presence is not None else None
        needed = sorted({col[a] for _, n, d in cols_of for a in (n, d) if a is not None})
        pick = {j: k for k, j in enumerate(needed)}
        columns_of = [(code, pick[col[n]], pick[col[d]] if d is not None else None) for code, n, d in cols_of]
        part = data[:, needed] if mask is None else data[mask][:, needed]
        for alias in aliases:
            index, codes = _subject_codes(columns, key_names, alias, codes_of)
            if mask is not None:
                codes = codes[mask]
            sums = np.zeros((len(index), len(needed)), dtype=np.int64)
            np.add.at(sums, codes, part)
            seen = np.bincount(codes, minlength=len(index)) > 0
            level = t.kinds[aliases.index(alias)] if t.attr == ATTR_REGION else None
            _accumulate(t, level, index, seen, sums, columns_of)


@contextmanager
def _reading(connection, snapshot: str | None = None, export: bool = False) -> Iterator[str | None]:
    """The transaction the aggregate statements of one connection run in. PostgreSQL: its own,
    with more work_mem; several connections share one snapshot (``export`` on the first gives
    the name the others import), so together they read one state of the tables, like a single
    connection would. SQLite: none (autocommit: each statement reads the last committed state;
    a rate's numerator and denominator are counted by the same statement)."""
    if connection.vendor != "postgresql":
        yield None
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if snapshot or export:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if snapshot:
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
        # ~25,000 groups of a dozen counts: enough memory to hash them instead of sorting the
        # month's rows on disk (PostgreSQL's default is 4 MB); for this transaction only.
        cursor.execute("SELECT set_config('work_mem', %s, true)", [_work_mem()])
        if export:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        yield snapshot


def _fetch(connection, st: _Statement) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(st.sql, st.params)
        return cursor.fetchall()


def _one_connection(connection) -> bool:
    """Whether every statement must go through ``connection``: inside a transaction (a test,
    publishing under atomic), whose uncommitted rows only it sees, and on an in-memory SQLite
    database, which another connection would not open."""
    return connection.in_atomic_block or (connection.vendor == "sqlite" and connection.is_in_memory_db())


def _run(statements: list[_Statement]) -> None:
    """Send the statements and roll up their rows. They are independent, so they are spread over
    ``EVALUATION["CONNECTIONS"]`` connections (default 2: the database works on one statement per
    core while the drivers wait without holding the GIL) unless they must share one."""
    if not statements:
        return
    (db,) = {st.db for st in statements}
    connection = connections[db]
    workers = min(_connections_wanted(), len(statements))
    if workers < 2 or _one_connection(connection):
        with _reading(connection):
            for st in statements:
                st.roll_up(_fetch(connection, st))
        return

    todo = iter(statements)
    take, add = threading.Lock(), threading.Lock()
    failed = threading.Event()

    def drain(conn) -> None:
        try:
            while not failed.is_set():
                with take:
                    st = next(todo, None)
                if st is None:
                    return
                rows = _fetch(conn, st)
                with add:  # the accumulators are shared between statements
                    st.roll_up(rows)
        except BaseException:
            failed.set()
            raise

    def helper(snapshot: str | None) -> None:
        conn = connections[db]  # this thread's own connection
        try:
            with _reading(conn, snapshot):
                drain(conn)
        finally:
            conn.close()

    with _reading(connection, export=True) as snapshot, ThreadPoolExecutor(workers - 1) as pool:
        helpers = [pool.submit(helper, snapshot) for _ in range(workers - 1)]
        drain(connection)
        for h in helpers:
            h.result()


def _measures(acc: Mapping[str, list[int]], inds: Iterable[Indicator]) -> dict[str, Measure]:
    """A subject's measures for ``inds`` (in registry order; zero where no row counted)."""
    out = {}
    for i in inds:
        num, den = acc.get(i.code, (0, 0))
        out[i.code] = Measure(num, den if i.is_rate else None)
    return out


def _grid_supervisors(grid_codes: Iterable[str], period: Ctx) -> dict[str, list[int]]:
    """Grid code → supervisors assigned to it at some point of the period."""

    start, end = timezone.localtime(period.start).date(), timezone.localtime(period.end).date()
    rows = (
        GridAssignment.objects.filter(
            duty=GridDuty.SUPERVISOR, grid_code__in=list(grid_codes), valid_from__lt=end
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .values_list("grid_code", "person_id")
        .distinct()
    )
    out: dict[str, list[int]] = defaultdict(list)
    for code, pid in rows:
        out[code].append(pid)
    return out


def _targets(kinds: list[str], wanted: set[str] | None) -> list[_Target]:
    """The targets of the requested kinds: one per source for all region kinds together, one per
    (source, attribution) for each other kind."""
    targets: list[_Target] = []
    region_kinds = [k for k in REGION_COLUMNS if k in kinds]
    if region_kinds:
        inds = [
            i for i in _INDICATORS if i.kinds & set(region_kinds) and (wanted is None or i.code in wanted)
        ]
        for source in sorted({i.source for i in inds}):
            targets.append(
                _Target(region_kinds, source, ATTR_REGION, [i for i in inds if i.source == source])
            )
    for kind in kinds:
        if kind in REGION_COLUMNS:
            continue
        groups: dict[tuple[str, str], list[Indicator]] = defaultdict(list)
        for i in for_kind(kind):
            if wanted is None or i.code in wanted:
                groups[(i.source, i.attribution(kind))].append(i)
        targets.extend(_Target([kind], source, attr, g) for (source, attr), g in groups.items())
    return targets


def _window_of(i: Indicator, c: Ctx) -> Q:
    """The indicator's period window, which must be a conjunct of its denominator (the scan
    reads only the window's rows)."""
    window, base = i.window(c), i.base_q(c)
    if base.connector != Q.AND or base.negated or not all(w in base.children for w in window.children):
        raise ImproperlyConfigured(f"{i.code}: its window is not a conjunct of its denominator")
    return window


def _scans(targets: list[_Target], c: Ctx) -> dict[tuple[str, Q], list[tuple[_Target, list[Indicator]]]]:
    """(source, window) → the targets' indicators read by that one scan."""
    scans: dict[tuple[str, Q], list[tuple[_Target, list[Indicator]]]] = defaultdict(list)
    for t in targets:
        by_window: dict[Q, list[Indicator]] = defaultdict(list)
        for i in t.inds:
            by_window[_window_of(i, c)].append(i)
        for window, inds in by_window.items():
            scans[(t.source, window)].append((t, inds))
    return scans


def _add_measures(target: dict[str, Measure], measures: dict[str, Measure]) -> None:
    for code, m in measures.items():
        if code in target:
            target[code].num += m.num
            if m.den is not None:
                target[code].den += m.den
        else:
            target[code] = m


def _deliver(t: _Target, c: Ctx, result: dict[str, dict[str, dict[str, Measure]]]) -> None:
    """Puts one target's accumulated counts into ``result`` as its subjects' measures."""
    if t.attr == ATTR_REGION:
        for key, acc in t.acc.items():
            level, subject = key.split(":", 1)
            if level in t.kinds:
                own = [i for i in t.inds if level in i.kinds]
                result[level].setdefault(subject, {}).update(_measures(acc, own))
    elif t.attr == ATTR_GRID_SUPERVISOR:
        # A grid's counts go to every supervisor it had in the period.
        for grid, people in _grid_supervisors(t.acc, c).items():
            for pid in people:
                _add_measures(result[t.kinds[0]].setdefault(str(pid), {}), _measures(t.acc[grid], t.inds))
    else:
        for key, acc in t.acc.items():
            result[t.kinds[0]].setdefault(key, {}).update(_measures(acc, t.inds))


def compute_many(
    kinds: Iterable[str],
    period: Period | Ctx,
    codes: Iterable[str] | None = None,
    as_of: datetime | None = None,
) -> dict[str, dict[str, dict[str, Measure]]]:
    """kind → subject key (str) → indicator code → Measure, for every subject with data.

    One aggregate query per (source, period window): the rows whose window timestamp lies in the
    period, read once by an index range scan and grouped by every column that names a subject
    (region columns, unit, registrar ...); the counts are then summed per subject in numpy (all
    requested region kinds share one target, summed up the hierarchy: additive counts). Outside a
    transaction the statements run on two connections at once (see _run).
    """
    c = period if isinstance(period, Ctx) else Ctx.for_period(period, as_of)
    kinds = list(dict.fromkeys(kinds))
    targets = _targets(kinds, set(codes) if codes else None)
    _run([_scan(source, window, parts, c) for (source, window), parts in _scans(targets, c).items()])
    result: dict[str, dict[str, dict[str, Measure]]] = {k: {} for k in kinds}
    for t in targets:
        _deliver(t, c, result)
    return result


def compute(kind: str, period: Period | Ctx, codes=None, as_of=None) -> dict[str, dict[str, Measure]]:
    return compute_many([kind], period, codes, as_of)[kind]


# --------------------------------------------------------------------------- drill-down
def subject_filter(ind: Indicator, kind: str, key: str, c: Ctx) -> Q:
    """Q over the indicator's source rows that belong to one subject."""
    attr = ind.attribution(kind)
    prefix = SOURCE_PREFIX[ind.source]
    if attr == ATTR_REGION:
        return Q(**{prefix + REGION_COLUMNS[kind]: key})
    if attr == ATTR_GRID_SUPERVISOR:
        from urbangrid.orgs.models import GridAssignment

        codes = GridAssignment.objects.filter(person_id=key).values_list("grid_code", flat=True)
        grids = [g for g, people in _grid_supervisors(set(codes), c).items() if int(key) in people]
        return Q(**{prefix + "grid_code__in": grids})
    expr = attribution_expr(ind.source, attr)
    if isinstance(expr, F):
        return Q(**{expr.name: key})
    # Coalesce(a, b) = key  ⇔  a = key, or a is null and b = key
    a, b = (e.name for e in expr.get_source_expressions())
    return Q(**{a: key}) | Q(**{f"{a}__isnull": True, b: key})


def drill_cases(
    code: str, kind: str, key: str, period: Period | Ctx, part: str = "denominator", user=None, as_of=None
):
    """The cases behind one number: ``part`` is "numerator" or "denominator" (a count indicator
    has only its numerator). Jurisdiction-filtered when a user is given."""

    ind = get(code)
    c = period if isinstance(period, Ctx) else Ctx.for_period(period, as_of)
    if kind not in ind.kinds:
        from urbangrid.lib.errors import InvalidInput

        raise InvalidInput(_("This indicator does not apply to this kind of subject."))
    q = ind.num_q(c) if part == "numerator" or not ind.is_rate else ind.den_q(c)
    rows = _source_qs(ind.source).filter(q & subject_filter(ind, kind, key, c))
    cases = Case.objects.all() if user is None else Case.objects.visible_to(user)
    if ind.source == SOURCE_CASE:
        # Same filter, applied to cases directly, keeps it one indexed query.
        return cases.filter(id__in=rows.values("id"))
    return cases.filter(id__in=rows.values("case_id"))
