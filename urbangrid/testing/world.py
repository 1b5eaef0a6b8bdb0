"""The one test world every app's tests share: a small geography, units at every tier, a cast of
named people (a person per role and place, each with a memorable name), a few problem classes,
and helpers to report a case through the loop or write a case row directly.

The fixtures ``world`` and ``tx_world`` (urbangrid/conftest.py) build it per test, so every test
starts from the same state. It is test data of its own, apart from the demo city (the ``demo``
fixture) and free of demo code.

Geography: test city 6188 > district 618801 > street A (清波街道, 618801001) and street B
(湖滨街道, 618801002), one community each (``Ac``, ``Bc``), two unit grids each (``A1``, ``A2``,
``B1``, ``B2``). ``World.A``, ``World.A2`` and ``World.B`` are points inside grids A1, A2 and B1.

Units (``world.units``): the street offices ``A`` and ``B``, the district's ``center`` and
``brigade``, the city's ``bureau``, and the departments ``water``, ``market`` and ``housing``.

The cast (``world.user(name)``, ``world.persons[name]``) is ``CAST`` below; a name's first letter
recalls the role or the place: grace the grid worker, hank the unit handler and stella the street
leader of street A (gavin, hugo, steve of street B), adam and bella the dispatchers of streets A
and B, olivia the intake operator, sam the shift leader, dan and dora the centre's dispatchers,
diana the district leader, boris of the brigade, walt of the water department, mark and maria of
market supervision, helen of housing, oscar the bureau's officer, bruno its leader, paul its
city-wide dispatcher, clara the city leader, ada the admin. ``carl`` is a citizen with an account
and no place in the organisation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import shapely
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image

from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.cases.models import Case
from urbangrid.catalog.models import CodeSet, ProblemClass
from urbangrid.geo import locator
from urbangrid.geo.models import GeoRevision, Region, UnitGrid
from urbangrid.lib.access import forget_scope
from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment, Unit

PASSWORD = "pw-12345"


@dataclass(frozen=True)
class Member:
    """One person of the cast: ``name`` is the username and the key tests use."""

    name: str
    display: str
    unit: str
    roles: tuple[str, ...]
    region: str | None = None  # a key of World.regions; None: the whole city
    grid: str | None = None  # a key of World.grids the person supervises


CAST = (
    # The district's supervision and command centre.
    Member("olivia", "欧受理", "center", ("intake_operator",), "district"),
    Member("sam", "沈值班", "center", ("shift_leader",), "district"),
    Member("dan", "丁派遣", "center", ("dispatcher",), "district"),
    Member("dora", "窦派遣", "center", ("dispatcher",), "district"),
    Member("diana", "戴区长", "center", ("district_leader",), "district"),
    # Street A: its grid worker, dispatcher, unit handler and leader.
    Member("grace", "顾网格", "A", ("grid_worker",), "Ac", grid="A1"),
    Member("adam", "艾派遣", "A", ("dispatcher",), "A"),
    Member("hank", "韩处置", "A", ("unit_handler",)),
    Member("stella", "苏主任", "A", ("street_leader",), "A"),
    # Street B: the same.
    Member("gavin", "葛网格", "B", ("grid_worker",), "Bc", grid="B1"),
    Member("bella", "白派遣", "B", ("dispatcher",), "B"),
    Member("hugo", "胡处置", "B", ("unit_handler",)),
    Member("steve", "石主任", "B", ("street_leader",), "B"),
    # District and city units.
    Member("boris", "鲍队员", "brigade", ("unit_handler",)),
    Member("walt", "万水务", "water", ("unit_handler",)),
    Member("mark", "马处置", "market", ("unit_handler",)),
    Member("maria", "毛局长", "market", ("unit_leader",)),
    Member("helen", "何处置", "housing", ("unit_handler",)),
    # The city's law-enforcement bureau, city-wide.
    Member("paul", "潘派遣", "bureau", ("dispatcher",)),
    Member("oscar", "欧阳执法", "bureau", ("enforcement_officer", "unit_handler")),
    Member("bruno", "包局长", "bureau", ("unit_leader",)),
    Member("clara", "程市长", "bureau", ("city_leader",)),
    Member("ada", "安管理", "bureau", ("admin",)),
)
CITIZEN = "carl"

UNITS = {
    # key: (code, name, kind, level, region key)
    "A": ("T-SO-A", "清波街道办", "street_office", "street", "A"),
    "B": ("T-SO-B", "湖滨街道办", "street_office", "street", "B"),
    "center": ("T-CTR", "监督指挥中心", "center", "district", "district"),
    "brigade": ("T-BRIG", "区执法大队", "brigade", "district", "district"),
    "bureau": ("T-BUREAU", "城管执法局", "bureau", "city", None),
    "water": ("T-WATER", "水务局", "department", "city", None),
    "market": ("T-MARKET", "市场监管局", "department", "city", None),
    "housing": ("T-HOUSING", "住建局", "department", "city", None),
}

_STREET = dict(code_set=None, kind="event", major_code="94", major_name="街面秩序", tier="street")
_AMENITY = dict(code_set=None, kind="event", major_code="91", major_name="市容环境")
CLASSES = {
    "stall": dict(
        _STREET,
        minor_code="06",
        code="9406",
        name="占道经营",
        keywords="占道,摆摊,经营",
        time_limit=1,
        time_unit="work_days",
        on_spot_allowed=True,
        acceptance_condition="占用道路经营",
        closing_condition="恢复通行",
    ),
    "parking": dict(
        _STREET,
        minor_code="09",
        code="9409",
        name="机动车乱停放",
        keywords="停车,乱停",
        time_limit=4,
        time_unit="work_hours",
    ),
    "building": dict(
        _AMENITY,
        minor_code="01",
        code="9101",
        name="私搭乱建",
        keywords="违建,搭建",
        time_limit=15,
        time_unit="work_days",
        tier="district",
    ),
    "garbage": dict(_AMENITY, minor_code="10", code="9110", name="暴露垃圾"),
    "water": dict(
        code_set=None,
        kind="component",
        major_code="91",
        major_name="公用设施",
        minor_code="01",
        code="9101",
        name="上水井盖",
        keywords="井盖",
        time_limit=4,
        time_unit="hours",
        tier="city",
        default_unit_code="T-WATER",
    ),
}


@dataclass
class World:
    regions: dict = field(default_factory=dict)
    grids: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    persons: dict = field(default_factory=dict)
    case_seq: int = 0

    # Points inside grids A1, A2 and B1.
    A = (100.0025, 20.0025)
    A2 = (100.0075, 20.0025)
    B = (100.0125, 20.0025)

    def user(self, name):
        """The cast member's user, with a scope worked out anew (roles may have changed)."""
        user = self.users[name]
        forget_scope(user)
        return user

    def case(self, *, street=None, cls=None, reported_at=None, state="pending_dispatch", **extra):
        """A case row as the case loop would have left it, written directly (test data only)."""

        self.case_seq += 1
        street = street or self.regions["A"]
        reported_at = reported_at or timezone.now()
        return Case.objects.create(
            city_code="330100",
            number=f"{timezone.localtime(reported_at):%Y%m%d}{self.case_seq:06d}",
            state=state,
            channel="grid_worker",
            problem_class=cls or self.classes["stall"],
            description=extra.pop("description", "占道经营 测试"),
            district=self.regions["district"],
            street=street,
            community=extra.pop("community", street.children.get()),
            public_token=f"tok{self.case_seq:08d}{id(self) % 1000}",
            reported_at=reported_at,
            registered_at=extra.pop("registered_at", reported_at),
            **extra,
        )


