"""How a user's ``Scope`` is built from the organisation's tables; registered with
``urbangrid.lib.access`` when the app loads (see apps.py), which caches what this builds."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from urbangrid.geo.models import Region
from urbangrid.lib.access import Scope
from urbangrid.lib.roles import UNIT_ROLES, Role

from .models import GridAssignment, Person, RoleAssignment, ScopeGeneration, Secondment


def current_generation() -> int:
    """The scope generation's value (read on every API request: plain SQL, no ORM compilation)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {ScopeGeneration._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else 0


def _active(qs, today: date):
    return qs.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today)).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )


def _loaded_person(user, person_model):
    """The active Person already loaded onto this user object in this request (token auth
    selects it with the user), so the scope need not read it again; None when not loaded."""
    rel = person_model._meta.get_field("user").remote_field
    if not rel.is_cached(user):
        return None
    person = rel.get_cached_value(user)
    if person is None or not person.is_active or person.user_id != user.pk:
        return None
    return person


def compute_scope(user) -> Scope:
    """The user's scope read from their person record, role and grid assignments and
    secondments (four queries; lib.access caches the result)."""
    today = timezone.localdate()
    person = _loaded_person(user, Person)
    if person is None:
        person = Person.objects.filter(user=user, is_active=True).first()
    if person is None:
        # A superuser without a staff record administers the whole city.
        if user.is_superuser:
            return Scope(user_id=user.pk, roles=frozenset({Role.ADMIN}), all_city=True)
        return Scope(user_id=user.pk)

    # The region's parents come along in the same query: ancestors() below walks them (a region
    # is at most four levels deep), which otherwise costs one query per level and area.
    assignments = list(
        _active(RoleAssignment.objects.filter(person=person), today).select_related(
            "region__parent__parent__parent"
        )
    )
    roles = frozenset(a.role for a in assignments)
    all_city = user.is_superuser or any(
        a.role not in UNIT_ROLES and (a.region is None or a.region.level <= 1) for a in assignments
    )
    areas = [a.region for a in assignments if a.region is not None and a.region.level > 1]
    region_codes = tuple(sorted({r.code for r in areas}))
    by_level: dict[int, set[int]] = {2: set(), 3: set(), 4: set()}
    for r in areas:
        by_level[r.level].add(r.id)

    subtree_ids: frozenset[int] = frozenset()
    ancestor_codes: tuple[str, ...] = ()
    if region_codes and not all_city:
        q = Q()
        for code in region_codes:
            q |= Q(code__startswith=code)
        subtree_ids = frozenset(Region.objects.filter(q).order_by().values_list("id", flat=True))
        ancestors = {anc.code for r in areas for anc in r.ancestors()}
        ancestor_codes = tuple(sorted(ancestors))

    seconded_to = Secondment.objects.filter(person=person, start__lte=today).filter(
        Q(end__isnull=True) | Q(end__gte=today)
    )
    unit_ids = frozenset({person.unit_id, *seconded_to.values_list("to_unit_id", flat=True)})
    grid_codes = frozenset(
        _active(GridAssignment.objects.filter(person=person), today).values_list("grid_code", flat=True)
    )
    if user.is_superuser:
        roles = roles | {Role.ADMIN}
    return Scope(
        user_id=user.pk,
        person_id=person.pk,
        roles=roles,
        all_city=all_city,
        region_codes=region_codes,
        ancestor_codes=ancestor_codes,
        district_ids=frozenset(by_level[2]),
        street_ids=frozenset(by_level[3]),
        community_ids=frozenset(by_level[4]),
        subtree_region_ids=subtree_ids,
        unit_ids=unit_ids,
        grid_codes=grid_codes,
    )
