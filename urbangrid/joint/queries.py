"""Reads of the joint app: which cases fall inside a campaign, the campaign's figures (one grouped
aggregate each), cases that should go to consultation, and agenda proposals for joint meetings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from urbangrid.cases.models import Case

from .choices import MEASURED_METRICS, ConsultationState, TargetMetric, TaskState
from .models import Consultation

# Cases that never became real problems are not counted in a campaign.
EXCLUDED_STATES = ("rejected", "cancelled")
# Open states in which a unit holds the case (overdue = past its handling deadline).
HANDLING_STATES = ("pending_handle", "handling")


def day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def campaign_area_q(campaign) -> Q:
    """Cases inside the campaign's areas (any level)."""
    by_level: dict[int, list[int]] = {1: [], 2: [], 3: [], 4: []}
    for region_id, level in campaign.regions.values_list("id", "level"):
        by_level.setdefault(level, []).append(region_id)
    if by_level[1]:
        return Q()
    area = Q(pk__in=[])
    if by_level[2]:
        area |= Q(district_id__in=by_level[2])
    if by_level[3]:
        area |= Q(street_id__in=by_level[3])
    if by_level[4]:
        area |= Q(community_id__in=by_level[4])
    return area


def campaign_auto_q(campaign) -> Q:
    """Cases inside the campaign's areas (at any level), of its classes (all if none), reported
    between its start and end dates (inclusive, local time)."""
    q = campaign_area_q(campaign) & Q(
        reported_at__gte=day_start(campaign.start_date),
        reported_at__lt=day_start(campaign.end_date + timedelta(days=1)),
    )
    class_ids = list(campaign.problem_classes.values_list("id", flat=True))
    if class_ids:
        q &= Q(problem_class_id__in=class_ids)
    return q


def campaign_cases(campaign):
    """Every case counted in the campaign: automatically matched or linked by hand."""

    manual = Q(id__in=campaign.case_links.values("case_id"))
    return (
        Case.objects.filter(campaign_auto_q(campaign) | manual)
        .exclude(state__in=EXCLUDED_STATES)
        .filter(duplicate_of__isnull=True)
    )


def on_time_q() -> Q:
    """Closed, and handled (reported back, or closed when fixed on the spot) by the handling deadline."""
    return Q(state="closed") & (
        Q(handle_due_at__isnull=True)
        | Q(handled_at__isnull=False, handled_at__lte=F("handle_due_at"))
        | Q(handled_at__isnull=True, closed_at__lte=F("handle_due_at"))
    )


def case_figures(cases, now=None) -> dict:
    now = now or timezone.now()
    return cases.aggregate(
        found=Count("id"),
        closed=Count("id", filter=Q(state="closed")),
        on_time=Count("id", filter=on_time_q()),
        open=Count("id", filter=~Q(state__in=("closed", "shelved"))),
        shelved=Count("id", filter=Q(state="shelved")),
        overdue_open=Count("id", filter=Q(state__in=HANDLING_STATES, handle_due_at__lt=now)),
        joint=Count("id", filter=Q(is_joint=True)),
    )


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def campaign_summary(campaign, now=None) -> dict:
    """The campaign's figures: cases found/closed/on time, per-unit task completion, targets."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    cases = campaign_cases(campaign)
    figures = case_figures(cases, now)
    figures["close_rate"] = rate(figures["closed"], figures["found"])
    figures["on_time_rate"] = rate(figures["on_time"], figures["closed"])
    by_class = list(
        cases.values("problem_class__code", "problem_class__name")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(state="closed")))
        .order_by("-n")[:10]
    )
    by_street = list(
        cases.values("street__name")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(state="closed")))
        .order_by("-n")[:20]
    )
    units = list(
        campaign.tasks.values("unit_id", "unit__name")
        .annotate(
            tasks=Count("id"),
            done=Count("id", filter=Q(state=TaskState.DONE)),
            reported=Count("id", filter=Q(state=TaskState.REPORTED)),
            late=Count("id", filter=~Q(state=TaskState.DONE) & Q(due_date__lt=today)),
            quantity=Coalesce(Sum("quantity"), 0),
        )
        .order_by("unit__name")
    )
    for u in units:
        u["completion"] = rate(u["done"], u["tasks"])
    reported_total = sum(u["quantity"] for u in units)
    measured = {
        TargetMetric.CASES_FOUND: figures["found"],
        TargetMetric.CASES_CLOSED: figures["closed"],
        TargetMetric.CASES_ON_TIME: figures["on_time"],
    }
    targets = []
    for t in campaign.targets.all():
        actual = measured[t.metric] if t.metric in MEASURED_METRICS else reported_total
        targets.append(
            {
                "id": t.pk,
                "name": t.name,
                "metric": t.metric,
                "target": t.target_value,
                "actual": actual,
                "achieved": actual >= t.target_value,
                "percent": rate(actual, t.target_value),
            }
        )
    return {
        "cases": figures,
        "by_class": by_class,
        "by_street": by_street,
        "units": units,
        "targets": targets,
        "targets_achieved": sum(1 for t in targets if t["achieved"]),
        "computed_at": now.isoformat(),
    }


def consultation_candidates(user, limit: int = 100):
    """Open cases whose responsibility is disputed (returned twice or more) with no open consultation."""

    open_ones = Consultation.objects.open().values("case_id")
    return (
        Case.objects.visible_to(user)
        .open()
        .filter(return_count__gte=2)
        .exclude(id__in=open_ones)
        .select_related("problem_class", "street", "assigned_unit")
        .order_by("-return_count", "reported_at")[:limit]
    )


def agenda_proposals(user, *, region=None, limit: int = 30, now=None) -> list[dict]:
    """Proposed agenda items for a joint meeting: disputed cases (open consultations or returned
    twice) first, then the most overdue cases in handling."""

    now = now or timezone.now()
    cases = Case.objects.visible_to(user).open()
    if region is not None:
        cases = cases.filter(Q(district=region) | Q(street=region) | Q(community=region))
    items: list[dict] = []
    seen: set[int] = set()
    consults = (
        Consultation.objects.visible_to(user)
        .open()
        .filter(case__in=cases)
        .select_related("case", "case__problem_class")
        .order_by("opened_at")[:limit]
    )
    for c in consults:
        seen.add(c.case_id)
        items.append({"reason": "disputed", "case": c.case, "consultation": c, "detail": c.reason[:80]})
    for case in (
        cases.filter(return_count__gte=2).exclude(id__in=seen).select_related("problem_class")[:limit]
    ):
        seen.add(case.pk)
        items.append({"reason": "disputed", "case": case, "consultation": None, "detail": ""})
    overdue = (
        cases.filter(state__in=HANDLING_STATES, handle_due_at__lt=now)
        .exclude(id__in=seen)
        .select_related("problem_class", "assigned_unit")
        .order_by("handle_due_at")[: max(0, limit - len(items))]
    )
    for case in overdue:
        items.append(
            {"reason": "overdue", "case": case, "consultation": None, "detail": str(case.assigned_unit or "")}
        )
    return items[:limit]


def open_consultation_states():
    return [ConsultationState.OPEN, ConsultationState.SCHEDULED, ConsultationState.DECIDED]
