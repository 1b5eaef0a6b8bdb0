"""The one jurisdiction filter (docs/design.md, rule 5).

``scope_for(user)`` turns a user's roles, areas, unit and secondments into a ``Scope``; every
``visible_to(user)`` queryset method builds its filter from it. Objects outside the scope are
answered as missing (404), never as forbidden.

Building a scope takes four queries, and every request needs one, so scopes are kept per process
across requests under the current scope generation (changed by database triggers on every write
to the tables a scope is built from) and the date (assignments start and end by date).

The scope is read from the orgs tables, which this module (below every app) does not import:
orgs registers the builder and the generation reader when the apps load (``register_builder``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .errors import NotFound, PermissionDenied
from .roles import Role

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
        scope = _builder.compute(user)
        with _shared_lock:
            _shared[key] = scope
            if len(_shared) > _SHARED_MAX:
                _shared.popitem(last=False)
    setattr(user, _CACHE_ATTR, scope)
    return scope


@dataclass
class _Builder:
    compute: Callable[[object], Scope] | None = None
    generation: Callable[[], int] | None = None


_builder = _Builder()


def register_builder(compute: Callable[[object], Scope], generation: Callable[[], int]) -> None:
    """Called once by the orgs app: how to build a user's scope and read the scope generation."""
    _builder.compute = compute
    _builder.generation = generation


def current_generation() -> int:
    """The scope generation's value (read on every API request)."""
    return _builder.generation()


def forget_scope(user) -> None:
    """Drop the scope kept on this user object (after a role change within the same request or
    test); the next scope_for reads the generation again, which the change has moved."""
    for attr in (_CACHE_ATTR, GENERATION_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


def is_admin(scope: Scope) -> bool:
    """The system administrator: city-wide master data (catalogue, geography, API clients,
    credit rules, the responsibility matrix) is theirs alone."""
    return Role.ADMIN in scope.roles


def require(actor, allowed: Callable[[Scope], bool], message: str) -> Scope:
    """The actor's scope when the app's policy predicate ``allowed`` lets them act; otherwise
    PermissionDenied with ``message`` (what the actor may not do)."""
    scope = scope_for(actor)
    if not allowed(scope):
        raise PermissionDenied(message)
    return scope


@dataclass(frozen=True)
class ScopeColumns:
    """Where a model's rows sit in a user's scope: a row is visible when any declared column
    matches (each names a lookup path, usually a foreign key).

    ``district``/``street``/``community`` are the denormalised area columns; ``region`` paths point
    at a region of any level (matched against every region inside the user's areas) and
    ``framing_region`` paths at regions whose code frames the user's areas (their ancestors);
    ``units``, ``people``, ``users`` match the units the user acts for, their person and account;
    ``grid_code`` the grids assigned to them. ``public`` rows are seen by every signed-in user (all
    rows with ``everyone``), ``via`` is
    a foreign key to a scoped parent whose visibility the row shares, and ``hook`` names a method
    of the model's queryset, ``(scope, user) -> Q``, for a rule that is truly the model's own.
    ``distinct`` is needed when a path crosses a many-to-many relation (rows would repeat)."""

    district: str | None = None
    street: str | None = None
    community: str | None = None
    region: tuple[str, ...] = ()
    framing_region: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    grid_code: str | None = None
    public: Q | None = None
    everyone: bool = False
    via: str | None = None
    hook: str | None = None
    distinct: bool = False

    def q(self, scope: Scope) -> Q:
        """The match for a user who is neither city-wide nor anonymous (no hook, no via)."""
        q = Q(pk__in=[]) if self.public is None else self.public
        q |= scope.area_q(district=self.district, street=self.street, community=self.community)
        q |= _any_in(self.region, scope.subtree_region_ids)
        q |= _any_in([f"{p}__code" for p in self.framing_region], scope.ancestor_codes)
        q |= _any_in(self.units, scope.unit_ids)
        q |= _any_in(self.grid_code and [self.grid_code], scope.grid_codes)
        q |= _any_in(self.people, scope.person_id and [scope.person_id])
        q |= _any_in(self.users, scope.user_id and [scope.user_id])
        return q


def _any_in(paths, values) -> Q:
    q = Q(pk__in=[])
    if values:
        for path in paths or ():
            q |= Q(**{f"{path}__in": values})
    return q


class ScopedQuerySet(models.QuerySet):
    """The one ``visible_to`` (docs/design.md, rule 5): its model declares ``scope_columns``."""

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.all_city:
            return self
        if not scope.is_authenticated:
            return self.none()
        columns: ScopeColumns = self.model.scope_columns
        if columns.everyone:
            return self
        q = columns.q(scope)
        if columns.via:
            parent = self.model._meta.get_field(columns.via).related_model
            q |= Q(**{f"{columns.via}__in": parent.objects.visible_to(user)})
        if columns.hook:
            q |= getattr(self, columns.hook)(scope, user)
        if columns.distinct:
            return self.filter(pk__in=self.model._base_manager.filter(q).values("pk"))
        return self.filter(q)

    def access(self, user, obj, message: str, *, for_update: bool = False):
        """The row ``obj`` (or its pk) if the user may see it, locked when ``for_update``; missing
        and outside the user's area are both NotFound with ``message``."""
        qs = self.visible_to(user)
        if for_update:
            # Lock only this row: the scope filter may join other tables, which PostgreSQL will
            # not lock on the nullable side of an outer join.
            qs = qs.select_for_update(of=("self",))
        found = qs.filter(pk=getattr(obj, "pk", obj)).first()
        if found is None:
            raise NotFound(message)
        return found