def build_world() -> World:
    w = World()
    _build_geography(w)
    _build_units(w)
    _build_classes(w)
    _build_cast(w)
    return w


def _set_box(obj, x0, y0, x1, y1):
    geom = shapely.box(x0, y0, x1, y1)
    obj.geometry_wkb = shapely.to_wkb(geom)
    obj.min_lon, obj.min_lat, obj.max_lon, obj.max_lat = geom.bounds
    obj.centroid_lon, obj.centroid_lat = geom.centroid.x, geom.centroid.y
    obj.area_m2 = 1000.0


def _build_geography(w: World) -> None:

    # Codes and coordinates of its own, apart from the demo city.
    city = Region.objects.create(code="6188", name="测试市", kind="city")
    district = Region(code="618801", name="测试区", kind="district", parent=city)
    _set_box(district, 100.0, 20.0, 100.02, 20.01)
    district.save()
    w.regions.update(city=city, district=district)
    for i, (key, name) in enumerate([("A", "清波"), ("B", "湖滨")]):
        x0 = 100.0 + i * 0.01
        street = Region(code=f"618801{i + 1:03d}", name=f"{name}街道", kind="street", parent=district)
        _set_box(street, x0, 20.0, x0 + 0.01, 20.01)
        street.save()
        community = Region(code=f"{street.code}001", name=f"{name}社区", kind="community", parent=street)
        _set_box(community, x0, 20.0, x0 + 0.01, 20.01)
        community.save()
        w.regions[key], w.regions[f"{key}c"] = street, community
        for j in range(2):
            grid = UnitGrid(
                code=f"{community.code}{j + 1:03d}",
                community=community,
                street=street,
                district=district,
                valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            )
            _set_box(grid, x0 + j * 0.005, 20.0, x0 + (j + 1) * 0.005, 20.01)
            grid.save()
            w.grids[f"{key}{j + 1}"] = grid
    GeoRevision.bump()
    locator.invalidate()


