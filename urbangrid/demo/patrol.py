"""Patrol and hazard-sweep history of the demo city, produced THROUGH THE ACTIONS with simulated time.

``build_history(days, seed, progress, end)`` simulates the last ``days`` days of the patrol app on
top of the demo organisation and its case history:

- Place register (场所登记): schools, shops and restaurants, hotels, markets, stations and docks,
  road sections, petrol and gas stations, construction sites, chemical stores and forest edges,
  registered by the street leaders and grid workers of the streets and towns they lie in.
- Patrol plans (巡查计划) written by street/town leaders for part of the district: key grids of a
  street with check-in points at a school, a market and a bus terminus; an evening window for back
  streets; a full-coverage pilot of a whole street in the last two weeks; a forest-fire patrol of a
  town by a named enforcement officer who checks in explicitly at the forest entrances; a
  school-run plan with morning and afternoon windows that has ended; a market-town plan whose
  frequency was lowered half-way; and a trial plan that was deactivated.
- Patrol tracks (巡查轨迹): the plans' grid workers walk their grids on most working days and
  fewer at weekends, plus some patrols outside any plan. Paths stay inside the assigned grids
  (walks along block edges between points of interest, pauses at shops and check-in points,
  GPS noise, a few bad fixes and signal gaps), a point every 10 s uploaded in batches as the
  phone's queue flushes. Check-in points reached by a track are checked in by the upload itself;
  a few phones died mid-patrol and the periodic sweep closed those tracks as abandoned. On the
  last day patrols happen up to ``end`` and one or two are still in progress.
- Hazard sweeps (安全隐患排查): a finished city-wide campaign on crowded places, a running
  district campaign on high-risk industry, forest fire and road safety, and a street campaign
  around schools that has just begun. Inspectors (the place's grid worker or the street's
  enforcement officer) answer every checklist item; failed items become cases through the case
  intake (the app's own path) and those cases then run the case workflow: registered, dispatched
  to the responsible department, rectified (some late, some reworked, a few shelved into
  engineering plans), checked on site and closed; recent ones are still open. Re-inspections of
  a place whose hazard is still open link the same case. The deadline sweep runs when those
  cases' warning and due times pass.

Every write is a ``do_*`` action (patrol, cases) given the simulated moment as ``now``, so audit
records and creation times carry it too. Events run in one global time order. Volumes are bounded by caps, not by the number of grids, so
the city scale stays as fast as the small one. Deterministic for a seed and an ``end``.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from urbangrid.cases import tasks
from urbangrid.cases.models import Case, Notification
from urbangrid.catalog.calendar import is_working_day
from urbangrid.demo.cases import CaseCast, case_plan
from urbangrid.demo.orgs import GIVEN, SURNAMES
from urbangrid.demo.simulation import (
    STEP,
    Simulation,
    local_time,
    notifications_held,
    photo_pool,
    weighted,
)
from urbangrid.geo.locator import locate
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role
from urbangrid.orgs.choices import GridDuty
from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment
from urbangrid.patrol import actions as A
from urbangrid.patrol.choices import PlaceType, TrackState
from urbangrid.patrol.models import (
    CheckIn,
    ChecklistItem,
    Inspection,
    InspectionResult,
    PatrolPlan,
    Place,
    SweepCampaign,
    Track,
)
from urbangrid.patrol.queries import campaign_places

log = logging.getLogger(__name__)

# Caps: the history stays bounded whatever the number of grids (small ≈ 330, city ≈ 5,000).
MAX_TRACKS = 1150  # tracks over the whole history; older days are thinned above it
KEEP_RECENT_DAYS = 14  # never thinned
KEY_GRIDS = 4  # grids of a key-area plan
AREA_PLAN_MAX_GRIDS = 40  # a full-coverage plan covers a street, else one community, up to this
STEP_S = 10  # a GPS point every 10 s
BATCH_S = 1800  # points queued on the phone are uploaded about every half hour
WALK = (1.0, 1.4)  # m/s
EBIKE = (3.0, 4.5)

# (type, places, where): "street" = street offices (urban), "town" = towns, "any".
PLACE_PLAN = [
    (PlaceType.CAMPUS, 12, "street"),
    (PlaceType.MALL_HOTEL, 18, "street"),
    (PlaceType.PUBLIC_PLACE, 12, "any"),
    (PlaceType.STATION_DOCK, 7, "any"),
    (PlaceType.ROAD_TRAFFIC, 10, "any"),
    (PlaceType.HIGH_RISK, 16, "any"),
    (PlaceType.FOREST_FIRE, 8, "town"),
]
ROADS = ["朝阳路", "建设路", "文化路", "人民路", "解放路", "长安路", "兴华路", "金花路", "太白路", "友谊路"]
# (name, owner/operator) templates. {a}: street/town short name, {c}: community/village short name,
# {r}/{r2}: roads.
NAMES = {
    PlaceType.CAMPUS: {
        "street": [
            ("{a}小学", "{a}小学"),
            ("{a}第二小学", "{a}第二小学"),
            ("{a}中学", "{a}中学"),
            ("{c}幼儿园", "{c}幼儿园"),
            ("{a}实验学校", "{a}实验学校"),
            ("阳光幼儿园（{a}园）", "示范区阳光教育咨询有限公司"),
            ("育英小学{a}校区", "示范区育英小学"),
            ("示范区职业技术学校", "示范区职业技术学校"),
            ("新华书香幼儿园", "示范区新华书香幼儿园"),
            ("{c}小学", "{c}小学"),
        ],
        "town": [
            ("{a}镇中心小学", "{a}镇中心小学"),
            ("{a}初级中学", "{a}初级中学"),
            ("{c}村小学", "{c}村小学"),
            ("{a}镇中心幼儿园", "{a}镇中心幼儿园"),
        ],
    },
    PlaceType.MALL_HOTEL: {
        "street": [
            ("{a}万家福超市", "示范区万家福商贸有限公司"),
            ("{a}国际大酒店", "{a}国际大酒店有限公司"),
            ("喜来居快捷酒店（{a}店）", "示范区喜来居酒店管理有限公司"),
            ("{a}购物中心", "{a}购物中心有限公司"),
            ("老灶火锅（{a}店）", "示范区老灶餐饮管理有限公司"),
            ("蜀香园川菜馆", "示范区蜀香园餐饮店（个体）"),
            ("{c}宾馆", "{c}宾馆（个体）"),
            ("好又多商场{a}店", "示范区好又多百货有限公司"),
            ("福满楼酒家", "示范区福满楼餐饮有限公司"),
            ("{a}美食城", "{a}美食城经营管理有限公司"),
            ("聚贤庄饭店", "聚贤庄饭店（个体）"),
            ("{a}商厦", "{a}商厦有限责任公司"),
            ("锦江之星（{r}店）", "示范区锦程酒店管理有限公司"),
            ("{r}小吃街", "{a}市场服务中心"),
        ],
        "town": [
            ("{a}供销超市", "{a}供销合作社"),
            ("{a}农家乐饭庄", "{a}农家乐饭庄（个体）"),
            ("{a}宾馆", "{a}宾馆（个体）"),
        ],
    },
    PlaceType.PUBLIC_PLACE: {
        "street": [
            ("{a}农贸市场", "{a}农贸市场管理有限公司"),
            ("{c}文化广场", "{a}街道办事处"),
            ("{a}公园", "区园林绿化管理所"),
            ("极速网咖（{r}店）", "示范区极速网络科技有限公司"),
            ("{a}全民健身中心", "区文化和体育局"),
            ("星光影城", "示范区星光影院管理有限公司"),
            ("{c}老年活动中心", "{c}社区居民委员会"),
            ("{a}夜市", "{a}市场服务中心"),
        ],
        "town": [
            ("{a}集贸市场", "{a}集贸市场管理所"),
            ("{a}文化广场", "{a}人民政府"),
            ("{c}村民广场", "{c}村民委员会"),
        ],
    },
    PlaceType.STATION_DOCK: {
        "street": [
            ("示范区长途汽车客运站", "示范区汽车运输有限公司"),
            ("{a}公交首末站", "示范区公共交通集团有限公司"),
            ("地铁{a}站", "市轨道交通集团运营分公司"),
            ("{r}公交枢纽站", "示范区公共交通集团有限公司"),
        ],
        "town": [
            ("{a}渡口", "{a}人民政府"),
            ("{a}汽车客运站", "示范区汽车运输有限公司"),
            ("{a}河码头", "{a}航运服务站"),
        ],
    },
    PlaceType.ROAD_TRAFFIC: {
        "street": [
            ("{r}与{r2}交叉口", "市公安局交通警察支队"),
            ("{r}学校路段", "市公安局交通警察支队"),
            ("{r}下穿隧道", "区市政设施管理所"),
            ("{a}立交桥", "区市政设施管理所"),
        ],
        "town": [
            ("G312国道{a}过境段", "市公路管理局"),
            ("{c}村道急弯路段", "区交通运输局"),
            ("{a}大桥", "市公路管理局"),
        ],
    },
    PlaceType.HIGH_RISK: {
        "street": [
            ("中国石化{a}加油站", "中国石化销售股份有限公司示范区分公司"),
            ("{a}燃气调压站", "市燃气公司"),
            ("{a}棚户区改造项目施工工地", "中建三局示范区项目部"),
            ("{r}综合管廊施工工地", "市政建设集团第二工程有限公司"),
            ("{c}商住楼项目建筑工地", "示范区安居置业有限公司"),
        ],
        "town": [
            ("{a}化工原料仓库", "{a}化工贸易有限公司"),
            ("{a}新型建材有限公司", "{a}新型建材有限公司"),
            ("{a}烟花爆竹批发部", "{a}烟花爆竹批发部（个体）"),
            ("{a}液化石油气充装站", "{a}能源有限公司"),
            ("{c}砂石料场", "{c}砂石料场（个体）"),
        ],
    },
    PlaceType.FOREST_FIRE: {
        "town": [
            ("{a}北山林区", "{a}林业站"),
            ("{a}南坡生态公益林", "{a}林业站"),
            ("{c}林缘坟地区域", "{c}村民委员会"),
            ("{a}森林公园", "区森林公园管理处"),
            ("{c}果园林缘", "{c}村民委员会"),
        ],
    },
}
# What an inspector writes when an item fails.
FAIL_NOTES = {
    "RT01": "信号灯被行道树枝叶遮挡",
    "RT02": "临水路段护栏缺损约20米",
    "RT03": "学校门口减速带损坏",
    "RT04": "路面出现约1平方米坑槽，夜间无警示",
    "RT05": "路口广告牌遮挡驾驶员视线",
    "RT06": "施工围挡破损，未设置夜间警示灯",
    "RT07": "早晚高峰电动车逆行现象突出",
    "FF01": "林区入口防火警示牌缺失",
    "FF02": "林缘发现焚烧秸秆痕迹",
    "FF03": "防火隔离带内枯枝落叶堆积未清理",
    "FF04": "储水池水位不足，部分扑火工具损坏",
    "FF05": "护林员巡护记录缺失近一周",
    "FF06": "电力线路下方杂草未清除",
    "HR01": "危化品与普通货物混存，未分区存放",
    "HR02": "危险化学品经营许可证已过期",
    "HR03": "可燃气体报警器故障未修复",
    "HR04": "2名电焊工未持证上岗",
    "HR05": "未按期开展应急演练，应急物资不全",
    "HR06": "消防车通道被货车占用",
    "HR07": "动火作业未办理审批手续",
    "CA01": "校门口防冲撞设施缺失",
    "CA02": "宿舍楼安全出口被杂物堵塞",
    "CA03": "3具灭火器压力不足已过期",
    "CA04": "食堂食品留样记录不全",
    "CA05": "校门口有无证流动摊贩",
    "CA06": "校车随车照管人员未到岗",
    "CA07": "操场围栏立柱松动",
    "SD01": "安检机故障，安检员未在岗",
    "SD02": "候车厅东侧安全出口上锁",
    "SD03": "渡船救生衣数量不足",
    "SD04": "疏散指示标志不亮",
    "SD05": "站前广场有非法营运车辆拉客",
    "SD06": "码头护栏缺损2处",
    "MH01": "二楼安全出口堆放纸箱杂物",
    "MH02": "消火栓箱内水带缺失",
    "MH03": "应急照明灯不亮",
    "MH04": "后厨私拉电线，使用大功率电器",
    "MH05": "消防控制室仅1人值班",
    "MH06": "未落实旅客实名登记",
    "MH07": "后厨燃气管道未安装泄漏报警装置",
    "PP01": "未制定大客流应急预案",
    "PP02": "健身器材螺丝松动",
    "PP03": "湖边警示牌缺失，救生圈破损",
    "PP04": "消防车通道被私家车占用",
    "PP05": "广告牌锈蚀严重，存在坠落隐患",
    "PP06": "景观照明线路裸露",
}
FAIL_RATE = {
    PlaceType.HIGH_RISK: 0.38,
    PlaceType.MALL_HOTEL: 0.32,
    PlaceType.PUBLIC_PLACE: 0.25,
    PlaceType.CAMPUS: 0.18,
    PlaceType.STATION_DOCK: 0.22,
    PlaceType.ROAD_TRAFFIC: 0.3,
    PlaceType.FOREST_FIRE: 0.32,
}
PASS_NOTES = [
    "现场检查未发现隐患",
    "各项安全制度落实到位",
    "消防设施完好，疏散通道畅通",
    "负责人在场配合检查",
    "",
]
# A hazard case runs the case loop (cases.demo.case_plan) with its own mix of outcomes.
HAZARD_SCENARIOS = [("normal", 74), ("late", 14), ("rework", 9), ("shelve", 3)]


def _noop(*args, **kwargs) -> None:
    return None


def _short(name: str) -> str:
    for suffix in ("街道", "社区", "镇", "村"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


# ----------------------------------------------------------------------------- who and where


class _Cast:
    """The people and the grids of the demo organisation the history needs."""

    def __init__(self, today: date):
        self._users: dict[int, object] = {}
        people = list(Person.objects.filter(is_active=True).select_related("user"))
        self.person_user = {p.pk: p.user for p in people}
        self._person_of_user = {p.user_id: p for p in people}
        self._load_center()
        self._load_streets()
        geoms = self._load_grids(today)
        self._set_metric_frame(geoms)

    def _users_with(self, role, level=None) -> list:
        qs = RoleAssignment.objects.filter(role=role, person__is_active=True)
        if level == "city":
            qs = qs.filter(Q(region__isnull=True) | Q(region__level__lte=1))
        ids = sorted(set(qs.values_list("person_id", flat=True)))
        return [self.person_user[i] for i in ids if i in self.person_user]

    def _load_center(self) -> None:
        """The center's shift leaders and dispatchers, someone who acts for the whole city, and
        the district leader."""
        self.shift = self._users_with(Role.SHIFT_LEADER, "city")
        self.dispatchers = self._users_with(Role.DISPATCHER, "city")
        city_people = self._users_with(Role.CITY_LEADER) + self.shift + self.dispatchers
        self.city_actor = next((u for u in city_people if scope_for(u).all_city), None)
        self.district_leader = next(iter(self._users_with(Role.DISTRICT_LEADER)), None) or self.city_actor

    def _load_streets(self) -> None:
        """The district, its streets and communities, each street's leader and officers."""
        self.district = Region.objects.filter(level=2).order_by("code").first()
        self.streets = list(Region.objects.filter(level=3).order_by("code"))
        self.communities = defaultdict(list)
        for c in Region.objects.filter(level=4).order_by("code"):
            self.communities[c.parent_id].append(c)
        self.street_leader: dict[int, object] = {}
        self.officers: dict[int, list] = defaultdict(list)
        for ra in RoleAssignment.objects.filter(
            role__in=[Role.STREET_LEADER, Role.ENFORCEMENT_OFFICER], person__is_active=True, region__level=3
        ).order_by("person_id"):
            user = self.person_user.get(ra.person_id)
            if user is None:
                continue
            if ra.role == Role.STREET_LEADER:
                self.street_leader.setdefault(ra.region_id, user)
            else:
                self.officers[ra.region_id].append(user)
        self.urban = [s for s in self.streets if s.kind == "street"] or self.streets
        self.towns = [s for s in self.streets if s.kind == "town"] or self.streets

    def _load_grids(self, today: date):
        """Grids (canonical lon/lat) and their supervisors (one per grid, the first assigned);
        returns the grids' geometries."""
        self.grids: dict[str, tuple] = {}  # code -> (community_id, street_id, shapely geometry)
        self.grids_of_street: dict[int, list[str]] = defaultdict(list)
        self.grids_of_community: dict[int, list[str]] = defaultdict(list)
        rows = list(
            UnitGrid.objects.current()
            .exclude(geometry_wkb__isnull=True)
            .order_by("code")
            .values_list("code", "community_id", "street_id", "geometry_wkb")
        )
        geoms = shapely.from_wkb([bytes(r[3]) for r in rows]) if rows else []
        for (code, cid, sid, _w), g in zip(rows, geoms, strict=True):
            self.grids[code] = (cid, sid, g)
            self.grids_of_street[sid].append(code)
            self.grids_of_community[cid].append(code)
        self.supervisor: dict[str, object] = {}
        self.worker_grids: dict[int, list[str]] = defaultdict(list)
        gas = (
            GridAssignment.objects.filter(
                duty=GridDuty.SUPERVISOR, valid_from__lte=today, person__is_active=True
            )
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
            .order_by("id")
            .values_list("grid_code", "person_id")
        )
        for code, pid in gas:
            user = self.person_user.get(pid)
            if user is None or code not in self.grids or code in self.supervisor:
                continue
            self.supervisor[code] = user
            self.worker_grids[user.pk].append(code)
        return geoms

    def _set_metric_frame(self, geoms) -> None:
        """A local metric frame (equirectangular; plenty for paths inside one district)."""
        if geoms is not None and len(geoms):
            b = shapely.total_bounds(geoms)
            self.lon0, self.lat0 = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        else:
            self.lon0, self.lat0 = 108.95, 34.27
        self.kx = 111320.0 * math.cos(math.radians(self.lat0))
        self.ky = 110574.0
        self._metric: dict[str, object] = {}

    def person_of(self, user):
        return self._person_of_user.get(user.pk) if user is not None else None

    def ok(self) -> bool:
        return bool(self.streets and self.supervisor and self.street_leader and self.city_actor)

    def metric(self, code: str):
        g = self._metric.get(code)
        if g is None:
            origin = np.array([self.lon0, self.lat0])
            scale = np.array([self.kx, self.ky])
            g = shapely.transform(self.grids[code][2], lambda c: (c - origin) * scale)
            self._metric[code] = g
        return g

    def to_m(self, lon, lat):
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def to_ll(self, x, y):
        return self.lon0 + np.asarray(x) / self.kx, self.lat0 + np.asarray(y) / self.ky

    def point_in(self, rng: random.Random, code: str) -> tuple[float, float]:
        """A random point well inside a grid (canonical lon/lat)."""
        poly = self.metric(code)
        inner = poly.buffer(-8.0)
        if inner.is_empty or inner.area < 50:
            inner = poly
        x0, y0, x1, y1 = inner.bounds
        for _ in range(200):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if shapely.contains_xy(inner, x, y):
                lon, lat = self.to_ll(x, y)
                return float(lon), float(lat)
        c = inner.representative_point()
        lon, lat = self.to_ll(c.x, c.y)
        return float(lon), float(lat)

    def grid_at(self, lon: float, lat: float) -> str | None:

        loc = locate(lon, lat, crs="cgcs2000")
        return loc.grid_code if loc is not None else None


