"""Jurisdiction per role: what each persona sees of regions, grids, units and people."""

import pytest

from urbangrid.geo.models import Region, UnitGrid
from urbangrid.orgs.jurisdiction import SYSTEM, scope_for
from urbangrid.orgs.models import Person, Unit

pytestmark = pytest.mark.django_db


def codes(qs):
    return set(qs.values_list("code", flat=True))


def subtree(region):
    return {r.code for r in Region.objects.filter(code__startswith=region.code)}


def test_city_wide_roles_see_everything(demo):
    for role in ("admin", "dispatcher", "intake_operator", "shift_leader", "city_leader"):
        user = demo.user(role)
        assert scope_for(user).all_city, role
        assert Region.objects.visible_to(user).count() == Region.objects.count()
        assert UnitGrid.objects.visible_to(user).count() == UnitGrid.objects.count()
    assert scope_for(SYSTEM).all_city


def test_district_leader_sees_the_district(demo):
    user = demo.user("district_leader")
    assert subtree(demo.district) <= codes(Region.objects.visible_to(user))
    assert UnitGrid.objects.visible_to(user).count() == UnitGrid.objects.count()


@pytest.mark.parametrize("role", ["street_leader", "unit_handler", "enforcement_officer"])
def test_street_roles_see_their_street_only(demo, role):
    s1, s2 = demo.street(1), demo.street(2)
    user = demo.user(role, street=1)
    regions = codes(Region.objects.visible_to(user))
    assert subtree(s1) <= regions
    assert not (subtree(s2) & regions)
    assert demo.district.code in regions  # ancestors frame the area
    grids = UnitGrid.objects.visible_to(user)
    assert grids.exists() and not grids.exclude(street=s1).exists()
    # A street-1 user asking for street-2 objects gets nothing.
    assert not UnitGrid.objects.visible_to(user).filter(street=s2).exists()
    assert not Region.objects.visible_to(user).filter(pk=s2.pk).exists()
    assert not Unit.objects.visible_to(user).filter(pk=demo.street_unit(s2).pk).exists()
    other_worker = demo.person("grid_worker", street=2)
    assert not Person.objects.visible_to(user).filter(pk=other_worker.pk).exists()
    own_worker = demo.person("grid_worker", street=1)
    assert Person.objects.visible_to(user).filter(pk=own_worker.pk).exists()


def test_grid_worker_sees_their_community(demo):
    person = demo.person("grid_worker", street=1)
    user = person.user
    community = person.roles.get(role="grid_worker").region
    grids = UnitGrid.objects.visible_to(user)
    assert grids.exists() and set(grids.values_list("community_id", flat=True)) == {community.pk}
    scope = scope_for(user)
    assert scope.grid_codes and scope.grid_codes <= set(grids.values_list("code", flat=True))
    assert not scope.all_city


def test_department_handler_sees_units_not_areas(demo):
    user = demo.user_named("dept_market_handler")
    scope = scope_for(user)
    assert not scope.all_city and demo.unit("dept_market").pk in scope.unit_ids
    assert not Region.objects.visible_to(user).exists()
    assert not UnitGrid.objects.visible_to(user).exists()
    units = Unit.objects.visible_to(user)
    assert units.filter(code="dept_traffic").exists()  # city-level units: where cases can go
    assert not units.filter(pk=demo.street_unit(1).pk).exists()
    people = Person.objects.visible_to(user)
    assert people.filter(user__username="dept_market_leader").exists()
    assert not people.filter(user__username="dept_traffic_handler").exists()


def test_secondment_adds_the_host_unit(demo):
    officer = Person.objects.get(user__username="s1_nr_officer")
    scope = scope_for(officer.user)
    assert demo.street_unit(1).pk in scope.unit_ids and demo.unit("dept_nr").pk in scope.unit_ids


def test_anonymous_and_inactive_see_nothing(demo):
    from django.contrib.auth.models import AnonymousUser

    anon = AnonymousUser()
    for model in (Region, UnitGrid, Unit, Person):
        assert not model.objects.visible_to(anon).exists()
    person = demo.person("street_leader", street=1)
    Person.objects.filter(pk=person.pk).update(is_active=False)
    user = person.user.__class__.objects.get(pk=person.user_id)
    assert not Region.objects.visible_to(user).exists()


def test_expired_role_no_longer_counts(demo):
    from datetime import date

    person = demo.person("street_leader", street=1)
    person.roles.update(valid_to=date(2020, 1, 1))
    user = person.user.__class__.objects.get(pk=person.user_id)
    assert not UnitGrid.objects.visible_to(user).exists()
