"""Reads of the orgs app that several places use."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from .choices import GridDuty
from .models import GridAssignment, Person, RoleAssignment


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
    from urbangrid.geo.models import UnitGrid

    grids = UnitGrid.objects.current()
    if region is not None:
        grids = grids.filter(Q(community=region) | Q(street=region) | Q(district=region))
    covered = GridAssignment.objects.filter(_active_q(), duty=GridDuty.SUPERVISOR, person__is_active=True).values(
        "grid_code"
    )
    return list(grids.exclude(code__in=covered).order_by("code").values_list("code", flat=True))


def person_grids(person: Person, on=None) -> list[str]:
    return list(
        GridAssignment.objects.filter(_active_q(today=on), person=person).order_by("grid_code")
        .values_list("grid_code", flat=True).distinct()
    )
