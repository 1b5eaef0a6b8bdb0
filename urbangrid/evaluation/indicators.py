"""Every evaluation indicator, defined once, and the engine that computes them.

An indicator is a row of ``REGISTRY``: a code, a Chinese name (gettext), the subject kinds it
applies to, a numerator and (for rates) a denominator given as ``Q`` objects over one source
table, a direction (higher/lower is better) and a description. The engine turns the indicators
of one subject kind into ONE aggregate query per attribution column: conditional
``Count(filter=Q(...))`` grouped by the subject column, so the database does the counting and
Python only sees one row per subject. Region kinds (grid, community, street, district) share a
single query grouped by grid and are rolled up, since every measure is an additive count.

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

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from urbangrid.cases.choices import CaseState, Channel

from .choices import Direction, SubjectKind
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


def _close_due(c: Ctx) -> Q:
    # Closing is due `close_limit` after the passed check, i.e. checked_at in [start-L, due_end-L);
    # only cases that passed the check (awaiting closing or closed) owe a closing.
    lim = close_limit()
    return Q(checked_at__gte=c.start - lim, checked_at__lt=c.due_end - lim) & (
        Q(state=CaseState.PENDING_CLOSE) | Q(closed_at__isnull=False)
    )


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
        source=SOURCE_EVENT,
        numerator=lambda c: Q(at__lte=F("case__reported_at") + verify_dispatch_limit()),
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
        source=SOURCE_EVENT,
        numerator=lambda c: (
            Q(case__handled_at__isnull=True) | Q(at__lte=F("case__handled_at") + check_dispatch_limit())
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
        numerator=lambda c: Q(closed_at__isnull=False, closed_at__lte=F("checked_at") + close_limit()),
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
        numerator=_handled,
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_("处置率 = handled / due (应处置数)."),
    ),
    Indicator(
        "on_time_handling_rate",
        _("On-time handling rate"),
        HANDLERS,
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
        numerator=lambda c: Q(postpone_count__gt=0),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("延期率 = cases with an approved postponement / due."),
    ),
    Indicator(
        "closing_rate",
        _("Closing rate"),
        HANDLERS,
        numerator=_closed,
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_("结案率 = closed / due (应结案数)."),
    ),
    Indicator(
        "on_time_closing_rate",
        _("On-time closing rate (handling)"),
        HANDLERS,
        numerator=lambda c: _closed(c) & _done_by("handled_at", "handle_due_at"),
        denominator=handling_due,
        direction=Direction.HIGHER,
        description=_("按期结案率 = closed and handled by the deadline / due."),
    ),
    Indicator(
        "late_closing_rate",
        _("Overdue closing rate"),
        HANDLERS,
        numerator=lambda c: _closed(c) & Q(handled_at__gt=F("handle_due_at")),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("超期结案率 = closed but handled after the deadline / due."),
    ),
    Indicator(
        "unclosed_rate",
        _("Unclosed rate"),
        HANDLERS,
        numerator=lambda c: ~_closed(c),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("未结案率 = due but not closed at the time of computation / due."),
    ),
    Indicator(
        "overdue_unhandled",
        _("Overdue unhandled"),
        HANDLERS,
        numerator=lambda c: handling_due(c) & ~_handled(c),
        denominator=None,
        direction=Direction.LOWER,
        description=_("超期未处置数: cases due in the period and still not handled."),
    ),
    Indicator(
        "overdue_unhandled_rate",
        _("Overdue unhandled rate"),
        HANDLERS,
        numerator=lambda c: ~_handled(c),
        denominator=handling_due,
        direction=Direction.LOWER,
        description=_("超期待处置率 = cases due in the period and still not handled / due."),
    ),
    Indicator(
        "public_report_rate",
        _("Public report rate"),
        REGIONS,
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
    from urbangrid.lib.errors import NotFound

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
    from .models import SpotCheckItem

    return SpotCheckItem.objects.all()


def _aggregate(source: str, group: list[str] | Any, inds: list[Indicator], c: Ctx):
    """One GROUP BY query: per subject, conditional counts of every indicator's numerator and
    denominator. ``group`` is a list of column names or one expression."""
    qs = _source_qs(source).filter(reduce(or_, [i.base_q(c) for i in inds]))
    aggs = {}
    for i in inds:
        aggs[f"{i.code}__n"] = Count("pk", filter=i.num_q(c))
        if i.is_rate:
            aggs[f"{i.code}__d"] = Count("pk", filter=i.den_q(c))
    if isinstance(group, list):
        qs = qs.values(*group)
    else:
        qs = qs.annotate(_subject=group).filter(_subject__isnull=False).values("_subject")
    return qs.annotate(**aggs).order_by()


def _row_measures(row: Mapping[str, Any], inds: Iterable[Indicator]) -> dict[str, Measure]:
    return {i.code: Measure(row[f"{i.code}__n"], row[f"{i.code}__d"] if i.is_rate else None) for i in inds}


def _add(into: dict[str, Measure], more: dict[str, Measure]) -> None:
    for code, m in more.items():
        cur = into.setdefault(code, Measure(0, 0 if m.den is not None else None))
        cur.num += m.num
        if m.den is not None:
            cur.den = (cur.den or 0) + m.den


def _grid_supervisors(grid_codes: Iterable[str], period: Ctx) -> dict[str, list[int]]:
    """Grid code → supervisors assigned to it at some point of the period."""
    from urbangrid.orgs.choices import GridDuty
    from urbangrid.orgs.models import GridAssignment

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


def compute_many(
    kinds: Iterable[str],
    period: Period | Ctx,
    codes: Iterable[str] | None = None,
    as_of: datetime | None = None,
) -> dict[str, dict[str, dict[str, Measure]]]:
    """kind → subject key (str) → indicator code → Measure, for every subject with data.

    One aggregate query per (source, attribution) of each kind; all requested region kinds share
    one query grouped by grid and are summed up the hierarchy.
    """
    c = period if isinstance(period, Ctx) else Ctx.for_period(period, as_of)
    kinds = list(dict.fromkeys(kinds))
    wanted = set(codes) if codes else None
    result: dict[str, dict[str, dict[str, Measure]]] = {k: {} for k in kinds}

    # Region kinds: one query per source grouped by (grid, community, street, district); the
    # per-grid counts are summed up the hierarchy with numpy (additive counts).
    region_kinds = [k for k in kinds if k in REGION_COLUMNS]
    if region_kinds:
        inds = [
            i for i in _INDICATORS if i.kinds & set(region_kinds) and (wanted is None or i.code in wanted)
        ]
        for source in sorted({i.source for i in inds}):
            src_inds = [i for i in inds if i.source == source]
            prefix = SOURCE_PREFIX[source]
            cols = [prefix + REGION_COLUMNS[k] for k in (K.GRID, K.COMMUNITY, K.STREET, K.DISTRICT)]
            agg_names = []
            for i in src_inds:
                agg_names.append(f"{i.code}__n")
                if i.is_rate:
                    agg_names.append(f"{i.code}__d")
            rows = list(_aggregate(source, cols, src_inds, c).values_list(*cols, *agg_names))
            if not rows:
                continue
            counts = np.array([r[4:] for r in rows], dtype=np.int64)
            for k in region_kinds:
                pos = (K.GRID, K.COMMUNITY, K.STREET, K.DISTRICT).index(k)
                keys = np.array(["" if r[pos] is None else str(r[pos]) for r in rows], dtype=object)
                uniq, inverse = np.unique(keys, return_inverse=True)
                sums = np.zeros((len(uniq), counts.shape[1]), dtype=np.int64)
                np.add.at(sums, inverse, counts)
                own = [(i, agg_names.index(f"{i.code}__n")) for i in src_inds if k in i.kinds]
                for u, key in enumerate(uniq):
                    if key == "":
                        continue
                    target = result[k].setdefault(key, {})
                    for i, col in own:
                        target[i.code] = Measure(
                            int(sums[u, col]), int(sums[u, col + 1]) if i.is_rate else None
                        )

    for kind in kinds:
        if kind in REGION_COLUMNS:
            continue
        inds = [i for i in for_kind(kind) if wanted is None or i.code in wanted]
        groups: dict[tuple[str, str], list[Indicator]] = defaultdict(list)
        for i in inds:
            groups[(i.source, i.attribution(kind))].append(i)
        for (source, attr), g in groups.items():
            if attr == ATTR_GRID_SUPERVISOR:
                per_grid = {
                    row["grid_code"]: _row_measures(row, g)
                    for row in _aggregate(source, ["grid_code"], g, c)
                    if row["grid_code"]
                }
                for code, people in _grid_supervisors(per_grid, c).items():
                    for pid in people:
                        _add(result[kind].setdefault(str(pid), {}), per_grid[code])
                continue
            for row in _aggregate(source, attribution_expr(source, attr), g, c):
                _add(result[kind].setdefault(str(row["_subject"]), {}), _row_measures(row, g))
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
    from urbangrid.cases.models import Case

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
