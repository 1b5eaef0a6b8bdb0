"""The demo city's organisation: units, people with every role, grid assignments, secondments
and responsibility-matrix rows, built on top of an existing geography (urbangrid.demo.geo) and
catalogue (urbangrid.catalog.seed) through the same actions a real city uses.

Deterministic for a seed: the same seed gives the same names, usernames and assignments.
Every demo account has the password DEMO_PASSWORD.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from urbangrid.catalog.actions import do_set_responsibility
from urbangrid.catalog.models import ProblemClass
from urbangrid.demo.geo import demo_epoch
from urbangrid.geo.choices import RegionKind
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import SYSTEM
from urbangrid.lib.roles import Role
from urbangrid.orgs import actions
from urbangrid.orgs.choices import EquipmentKind, FundCategory, GridDuty, UnitKind, UnitLevel
from urbangrid.orgs.models import Unit

DEMO_PASSWORD = "demo12345"

# (code, name, short name, kind, duties) — the partner departments the seed names, plus the two
# a real city needs for the safety-hazard lines (emergency management, education).
DEPARTMENTS = [
    (
        "dept_nr",
        "市自然资源局",
        "自然资源",
        UnitKind.DEPARTMENT,
        "用地及规划建设行为监督管理、违法占地、森林防火",
    ),
    ("dept_ps", "市公安局", "公安", UnitKind.DEPARTMENT, "阻扰威胁执法、暴力抗法、流浪乞讨、犬只管理"),
    ("dept_housing", "市住房和城乡建设局", "住建", UnitKind.DEPARTMENT, "市政道路、排水、工地、物业管理"),
    ("dept_market", "市市场监督管理局", "市场监管", UnitKind.DEPARTMENT, "集贸市场、无证食品经营"),
    ("dept_culture", "市文化和旅游广电局", "文旅广电", UnitKind.DEPARTMENT, "娱乐场所、出版物、广播电视"),
    ("dept_transport", "市交通运输局", "交通运输", UnitKind.DEPARTMENT, "公交设施、非法营运、车站码头"),
    (
        "dept_traffic",
        "市公安局交通警察支队",
        "交警",
        UnitKind.DEPARTMENT,
        "交通信号、标志、机动车违停、交通秩序",
    ),
    ("dept_water", "市供水公司", "供水", UnitKind.UTILITY, "供水管网、上水井盖、消防栓"),
    ("dept_power", "国网市供电公司", "供电", UnitKind.UTILITY, "电力线路、电力井盖、配电设施"),
    ("dept_gas", "市燃气公司", "供气", UnitKind.UTILITY, "燃气管网、燃气井盖、燃气泄漏"),
    ("dept_telecom", "市通信管理办公室", "通讯", UnitKind.UTILITY, "通信井盖、线缆、交接箱"),
    ("dept_emergency", "市应急管理局", "应急管理", UnitKind.DEPARTMENT, "高危行业、商场酒店安全隐患"),
    ("dept_education", "市教育局", "教育", UnitKind.DEPARTMENT, "校园及周边安全"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌宇浩凯健俊帆帅旭宁玲婷雪琳晨欣博文彬鑫辉海波志勇建国立新春燕小龙云峰子豪思远嘉怡梓涵一鸣"


@dataclass
class DemoOrgs:
    """What the demo organisation built: accounts (username, role, description) and counts."""

    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    units: int = 0
    people: int = 0
    grid_assignments: int = 0
    secondments: int = 0
    rules: int = 0


def _noop(*args, **kwargs) -> None:
    return None


class _Names:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def next(self) -> str:
        for _ in range(1000):
            name = self.rng.choice(SURNAMES) + "".join(
                self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))
            )
            if name not in self.used:
                self.used.add(name)
                return name
        return name  # a repeated name is realistic enough after 1000 tries


def _street_unit_name(street: Region) -> str:
    if street.kind == RegionKind.TOWN:
        return f"{street.name}人民政府"
    return street.name if street.name.endswith("办事处") else f"{street.name}办事处"


def _community_unit_name(community: Region) -> str:
    suffix = "村民委员会" if community.kind == RegionKind.VILLAGE else "居民委员会"
    base = (
        community.name.removesuffix("社区").removesuffix("村")
        if community.name.endswith(("社区", "村"))
        else community.name
    )
    return f"{base}{'村' if community.kind == RegionKind.VILLAGE else '社区'}{suffix}"


@dataclass
class _Regions:
    """The geography the organisation is built over."""

    district: Region
    streets: list[Region]
    communities: list[Region]
    by_street: dict[int, list[Region]]
    grids_by_community: dict[int, list[str]]


def _regions() -> _Regions:
    districts = list(Region.objects.filter(level=2).order_by("code"))
    if not districts:
        raise RuntimeError("build the geography first: no district exists")
    streets = list(Region.objects.filter(level=3, parent__in=districts).order_by("code"))
    communities = list(Region.objects.filter(level=4, parent__in=streets).order_by("code"))
    by_street: dict[int, list[Region]] = {s.pk: [] for s in streets}
    for c in communities:
        by_street[c.parent_id].append(c)
    grids_by_community: dict[int, list[str]] = {c.pk: [] for c in communities}
    for code, cid in UnitGrid.objects.current().order_by("code").values_list("code", "community_id"):
        grids_by_community.setdefault(cid, []).append(code)
    return _Regions(districts[0], streets, communities, by_street, grids_by_community)


@dataclass
class _Units:
    bureau: object
    center: object
    depts: dict[str, object]
    district_gov: object
    brigade: object
    street_units: dict[int, object]
    community_units: dict[int, object]

    def count(self) -> int:
        return 3 + len(self.depts) + 2 + len(self.street_units) + len(self.community_units)


class _Roster:
    """The people to create, in the order their names are drawn, with their grid assignments and
    secondments; every person is also an account to print."""

    def __init__(self, names: _Names, out: DemoOrgs):
        self.names, self.out = names, out
        self.specs: list[dict] = []
        self.assignments: list[tuple[str, str, str]] = []  # (grid code, username, duty)
        self.secondments: list[tuple[str, str, str]] = []  # (username, to unit code, reason)

    def add(self, username, unit_obj, roles, description, title=""):
        self.specs.append(
            {
                "username": username,
                "name": self.names.next(),
                "unit": unit_obj,
                "roles": roles,
                "title": title,
            }
        )
        self.out.accounts.append((username, roles[0][0] if roles else "", description))

    def assign(self, codes, username, duty) -> None:
        self.assignments += [(code, username, duty) for code in codes]


def build_demo_orgs(
    seed: int, scale: str = "small", progress: Callable[[str], None] | None = None
) -> DemoOrgs:
    """Create the organisation of the demo city over the regions and grids already in the
    database. Call inside one transaction (the command does)."""

    progress = progress or _noop
    out = DemoOrgs()
    pw_hash = make_password(DEMO_PASSWORD)  # hashing is deliberately slow: once per build
    rng = random.Random(seed * 7919 + 1)
    today = timezone.localdate()
    valid_from = demo_epoch().date()
    regions = _regions()

    progress("units")
    bureau = _create_bureau()
    admin_person = _create_admin(bureau, pw_hash, out)
    admin = admin_person.user
    units = _create_units(admin, bureau, regions)
    out.units = units.count()

    progress("people")
    roster = _Roster(_Names(seed), out)
    _add_city_people(roster, units, regions.district)
    supervisors_per_grid_group = 1 if scale == "small" else 3
    for i, s in enumerate(regions.streets, start=1):
        _add_street_people(roster, units, regions, scale, i, s, supervisors_per_grid_group)
    specs = roster.specs
    rng.shuffle(specs)  # ids do not reveal the build order; names stay seed-determined
    specs.sort(key=lambda s: s["username"] != "city_leader")  # keep a stable, boring first row
    people = actions.do_create_people_bulk(admin, specs, password_hash=pw_hash)
    by_username = {s["username"]: p for s, p in zip(specs, people, strict=True)}
    by_username["admin"] = admin_person
    out.people = len(people) + 1

    progress(f"grid assignments ({len(roster.assignments)})")
    out.grid_assignments = actions.do_assign_grids_bulk(
        admin, [(code, by_username[u], duty) for code, u, duty in roster.assignments], valid_from=valid_from
    )
    progress("secondments")
    units_by_code = {u.code: u for u in units.street_units.values()}
    for username, unit_code, reason in roster.secondments:
        actions.do_second(
            admin, by_username[username], units_by_code[unit_code], start=valid_from, reason=reason
        )
        out.secondments += 1

    progress("responsibility matrix")
    out.rules = build_demo_matrix(admin, regions.streets, units.street_units, units.brigade)
    progress("training, equipment and funds")
    build_demo_resources(admin, rng, regions.streets, units.street_units, bureau, by_username, specs, today)
    return out


def _create_bureau():
    return actions.do_create_unit(
        SYSTEM,
        code="bureau",
        name="市城市管理综合执法局",
        short_name="城管执法局",
        kind=UnitKind.BUREAU,
        level=UnitLevel.CITY,
        duties="网格化综合监管总牵头：市容环境、街面秩序、户外广告、违法建设查处",
        phone="12319",
    )


def _create_admin(bureau, pw_hash: str, out: DemoOrgs):
    admin_person = actions.do_create_person(
        SYSTEM,
        username="admin",
        name="系统管理员",
        unit=bureau,
        roles=[(Role.ADMIN, None)],
        password_hash=pw_hash,
        superuser=True,
        title="系统管理员",
    )
    out.accounts.append(("admin", Role.ADMIN, "系统管理员（超级用户）"))
    return admin_person


def _create_units(admin, bureau, regions: _Regions) -> _Units:
    """The center, the departments, the district government and its brigade, a unit for every
    street/town and every community."""
    district = regions.district

    def unit(code, name, kind, level, region=None, parent=None, short="", duties="", phone=""):
        return actions.do_create_unit(
            admin,
            code=code,
            name=name,
            kind=kind,
            level=level,
            region=region,
            parent=parent,
            short_name=short,
            duties=duties,
            phone=phone,
        )

    center = unit(
        "center",
        "市城市运行管理服务指挥中心",
        UnitKind.CENTER,
        UnitLevel.CITY,
        parent=bureau,
        short="监督指挥中心",
        duties="受理、立案、派遣、核查、结案、评价",
        phone="12345",
    )
    depts = {
        code: unit(code, name, kind, UnitLevel.CITY, short=short, duties=duties)
        for code, name, short, kind, duties in DEPARTMENTS
    }
    district_gov = unit(
        "district_gov",
        f"{district.name}人民政府",
        UnitKind.DISTRICT_GOV,
        UnitLevel.DISTRICT,
        region=district,
        short=district.name,
    )
    brigade = unit(
        "brigade",
        f"{district.name}城市管理执法大队",
        UnitKind.BRIGADE,
        UnitLevel.DISTRICT,
        region=district,
        parent=district_gov,
        short="执法大队",
        duties="辖区城市管理执法；4办4镇“两违”管控队伍并入",
    )
    street_units: dict[int, object] = {}
    for s in regions.streets:
        kind = UnitKind.TOWN_GOV if s.kind == RegionKind.TOWN else UnitKind.STREET_OFFICE
        street_units[s.pk] = unit(
            f"st_{s.code}",
            _street_unit_name(s),
            kind,
            UnitLevel.STREET,
            region=s,
            parent=district_gov,
            short=s.name,
        )
    community_units: dict[int, object] = {}
    for c in regions.communities:
        community_units[c.pk] = unit(
            f"cm_{c.code}",
            _community_unit_name(c),
            UnitKind.COMMUNITY,
            UnitLevel.COMMUNITY,
            region=c,
            parent=street_units[c.parent_id],
            short=c.name,
        )
    return _Units(bureau, center, depts, district_gov, brigade, street_units, community_units)


def _add_city_people(roster: _Roster, units: _Units, district: Region) -> None:
    """The leaders, the center's staff and every city-level unit's handler and leader."""
    person = roster.add
    bureau, center, depts = units.bureau, units.center, units.depts
    district_gov, brigade = units.district_gov, units.brigade
    person("city_leader", bureau, [(Role.CITY_LEADER, None)], "市级领导（分管副市长）", "副市长")
    person(
        "district_leader",
        district_gov,
        [(Role.DISTRICT_LEADER, district)],
        f"{district.name}区级领导",
        "副区长",
    )
    person("center_intake", center, [(Role.INTAKE_OPERATOR, None)], "受理员", "受理员")
    person("center_intake2", center, [(Role.INTAKE_OPERATOR, None)], "受理员（二）", "受理员")
    person("center_shift", center, [(Role.SHIFT_LEADER, None)], "值班长", "值班长")
    person("center_dispatch", center, [(Role.DISPATCHER, None)], "派遣员", "派遣员")
    person("center_dispatch2", center, [(Role.DISPATCHER, None)], "派遣员（二）", "派遣员")
    person("center_leader", center, [(Role.UNIT_LEADER, None)], "指挥中心主任", "主任")
    person("bureau_handler", bureau, [(Role.UNIT_HANDLER, None)], "城管执法局处置人员")
    person("bureau_leader", bureau, [(Role.UNIT_LEADER, None)], "城管执法局负责人", "局长")
    for code, _name, short, _kind, _duties in DEPARTMENTS:
        person(f"{code}_handler", depts[code], [(Role.UNIT_HANDLER, None)], f"{short}处置人员")
        person(f"{code}_leader", depts[code], [(Role.UNIT_LEADER, None)], f"{short}负责人")
    person("district_gov_handler", district_gov, [(Role.UNIT_HANDLER, district)], "区政府处置人员")
    person("district_gov_leader", district_gov, [(Role.UNIT_LEADER, district)], "区政府部门负责人")
    person(
        "brigade_handler",
        brigade,
        [(Role.UNIT_HANDLER, district), (Role.ENFORCEMENT_OFFICER, district)],
        "执法大队处置人员",
    )
    person("brigade_leader", brigade, [(Role.UNIT_LEADER, district)], "执法大队大队长", "大队长")


def _add_street_people(
    roster: _Roster, units: _Units, regions: _Regions, scale, i, s, per_supervisor
) -> None:
    """Street/town ``i``'s leaders, its communities' staff, grid workers and enforcement
    officers, and the officers seconded to it."""
    person = roster.add
    su = units.street_units[s.pk]
    person(f"street{i}_leader", su, [(Role.STREET_LEADER, s)], f"{s.name}领导", "主任")
    person(f"street{i}_handler", su, [(Role.UNIT_HANDLER, s)], f"{s.name}处置人员")
    person(f"street{i}_chief", su, [(Role.UNIT_LEADER, s)], f"{s.name}网格办负责人", "网格办主任")
    worker_no = officer_no = 0
    for j, c in enumerate(regions.by_street[s.pk], start=1):
        cu = units.community_units[c.pk]
        person(f"s{i}c{j}_handler", cu, [(Role.UNIT_HANDLER, c)], f"{c.name}处置人员")
        person(f"s{i}c{j}_leader", cu, [(Role.UNIT_LEADER, c)], f"{c.name}书记/主任", "主任")
        codes = regions.grids_by_community.get(c.pk, [])
        # Supervisors (城市综合监管员): each covers a run of neighbouring grids.
        for k in range(0, max(len(codes), 1), per_supervisor):
            worker_no += 1
            username = f"s{i}_worker{worker_no}"
            person(username, su, [(Role.GRID_WORKER, c)], f"{c.name}网格监管员", "城市综合监管员")
            roster.assign(codes[k : k + per_supervisor], username, GridDuty.SUPERVISOR)
        # Enforcement officers (执法人员) of the brigade: one covers several grids (the whole
        # community in the small city, about twenty grids in the full-size one).
        per_officer = max(len(codes), 1) if scale == "small" else 20
        for k in range(0, max(len(codes), 1), per_officer):
            officer_no += 1
            username = f"s{i}_officer{officer_no}"
            person(
                username, units.brigade, [(Role.ENFORCEMENT_OFFICER, s)], f"{c.name}网格执法人员", "执法队员"
            )
            roster.assign(codes[k : k + per_officer], username, GridDuty.ENFORCEMENT)
    # 派驻: one bureau officer and one natural-resources officer per office/town.
    for src, label in (("bureau", "城管执法局派驻"), ("dept_nr", "自然资源局派驻")):
        username = f"s{i}_{'bureau' if src == 'bureau' else 'nr'}_officer"
        person(
            username,
            units.bureau if src == "bureau" else units.depts["dept_nr"],
            [(Role.ENFORCEMENT_OFFICER, s)],
            f"{label}{s.name}执法人员",
            "执法人员",
        )
        roster.secondments.append((username, su.code, f"{label}{_street_unit_name(s)}（4办4镇派驻执法）"))
        # Seconded officers back up the brigade officer on the first grids of the street.
        first = next(
            (
                regions.grids_by_community[c.pk]
                for c in regions.by_street[s.pk]
                if regions.grids_by_community.get(c.pk)
            ),
            [],
        )
        roster.assign(first[: 2 if scale == "small" else 10], username, GridDuty.ENFORCEMENT)


def build_demo_matrix(actor, streets, street_units, brigade) -> int:
    """The matrix rows a city writes first: each department's line of classes (whole city, e.g.
    违法建设 → the district brigade that absorbed the 两违 teams), and for the towns illegal land
    use handled by the town with its seconded natural-resources officers."""

    units = {u.code: u for u in Unit.objects.filter(level=UnitLevel.CITY)}
    units["brigade"] = brigade
    rows = []
    default_classes = ProblemClass.objects.filter(code_set__is_default=True, is_active=True).exclude(
        default_unit_code=""
    )
    for pc in default_classes.order_by("code"):
        unit = units.get(pc.default_unit_code)
        if unit is not None:
            rows.append({"problem_class": pc, "region": None, "unit": unit, "note": "部门职责（行业监管）"})
    # Natural-resources officers are seconded to the towns: illegal land use there goes to the
    # town first (class + area beats the class-wide rule above).
    for pc in ProblemClass.objects.filter(code_set__is_default=True, name="违法占地"):
        for s in streets:
            if s.kind == RegionKind.TOWN:
                rows.append(
                    {
                        "problem_class": pc,
                        "region": s,
                        "unit": street_units[s.pk],
                        "note": "自然资源局派驻执法人员在镇办理",
                    }
                )
    return do_set_responsibility(actor, rows)


def build_demo_resources(admin, rng, streets, street_units, bureau, by_username, specs, today) -> None:
    """Courses and sessions with results (a few workers untrained or failed, so the flags show),
    vehicles, e-bikes and handheld devices, and the year's spending per office/town."""
    courses = _create_courses(admin)
    workers_by_street: dict[int, list] = {s.pk: [] for s in streets}
    for spec in specs:
        for role, region in spec["roles"]:
            if role == Role.GRID_WORKER and region is not None:
                workers_by_street[region.parent_id].append(by_username[spec["username"]])
    day0 = today - timedelta(days=60)
    for i, s in enumerate(streets, start=1):
        su = street_units[s.pk]
        workers = sorted(workers_by_street[s.pk], key=lambda p: p.pk)
        for k, course in enumerate(courses):
            start = datetime.combine(
                day0 + timedelta(days=7 * k + i), time(9, 0), tzinfo=timezone.get_current_timezone()
            )
            _train(admin, rng, course, start, su, s, workers)
        _equip(admin, s, su, workers, day0)
        _record_street_funds(admin, su, len(workers), day0 + timedelta(days=i))
    actions.do_record_funds(
        admin,
        unit=bureau,
        category=FundCategory.EQUIPMENT,
        amount=1250000,
        spent_on=day0,
        description="市级网格化监管平台及执法记录仪集中采购（专款专用）",
    )


