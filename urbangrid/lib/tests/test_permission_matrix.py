"""The permission matrix, generated: every model with declared scope columns × every role ×
read and write (docs/design.md, rule 5).

Read: ``visible_to`` returns exactly the rows the declared columns place in the user's scope,
worked out here row by row in Python (following each column's path through the objects) rather
than by the SQL under test. Write: fetching a row for update through ``access`` returns the rows in
scope and answers every other row as missing (NotFound), like a row that does not exist.

The world is the small demo city with a few days of every demo history and some evaluation rows,
built once for this module and rolled back at its end. ``test_the_world_tells_every_model_apart``
makes sure the matrix really checks: for every model some persona sees some rows and not others.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from urbangrid.conftest import DemoCity, _city_present, build_test_city, history_end
from urbangrid.lib.access import forget_scope, scope_for
from urbangrid.lib.errors import NotFound
from urbangrid.lib.roles import Role

SCOPED_MODELS = sorted(
    (m for m in apps.get_models() if hasattr(m, "scope_columns")), key=lambda m: m._meta.label
)
# One persona per role inside one street (city-level roles see the whole city: that is checked too).
ROLES = list(Role.values)
SAMPLE = 60


def _build_street_sweeps(city: DemoCity) -> None:
    """The patrol history's sweeps cover the whole city; a street's own sweep is seen only there."""
    from urbangrid.patrol.actions import do_create_campaign

    today = timezone.localdate()
    for i in (1, 2):
        do_create_campaign(
            city.user(Role.CITY_LEADER),
            name=f"sweep {i}",
            region=city.street(i),
            start_date=today,
            end_date=today,
        )


def _build_evaluation_rows(city: DemoCity) -> None:
    from urbangrid.evaluation import actions
    from urbangrid.evaluation.periods import Period
    from urbangrid.evaluation.scoring import resolve_version

    admin = city.user(Role.ADMIN)
    deadline = timezone.now() + timedelta(days=3)
    street_units = [city.street_unit(city.street(i)) for i in (1, 2)]
    for unit in street_units:
        order = actions.do_issue_order(admin, unit=unit, title="x", body="y", deadline=deadline)
        actions.do_record_accountability(admin, kind="reminder", reason="z", unit=unit, orders=[order])
    last_month = Period.parse(timezone.localdate(history_end() - timedelta(days=40)).strftime("%Y-%m"))
    this_month = Period.parse(timezone.localdate(history_end()).strftime("%Y-%m"))
    actions.do_publish(admin, resolve_version(None), "unit", last_month)
    for i in (1, 2):
        street = city.street(i)
        actions.do_request_report(admin, region=street, period=last_month, version=resolve_version(None))
        inspector = city.person(Role.GRID_WORKER, street=i)
        actions.do_start_spot_check(
            admin, region=street, period=this_month, sample_size=1, inspector=inspector
        )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The demo city with its histories, inside one transaction rolled back after the module."""
    from urbangrid.demo.cases import build_history as cases_history
    from urbangrid.demo.credit import build_history as credit_history
    from urbangrid.demo.joint import build_history as joint_history
    from urbangrid.demo.patrol import build_history as patrol_history

    with django_db_blocker.unblock(), transaction.atomic():
        if not _city_present():
            build_test_city()
        city = DemoCity()
        end = history_end()
        cases_history(days=3, seed=3, end=end)
        patrol_history(days=3, seed=5, end=end)
        joint_history(days=5, seed=3, end=end)
        credit_history(days=5, seed=3, end=end)
        _build_street_sweeps(city)
        _build_evaluation_rows(city)
        yield city
        transaction.set_rollback(True)


def _persona(city: DemoCity, role: str):
    try:
        return city.user(role, street=1)
    except LookupError:
        return city.user(role)