# ----------------------------------------------------------------------------- patrol paths


def _route(nrng, cast: _Cast, codes: list[str], musts: dict, speed: float, budget: tuple[float, float]):
    """A patrol through ``codes`` in turn: walks along block edges (L-shaped legs) between points of
    interest inside each grid, pausing at some and at every must-visit point, for about ``budget``
    seconds per grid. Returns knots (x, y, t) in metres/seconds and {must key: (t, x, y)}."""
    knots: list[tuple[float, float, float]] = []
    visits: dict = {}
    t = 0.0
    cur = None
    for code in codes:
        poly = cast.metric(code)
        inner = poly.buffer(-5.0)
        if inner.is_empty or inner.area < 100:
            inner = poly
        x0, y0, x1, y1 = inner.bounds

        def sample(k, inner=inner, x0=x0, y0=y0, x1=x1, y1=y1):
            xs, ys = nrng.uniform(x0, x1, 48), nrng.uniform(y0, y1, 48)
            ok = shapely.contains_xy(inner, xs, ys)
            pts = [(float(x), float(y), None) for x, y in zip(xs[ok][:k], ys[ok][:k], strict=True)]
            if not pts:
                c = inner.representative_point()
                pts = [(c.x, c.y, None)]
            return pts

        if cur is None:
            cur = sample(1)[0][:2]
            knots.append((cur[0], cur[1], 0.0))
        pool = sample(6) + [(x, y, key) for key, (x, y) in musts.get(code, {}).items()]
        t_grid = t
        target = float(nrng.uniform(*budget))
        for _ in range(400):
            if not pool:
                if t - t_grid >= target:
                    break
                pool = sample(5)
            d = [abs(p[0] - cur[0]) + abs(p[1] - cur[1]) for p in pool]
            nx, ny, key = pool.pop(int(np.argmin(d)))
            corner = (nx, cur[1]) if nrng.random() < 0.5 else (cur[0], ny)
            t += (abs(corner[0] - cur[0]) + abs(corner[1] - cur[1])) / speed
            knots.append((corner[0], corner[1], t))
            t += (abs(nx - corner[0]) + abs(ny - corner[1])) / speed
            knots.append((nx, ny, t))
            cur = (nx, ny)
            if key is not None:
                visits[key] = (t, nx, ny)
                t += float(nrng.uniform(60, 150))
                knots.append((nx, ny, t))
            elif nrng.random() < 0.3:
                t += float(nrng.uniform(30, 200))  # talking to a shopkeeper, taking photos
                knots.append((nx, ny, t))
            if t - t_grid >= target and not any(p[2] is not None for p in pool):
                break
    return knots, visits


