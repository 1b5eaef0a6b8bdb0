"""Scores, grades and rankings under an assessment scheme version.

score of an indicator: a rate r (0..1) scores 100·r if higher is better, 100·(1−r) if lower is
better; a volume count scores from the version's volume table (the highest band reached) or,
without a table, 100 · count / the best peer's count. The weighted score is
Σ wᵢ·sᵢ / Σ wᵢ over the indicators that HAVE a value (a zero denominator drops the indicator and
its weight, so weights that do not add up to 100 still give a 0–100 score); a subject none of
whose weighted rates has a value is not scored at all (no grade, no rank), never scored 0. Deductions and
bonuses are then added (each rule capped), and the total is clamped to 0–100.
Grades: A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q
from django.utils import timezone

from urbangrid.cases.models import Case
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import NotFound

from .choices import AdjustmentKind, Direction, Grade, SubjectKind
from .indicators import COMPLAINT_SATISFACTION, REGION_COLUMNS, REGISTRY, Ctx, Measure, compute_many
from .models import AccountabilityRecord, Assessment, Scheme, SchemeVersion, SpotCheckItem, SupervisionOrder
from .periods import Period
from .queries import Subject, subjects

K = SubjectKind


def grade_for(total: float | None) -> str:
    if total is None:
        return ""
    if total >= 90:
        return Grade.A
    if total >= 75:
        return Grade.B
    if total >= 60:
        return Grade.C
    if total >= 40:
        return Grade.D
    return Grade.E


@dataclass
class Row:
    subject: Subject
    measures: dict[str, Measure]
    scores: dict[str, float | None] = field(default_factory=dict)
    base: float | None = None
    adjustments: dict[str, dict] = field(default_factory=dict)  # kind → {count, points}
    adjustment: float = 0.0
    total: float | None = None
    grade: str = ""
    rank: int | None = None
    prev_rank: int | None = None

    @property
    def change(self) -> int | None:
        """Places gained since the previous period (positive = moved up)."""
        if self.rank is None or self.prev_rank is None:
            return None
        return self.prev_rank - self.rank

    def value(self, code: str) -> float | None:
        m = self.measures.get(code)
        if m is None:
            ind = REGISTRY[code]
            return None if ind.is_rate else 0.0
        return m.value

    def as_dict(self) -> dict:
        return {
            "subject": {
                "kind": self.subject.kind,
                "key": self.subject.key,
                "name": self.subject.name,
                "parent": self.subject.parent,
            },
            "indicators": {code: m.as_dict() for code, m in self.measures.items()},
            "scores": {code: _r(s) for code, s in self.scores.items()},
            "base": _r(self.base),
            "adjustments": self.adjustments,
            "adjustment": _r(self.adjustment),
            "total": _r(self.total),
            "grade": self.grade,
            "rank": self.rank,
            "prev_rank": self.prev_rank,
            "change": self.change,
        }


def _r(x):
    return None if x is None else round(float(x), 2)


@dataclass
class Evaluation:
    kind: str
    period: Period
    version: object | None
    codes: list[str]
    weights: dict[str, float]
    rows: list[Row]
    as_of: datetime
    # How many subjects of the kind were ranked: ranks are places among all of them, also when
    # only some rows are shown (jurisdiction, report area), so lists say what they rank among.
    ranked: int = 0

    def visible(self, user) -> Evaluation:
        scope = scope_for(user)
        return Evaluation(
            self.kind,
            self.period,
            self.version,
            self.codes,
            self.weights,
            [r for r in self.rows if r.subject.visible(scope)],
            self.as_of,
            self.ranked,
        )

    def within(self, region_code: str) -> Evaluation:
        return Evaluation(
            self.kind,
            self.period,
            self.version,
            self.codes,
            self.weights,
            [r for r in self.rows if r.subject.in_region(region_code)],
            self.as_of,
            self.ranked,
        )


def _version_rules(version, kind):
    if version is None:
        return {}, defaultdict(list), {}
    weights = {w.indicator: float(w.weight) for w in version.weights.all() if w.subject_kind == kind}
    bands = defaultdict(list)
    for b in version.bands.all():
        if b.subject_kind == kind:
            bands[b.indicator].append((b.min_value, float(b.score)))
    for v in bands.values():
        v.sort(reverse=True)
    rules = {a.kind: a for a in version.adjustments.all() if a.subject_kind == kind}
    return weights, bands, rules


def _closed_case_columns(kind: str, ak: str) -> str | None:
    """The column naming the subject of a complaint / self-handled case, for a subject kind."""
    region_col = REGION_COLUMNS.get(kind)
    if ak == AdjustmentKind.COMPLAINT and (kind == K.UNIT or region_col):
        return "assigned_unit_id" if kind == K.UNIT else region_col
    if ak == AdjustmentKind.SELF_HANDLED and (kind == K.GRID_WORKER or region_col):
        return "reporter_person_id" if kind == K.GRID_WORKER else region_col
    return None


def closed_case_counts(columns, c: Ctx) -> dict[tuple[str, str], dict[str, int]]:
    """(adjustment kind, column) → subject key → complaints / self-handled cases closed in the
    period, for every column at once: one query over the period's closed cases (instead of one
    per subject kind and adjustment)."""
    columns = sorted(set(columns))
    out: dict[tuple[str, str], dict[str, int]] = {}
    if not columns:
        return out
    complaint = Q(satisfaction__lte=COMPLAINT_SATISFACTION)
    rows = (
        Case.objects.filter(closed_at__gte=c.start, closed_at__lt=c.end)
        .filter(complaint | Q(self_handled=True))
        .values(*columns)
        .annotate(_complaint=Count("pk", filter=complaint), _self=Count("pk", filter=Q(self_handled=True)))
        .order_by()
        .values_list(*columns, "_complaint", "_self")
    )
    for ak in (AdjustmentKind.COMPLAINT, AdjustmentKind.SELF_HANDLED):
        for col in columns:
            out[(ak, col)] = {}
    for row in rows:
        for n, ak in ((row[-2], AdjustmentKind.COMPLAINT), (row[-1], AdjustmentKind.SELF_HANDLED)):
            if not n:
                continue
            for col, key in zip(columns, row, strict=False):
                if key is not None:
                    counts = out[(ak, col)]
                    counts[str(key)] = counts.get(str(key), 0) + n
    return out


def _grouped(qs, col) -> dict[str, int]:
    """Subject key → number of rows, grouped on ``col`` (rows without a subject left out)."""
    return {
        str(r[col]): r["n"] for r in qs.values(col).annotate(n=Count("pk")).order_by() if r[col] is not None
    }


def _supervision_orders(kind: str, c: Ctx):
    if kind != K.UNIT:
        return None
    return SupervisionOrder.objects.filter(issued_at__gte=c.start, issued_at__lt=c.end), "unit_id"


def _late_replies(kind: str, c: Ctx):
    """Supervision orders due in the period and answered late or not at all."""
    if kind != K.UNIT:
        return None
    qs = SupervisionOrder.objects.filter(deadline__gte=c.start, deadline__lt=c.due_end).filter(
        Q(replied_at__gt=F("deadline")) | Q(replied_at__isnull=True)
    )
    return qs, "unit_id"


def _accountability(kind: str, c: Ctx):
    """Accountability decisions: on a unit, on a region above the grid, or on a person."""
    qs = AccountabilityRecord.objects.filter(decided_at__gte=c.start, decided_at__lt=c.end)
    if kind == K.UNIT:
        return qs, "unit_id"
    if kind in REGION_COLUMNS and kind != K.GRID:
        return qs, "region_id"
    if kind not in REGION_COLUMNS:
        return qs, "person_id"
    return None


def _complaints(kind: str, c: Ctx):
    col = _closed_case_columns(kind, AdjustmentKind.COMPLAINT)
    if col is None:
        return None
    qs = Case.objects.filter(
        closed_at__gte=c.start, closed_at__lt=c.end, satisfaction__lte=COMPLAINT_SATISFACTION
    )
    return qs, col


def _failed_spot_checks(kind: str, c: Ctx):
    region_col = REGION_COLUMNS.get(kind)
    if not (kind == K.UNIT or region_col):
        return None
    qs = SpotCheckItem.objects.filter(inspected_at__gte=c.start, inspected_at__lt=c.end, result="failed")
    return qs, "case__assigned_unit_id" if kind == K.UNIT else "case__" + region_col


def _self_handled(kind: str, c: Ctx):
    col = _closed_case_columns(kind, AdjustmentKind.SELF_HANDLED)
    if col is None:
        return None
    return Case.objects.filter(closed_at__gte=c.start, closed_at__lt=c.end, self_handled=True), col


# Per adjustment kind, the rows it counts for a subject kind and the column naming the subject
# ((queryset, column), or None when the adjustment does not apply to that kind of subject).
_ADJUSTMENT_SOURCES = {
    AdjustmentKind.SUPERVISION_ORDER: _supervision_orders,
    AdjustmentKind.LATE_REPLY: _late_replies,
    AdjustmentKind.ACCOUNTABILITY: _accountability,
    AdjustmentKind.COMPLAINT: _complaints,
    AdjustmentKind.SPOT_CHECK_FAILED: _failed_spot_checks,
    AdjustmentKind.SELF_HANDLED: _self_handled,
}


def adjustment_counts(kind: str, c: Ctx, kinds_wanted, _closed=None) -> dict[str, dict[str, int]]:
    """adjustment kind → subject key → number of events in the period (aggregate queries).
    ``_closed``: the complaint / self-handled counts already made by closed_case_counts."""
    out: dict[str, dict[str, int]] = {}
    for ak in kinds_wanted:
        closed_key = (ak, _closed_case_columns(kind, ak))
        if _closed is not None and closed_key in _closed:
            out[ak] = _closed[closed_key]
            continue
        source = _ADJUSTMENT_SOURCES.get(ak)
        found = source(kind, c) if source else None
        if found is not None:
            out[ak] = _grouped(*found)
    return out


def _indicator_score(ind, value, bands, best) -> float | None:
    if value is None:
        return None
    if ind.volume:
        if bands:
            return next((s for lo, s in bands if value >= lo), 0.0)
        return 100.0 * value / best if best else None
    return 100.0 * (value if ind.direction == Direction.HIGHER else 1.0 - value)


def rank_rows(rows: list[Row]) -> None:
    """Competition ranking (1, 2, 2, 4) by total, then name; unscored subjects are unranked."""
    rows.sort(key=lambda r: (r.total is None, -(r.total or 0), r.subject.name, r.subject.key))
    prev_total, prev_rank = None, 0
    for i, r in enumerate(rows, start=1):
        if r.total is None:
            r.rank = None
            continue
        rank = prev_rank if r.total == prev_total else i
        r.rank, prev_total, prev_rank = rank, r.total, rank


def _base_score(r: Row, weights, bands, best, has_rates: bool) -> float | None:
    """The weighted mean of the row's indicator scores (filling ``r.scores``); None without any."""
    for code in weights:
        r.scores[code] = _indicator_score(REGISTRY[code], r.value(code), bands.get(code), best[code])
    scored = [(weights[code], s) for code, s in r.scores.items() if s is not None and weights[code] > 0]
    wsum = sum(w for w, _ in scored)
    # A subject with nothing due on any weighted rate is not scored on volume alone.
    if has_rates and all(r.scores[c] is None for c in weights if REGISTRY[c].is_rate):
        return None
    return sum(w * s for w, s in scored) / wsum if wsum else None