def _create_courses(admin) -> tuple:
    """The courses; returns the two every grid worker takes."""
    basic = actions.do_create_course(
        admin,
        code="GW-01",
        name="网格员岗前培训",
        hours=8,
        pass_score=60,
        description="网格划分、巡查要求、问题采集与上报、现场处置规范",
    )
    law = actions.do_create_course(
        admin,
        code="GW-02",
        name="城市管理法规与执法协作",
        hours=4,
        pass_score=70,
        description="城市管理相关法规、证据采集、与执法人员协作",
    )
    actions.do_create_course(
        admin,
        code="GW-03",
        name="安全隐患排查",
        hours=4,
        pass_score=60,
        required_for_grid_workers=False,
        description="道路交通、森林防火、高危行业、校园、车站码头、商场酒店、公共场所隐患排查",
    )
    return basic, law


def _train(admin, rng, course, start, su, street, workers) -> None:
    """A session of ``course`` in the street office, with a result for most of its workers."""
    session = actions.do_schedule_training(
        admin,
        course=course,
        starts_at=start,
        ends_at=start + timedelta(hours=float(course.hours)),
        organiser=su,
        location=f"{su.name}会议室",
        trainer="市城管执法局培训科",
        region=street,
    )
    results = []
    for p in workers:
        roll = rng.random()
        if roll < 0.06:
            continue  # not enrolled: shows up as untrained
        attended = roll >= 0.10
        score = round(rng.uniform(55, 99), 1) if attended else None
        results.append(
            {"person": p, "attended": attended, "score": score, "note": "" if attended else "请假"}
        )
    actions.do_record_training(admin, session, results)