def _build_units(w: World) -> None:

    for key, (code, name, kind, level, region) in UNITS.items():
        w.units[key] = Unit.objects.create(
            code=code, name=name, kind=kind, level=level, region=w.regions.get(region)
        )


def _build_classes(w: World) -> None:

    # A code set with codes no real catalogue uses, so seeded catalogues never collide.
    code_set = CodeSet.objects.create(
        code="TEST-CASES", name="test classes", minor_digits=2, is_default=False
    )
    for key, fields in CLASSES.items():
        w.classes[key] = ProblemClass.objects.create(**{**fields, "code_set": code_set})


def _build_cast(w: World) -> None:
    for m in CAST:
        person = add_person(
            m.name,
            m.display,
            w.units[m.unit],
            m.roles,
            w.regions[m.region] if m.region else None,
            grids=[w.grids[m.grid].code] if m.grid else (),
        )
        w.users[m.name], w.persons[m.name] = person.user, person
    w.users[CITIZEN] = get_user_model().objects.create_user(username=CITIZEN, password=PASSWORD)


def add_person(username, name, unit, roles, region=None, *, grids=(), since=date(2020, 1, 1)):
    """A user with a Person in ``unit`` holding ``roles`` over ``region`` (None: the whole city)
    and supervising the unit grids whose codes are ``grids`` from ``since``."""

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, first_name=name)
    person = Person.objects.create(user=user, name=name, unit=unit, phone="13800000000")
    RoleAssignment.objects.bulk_create(RoleAssignment(person=person, role=r, region=region) for r in roles)
    GridAssignment.objects.bulk_create(
        GridAssignment(grid_code=code, person=person, duty="supervisor", valid_from=since) for code in grids
    )
    return person


def jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    """A small photo of one colour, JPEG-encoded."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def photo(color=(200, 30, 30)):
    return [jpeg(color)]


def at(days_ago: float = 0, hour: int = 10) -> datetime:
    """``hour`` o'clock local, ``days_ago`` days before today."""
    d = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime(d.year, d.month, d.day, hour))


def report(w, who="grace", point=None, cls="stall", channel="grid_worker", now=None, **kw):
    """A case reported through intake by ``who`` (a cast name, or None for anonymous)."""

    lon, lat = point or w.A
    actor = w.user(who) if who else None
    data = IntakeData(
        channel=channel,
        description=kw.pop("description", "路边占道经营"),
        lon=lon,
        lat=lat,
        class_code=w.classes[cls].code if cls else None,
        extra=kw.pop("extra", {"class_kind": w.classes[cls].kind} if cls else {}),
        **kw,
    )
    return do_intake(actor, data, now=now)
