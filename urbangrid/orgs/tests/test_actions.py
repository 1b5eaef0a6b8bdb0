import pytest
from django.contrib.auth import get_user_model

from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.models import AuditEvent
from urbangrid.orgs import actions
from urbangrid.orgs.models import ApiToken, GridAssignment, Person, Secondment, Unit
from urbangrid.orgs.queries import grid_supervisors, people_with_role, person_for

pytestmark = pytest.mark.django_db


def test_create_unit_admin_only(demo):
    admin = demo.user_named("admin")
    unit = actions.do_create_unit(admin, code="dept_x", name="市某局", kind="department", level="city")
    assert AuditEvent.objects.filter(action="orgs.create_unit", object_id=str(unit.pk)).exists()
    with pytest.raises(PermissionDenied):
        actions.do_create_unit(
            demo.user("dispatcher"), code="dept_y", name="y", kind="department", level="city"
        )
    with pytest.raises(Conflict):
        actions.do_create_unit(admin, code="dept_x", name="again", kind="department", level="city")
    with pytest.raises(InvalidInput):
        actions.do_create_unit(admin, code="dept_z", name="z", kind="nonsense", level="city")
    assert not Unit.objects.filter(code__in=["dept_y", "dept_z"]).exists()


def test_street_leader_manages_people_of_their_street_only(demo):
    leader = demo.user("street_leader", street=1)
    s1_unit, s2_unit = demo.street_unit(1), demo.street_unit(2)
    community = next(c for c in demo.communities if c.parent_id == demo.street(1).pk)
    p = actions.do_create_person(
        leader,
        username="new_worker",
        name="新网格员",
        unit=s1_unit,
        roles=[("grid_worker", community)],
        password="pw-123456",
    )
    assert people_with_role("grid_worker", community).filter(pk=p.pk).exists()
    assert get_user_model().objects.get(username="new_worker").check_password("pw-123456")
    with pytest.raises(PermissionDenied):
        actions.do_create_person(
            leader, username="intruder", name="x", unit=s2_unit, roles=[("grid_worker", demo.street(2))]
        )
    with pytest.raises(PermissionDenied):  # no city-wide roles from a street leader
        actions.do_create_person(
            leader, username="boss", name="x", unit=s1_unit, roles=[("dispatcher", None)]
        )
    with pytest.raises(Conflict):
        actions.do_create_person(leader, username="new_worker", name="x", unit=s1_unit, roles=[])
    assert not get_user_model().objects.filter(username__in=["intruder", "boss"]).exists()


def test_unit_leader_adds_handlers_to_own_unit(demo):
    leader = demo.user_named("dept_market_leader")
    p = actions.do_create_person(
        leader,
        username="mk2",
        name="市场监管二",
        unit=demo.unit("dept_market"),
        roles=[("unit_handler", None)],
    )
    assert p.unit.code == "dept_market"
    with pytest.raises(PermissionDenied):
        actions.do_create_person(
            leader, username="tr2", name="x", unit=demo.unit("dept_traffic"), roles=[("unit_handler", None)]
        )


def test_update_roles(demo):
    admin = demo.user_named("admin")
    person = Person.objects.get(user__username="center_intake2")
    actions.do_update_roles(admin, person, [("dispatcher", None)])
    user = get_user_model().objects.get(pk=person.user_id)
    assert scope_for(user).roles == frozenset({"dispatcher"})
    with pytest.raises(InvalidInput):
        actions.do_update_roles(admin, person, [("emperor", None)])