def _equip(admin, street, su, workers, day0) -> None:
    """A vehicle and an e-bike for the office, handheld devices for its first ten workers."""
    actions.do_issue_equipment(
        admin,
        unit=su,
        kind=EquipmentKind.VEHICLE,
        name="城管巡查执法车",
        asset_no=f"V-{street.code}-01",
        issued_on=day0,
        value=168000,
    )
    actions.do_issue_equipment(
        admin,
        unit=su,
        kind=EquipmentKind.EBIKE,
        name="巡逻电动车",
        asset_no=f"E-{street.code}-01",
        issued_on=day0,
        value=4200,
    )
    for n, p in enumerate(workers[:10], start=1):
        actions.do_issue_equipment(
            admin,
            unit=su,
            kind=EquipmentKind.DEVICE,
            name="网格监管手持终端",
            asset_no=f"D-{street.code}-{n:03d}",
            issued_on=day0,
            holder=p,
            value=2600,
        )


def _record_street_funds(admin, su, workers: int, spent_on) -> None:
    for category, amount, text in (
        (FundCategory.EQUIPMENT, 168000 + 4200 + 2600 * min(workers, 10), "巡查车辆、电动车及手持终端采购"),
        (FundCategory.STAFF, 3800 * max(workers, 1) * 3, "网格监管员一季度工资（公益岗位）"),
        (FundCategory.TRAINING, 6000, "网格员岗前培训及法规培训"),
    ):
        actions.do_record_funds(
            admin, unit=su, category=category, amount=amount, spent_on=spent_on, description=text
        )