def _values(obj, path: str) -> set:
    """The values at the end of a lookup path (foreign keys and many-to-many followed)."""
    objs = [obj]
    for part in path.split("__"):
        step = []
        for o in objs:
            field = o._meta.get_field(part)
            if field.many_to_many or field.one_to_many:
                step.extend(getattr(o, field.name).all())
            else:
                step.append(getattr(o, field.name))
        objs = [o for o in step if o is not None]
    return {o.pk if isinstance(o, models.Model) else o for o in objs}


def _in_scope(obj, scope, user) -> bool:
    """Whether the declared columns place ``obj`` in the scope, evaluated on the object."""
    if scope.all_city:
        return True
    if not scope.is_authenticated:
        return False
    columns = type(obj).scope_columns
    if columns.everyone:
        return True
    manager = type(obj)._base_manager
    if columns.public is not None and manager.filter(columns.public, pk=obj.pk).exists():
        return True
    if columns.hook:
        hook_q = getattr(type(obj).objects.all(), columns.hook)(scope, user)
        if manager.filter(hook_q, pk=obj.pk).exists():
            return True
    if columns.via and _in_scope(getattr(obj, columns.via), scope, user):
        return True
    matches = [
        (columns.district and [columns.district], scope.district_ids),
        (columns.street and [columns.street], scope.street_ids),
        (columns.community and [columns.community], scope.community_ids),
        (columns.region, scope.subtree_region_ids),
        ([f"{p}__code" for p in columns.framing_region], scope.ancestor_codes),
        (columns.units, scope.unit_ids),
        (columns.grid_code and [columns.grid_code], scope.grid_codes),
        (columns.people, {scope.person_id} - {None}),
        (columns.users, {scope.user_id} - {None}),
    ]
    return any(_values(obj, path) & set(values) for paths, values in matches for path in paths or ())


def _sample(model) -> list:
    """At most SAMPLE rows spread over the table (the oracle walks each row's paths)."""
    pks = list(model._base_manager.order_by("pk").values_list("pk", flat=True))
    step = max(1, len(pks) // SAMPLE)
    return list(model._base_manager.in_bulk(pks[::step]).values())


def _expected_and_visible(model, user):
    """The sampled rows the columns place in the user's scope, and those visible_to returns."""
    scope = scope_for(user)
    rows = _sample(model)
    expected = {obj.pk for obj in rows if _in_scope(obj, scope, user)}
    visible = model.objects.visible_to(user).filter(pk__in=[obj.pk for obj in rows])
    return expected, set(visible.values_list("pk", flat=True))


def _check_write(model, user, expected: set) -> None:
    """Rows in scope are fetched for update; rows outside it and a missing row are NotFound."""
    pks = sorted(obj.pk for obj in _sample(model))
    inside = [pk for pk in pks if pk in expected][:3]
    outside = [pk for pk in pks if pk not in expected][:3]
    for pk in inside:
        assert model.objects.access(user, pk, "x", for_update=True).pk == pk
    missing = (model._base_manager.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for pk in [*outside, missing]:
        with pytest.raises(NotFound):
            model.objects.access(user, pk, "x", for_update=True)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["read", "write"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_matrix(world, model, role, action):
    user = _persona(world, role)
    expected, visible = _expected_and_visible(model, user)
    if action == "read":
        assert visible == expected, f"sees {sorted(visible - expected)}, misses {sorted(expected - visible)}"
    else:
        _check_write(model, user, expected)


@pytest.mark.django_db
def test_anonymous_sees_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    for model in SCOPED_MODELS:
        assert not model.objects.visible_to(AnonymousUser()).exists(), model


@pytest.mark.django_db
def test_the_world_tells_every_model_apart(world):
    """Every model has rows one persona sees and rows the same persona does not (for a model
    every signed-in user sees whole, the anonymous user is the one who does not)."""
    told_apart = set()
    for model in SCOPED_MODELS:
        for role in ROLES:
            user = _persona(world, role)
            forget_scope(user)
            expected, _ = _expected_and_visible(model, user)
            some_unseen = model.scope_columns.everyone or len(expected) < len(_sample(model))
            if expected and some_unseen:
                told_apart.add(model)
                break
    assert set(SCOPED_MODELS) - told_apart == set()
