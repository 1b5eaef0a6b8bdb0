"""Jurisdiction per role: what each persona sees of regions, grids, units and people."""

import pytest

from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import SYSTEM, scope_for
from urbangrid.orgs.models import Person, Unit

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


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


# --- the scope kept across requests ----------------------------------------------------------
def _fresh(user):
    """The same account loaded again, as the next request would."""
    return user.__class__.objects.get(pk=user.pk)


def test_scope_is_reused_across_requests_until_something_changes(demo, django_assert_num_queries):
    from datetime import date

    from urbangrid.orgs.models import GridAssignment

    person = demo.person("grid_worker", street=1)
    first = scope_for(_fresh(person.user))
    again = _fresh(person.user)
    with django_assert_num_queries(1):  # the generation only
        assert scope_for(again) == first
    # A bulk write (no model signals) still moves the generation: the database triggers see it.
    other_grid = UnitGrid.objects.current().exclude(code__in=first.grid_codes).first()
    GridAssignment.objects.bulk_create(
        [GridAssignment(person=person, grid_code=other_grid.code, valid_from=date(2020, 1, 1))]
    )
    assert other_grid.code in scope_for(_fresh(person.user)).grid_codes


@pytest.mark.parametrize(
    "change",
    ["role_update", "role_delete", "person_inactive", "superuser", "secondment", "region"],
)
def test_every_source_of_a_scope_invalidates_it(demo, change):
    from datetime import date

    from urbangrid.orgs.models import Secondment

    person = demo.person("street_leader", street=1)
    before = scope_for(_fresh(person.user))
    if change == "role_update":
        person.roles.update(valid_to=date(2020, 1, 1))
    elif change == "role_delete":
        person.roles.all().delete()
    elif change == "person_inactive":
        Person.objects.filter(pk=person.pk).update(is_active=False)
    elif change == "superuser":
        person.user.__class__.objects.filter(pk=person.user_id).update(is_superuser=True)
    elif change == "secondment":
        Secondment.objects.create(
            person=person, from_unit=person.unit, to_unit=demo.unit("dept_nr"), start=date(2020, 1, 1)
        )
    else:
        street = demo.street(1)
        Region.objects.create(code=street.code + "999", name="新社区", kind="community", parent=street)
    after = scope_for(_fresh(person.user))
    assert after != before


def test_scope_follows_the_date(demo, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    person = demo.person("street_leader", street=1)
    today = timezone.localdate()
    person.roles.update(valid_to=today)
    assert scope_for(_fresh(person.user)).street_ids
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: today + timedelta(days=1))
    assert not scope_for(_fresh(person.user)).street_ids


def test_token_auth_brings_the_generation_along(demo):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from urbangrid.orgs.auth import hash_token, new_token_key
    from urbangrid.orgs.models import ApiToken

    person = demo.person("grid_worker", street=1)
    key = new_token_key()
    ApiToken.objects.create(person=person, name="t", prefix=key[:8], key_hash=hash_token(key))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/cases/inbox?limit=1").status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert client.get("/api/v1/cases/inbox?limit=1").status_code == 200
    sql = [q["sql"] for q in warm.captured_queries]
    # The generation is read first and stands for the token and the scope: no query of the
    # token's or the scope's tables follows.
    assert "orgs_scopegeneration" in sql[0]
    assert not any(
        t in q for q in sql[1:] for t in ("orgs_scopegeneration", "orgs_apitoken", "orgs_roleassignment")
    )


@pytest.mark.parametrize("change", ["revoke", "delete", "other_person", "person_inactive", "user_inactive"])
def test_a_known_token_is_looked_up_again_when_it_changes(demo, change):
    from django.test import Client
    from django.utils import timezone

    from urbangrid.orgs.auth import hash_token, new_token_key
    from urbangrid.orgs.models import ApiToken

    person = demo.person("grid_worker", street=1)
    key = new_token_key()
    token = ApiToken.objects.create(person=person, name="t", prefix=key[:8], key_hash=hash_token(key))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/orgs/me").json()["username"] == person.user.username
    # Bulk writes (no signals): only the database triggers can tell the cache.
    tokens = ApiToken.objects.filter(pk=token.pk)
    if change == "revoke":
        tokens.update(revoked_at=timezone.now())
    elif change == "delete":
        tokens.delete()
    elif change == "other_person":
        other = demo.person("dispatcher")
        tokens.update(person=other)
        assert client.get("/api/v1/orgs/me").json()["username"] == other.user.username
        return
    elif change == "person_inactive":
        Person.objects.filter(pk=person.pk).update(is_active=False)
    else:
        person.user.__class__.objects.filter(pk=person.user_id).update(is_active=False)
    assert client.get("/api/v1/orgs/me").status_code == 401
