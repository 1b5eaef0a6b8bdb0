"""Reads of the orgs app that several places use."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from urbangrid.geo.models import UnitGrid
from urbangrid.lib.roles import Role

from .choices import GridDuty
from .models import (
    Equipment,
    FundRecord,
    GridAssignment,
    Person,
    RoleAssignment,
    TrainingCourse,
    TrainingRecord,
)


def _active_q(prefix: str = "", today=None) -> Q:
    today = today or timezone.localdate()
    return (Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": today})) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": today})
    )


def person_for(user) -> Person | None:
    """The active staff record of a signed-in user (cached on the user object)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    cached = getattr(user, "_urbangrid_person", False)
    if cached is not False:
        return cached
    person = Person.objects.select_related("unit", "unit__region").filter(user=user, is_active=True).first()
    user._urbangrid_person = person
    return person


def grid_people(grid_code: str, duty: str | None = None, on=None) -> QuerySet[Person]:
    """Active people named for a grid (any duty, or one duty) on a date (default today)."""
    qs = GridAssignment.objects.filter(_active_q(today=on), grid_code=grid_code)
    if duty:
        qs = qs.filter(duty=duty)
    return Person.objects.filter(is_active=True, id__in=qs.values("person_id")).select_related("unit", "user")


def grid_supervisors(grid_code: str, on=None) -> QuerySet[Person]:
    """The comprehensive supervisors (城市综合监管员) named for the grid."""
    return grid_people(grid_code, GridDuty.SUPERVISOR, on)


def grid_officers(grid_code: str, on=None) -> QuerySet[Person]:
    """The enforcement officers (执法人员) named for the grid."""
    return grid_people(grid_code, GridDuty.ENFORCEMENT, on)


def people_with_role(role: str, region=None, *, exact: bool = False) -> QuerySet[Person]:
    """Active people holding ``role`` over ``region``.

    Without ``exact`` a role over an enclosing area counts too (a district dispatcher serves every
    street of the district) and a role with no region (whole city) always counts."""
    qs = RoleAssignment.objects.filter(_active_q(), role=role)
    if region is not None:
        if exact:
            qs = qs.filter(region=region)
        else:
            chain = [region.pk] + [a.pk for a in region.ancestors()]
            qs = qs.filter(Q(region__isnull=True) | Q(region_id__in=chain))
    return (
        Person.objects.filter(is_active=True, id__in=qs.values("person_id"))
        .select_related("unit", "user")
        .order_by("id")
    )


def grids_without_supervisor(region=None) -> list[str]:
    """Codes of current grids (in a region's subtree) with no active supervisor: a coverage gap."""

    grids = UnitGrid.objects.current()
    if region is not None:
        grids = grids.filter(Q(community=region) | Q(street=region) | Q(district=region))
    covered = GridAssignment.objects.filter(
        _active_q(), duty=GridDuty.SUPERVISOR, person__is_active=True
    ).values("grid_code")
    return list(grids.exclude(code__in=covered).order_by("code").values_list("code", flat=True))


def person_grids(person: Person, on=None) -> list[str]:
    return list(
        GridAssignment.objects.filter(_active_q(today=on), person=person)
        .order_by("grid_code")
        .values_list("grid_code", flat=True)
        .distinct()
    )


# ---------------------------------------------------------------- training and resources
def _grid_worker_ids(region=None):
    qs = RoleAssignment.objects.filter(_active_q(), role=Role.GRID_WORKER, person__is_active=True)
    if region is not None:
        qs = qs.filter(region__code__startswith=region.code)
    return qs.values("person_id")


def trained_person_ids(course=None):
    """Ids of people who passed ``course`` (or, without one, every course required of grid workers)."""

    passed = TrainingRecord.objects.filter(passed=True, session__course__is_active=True)
    if course is not None:
        return passed.filter(session__course=course).values("person_id")
    required = TrainingCourse.objects.filter(is_active=True, required_for_grid_workers=True).count()
    return (
        passed.filter(session__course__required_for_grid_workers=True)
        .values("person_id")
        .annotate(n=Count("session__course", distinct=True))
        .filter(n__gte=required)
        .values("person_id")
    )


def untrained_workers(user=None, region=None, course=None) -> QuerySet[Person]:
    """Grid workers (in ``region``, visible to ``user``) who have not passed the required training."""
    qs = Person.objects.filter(id__in=_grid_worker_ids(region)).exclude(id__in=trained_person_ids(course))
    if user is not None:
        qs = qs.filter(id__in=Person.objects.visible_to(user).values("id"))
    return qs.select_related("user", "unit").order_by("user__username")


def grids_with_untrained_workers(user=None, region=None, course=None) -> dict[str, list[int]]:
    """Grid code → ids of its named supervisors who are untrained (a grid to flag)."""
    untrained = untrained_workers(user, region, course).values("id")
    rows = GridAssignment.objects.filter(_active_q(), duty=GridDuty.SUPERVISOR, person_id__in=untrained)
    out: dict[str, list[int]] = {}
    for code, pid in rows.order_by("grid_code").values_list("grid_code", "person_id"):
        out.setdefault(code, []).append(pid)
    return out


def funds_summary(user, start=None, end=None):
    """Spending per unit and category in a period, summed in the database."""

    qs = FundRecord.objects.visible_to(user)
    if start:
        qs = qs.filter(spent_on__gte=start)
    if end:
        qs = qs.filter(spent_on__lte=end)
    return list(
        qs.values("unit__code", "unit__name", "category")
        .annotate(total=Sum("amount"))
        .order_by("unit__code", "category")
    )


def equipment_summary(user):

    return list(
        Equipment.objects.visible_to(user)
        .filter(returned_on__isnull=True)
        .values("unit__code", "unit__name", "kind")
        .annotate(n=Count("id"), value=Sum("value"))
        .order_by("unit__code", "kind")
    )
