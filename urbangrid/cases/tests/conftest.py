"""A small world for the case loop's tests: one district with two streets (A, B), one community
and two unit grids each, units at every tier, one person per role, three problem classes, and
helpers to push a case through the loop.

Built per test (inside the test's transaction) so every test starts from the same state.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime

import pytest
import shapely
from django.contrib.auth import get_user_model
from django.test import override_settings
from PIL import Image

from urbangrid.lib.access import forget_scope


def jpeg(color=(200, 30, 30), size=(32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


@dataclass
class World:
    regions: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    persons: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    grids: dict = field(default_factory=dict)

    def user(self, key):
        u = self.users[key]
        forget_scope(u)
        return u

    # Points inside each street's first grid.
    A = (100.0025, 20.0025)
    A2 = (100.0075, 20.0025)
    B = (100.0125, 20.0025)


def _box(x0, y0, x1, y1):
    return shapely.box(x0, y0, x1, y1)


def _set_geom(obj, geom):
    obj.geometry_wkb = shapely.to_wkb(geom)
    obj.min_lon, obj.min_lat, obj.max_lon, obj.max_lat = geom.bounds
    obj.centroid_lon, obj.centroid_lat = geom.centroid.x, geom.centroid.y
    obj.area_m2 = 1000.0


def build_world() -> World:
    from urbangrid.catalog.models import CodeSet, ProblemClass
    from urbangrid.geo.models import GeoRevision, Region, UnitGrid
    from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment, Unit

    w = World()
    # Codes and coordinates of our own, apart from the shared demo city (urbangrid/conftest.py).
    city = Region.objects.create(code="6188", name="测试市", kind="city")
    dist = Region.objects.create(code="618801", name="测试区", kind="district", parent=city)
    _set_geom(dist, _box(100.0, 20.0, 100.02, 20.01))
    dist.save()
    w.regions.update(city=city, district=dist)
    for i, key in enumerate(["A", "B"]):
        x0 = 100.0 + i * 0.01
        st = Region.objects.create(code=f"618801{i + 1:03d}", name=f"{key}街道", kind="street", parent=dist)
        cm = Region.objects.create(code=f"{st.code}001", name=f"{key}社区", kind="community", parent=st)
        for r in (st, cm):
            _set_geom(r, _box(x0, 20.0, x0 + 0.01, 20.01))
            r.save()
        w.regions[key] = st
        w.regions[f"{key}c"] = cm
        for j in range(2):
            g = UnitGrid(
                code=f"{cm.code}{j + 1:03d}",
                community=cm,
                street=st,
                district=dist,
                valid_from=datetime(2020, 1, 1, tzinfo=__import__("datetime").timezone.utc),
            )
            _set_geom(g, _box(x0 + j * 0.005, 20.0, x0 + (j + 1) * 0.005, 20.01))
            g.save()
            w.grids[f"{key}{j + 1}"] = g
        w.units[key] = Unit.objects.create(
            code=f"T-SO-{key}", name=f"{key}街道办", kind="street_office", level="street", region=st
        )
    GeoRevision.bump()
    try:
        from urbangrid.geo import locator

        locator.invalidate()
    except ImportError:
        pass
    w.units["brigade"] = Unit.objects.create(
        code="T-BRIG", name="区执法大队", kind="brigade", level="district", region=dist
    )
    w.units["center"] = Unit.objects.create(
        code="T-CTR", name="监督指挥中心", kind="center", level="district", region=dist
    )
    w.units["bureau"] = Unit.objects.create(
        code="T-BUREAU", name="测试城管执法局", kind="bureau", level="city"
    )
    w.units["water"] = Unit.objects.create(code="T-WATER", name="水务局", kind="department", level="city")

    # Our own code set with codes no real catalogue uses, so seeded catalogues never collide.
    cs = CodeSet.objects.create(code="TEST-CASES", name="test classes", minor_digits=2, is_default=False)
    common = dict(code_set=cs, kind="event", major_name="街面秩序", major_code="94")
    w.classes["stall"] = ProblemClass.objects.create(
        **common,
        minor_code="06",
        code="9406",
        name="占道经营",
        keywords="占道,摆摊,经营",
        time_limit=1,
        time_unit="work_days",
        tier="street",
        on_spot_allowed=True,
        acceptance_condition="占用道路经营",
        closing_condition="恢复通行",
    )
    w.classes["parking"] = ProblemClass.objects.create(
        **common,
        minor_code="09",
        code="9409",
        name="机动车乱停放",
        keywords="停车,乱停",
        time_limit=4,
        time_unit="work_hours",
        tier="street",
    )
    w.classes["building"] = ProblemClass.objects.create(
        code_set=cs,
        kind="event",
        major_code="91",
        major_name="市容环境",
        minor_code="01",
        code="9101",
        name="私搭乱建",
        keywords="违建,搭建",
        time_limit=15,
        time_unit="work_days",
        tier="district",
    )
    w.classes["water"] = ProblemClass.objects.create(
        code_set=cs,
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
    )

    User = get_user_model()

    def person(key, unit, roles, region=None, grid=None):
        u = User.objects.create(username=f"t_{key}")
        p = Person.objects.create(user=u, name=key, unit=unit, phone="13800000000")
        for r in roles:
            RoleAssignment.objects.create(person=p, role=r, region=region)
        if grid:
            GridAssignment.objects.create(
                grid_code=grid.code, person=p, duty="supervisor", valid_from=date(2020, 1, 1)
            )
        w.users[key], w.persons[key] = u, p
        return p

    person("gw_a", w.units["A"], ["grid_worker"], w.regions["Ac"], w.grids["A1"])
    person("gw_b", w.units["B"], ["grid_worker"], w.regions["Bc"], w.grids["B1"])
    person("op", w.units["center"], ["intake_operator"], dist)
    person("sl", w.units["center"], ["shift_leader"], dist)
    person("dp", w.units["center"], ["dispatcher"], dist)
    person("dp2", w.units["center"], ["dispatcher"], dist)
    person("dp_a", w.units["A"], ["dispatcher"], w.regions["A"])
    person("dp_b", w.units["B"], ["dispatcher"], w.regions["B"])
    person("uh_a", w.units["A"], ["unit_handler"])
    person("uh_b", w.units["B"], ["unit_handler"])
    person("uh_brig", w.units["brigade"], ["unit_handler"])
    person("uh_water", w.units["water"], ["unit_handler"])
    person("dl", w.units["center"], ["district_leader"], dist)
    u = User.objects.create(username="t_citizen")
    w.users["citizen"] = u
    return w


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": False}
    return build_world()


@pytest.fixture
def tx_world(transactional_db, settings, tmp_path):
    """The world committed for real (for tests with threads / several connections)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": False}
    return build_world()


def photo(color=(200, 30, 30)):
    return [jpeg(color)]


def report(w, who="gw_a", point=None, cls="stall", channel="grid_worker", now=None, **kw):
    from urbangrid.cases.intake import IntakeData, do_intake

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


__all__ = ["World", "build_world", "jpeg", "photo", "report", "override_settings"]
