"""The one jurisdiction filter (docs/design.md, rule 5).

``scope_for(user)`` turns a user's roles, areas, unit and secondments into a ``Scope``; every
``visible_to(user)`` queryset method builds its filter from it. Objects outside the scope are
answered as missing (404), never as forbidden.

Building a scope takes four queries, and every request needs one, so scopes are kept per process
across requests under the current ``ScopeGeneration`` value (changed by database triggers on every
write to the tables a scope is built from) and the date (assignments start and end by date).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .choices import UNIT_ROLES, Role

_CACHE_ATTR = "_urbangrid_scope"


@dataclass(frozen=True)
class Scope:
    user_id: int | None = None
    person_id: int | None = None
    roles: frozenset[str] = frozenset()
    all_city: bool = False
    # Codes of the regions where the user holds an area role (any level) and of their ancestors.
    region_codes: tuple[str, ...] = ()
    ancestor_codes: tuple[str, ...] = ()
    district_ids: frozenset[int] = frozenset()
    street_ids: frozenset[int] = frozenset()
    community_ids: frozenset[int] = frozenset()
    # Every region id inside the user's areas (for objects carrying a single region FK).
    subtree_region_ids: frozenset[int] = frozenset()
    # Units the person acts for: their own and the hosts of running secondments.
    unit_ids: frozenset[int] = frozenset()
    grid_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has_role(self, *roles: str) -> bool:
        return self.all_city and Role.ADMIN in self.roles or bool(self.roles.intersection(roles))

    def area_q(
        self,
        *,
        district: str | None = None,
        street: str | None = None,
        community: str | None = None,
        region: str | None = None,
    ) -> Q:
        """A Q matching rows inside the user's areas, given the names of the row's FK columns.

        Pass the district/street/community FK columns for denormalised rows (cases, grids) or one
        ``region`` column for rows that point at a single region of any level.
        """
        if self.all_city:
            return Q()
        q = Q(pk__in=[])
        if district and self.district_ids:
            q |= Q(**{f"{district}__in": self.district_ids})
        if street and self.street_ids:
            q |= Q(**{f"{street}__in": self.street_ids})
        if community and self.community_ids:
            q |= Q(**{f"{community}__in": self.community_ids})
        if region and self.subtree_region_ids:
            q |= Q(**{f"{region}__in": self.subtree_region_ids})
        return q


EMPTY_SCOPE = Scope()


class _SystemActor:
    """The actor of management commands and seed loaders (no account; audit shows no user)."""

    pk = None
    is_authenticated = True
    is_superuser = True

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _SystemActor()
SYSTEM_SCOPE = Scope(roles=frozenset({Role.ADMIN}), all_city=True)


# Token auth reads the generation in its own query and leaves it on the user object.
GENERATION_ATTR = "_urbangrid_scope_generation"
_SHARED_MAX = 20_000
_shared: OrderedDict[tuple, Scope] = OrderedDict()
_shared_lock = threading.Lock()


def _active(qs, today: date):
    return qs.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today)).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )


def scope_for(user) -> Scope:
    """The user's scope: kept on the user object for the request, and per process across requests
    while the scope generation and the date stay the same."""
    if user is SYSTEM:
        return SYSTEM_SCOPE
    if user is None or not getattr(user, "is_authenticated", False):
        return EMPTY_SCOPE
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    generation = getattr(user, GENERATION_ATTR, None)
    if generation is None:
        generation = current_generation()
    key = (user.pk, bool(user.is_superuser), generation, timezone.localdate())
    with _shared_lock:
        scope = _shared.get(key)
        if scope is not None:
            _shared.move_to_end(key)
    if scope is None:
        scope = _compute_scope(user)
        with _shared_lock:
            _shared[key] = scope
            if len(_shared) > _SHARED_MAX:
                _shared.popitem(last=False)
    setattr(user, _CACHE_ATTR, scope)
    return scope


def current_generation() -> int:
    """The scope generation's value (read on every API request: plain SQL, no ORM compilation)."""
    from .models import ScopeGeneration

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {ScopeGeneration._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else 0


def forget_scope(user) -> None:
    """Drop the scope kept on this user object (after a role change within the same request or
    test); the next scope_for reads the generation again, which the change has moved."""
    for attr in (_CACHE_ATTR, GENERATION_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


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


def _compute_scope(user) -> Scope:
    from urbangrid.geo.models import Region

    from .models import GridAssignment, Person, RoleAssignment, Secondment

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


__all__ = ["Scope", "scope_for", "forget_scope", "EMPTY_SCOPE", "SYSTEM"]