def test_grid_assignment_rules(demo):
    leader = demo.user("street_leader", street=1)
    grid = demo.grids_of(demo.street(1))[0]
    other = demo.grids_of(demo.street(2))[0]
    worker = demo.person("grid_worker", street=1)
    extra = Person.objects.get(user__username="s1_officer1")
    row = actions.do_assign_grid(leader, grid.code, extra, "supervisor")
    assert grid_supervisors(grid.code).filter(pk=extra.pk).exists()
    with pytest.raises(Conflict):
        actions.do_assign_grid(leader, grid.code, extra, "supervisor")
    with pytest.raises(PermissionDenied):
        actions.do_assign_grid(leader, other.code, worker, "supervisor")
    with pytest.raises(NotFound):
        actions.do_assign_grid(leader, "000000000000000", worker, "supervisor")
    with pytest.raises(InvalidInput):
        actions.do_assign_grid(leader, grid.code, worker, "cook")
    actions.do_end_grid_assignment(leader, row)
    assert not grid_supervisors(grid.code).filter(pk=extra.pk).exists()
    assert AuditEvent.objects.filter(action="orgs.end_grid_assignment").exists()
    # An older assignment ends yesterday and stays as history.
    old = GridAssignment.objects.filter(grid_code=grid.code, duty="supervisor", valid_to__isnull=True).first()
    actions.do_end_grid_assignment(leader, old)
    old.refresh_from_db()
    assert old.valid_to is not None and not grid_supervisors(grid.code).exists()
    with pytest.raises(Conflict):
        actions.do_end_grid_assignment(leader, old)


def test_bulk_assignment_is_all_or_nothing(demo):
    admin = demo.user_named("admin")
    worker = demo.person("grid_worker", street=2)
    grids = demo.grids_of(demo.street(2))[:3]
    before = GridAssignment.objects.count()
    with pytest.raises(NotFound):
        actions.do_assign_grids_bulk(
            admin, [(g.code, worker, "enforcement") for g in grids] + [("9" * 15, worker, "enforcement")]
        )
    assert GridAssignment.objects.count() == before
    n = actions.do_assign_grids_bulk(admin, [(g.code, worker, "enforcement") for g in grids])
    assert n == 3 and GridAssignment.objects.count() == before + 3


def test_secondment(demo):
    from datetime import date

    admin = demo.user_named("admin")
    person = Person.objects.get(user__username="dept_nr_handler")
    host = demo.street_unit(3)
    with pytest.raises(InvalidInput):
        actions.do_second(admin, person, host, start=date(2026, 5, 1), end=date(2026, 4, 1))
    with pytest.raises(InvalidInput):
        actions.do_second(admin, person, person.unit, start=date(2026, 5, 1))
    row = actions.do_second(admin, person, host, start=date(2025, 1, 1), reason="派驻")
    user = get_user_model().objects.get(pk=person.user_id)
    assert host.pk in scope_for(user).unit_ids
    with pytest.raises(Conflict):
        actions.do_second(admin, person, host, start=date(2025, 6, 1))
    with pytest.raises(PermissionDenied):
        actions.do_second(demo.user_named("dept_market_leader"), person, host, start=date(2027, 1, 1))
    actions.do_end_secondment(admin, row, end=date(2025, 2, 1))
    user = get_user_model().objects.get(pk=person.user_id)
    assert host.pk not in scope_for(user).unit_ids
    assert Secondment.objects.get(pk=row.pk).end == date(2025, 2, 1)


def test_tokens(demo, client):
    worker = demo.person("grid_worker", street=1)
    token, key = actions.do_issue_token(worker.user, worker, "手机")
    assert token.prefix == key[:8] and token.key_hash != key
    res = client.get("/api/v1/orgs/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert res.status_code == 200 and res.json()["username"] == worker.user.username
    with pytest.raises(PermissionDenied):
        actions.do_revoke_token(demo.user("grid_worker", street=2), token)
    actions.do_revoke_token(worker.user, token)
    assert client.get("/api/v1/orgs/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    with pytest.raises(Conflict):
        actions.do_revoke_token(worker.user, ApiToken.objects.get(pk=token.pk))


def test_person_for(demo):
    user = demo.user("dispatcher")
    assert person_for(user).unit.code == "center"
    from django.contrib.auth.models import AnonymousUser

    assert person_for(AnonymousUser()) is None