def _sample(nrng, cast: _Cast, knots, start: datetime):
    """GPS points every STEP_S along the knots: noise, reported accuracy, a few bad fixes and
    sometimes a signal gap. Returns lon, lat, t_ms, acc arrays."""
    k = np.asarray(knots, dtype=float)
    total = k[-1, 2]
    ts = np.arange(0.0, max(total, STEP_S), STEP_S)
    ts = np.clip(ts + nrng.uniform(-1.0, 1.0, len(ts)), 0.0, None)
    ts[0] = 0.0
    ts.sort()
    x = np.interp(ts, k[:, 2], k[:, 0]) + nrng.normal(0.0, 2.5, len(ts))
    y = np.interp(ts, k[:, 2], k[:, 1]) + nrng.normal(0.0, 2.5, len(ts))
    acc = np.round(nrng.uniform(3.0, 10.0, len(ts)), 1)
    bad = nrng.random(len(ts)) < 0.015
    if bad.any():
        ang = nrng.uniform(0, 2 * math.pi, bad.sum())
        dist = nrng.uniform(40, 90, bad.sum())
        x[bad] += np.cos(ang) * dist
        y[bad] += np.sin(ang) * dist
        acc[bad] = np.round(nrng.uniform(65, 150, bad.sum()), 1)
    keep = np.ones(len(ts), dtype=bool)
    if len(ts) > 60 and nrng.random() < 0.06:  # under a tree canopy or in an arcade: no fix
        a = int(nrng.integers(10, len(ts) - 30))
        keep[a : a + int(nrng.integers(8, 24))] = False
    lon, lat = cast.to_ll(x[keep], y[keep])
    t_ms = (start.timestamp() + ts[keep]) * 1000.0
    return lon, lat, np.round(t_ms).astype(np.int64), acc[keep]


# ----------------------------------------------------------------------------- the history


