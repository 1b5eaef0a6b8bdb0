"""Reads of the credit app: the score aggregate, list rules, repair eligibility, the flags a case
page shows for the subjects it names, and the public dishonest list.

The score formula is documented on CreditRuleSet; it is computed in the database as one grouped
aggregate over violations (no per-violation Python loop), for one subject or all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, Count, F, FloatField, Max, Q, Sum, Value, When
from django.db.models.functions import Cast, Greatest, Power
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.lib.access import scope_for

from . import policy
from .choices import DecayMode, ListKind, ListRule, PenaltyState, Severity, ViolationKind, ViolationState
from .models import CaseSubject, CreditRuleSet, ListEntry, Penalty, RulePoints, Violation

# Defaults of a new rule set: points per severity, scaled per kind (street-level disorder weighs
# less than illegal construction or obstructing enforcement).
SEVERITY_POINTS = {Severity.MINOR: 2, Severity.GENERAL: 5, Severity.SERIOUS: 12, Severity.GRAVE: 30}
KIND_FACTOR = {
    "illegal_construction": Decimal("1.5"),
    "obstructing": Decimal("2"),
    "illegal_parking": Decimal("0.5"),
}


def active_rule_set():
    """The active rule set; a default one is created (with its points table) on first use."""

    rules = CreditRuleSet.objects.filter(is_active=True).prefetch_related("points").first()
    if rules is not None:
        return rules

    rules = CreditRuleSet.objects.create(name="默认信用评分规则", is_active=True)
    RulePoints.objects.bulk_create(
        RulePoints(
            rule_set=rules,
            kind=kind,
            severity=sev,
            points=(Decimal(pts) * KIND_FACTOR.get(kind, Decimal(1))).quantize(Decimal("0.01")),
        )
        for kind in ViolationKind.values
        for sev, pts in SEVERITY_POINTS.items()
    )
    return CreditRuleSet.objects.prefetch_related("points").get(pk=rules.pk)


def deduction_expression(rules, as_of: date):
    """Per-violation deduction on day ``as_of`` as a database expression (see CreditRuleSet)."""
    day = as_of.toordinal()
    whens = [When(kind=p.kind, severity=p.severity, then=Value(float(p.points))) for p in rules.points.all()]
    points = Case(*whens, default=Value(0.0), output_field=FloatField())
    age = Cast(Value(day) - F("occurred_day"), FloatField())
    if rules.decay_mode == DecayMode.HALF_LIFE:
        decay = Power(Value(0.5), age / Value(float(rules.half_life_days)))
    elif rules.decay_mode == DecayMode.LINEAR:
        decay = Greatest(Value(0.0), Value(1.0) - age / Value(float(rules.linear_months * 30)))
    else:
        decay = Value(1.0)
    repair = Case(
        When(repaired_day__isnull=False, repaired_day__lte=day, then=Value(float(rules.repaired_weight))),
        default=Value(1.0),
        output_field=FloatField(),
    )
    return points * decay * repair


def counted_violations(as_of: date):

    return Violation.objects.filter(state=ViolationState.CONFIRMED, occurred_day__lte=as_of.toordinal())


def _to_score(rules, deduction: float | None) -> Decimal:
    score = Decimal(rules.base_score) - Decimal(str(deduction or 0))
    score = max(Decimal(0), min(Decimal(rules.base_score), score))
    return score.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def scores(subject_ids=None, as_of: date | None = None, rules=None) -> dict[int, Decimal]:
    """{subject_id: score on as_of} for subjects with counted violations (others have the base
    score). One grouped aggregate query."""
    rules = rules or active_rule_set()
    as_of = as_of or timezone.localdate()
    qs = counted_violations(as_of)
    if subject_ids is not None:
        qs = qs.filter(subject_id__in=subject_ids)
    rows = qs.values("subject_id").annotate(deduction=Sum(deduction_expression(rules, as_of))).order_by()
    return {r["subject_id"]: _to_score(rules, r["deduction"]) for r in rows}


def score_of(subject, as_of: date | None = None, rules=None) -> Decimal:
    rules = rules or active_rule_set()
    return scores([subject.pk], as_of, rules).get(
        subject.pk, Decimal(rules.base_score).quantize(Decimal("0.01"))
    )


@dataclass
class ListDecision:
    list_kind: str
    rule: str
    detail: str


def list_decisions(subject, as_of: date, rules, score: Decimal, skip=()) -> list[ListDecision]:
    """Which lists the subject should enter on as_of and by which rule. Only violations after the
    subject last left that list count: a repaired subject re-enters only with a new violation.
    Lists in ``skip`` (those the subject is on already) are not decided: that saves the daily
    sweep its queries for subjects already listed."""

    kinds = [k for k in (ListKind.DISHONEST, ListKind.WATCH) if k not in skip]
    if not kinds:
        return []
    decisions: list[ListDecision] = []
    last_exit = dict(
        ListEntry.objects.filter(subject=subject, removed_on__isnull=False, removed_on__lte=as_of)
        .values("list_kind")
        .annotate(last=Max("removed_on"))
        .values_list("list_kind", "last")
    )
    # Lists left on the same day (or never) count the same violations: one aggregate serves both.
    by_since: dict = {}
    for kind in kinds:
        since = last_exit.get(kind)
        if since not in by_since:
            new = counted_violations(as_of).filter(subject=subject)
            if since is not None:
                new = new.filter(occurred_on__gt=since)
            by_since[since] = new.aggregate(
                n=Count("id", distinct=True),
                grave=Count("id", distinct=True, filter=Q(severity=Severity.GRAVE)),
                recent=Count(
                    "id",
                    distinct=True,
                    filter=Q(occurred_day__gt=as_of.toordinal() - rules.repeat_window_days),
                ),
                overdue=Count("penalties", distinct=True, filter=Q(penalties__state=PenaltyState.OVERDUE)),
            )
        stats = by_since[since]
        if not stats["n"]:
            continue
        if kind == ListKind.DISHONEST:
            overdue = stats["overdue"]
            if score < rules.dishonest_threshold:
                decisions.append(
                    ListDecision(
                        kind, ListRule.SCORE_BELOW_DISHONEST, f"{score} < {rules.dishonest_threshold}"
                    )
                )
            elif rules.grave_to_dishonest and stats["grave"]:
                decisions.append(ListDecision(kind, ListRule.GRAVE, str(stats["grave"])))
            elif overdue:
                decisions.append(ListDecision(kind, ListRule.PENALTY_UNFULFILLED, str(overdue)))
        else:
            if score < rules.watch_threshold:
                decisions.append(
                    ListDecision(kind, ListRule.SCORE_BELOW_WATCH, f"{score} < {rules.watch_threshold}")
                )
            elif stats["recent"] >= rules.repeat_count:
                decisions.append(
                    ListDecision(kind, ListRule.REPEAT, f"{stats['recent']} / {rules.repeat_window_days}")
                )
    return decisions


@dataclass
class RepairCheck:
    eligible: bool
    clean_since: date | None
    eligible_on: date | None
    open_penalties: int
    reasons: list[str] = field(default_factory=list)


def repair_check(subject, as_of: date, rules) -> RepairCheck:
    """A subject may be repaired when every penalty is fulfilled (rectified) and it has stayed
    clean for rules.repair_clean_days since the later of its last violation and last fulfilment."""

    violations = counted_violations(as_of).filter(subject=subject)
    last_violation = violations.aggregate(m=Max("occurred_on"))["m"]
    penalties = Penalty.objects.filter(violation__in=violations).exclude(state=PenaltyState.REVOKED)
    agg = penalties.aggregate(
        open=Count("id", filter=Q(state__in=[PenaltyState.ISSUED, PenaltyState.OVERDUE])),
        last_fulfilled=Max("fulfilled_on", filter=Q(fulfilled_on__lte=as_of)),
    )
    marks = [d for d in (last_violation, agg["last_fulfilled"]) if d is not None]
    clean_since = max(marks) if marks else None
    eligible_on = clean_since + timedelta(days=rules.repair_clean_days) if clean_since else None
    reasons = []
    if agg["open"]:
        reasons.append(_("%(n)s penalty decision(s) not yet fulfilled") % {"n": agg["open"]})
    if eligible_on and eligible_on > as_of:
        reasons.append(_("must stay clean until %(day)s") % {"day": eligible_on.isoformat()})
    return RepairCheck(not reasons, clean_since, eligible_on, agg["open"], reasons)


def subject_flags_for_case(case) -> list[dict]:
    """For the case page (console): each subject named on ``case`` with its earlier violations
    (before the case was reported, other cases), whether it is a repeat offender, its current
    score and the lists it is on. One query for the subjects, one grouped query for the counts."""

    links = list(CaseSubject.objects.filter(case=case).select_related("subject"))
    if not links:
        return []
    ids = [link.subject_id for link in links]
    cutoff = timezone.localdate(case.reported_at) if case.reported_at else timezone.localdate()
    earlier = dict(
        counted_violations(cutoff)
        .filter(subject_id__in=ids)
        .exclude(case=case)
        .values("subject_id")
        .annotate(n=Count("id"))
        .values_list("subject_id", "n")
    )
    lists: dict[int, list[str]] = {}
    for subject_id, kind in (
        ListEntry.objects.active().filter(subject_id__in=ids).values_list("subject_id", "list_kind")
    ):
        lists.setdefault(subject_id, []).append(kind)
    out = []
    for link in links:
        s = link.subject
        n = earlier.get(s.pk, 0)
        out.append(
            {
                "subject_id": s.pk,
                "name": s.name,
                "kind": s.kind,
                "earlier_violations": n,
                "repeat_offender": n > 0,
                "score": s.score,
                "lists": sorted(lists.get(s.pk, [])),
            }
        )
    return out


def public_list(kind: str = ListKind.DISHONEST):
    """Published active entries of a list, for the public page (mask names before showing)."""

    return (
        ListEntry.objects.active()
        .filter(list_kind=kind, published=True)
        .select_related("subject", "subject__region")
        .order_by("-entered_on", "-id")
    )


def can_see_identity(user) -> bool:
    """Whether the user sees full identity numbers and phones (credit policy)."""
    return policy.can_see_identity(scope_for(user))
