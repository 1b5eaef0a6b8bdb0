"""A small, self-contained world for the joint and credit tests: one district with two streets
(one community each), the bureau, two departments, the street offices, and people per role.
(Built directly as test data; the project-wide `demo` fixture is used where it exists.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from urbangrid.cases.models import Case
from urbangrid.catalog.models import CodeSet, ProblemClass
from urbangrid.geo.models import Region
from urbangrid.orgs.models import Person, RoleAssignment, Unit


@dataclass
class World:
    district: Region
    street_a: Region
    street_b: Region
    comm_a: Region
    comm_b: Region
    bureau: Unit
    market: Unit
    housing: Unit
    office_a: Unit
    office_b: Unit
    occupation: ProblemClass
    garbage: ProblemClass
    users: dict = field(default_factory=dict)
    seq: list = field(default_factory=lambda: [0])

    def user(self, key):
        return self.users[key]

    def case(
        self, *, street=None, community=None, cls=None, reported_at=None, state="pending_dispatch", **extra
    ) -> Case:
        """A case row as the case loop would have left it (test data only)."""
        self.seq[0] += 1
        street = street or self.street_a
        community = community or (self.comm_a if street == self.street_a else self.comm_b)
        reported_at = reported_at or timezone.now()
        return Case.objects.create(
            city_code="330100",
            number=f"{timezone.localtime(reported_at):%Y%m%d}{self.seq[0]:06d}",
            state=state,
            channel="grid_worker",
            problem_class=cls or self.occupation,
            description=extra.pop("description", "占道经营 测试"),
            district=self.district,
            street=street,
            community=community,
            public_token=f"tok{self.seq[0]:08d}{id(self) % 1000}",
            reported_at=reported_at,
            registered_at=extra.pop("registered_at", reported_at),
            **extra,
        )


def _person(username, name, unit, roles):
    User = get_user_model()
    user = User.objects.create_user(username=f"t_{username}", password="pw-12345", first_name=name)
    person = Person.objects.create(user=user, name=name, unit=unit)
    RoleAssignment.objects.bulk_create(RoleAssignment(person=person, role=r, region=reg) for r, reg in roles)
    return user


def build_world() -> World:
    city = Region.objects.create(code="339900", name="测试市", kind="city")
    district = Region.objects.create(code="339901", name="上城区", kind="district", parent=city)
    street_a = Region.objects.create(code="339901001", name="清波街道", kind="street", parent=district)
    street_b = Region.objects.create(code="339901002", name="湖滨街道", kind="street", parent=district)
    comm_a = Region.objects.create(code="339901001001", name="清波社区", kind="community", parent=street_a)
    comm_b = Region.objects.create(code="339901002001", name="湖滨社区", kind="community", parent=street_b)
    bureau = Unit.objects.create(code="T-CG", name="城管执法局", kind="bureau", level="city")
    market = Unit.objects.create(code="T-SJ", name="市场监管局", kind="department", level="city")
    housing = Unit.objects.create(code="T-ZJ", name="住建局", kind="department", level="city")
    office_a = Unit.objects.create(
        code="T-JD1", name="清波街道办", kind="street_office", level="street", region=street_a
    )
    office_b = Unit.objects.create(
        code="T-JD2", name="湖滨街道办", kind="street_office", level="street", region=street_b
    )
    # A code set of its own so that seeded catalogues (data migrations) do not collide.
    cs = CodeSet.objects.create(code="TEST-JOINT", name="测试分类", is_default=False)
    occupation = ProblemClass.objects.create(
        code_set=cs,
        kind="event",
        major_code="04",
        major_name="街面秩序",
        minor_code="06",
        code="0406",
        name="占道经营",
    )
    garbage = ProblemClass.objects.create(
        code_set=cs,
        kind="event",
        major_code="01",
        major_name="市容环境",
        minor_code="10",
        code="0110",
        name="暴露垃圾",
    )
    w = World(
        district,
        street_a,
        street_b,
        comm_a,
        comm_b,
        bureau,
        market,
        housing,
        office_a,
        office_b,
        occupation,
        garbage,
    )
    w.users = {
        "dispatcher": _person("dispatcher", "派遣员", bureau, [("dispatcher", None)]),
        "city_leader": _person("leader", "市领导", bureau, [("city_leader", None)]),
        "bureau_leader": _person("bureau_leader", "执法局长", bureau, [("unit_leader", None)]),
        "officer": _person(
            "officer", "执法队员", bureau, [("enforcement_officer", None), ("unit_handler", None)]
        ),
        "market_handler": _person("market_h", "市场处置员", market, [("unit_handler", None)]),
        "market_leader": _person("market_l", "市场局长", market, [("unit_leader", None)]),
        "housing_handler": _person("housing_h", "住建处置员", housing, [("unit_handler", None)]),
        "office_a_handler": _person("office_a_h", "清波处置员", office_a, [("unit_handler", None)]),
        "street_a_leader": _person("street_a_l", "清波街道主任", office_a, [("street_leader", street_a)]),
        "street_b_leader": _person("street_b_l", "湖滨街道主任", office_b, [("street_leader", street_b)]),
        "grid_worker_b": _person("gw_b", "湖滨网格员", office_b, [("grid_worker", comm_b)]),
        "admin": _person("admin", "管理员", bureau, [("admin", None)]),
    }
    return w


def at(days_ago: float = 0, hour: int = 10) -> datetime:
    d = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime(d.year, d.month, d.day, hour))