def _adjust(r: Row, rules, adj_counts) -> float:
    """The deductions and bonuses of the row's subject (filling ``r.adjustments``), each capped."""
    total_adj = Decimal(0)
    for ak, rule in rules.items():
        n = adj_counts.get(ak, {}).get(r.subject.key, 0)
        if not n:
            continue
        pts = rule.points * n
        if rule.cap is not None:
            pts = max(-rule.cap, min(rule.cap, pts))
        r.adjustments[ak] = {"count": n, "points": float(pts)}
        total_adj += pts
    return float(total_adj)


def evaluate(
    kind: str,
    period: Period,
    version=None,
    *,
    as_of: datetime | None = None,
    with_change: bool = True,
    include_empty: bool = True,
    _measures=None,
    _closed=None,
) -> Evaluation:
    """Compute every subject of a kind under a scheme version (None: indicators only, no scores)."""
    c = Ctx.for_period(period, as_of)
    measures = _measures if _measures is not None else compute_many([kind], c)[kind]
    weights, bands, rules = _version_rules(version, kind)
    subs = subjects(kind, measures.keys())
    keys = list(subs) if include_empty else list(measures)
    rows = [Row(subs[k], measures.get(k, {})) for k in keys]
    codes = [i.code for i in REGISTRY.values() if kind in i.kinds]

    best = {code: max((r.value(code) or 0 for r in rows), default=0) for code in weights}
    adj_counts = adjustment_counts(kind, c, rules.keys(), _closed) if rules else {}
    has_rates = any(REGISTRY[c].is_rate for c in weights)
    for r in rows:
        r.base = _base_score(r, weights, bands, best, has_rates)
        r.adjustment = _adjust(r, rules, adj_counts)
        if r.base is not None:
            r.total = max(0.0, min(100.0, r.base + r.adjustment))
            r.grade = grade_for(r.total)
    rank_rows(rows)

    if with_change and version is not None:
        prev = previous_ranks(kind, period, version, as_of=as_of)
        for r in rows:
            r.prev_rank = prev.get(r.subject.key)
    ranked = sum(r.rank is not None for r in rows)
    return Evaluation(kind, period, version, codes, weights, rows, c.as_of, ranked)