@dataclass
class _PlanSpec:
    key: str
    name: str
    region: object
    codes: list[str]
    listed: bool
    per_day: int
    windows: list[dict]
    valid_from: date
    valid_to: date | None = None
    min_coverage: float = 0.0
    patroller: object = None
    checkpoints: list[dict] = field(default_factory=list)
    note: str = ""
    creator: object = None
    explicit: bool = False
    speed: tuple[float, float] = WALK
    budget: tuple[float, float] = (1200.0, 2100.0)
    p_work: float = 0.92
    p_rest: float = 0.5
    deactivate_on: date | None = None
    update_on: date | None = None
    per_day_after: int | None = None
    plan: object = None


def _day_slots(spec: _PlanSpec, d: date) -> list[tuple[int, int]]:
    """The (earliest, latest) start minutes of the plan's patrols on day ``d``: one a day part for
    each patrol the plan asks for, one in each of its time windows."""
    per_day = spec.per_day_after if spec.update_on and d >= spec.update_on else spec.per_day
    parts = [(8 * 60 + 30, 10 * 60 + 30), (14 * 60, 16 * 60), (19 * 60, 20 * 60)]
    slots = [parts[min(k, 2)] for k in range(per_day)]
    for w in spec.windows:
        ws = int(w["start"][:2]) * 60 + int(w["start"][3:])
        we = int(w["end"][:2]) * 60 + int(w["end"][3:])
        slots.append((ws, max(ws + 1, we - 40)))
    return slots


def _result_note(item, bad: bool, recheck: bool) -> str:
    if not bad:
        return ""
    note = FAIL_NOTES.get(item.code, "现场检查不符合要求")
    return "复查：" + note + "，尚未整改到位" if recheck else note


