import pytest
from django.contrib.auth import get_user_model

from urbangrid.catalog.models import ResponsibilityRule
from urbangrid.conftest import DEMO_SEED
from urbangrid.lib.roles import Role
from urbangrid.orgs.choices import GridDuty
from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment, Secondment, TrainingRecord, Unit
from urbangrid.orgs.queries import grid_officers, grid_supervisors, grids_without_supervisor


def test_every_grid_has_a_supervisor_and_an_officer(demo):
    assert demo.grids
    assert grids_without_supervisor() == []
    for g in demo.grids:
        assert grid_supervisors(g.code).exists(), g.code
        assert grid_officers(g.code).exists(), g.code


def test_every_role_has_a_persona(demo):
    for role in Role.values:
        assert demo.user(role) is not None, role
    for i in range(1, len(demo.streets) + 1):
        for role in (Role.GRID_WORKER, Role.ENFORCEMENT_OFFICER, Role.STREET_LEADER, Role.UNIT_HANDLER):
            assert demo.user(role, street=i)


def test_units_of_the_seed(demo):
    for code in [
        "bureau",
        "center",
        "dept_nr",
        "dept_ps",
        "dept_housing",
        "dept_market",
        "dept_culture",
        "dept_transport",
        "dept_traffic",
        "dept_water",
        "dept_power",
        "dept_gas",
        "dept_telecom",
        "district_gov",
        "brigade",
    ]:
        assert code in demo.units
    for s in demo.streets:
        assert demo.street_unit(s).region_id == s.pk
    for c in demo.communities:
        assert Unit.objects.filter(region=c, kind="community").exists()
    # every unit has people: handlers and leaders
    for u in Unit.objects.all():
        roles = set(RoleAssignment.objects.filter(person__unit=u).values_list("role", flat=True))
        assert roles, u.code


def test_secondments_to_every_office_and_town(demo):
    for s in demo.streets:
        hosts = Secondment.objects.filter(to_unit=demo.street_unit(s))
        assert {h.from_unit.code for h in hosts} == {"bureau", "dept_nr"}


def test_demo_accounts_share_the_password(demo, client):
    assert client.login(username="admin", password="demo12345")
    assert get_user_model().objects.get(username="admin").is_superuser
    assert client.login(username="s1_worker1", password="demo12345")


def test_matrix_rows_exist(demo):
    assert ResponsibilityRule.objects.filter(region__isnull=True).count() > 20
    assert ResponsibilityRule.objects.filter(region__kind="town").exists() == any(
        s.kind == "town" for s in demo.streets
    )


def test_workers_cover_their_grids_only(demo):
    worker = demo.person(Role.GRID_WORKER, street=1)
    codes = set(
        GridAssignment.objects.filter(person=worker, duty=GridDuty.SUPERVISOR).values_list(
            "grid_code", flat=True
        )
    )
    assert codes
    area = RoleAssignment.objects.get(person=worker, role=Role.GRID_WORKER).region
    assert all(g.community_id == area.pk for g in demo.grids if g.code in codes)


@pytest.mark.django_db
def test_demo_is_deterministic():
    """Building twice with the same seed gives the same people in the same places."""
    from django.db import transaction

    from urbangrid.catalog.seed import load_catalog
    from urbangrid.demo.orgs import build_demo_orgs

    def snapshot():
        return (
            sorted(
                (
                    p.user.username,
                    p.name,
                    p.unit.code,
                    tuple(sorted((r.role, getattr(r.region, "code", "")) for r in p.roles.all())),
                )
                for p in Person.objects.select_related("user", "unit").prefetch_related("roles__region")
            ),
            sorted(GridAssignment.objects.values_list("grid_code", "person__user__username", "duty")),
            sorted(
                TrainingRecord.objects.values_list(
                    "session__course__code", "person__user__username", "score", "passed"
                )
            ),
        )

    first = snapshot()

    def rebuild(seed):
        from urbangrid.lib.models import AuditEvent

        with transaction.atomic():
            AuditEvent.objects.all().delete()
            from urbangrid.orgs.models import Equipment, FundRecord, TrainingCourse, TrainingSession

            FundRecord.objects.all().delete()
            Equipment.objects.all().delete()
            TrainingSession.objects.all().delete()
            TrainingCourse.objects.all().delete()
            ResponsibilityRule.objects.all().delete()
            Secondment.objects.all().delete()
            GridAssignment.objects.all().delete()
            RoleAssignment.objects.all().delete()
            Person.objects.all().delete()
            get_user_model().objects.all().delete()
            Unit.objects.all().update(parent=None)
            Unit.objects.all().delete()
            load_catalog()
            build_demo_orgs(seed=seed, scale="small")

    rebuild(DEMO_SEED)
    assert snapshot() == first
    rebuild(DEMO_SEED + 1)
    assert snapshot()[0] != first[0]