def evaluate_many(
    kinds, period: Period, version=None, *, as_of: datetime | None = None, with_change: bool = True
) -> list[Evaluation]:
    """``evaluate`` for several kinds, sharing the aggregate queries: the indicators of all kinds
    at once (one query per period window), the complaint / self-handled counts in one query, and
    the same for the previous period when ranks must show their change."""
    kinds = list(dict.fromkeys(kinds))
    c = Ctx.for_period(period, as_of)
    measures = compute_many(kinds, c)
    columns = []
    for kind in kinds:
        for ak in _version_rules(version, kind)[2]:
            col = _closed_case_columns(kind, ak)
            if col:
                columns.append(col)
    closed = closed_case_counts(columns, c)
    evals = [
        evaluate(
            kind, period, version, as_of=c.as_of, with_change=False, _measures=measures[kind], _closed=closed
        )
        for kind in kinds
    ]
    if with_change and version is not None:
        prev = {kind: _published_ranks(kind, period, version) for kind in kinds}
        todo = [kind for kind in kinds if prev[kind] is None]
        if todo:
            for ev in evaluate_many(todo, period.previous(), version, as_of=as_of, with_change=False):
                prev[ev.kind] = {r.subject.key: r.rank for r in ev.rows}
        for ev in evals:
            for r in ev.rows:
                r.prev_rank = prev[ev.kind].get(r.subject.key)
    return evals