class _History(Simulation):
    def __init__(self, rng: random.Random, cast: _Cast, start: datetime, end: datetime, days: int, say):
        super().__init__(start, end)
        self.rng = rng
        self.cast = cast
        self.days = days
        self.say = say
        self.stats: Counter = Counter()
        self.photos = photo_pool(rng)
        self.case_cast = CaseCast()
        self.places: list = []
        self.plans: list[_PlanSpec] = []
        self.hazard_cases: set[int] = set()
        self.swept: set[datetime] = set()
        self.tz = timezone.get_current_timezone()

    # -- helpers
    def day_range(self, a: date, b: date):
        d = a
        while d <= b:
            yield d
            d += timedelta(days=1)

    def pic(self, name="photo"):
        return SimpleUploadedFile(f"{name}.jpg", self.rng.choice(self.photos), content_type="image/jpeg")

    def phone(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}"

    def person_name(self) -> str:

        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))
        )

    # -- places ---------------------------------------------------------------------------------
    def register_places(self) -> None:
        cast = self.cast
        used: set[str] = set()
        for place_type, count, where in PLACE_PLAN:
            pools = {"street": cast.urban, "town": cast.towns, "any": cast.streets}[where]
            pools = [s for s in pools if cast.grids_of_street.get(s.pk)]
            if not pools:
                continue
            for i in range(count):
                place = self._register_place(place_type, pools[i % len(pools)], used)
                if place is not None:
                    self.places.append(place)
        self.stats["places"] = len(self.places)

    def _register_place(self, place_type, street, used: set[str]):
        """A place of ``place_type`` in a grid of ``street`` with a name not ``used`` yet,
        registered some months before the history; None when no new name is left or refused."""
        cast, rng = self.cast, self.rng
        kind = "town" if street.kind == "town" else "street"
        templates = NAMES[place_type].get(kind) or NAMES[place_type].get("street") or []
        comms = [c for c in cast.communities.get(street.pk, []) if cast.grids_of_community.get(c.pk)]
        community = rng.choice(comms) if comms else None
        code = rng.choice(
            cast.grids_of_community[community.pk] if community else cast.grids_of_street[street.pk]
        )
        r, r2 = rng.sample(ROADS, 2)
        fmt = {"a": _short(street.name), "c": _short(community.name) if community else "", "r": r, "r2": r2}
        name = owner = ""
        for template, owner_template in rng.sample(templates, len(templates)):
            name, owner = template.format(**fmt), owner_template.format(**fmt)
            if name not in used:
                break
        if not name or name in used:
            return None
        used.add(name)
        lon, lat = cast.point_in(rng, code)
        address = (
            f"{street.name}{r}{rng.randrange(1, 300)}号"
            if kind == "street"
            else f"{street.name}{community.name if community else ''}"
        )
        supervisor = cast.supervisor.get(code)
        actor = supervisor if supervisor is not None and rng.random() < 0.3 else None
        actor = actor or cast.street_leader.get(street.pk) or cast.city_actor
        # The register predates the history: places were entered over the previous months.
        day = timezone.localtime(self.start).date() - timedelta(days=rng.randrange(3, 150))
        registered = local_time(day, rng.randrange(9, 17), rng.randrange(60), rng.randrange(60))
        try:
            with transaction.atomic():
                return A.do_register_place(
                    actor,
                    name=name,
                    place_type=place_type,
                    lon=lon,
                    lat=lat,
                    crs="cgcs2000",
                    address=address,
                    owner_name=owner,
                    owner_contact=self.person_name(),
                    owner_phone=self.phone(),
                    now=registered,
                )
        except DomainError as exc:
            self.stats["refused_places"] += 1
            log.debug("demo place refused: %s", exc)
            return None

    # -- plans ----------------------------------------------------------------------------------
    def _places_in(self, street, types=None):
        return [
            p for p in self.places if p.street_id == street.pk and (types is None or p.place_type in types)
        ]

    def _key_grids(self, street, anchors, n):
        """The grids of the anchor places, then their neighbours in code order, up to n."""
        codes = self.cast.grids_of_street.get(street.pk, [])
        out = []
        for p in anchors:
            if p.grid_code in codes and p.grid_code not in out:
                out.append(p.grid_code)
        for c in list(out):
            i = codes.index(c)
            for j in (i + 1, i - 1):
                if 0 <= j < len(codes) and codes[j] not in out and len(out) < n:
                    out.append(codes[j])
        rest = [c for c in codes if c not in out]
        self.rng.shuffle(rest)
        out += rest[: max(0, n - len(out))]
        return sorted(out[:n])

    def _checkpoint(self, place, suffix, radius=30, window=None):
        return {
            "name": f"{place.name}{suffix}",
            "lon": place.lon,
            "lat": place.lat,
            "crs": "cgcs2000",
            "radius_m": radius,
            "window_start": window[0] if window else None,
            "window_end": window[1] if window else None,
        }

    def design_plans(self) -> None:
        """Seven plans of every kind, each created a few days before it applies (and some
        lowered or deactivated later)."""
        rng = self.rng
        urban, towns = self.cast.urban, self.cast.towns
        self.plans += [
            self._key_grids_plan(urban[0]),
            self._night_plan(urban[1 % len(urban)]),
            self._full_coverage_plan(urban[2 % len(urban)]),
            self._forest_fire_plan(towns[0]),
            self._school_run_plan(urban[3 % len(urban)]),
            self._market_town_plan(towns[1 % len(towns)]),
            self._trial_plan(towns[2 % len(towns)]),
        ]
        for spec in self.plans:
            spec.codes = [c for c in spec.codes if c in self.cast.grids]
            created = local_time(spec.valid_from - timedelta(days=rng.randrange(2, 6)), 10, rng.randrange(60))
            self.schedule(created, "plan", spec)
            if spec.update_on:
                self.schedule(local_time(spec.update_on, 8, rng.randrange(60)), "update_plan", spec)
            if spec.deactivate_on:
                self.schedule(local_time(spec.deactivate_on, 17, rng.randrange(60)), "deactivate", spec)

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start).date()

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end).date()

    def _day(self, frac: float, lo: int = 0) -> date:
        """The day ``frac`` of the way into the history (at least ``lo`` days in)."""
        return self.first_day + timedelta(days=max(lo, int(self.days * frac)))

    def _leader(self, street):
        return self.cast.street_leader.get(street.pk) or self.cast.city_actor

    def _sample_grids(self, street, n: int, community=None) -> list[str]:
        cast = self.cast
        pool = (community and cast.grids_of_community.get(community.pk)) or cast.grids_of_street.get(
            street.pk, []
        )
        return sorted(self.rng.sample(pool, min(n, len(pool))))

    def _key_grids_plan(self, s) -> _PlanSpec:
        """Key grids of the first street, with check-in points at a school, a market, a terminus."""
        anchors = [
            found[0]
            for kind in (PlaceType.CAMPUS, PlaceType.PUBLIC_PLACE, PlaceType.STATION_DOCK)
            if (found := self._places_in(s, {kind}))
        ]
        codes = self._key_grids(s, anchors, KEY_GRIDS)
        cps = [
            self._checkpoint(p, "门口" if p.place_type == PlaceType.CAMPUS else "入口")
            for p in anchors
            if p.grid_code in codes
        ]
        return _PlanSpec(
            "key",
            f"{s.name}重点区域日常巡查",
            s,
            codes,
            True,
            1,
            [],
            self.first_day,
            checkpoints=cps,
            note="重点网格每日至少巡查一次，途经学校、市场、公交站须到点打卡",
            creator=self._leader(s),
        )

    def _night_plan(self, s) -> _PlanSpec:
        """An evening window for the back streets of a community of the second street."""
        comm = (self.cast.communities.get(s.pk) or [s])[0]
        return _PlanSpec(
            "night",
            f"{comm.name}背街小巷夜间巡查",
            comm,
            self._sample_grids(s, 2, comm),
            True,
            0,
            [{"start": "19:30", "end": "22:00", "min": 1, "label": "背街小巷夜巡"}],
            self._day(0.08, 1),
            note="夜间重点巡查占道经营、夜市油烟、乱堆乱放",
            creator=self._leader(s),
            p_work=0.85,
            p_rest=0.75,
            budget=(1500.0, 2400.0),
        )

    def _full_coverage_plan(self, s) -> _PlanSpec:
        """A full-coverage pilot of a whole street (or of a community at city scale), the last week."""
        cast = self.cast
        region, codes, listed = s, list(cast.grids_of_street.get(s.pk, [])), False
        if len(codes) > AREA_PLAN_MAX_GRIDS:
            comm = min(
                cast.communities.get(s.pk) or [s],
                key=lambda c: len(cast.grids_of_community.get(c.pk, [])) or 10**9,
            )
            region = comm
            codes = list(cast.grids_of_community.get(comm.pk, []))
            if len(codes) > AREA_PLAN_MAX_GRIDS:
                codes, listed = codes[:AREA_PLAN_MAX_GRIDS], True
        pilot_from = self.last_day - timedelta(days=min(8, max(2, int(self.days * 0.1))))
        return _PlanSpec(
            "full",
            f"{region.name}网格巡查全覆盖试点",
            region,
            codes,
            listed,
            1,
            [],
            max(self.first_day, pilot_from),
            min_coverage=0.5,
            note="试点期间每个网格每日巡查不少于一次，巡查覆盖面积不低于50%",
            creator=self._leader(s),
            p_work=0.9,
            p_rest=0.45,
        )

    def _forest_fire_plan(self, t) -> _PlanSpec:
        """A forest-fire patrol of a town by its enforcement officer, with explicit check-ins."""
        anchors = self._places_in(t, {PlaceType.FOREST_FIRE}) or self._places_in(t)
        codes = self._key_grids(t, anchors[:2], KEY_GRIDS)
        officer = (self.cast.officers.get(t.pk) or [None])[0]
        cps = [self._checkpoint(p, "入口检查站", radius=40) for p in anchors[:2] if p.grid_code in codes]
        return _PlanSpec(
            "forest",
            f"{t.name}森林防火巡查",
            t,
            codes,
            True,
            1,
            [],
            self._day(0.05, 1),
            patroller=officer,
            checkpoints=cps,
            note="每日巡护林区林缘，到林区入口检查站扫码签到",
            creator=self._leader(t),
            explicit=True,
            speed=EBIKE,
            budget=(700.0, 1100.0),
            p_work=0.9,
            p_rest=0.8,
        )

    def _school_run_plan(self, s) -> _PlanSpec:
        """A school-run patrol with two windows, already ended."""
        anchors = self._places_in(s, {PlaceType.CAMPUS})
        codes = self._key_grids(s, anchors[:2], 3)
        cps = [self._checkpoint(p, "校门口") for p in anchors[:2] if p.grid_code in codes]
        return _PlanSpec(
            "school",
            f"{s.name}校园周边护学巡查（专项）",
            s,
            codes,
            True,
            0,
            [
                {"start": "07:00", "end": "08:30", "min": 1, "label": "上学时段"},
                {"start": "16:30", "end": "18:00", "min": 1, "label": "放学时段"},
            ],
            self.first_day,
            valid_to=min(self._day(0.35, 2), self.last_day - timedelta(days=1)),
            checkpoints=cps,
            note="专项：上下学时段在校门口护学，劝离校门口流动摊贩、疏导接送车辆",
            creator=self._leader(s),
            budget=(900.0, 1500.0),
            p_work=0.93,
            p_rest=0.4,
        )

    def _market_town_plan(self, t) -> _PlanSpec:
        """A market town's daily patrol, lowered from twice to once a day after the first month."""
        comm = (self.cast.communities.get(t.pk) or [t])[0]
        return _PlanSpec(
            "town",
            f"{t.name}集镇区域日常巡查",
            t,
            self._sample_grids(t, 2, comm),
            True,
            2,
            [],
            self.first_day,
            note="集镇主街上午、下午各巡查一次",
            creator=self._leader(t),
            update_on=self._day(0.35, 2),
            per_day_after=1,
        )

    def _trial_plan(self, t) -> _PlanSpec:
        """A trial plan of a third town, deactivated after a few weeks."""
        return _PlanSpec(
            "trial",
            f"{t.name}集贸市场周边巡查（试行）",
            t,
            self._sample_grids(t, 3),
            True,
            1,
            [],
            self._day(0.2, 1),
            note="试行，集贸市场搬迁后停止",
            creator=self._leader(t),
            deactivate_on=min(self._day(0.45, 2), self.last_day - timedelta(days=1)),
        )

    def create_plan(self, at: datetime, spec: _PlanSpec) -> None:
        patroller = self.cast.person_of(spec.patroller)
        spec.plan = A.do_create_plan(
            spec.creator,
            name=spec.name,
            region=spec.region,
            grid_codes=spec.codes if spec.listed else (),
            min_patrols_per_day=spec.per_day,
            windows=spec.windows,
            min_coverage=spec.min_coverage,
            patroller=patroller,
            valid_from=spec.valid_from,
            valid_to=spec.valid_to,
            note=spec.note,
            checkpoints=spec.checkpoints,
            now=at,
        )
        self.stats["plans"] += 1
        self.stats["checkpoints"] += len(spec.checkpoints)

    # -- tracks ---------------------------------------------------------------------------------
    def schedule_tracks(self) -> None:
        """Who patrols when: each plan's patrollers on each day it applies, plus patrols outside
        plans; thinned on older days above MAX_TRACKS; one or two still running at ``end``."""
        rng = self.rng
        todo, planned_workers = self._planned_patrols()
        todo += self._patrols_outside_plans(planned_workers)
        todo = [(at, job) for at, job in todo if self.start <= at < self.end and job["codes"]]
        self.stats["tracks_wanted"] = len(todo)
        todo = self._thinned(todo)
        todo += self._still_running(todo)
        for at, job in todo:
            job["kind"] = "abandon" if rng.random() < 0.02 else "normal"
            self.schedule(at, "track", job)
        # The periodic task that closes tracks left running (phone died): nightly here.
        for d in self.day_range(self.first_day, self.last_day):
            at = local_time(d, 23, 50)
            if self.start <= at < self.end:
                self.schedule(at, "abandon_sweep")
        self.stats["tracks_scheduled"] = len(todo)

    def _planned_patrols(self) -> tuple[list[tuple[datetime, dict]], set[int]]:
        """Each plan's patrols, drawn day by day for each of its patrollers; returns them and
        the patrollers."""
        todo: list[tuple[datetime, dict]] = []
        planned_workers: set[int] = set()
        for spec in self.plans:
            if not spec.codes:
                continue
            groups = self._patrollers(spec)
            planned_workers |= set(groups)
            musts = self._musts(spec)
            for d in self.day_range(
                max(self.first_day, spec.valid_from), min(self.last_day, spec.valid_to or self.last_day)
            ):
                if spec.deactivate_on and d >= spec.deactivate_on:
                    break
                p = spec.p_work if is_working_day(d) else spec.p_rest
                slots = _day_slots(spec, d)
                for user, codes in groups.values():
                    for lo, hi in slots:
                        if self.rng.random() >= p:
                            continue
                        minute = self.rng.randrange(lo, hi)
                        at = local_time(d, minute // 60, minute % 60, self.rng.randrange(60))
                        mine = {c: musts[c] for c in codes if c in musts}
                        todo.append((at, {"user": user, "spec": spec, "codes": codes, "musts": mine}))
        return todo, planned_workers

    def _patrollers(self, spec: _PlanSpec) -> dict[int, tuple[object, list[str]]]:
        """The plan's patroller with all its grids, or each grid's supervisor with theirs."""
        if spec.patroller is not None:
            return {spec.patroller.pk: (spec.patroller, list(spec.codes))}
        groups: dict[int, tuple[object, list[str]]] = {}
        for code in spec.codes:
            u = self.cast.supervisor.get(code)
            if u is not None:
                groups.setdefault(u.pk, (u, []))[1].append(code)
        return groups

    def _patrols_outside_plans(self, planned_workers: set[int]) -> list[tuple[datetime, dict]]:
        """Other grid workers walking their own grids."""
        cast, rng = self.cast, self.rng
        todo = []
        others = sorted({u.pk: u for u in cast.supervisor.values() if u.pk not in planned_workers}.items())
        for d in self.day_range(self.first_day, self.last_day):
            if not others:
                break
            n = rng.choice((1, 1, 2)) if is_working_day(d) else rng.choice((0, 0, 1))
            for _ in range(n):
                _pk, user = rng.choice(others)
                minute = rng.randrange(8 * 60 + 30, 17 * 60)
                at = local_time(d, minute // 60, minute % 60, rng.randrange(60))
                codes = cast.worker_grids.get(user.pk, [])[:3]
                todo.append((at, {"user": user, "spec": None, "codes": codes, "musts": {}}))
        return todo

    def _thinned(self, todo: list) -> list:
        """Bounded volume: the older days thinned, the recent ones kept whole."""
        if len(todo) <= MAX_TRACKS:
            return todo
        recent = self.end - timedelta(days=KEEP_RECENT_DAYS)
        older = [x for x in todo if x[0] < recent]
        keep = max(0.0, (MAX_TRACKS - (len(todo) - len(older))) / max(1, len(older)))
        return [x for x in todo if x[0] >= recent or self.rng.random() < keep]

    def _still_running(self, todo: list) -> list:
        """One or two patrols of today's plans started in the last half hour, still running at
        the end (fewer when ``todo`` has some already)."""
        cast, rng, last = self.cast, self.rng, self.last_day
        running = sum(1 for at, _j in todo if at >= self.end - timedelta(minutes=25))
        today_specs = [
            s
            for s in self.plans
            if s.codes
            and s.valid_from <= last
            and (s.valid_to or last) >= last
            and not (s.deactivate_on and s.deactivate_on <= last)
        ]
        extra = []
        for i in range(max(0, 2 - running)):
            if not today_specs:
                break
            spec = today_specs[i % len(today_specs)]
            code = rng.choice(spec.codes)
            user = spec.patroller or cast.supervisor.get(code)
            if user is None:
                continue
            at = self.end - timedelta(minutes=rng.uniform(6, 24))
            codes = list(spec.codes) if spec.patroller else [code]
            musts = {c: m for c, m in self._musts(spec).items() if c in codes}
            extra.append((at, {"user": user, "spec": spec, "codes": codes, "musts": musts}))
        return extra

    def _musts(self, spec: _PlanSpec) -> dict:
        """{grid code: {checkpoint index: (x, y)}} of a plan's check-in points, in metres."""
        out: dict = defaultdict(dict)
        for i, cp in enumerate(spec.checkpoints):
            code = self.cast.grid_at(cp["lon"], cp["lat"])
            if code:
                out[code][i] = self.cast.to_m(cp["lon"], cp["lat"])
        return dict(out)

    def run_track(self, at: datetime, job: dict) -> None:
        rng = self.rng
        user, spec = job["user"], job["spec"]
        nrng = np.random.default_rng(rng.getrandbits(32))
        lon, lat, t_ms, acc, visits, kind = self._walk(nrng, job, at)
        plan = spec.plan if spec is not None else None
        track, _created = A.do_start_track(
            user,
            client_id=f"{at:%Y%m%d%H%M%S}-{rng.getrandbits(40):010x}",
            plan=plan,
            crs="wgs84",
            started_at=at,
            now=at,
        )
        if len(t_ms):
            self._send_batches(nrng, user, track, lon, lat, t_ms, acc)
        if spec is not None and spec.explicit and plan is not None and kind != "abandon":
            self._check_in(nrng, user, track, plan, visits, at)
        ended = (
            datetime.fromtimestamp(t_ms[-1] / 1000 + float(nrng.uniform(5, 60)), self.tz) if len(t_ms) else at
        )
        if kind == "normal" and ended >= self.end:
            kind = "live"  # the stop would come after the end of the history
        if kind == "normal":
            A.do_stop_track(user, track, ended_at=ended, now=ended)
        self.stats[f"tracks_{kind}"] += 1

    def _walk(self, nrng, job: dict, at: datetime):
        """The patrol's route and GPS points (lon, lat, t_ms, acc arrays), the check-in points it
        passes, and its kind: cut short when abandoned, "live" when still walking at the end."""
        spec = job["spec"]
        speed = float(nrng.uniform(*(spec.speed if spec else WALK)))
        budget = spec.budget if spec else (1200.0, 2100.0)
        musts = job["musts"] if nrng.random() < 0.93 else {}  # now and then a check-in point is skipped
        knots, visits = _route(nrng, self.cast, job["codes"], musts, speed, budget)
        lon, lat, t_ms, acc = _sample(nrng, self.cast, knots, at)
        kind = job["kind"]
        end_ms = int(self.end.timestamp() * 1000)
        if t_ms[-1] >= end_ms - 30_000:
            kind = "live"
            keep = t_ms <= end_ms - int(nrng.integers(5_000, 40_000))
            lon, lat, t_ms, acc = lon[keep], lat[keep], t_ms[keep], acc[keep]
        elif kind == "abandon":
            n = max(3, int(len(t_ms) * nrng.uniform(0.35, 0.8)))
            lon, lat, t_ms, acc = lon[:n], lat[:n], t_ms[:n], acc[:n]
        return lon, lat, t_ms, acc, visits, kind

    def _send_batches(self, nrng, user, track, lon, lat, t_ms, acc) -> None:
        """The points as the phone sends them: a batch every BATCH_S seconds, a few seconds late."""
        rel = (t_ms - t_ms[0]) // (BATCH_S * 1000)
        cuts = np.flatnonzero(np.diff(rel)) + 1
        for seq, idx in enumerate(np.split(np.arange(len(t_ms)), cuts)):
            points = np.column_stack([lon[idx], lat[idx], t_ms[idx], acc[idx]]).tolist()
            sent = datetime.fromtimestamp(t_ms[idx[-1]] / 1000 + float(nrng.uniform(2, 20)), self.tz)
            A.do_append_points(user, track, seq=seq, points=points, crs="wgs84", now=min(sent, self.end))
            self.stats["batches"] += 1
            self.stats["points"] += len(idx)

    def _check_in(self, nrng, user, track, plan, visits: dict, at: datetime) -> None:
        """Explicit check-ins at the plan's points the walk passed (a few scanned too far away)."""
        cps = {i: cp for i, cp in enumerate(plan.checkpoints.order_by("id"))}
        for key, (ts, x, y) in sorted(visits.items(), key=lambda kv: kv[1][0]):
            when = at + timedelta(seconds=ts + float(nrng.uniform(5, 50)))
            if key not in cps or when >= self.end:
                continue
            far = nrng.random() < 0.08  # scanned from the road, GPS drifting: refused
            r = float(nrng.uniform(45, 90)) if far else float(nrng.uniform(1, 12))
            ang = float(nrng.uniform(0, 2 * math.pi))
            clon, clat = self.cast.to_ll(x + r * math.cos(ang), y + r * math.sin(ang))
            ci = A.do_check_in(
                user,
                track,
                cps[key],
                lon=float(clon),
                lat=float(clat),
                crs="wgs84",
                at=when,
                client_key=f"scan-{track.pk}-{key}",
                note="信号不好，在路口签到" if far else "",
                now=when,
            )
            self.stats["checkins_explicit_valid" if ci.valid else "checkins_explicit_invalid"] += 1

    # -- sweeps (C6) ----------------------------------------------------------------------------
    def design_campaigns(self) -> None:
        cast, rng, days = self.cast, self.rng, self.days
        first, last = timezone.localtime(self.start).date(), timezone.localtime(self.end).date()
        c1_from = first + timedelta(days=max(1, int(days * 0.15)))
        c1_to = min(c1_from + timedelta(days=max(2, int(days * 0.33))), last - timedelta(days=2))
        c2_from = max(first, last - timedelta(days=max(1, int(days * 0.14))))
        c3_from = max(first, last - timedelta(days=max(0, min(4, int(days * 0.05)))))
        s0 = cast.urban[0]
        specs = [
            {
                "key": "crowded",
                "name": "人员密集场所消防安全隐患大排查",
                "region": None,
                "actor": cast.city_actor,
                "types": [
                    PlaceType.MALL_HOTEL,
                    PlaceType.PUBLIC_PLACE,
                    PlaceType.STATION_DOCK,
                    PlaceType.CAMPUS,
                ],
                "from": c1_from,
                "to": c1_to,
                "share": 0.85,
                "close": True,
                "description": "根据市安委会部署，对全市商场、酒店、餐饮、农贸市场、车站码头和学校等人员密集场所"
                "开展消防安全隐患大排查，重点检查安全出口、疏散通道、消防设施和电气线路；发现隐患即时上报"
                "立案，责任单位限期整改，网格员复查销号。",
            },
            {
                "key": "industry",
                "name": "高危行业及森林防火安全隐患专项排查",
                "region": cast.district,
                "actor": cast.district_leader,
                "types": [PlaceType.HIGH_RISK, PlaceType.FOREST_FIRE, PlaceType.ROAD_TRAFFIC],
                "from": c2_from,
                "to": last + timedelta(days=12),
                "share": 0.7,
                "close": False,
                "description": "对辖区加油站、燃气场站、危化品仓库、建筑工地、林区林缘和重点路段开展专项排查，"
                "做到排查全覆盖、隐患零容忍、整改闭环。",
            },
            {
                "key": "school",
                "name": f"{s0.name}校园周边安全隐患排查",
                "region": s0,
                "actor": cast.street_leader.get(s0.pk) or cast.city_actor,
                "types": [PlaceType.CAMPUS, PlaceType.ROAD_TRAFFIC],
                "from": c3_from,
                "to": last + timedelta(days=26),
                "share": 0.6,
                "close": False,
                "description": "对辖区中小学、幼儿园及周边200米范围开展安全隐患排查。",
            },
        ]
        for spec in specs:
            created = local_time(spec["from"], 8, 30 + rng.randrange(20))
            created = max(self.start, min(created, self.end - timedelta(minutes=30)))
            spec["created"] = created
            self.schedule(created, "campaign", spec)

    def create_campaign(self, at: datetime, spec: dict) -> None:
        c = A.do_create_campaign(
            spec["actor"],
            name=spec["name"],
            region=spec["region"],
            place_types=spec["types"],
            start_date=spec["from"],
            end_date=spec["to"],
            description=spec["description"],
            now=at,
        )
        self.stats["campaigns"] += 1
        spec["campaign"] = c

        places = list(campaign_places(c, spec["actor"]).order_by("id"))
        rng = self.rng
        window_end = min(
            self.end, local_time(spec["to"], 17, 30)
        )  # inspections stop when the campaign ends (or now)
        lo = max(spec["created"] + timedelta(minutes=30), self.start)
        span_days = max(1, (window_end.date() - lo.date()).days + 1)
        chosen = [p for p in places if rng.random() < spec["share"]]
        # A running campaign keeps the field busy: a few places are inspected on the last working
        # hours (today, or yesterday afternoon when the history ends before the working day).
        local_end = timezone.localtime(self.end)
        recent_day = local_end.date() if local_end.hour >= 10 else local_end.date() - timedelta(days=1)
        forced = 0 if spec["close"] else 3
        for i, place in enumerate(chosen):
            for _ in range(20):
                d = lo.date() + timedelta(days=rng.randrange(span_days))
                if i < forced:
                    d = recent_day
                minute = rng.choice(
                    [rng.randrange(9 * 60, 11 * 60 + 30), rng.randrange(14 * 60 + 30, 17 * 60)]
                )
                at = local_time(d, minute // 60, minute % 60, rng.randrange(60))
                if i < forced and at >= self.end:
                    at = self.end - timedelta(minutes=rng.uniform(10, 60))
                if lo <= at < window_end:
                    job = {
                        "campaign": c,
                        "place": place,
                        "spec": spec,
                        "recheck": False,
                        "hazard": i == 0 and forced > 0,
                    }
                    self.schedule(at, "inspect", job)
                    break
        if spec["close"]:
            close_at = local_time(spec["to"] + timedelta(days=2), 16, rng.randrange(60))
            if close_at < self.end:
                self.schedule(close_at, "close_campaign", spec)

    def inspector_for(self, place):
        cast = self.cast
        officers = cast.officers.get(place.street_id) or []
        worker = cast.supervisor.get(place.grid_code)
        if place.place_type in (PlaceType.FOREST_FIRE, PlaceType.HIGH_RISK) and officers:
            return self.rng.choice(officers)
        if worker is not None and (self.rng.random() < 0.6 or not officers):
            return worker
        return self.rng.choice(officers) if officers else (cast.shift[0] if cast.shift else None)

    def inspect(self, at: datetime, job: dict) -> None:
        rng = self.rng
        place, campaign = job["place"], job["campaign"]
        actor = job.get("actor") or self.inspector_for(place)
        if actor is None:
            return
        items = list(ChecklistItem.objects.filter(place_type=place.place_type, is_active=True))
        if not items:
            return
        failed = self._failed_items(job, items)
        results = [
            {
                "item": item,
                "passed": item.pk not in failed,
                "note": _result_note(item, item.pk in failed, job["recheck"]),
                "photos": [self.pic(item.code)] if item.pk in failed else [],
            }
            for item in items
        ]
        if failed:
            notes = f"发现隐患{len(failed)}处，已当场告知负责人并下达隐患整改通知书"
        elif job["recheck"]:
            notes = "复查：隐患已整改到位，同意销号"
        else:
            notes = rng.choice(PASS_NOTES)
        received = min(at + timedelta(minutes=rng.uniform(1, 8)), self.end - timedelta(seconds=1))
        insp = A.do_record_inspection(
            actor,
            campaign=campaign,
            place=place,
            results=results,
            notes=notes,
            photos=[self.pic("site")] if rng.random() < 0.3 else [],
            inspected_at=at,
            client_key=f"insp-{campaign.pk}-{place.pk}-{at:%Y%m%d%H%M}",
            now=received,
        )
        self.stats["inspections_recheck" if job["recheck"] else "inspections"] += 1
        self.stats[f"inspections_{insp.outcome}"] += 1
        self._follow_hazard_cases(insp, at)
        if failed and not job["recheck"] and rng.random() < 0.6:
            self._schedule_recheck(at, job, actor)

    def _failed_items(self, job: dict, items: list) -> set[int]:
        """The items that fail: on a re-inspection those whose case is not closed yet, else one
        or two drawn for a share of places (always for a known hazard)."""
        rng, place = self.rng, job["place"]
        failed: set[int] = set()
        if job["recheck"]:
            for r in InspectionResult.objects.filter(
                inspection__place=place, inspection__campaign=job["campaign"], passed=False
            ).select_related("case"):
                if r.case_id is None or r.case.state != "closed":
                    failed.add(r.item_id)
        elif job.get("hazard") or rng.random() < FAIL_RATE.get(place.place_type, 0.25):
            weights = [(i.pk, 1 if i.severity == "major" else 2) for i in items]
            failed.add(weighted(rng, weights))
            if rng.random() < 0.25:
                failed.add(weighted(rng, weights))
        return failed

    def _follow_hazard_cases(self, insp, at: datetime) -> None:
        """The cases the failed items opened run through the case workflow (a hazard already open
        as a case is linked to it instead)."""
        for res in insp.results.filter(passed=False, case__isnull=False).select_related("case"):
            if res.case_id in self.hazard_cases:
                self.stats["hazards_linked_to_open_case"] += 1
                continue
            self.hazard_cases.add(res.case_id)
            self.stats["hazard_cases"] += 1
            when = at + timedelta(minutes=self.rng.uniform(3, 12))
            steps = case_plan(
                self.rng,
                self.case_cast,
                res.case_id,
                when,
                self.photos,
                self.stats,
                scenarios=HAZARD_SCENARIOS,
            )
            self.follow(steps, case_id=res.case_id)

    def _schedule_recheck(self, at: datetime, job: dict, actor) -> None:
        """A re-inspection some days later, within the campaign."""
        rng = self.rng
        back = at + timedelta(days=rng.uniform(4, 12))
        if back < self.end and timezone.localtime(back).date() <= job["spec"]["to"]:
            back = local_time(timezone.localtime(back).date(), rng.randrange(9, 17), rng.randrange(60))
            self.schedule(back, "inspect", {**job, "recheck": True, "actor": actor})

    def push_sweeps(self, case_id: int, after: datetime) -> None:
        """The deadline sweep runs every ten minutes in production; here it runs just after the
        warning and due times of the hazard cases pass."""

        c = Case.objects.filter(pk=case_id).values("warn_at", "due_at").first() or {}
        for when in (c.get("warn_at"), c.get("due_at")):
            if when is None or not (after < when < self.end):
                continue
            slot = when + timedelta(minutes=10 - timezone.localtime(when).minute % 10)
            slot = slot.replace(second=0, microsecond=0)
            if slot not in self.swept and slot < self.end:
                self.swept.add(slot)
                self.schedule(slot, "sweep")

    # -- the driver -----------------------------------------------------------------------------
    def run(self) -> None:
        total = self.scheduled("track")
        done = 0
        for at, kind, payload in self.events():
            if at >= self.end:
                break
            try:
                with transaction.atomic():
                    if kind == "track":
                        done += 1
                        if done % 300 == 0:
                            self.say(f"  {done}/{total} patrols ({timezone.localtime(at):%Y-%m-%d})")
                        self.run_track(at, payload)
                    else:
                        self.event(at, kind, payload)
            except DomainError as exc:
                self.stats[f"refused_{kind}"] += 1
                log.debug("demo %s refused: %s", kind, exc)
        # Anything still running long after its last point is closed the way the task would.
        with transaction.atomic():
            self.stats["tracks_closed_as_abandoned"] += A.do_close_abandoned_tracks(now=self.end)

    def event(self, at: datetime, kind: str, payload) -> None:

        if kind == "plan":
            self.create_plan(at, payload)
        elif kind == "update_plan" and payload.plan is not None:
            A.do_update_plan(
                payload.creator,
                payload.plan,
                min_patrols_per_day=payload.per_day_after,
                note=payload.note.replace("上午、下午各巡查一次", "每日巡查一次（集镇秩序好转后调整）"),
                now=at,
            )
            self.stats["plans_updated"] += 1
        elif kind == "deactivate" and payload.plan is not None:
            A.do_deactivate_plan(payload.creator, payload.plan, now=at)
            self.stats["plans_deactivated"] += 1
        elif kind == "abandon_sweep":
            self.stats["tracks_closed_as_abandoned"] += A.do_close_abandoned_tracks(now=at)
        elif kind == "campaign":
            self.create_campaign(at, payload)
        elif kind == "close_campaign":
            A.do_close_campaign(payload["actor"], payload["campaign"], now=at)
            self.stats["campaigns_closed"] += 1
        elif kind == "inspect":
            self.inspect(at, payload)
        elif kind == "sweep":
            tasks.sweep(now=at)
            self.stats["deadline_sweeps"] += 1
        elif kind == "step":
            payload.fn(at)
            case_id = payload.context["case_id"]
            self.push_sweeps(case_id, at)
            self.follow(payload.plan, not_before=at + STEP, case_id=case_id)


def build_history(
    days: int = 90,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
    end: datetime | None = None,
) -> dict:
    """Simulate ``days`` days of patrols and hazard sweeps up to ``end`` (default now); returns
    counts. Run after the organisation (and ideally the case history) exist."""

    say = progress or _noop
    rng = random.Random(seed)
    end = end or timezone.now()
    start = end - timedelta(days=days)
    cast = _Cast(timezone.localtime(end).date())
    if not cast.ok():
        say(
            "patrol history skipped: the organisation has no grids with grid workers, street leaders or city staff"
        )
        return {"tracks": 0}
    if not ChecklistItem.objects.filter(is_active=True).exists():
        from urbangrid.patrol.checklists import load_checklists

        load_checklists()  # the seed migration's data (a flushed test database lacks it)
    h = _History(rng, cast, start, end, days, say)
    with notifications_held():
        say("patrol: place register")
        h.register_places()
        h.design_plans()
        h.schedule_tracks()
        h.design_campaigns()
        say(
            f"patrol: simulating {h.stats['tracks_scheduled']} patrols and the hazard sweeps over {days} days"
        )
        h.run()
        # The outbound channel did not exist in the past: the hazard cases' history notices count as sent.
        if h.hazard_cases:
            Notification.objects.filter(case_id__in=h.hazard_cases, sent_at__isnull=True).update(
                sent_at=end, next_attempt_at=None
            )

    s = h.stats
    day0 = timezone.localtime(end).replace(hour=0, minute=0, second=0, microsecond=0)
    tracks = Track.objects.all()
    out = {
        "places": Place.objects.count(),
        "plans": PatrolPlan.objects.count(),
        "plans_active_today": PatrolPlan.objects.active_on(timezone.localtime(end).date()).count(),
        "plans_ended": PatrolPlan.objects.filter(valid_to__lt=timezone.localtime(end).date()).count(),
        "plans_deactivated": PatrolPlan.objects.filter(is_active=False).count(),
        "checkpoints": s["checkpoints"],
        "tracks": tracks.count(),
        **{f"tracks_{st}": tracks.filter(state=st).count() for st in TrackState.values},
        "tracks_today": tracks.filter(started_at__gte=day0).count(),
        "batches": s["batches"],
        "points": s["points"],
        "checkins_valid": CheckIn.objects.filter(valid=True).count(),
        "checkins_invalid": CheckIn.objects.filter(valid=False).count(),
        "campaigns": SweepCampaign.objects.count(),
        **{
            f"campaigns_{st}": n
            for st, n in Counter(SweepCampaign.objects.values_list("state", flat=True)).items()
        },
        "inspections": Inspection.objects.count(),
        **{
            f"inspections_{o}": n
            for o, n in Counter(Inspection.objects.values_list("outcome", flat=True)).items()
        },
        "hazard_cases": len(h.hazard_cases),
        **{
            f"hazard_cases_{st}": n
            for st, n in Counter(
                Case.objects.filter(pk__in=h.hazard_cases).values_list("state", flat=True)
            ).items()
        },
        "refused": sum(v for k, v in s.items() if k.startswith("refused")),
    }
    say("patrol history: " + ", ".join(f"{k}={v}" for k, v in out.items()))
    return out