def _published_ranks(kind: str, period: Period, version) -> dict[str, int | None] | None:
    """The frozen ranks of the period before ``period`` if it was published under this version."""

    prev = period.previous()
    published = Assessment.objects.filter(
        version=version, subject_kind=kind, period_start=prev.start, period_end=prev.end
    ).first()
    if published is None:
        return None
    return dict(published.results.values_list("subject_key", "rank"))


def previous_ranks(kind: str, period: Period, version, *, as_of=None) -> dict[str, int | None]:
    """Ranks of the previous period: the frozen ones if that period was published under this
    version, else computed now."""
    published = _published_ranks(kind, period, version)
    if published is not None:
        return published
    ev = evaluate(kind, period.previous(), version, as_of=as_of, with_change=False)
    return {r.subject.key: r.rank for r in ev.rows}


def default_version():

    scheme = Scheme.objects.filter(region__isnull=True).order_by("code").first() or Scheme.objects.first()
    return scheme.current_version() if scheme else None


def resolve_version(scheme_code: str | None):
    """The active version of a scheme by code (None: the city's default scheme)."""

    if not scheme_code:
        v = default_version()
    else:
        code, _, num = scheme_code.partition("@")
        scheme = Scheme.objects.filter(code=code).first()
        if scheme is None:
            raise NotFound(f"scheme {scheme_code}")
        v = scheme.versions.filter(number=int(num)).first() if num.isdigit() else scheme.current_version()
    if v is None:
        raise NotFound(f"scheme {scheme_code or '(default)'}")
    return (
        SchemeVersion.objects.prefetch_related("weights", "bands", "adjustments")
        .select_related("scheme")
        .get(pk=v.pk)
    )


def now() -> datetime:
    return timezone.now()
