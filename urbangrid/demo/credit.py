"""A realistic credit history (信用惩戒) produced THROUGH THE ACTIONS with simulated time.

``build_history(days, seed, progress, end)`` simulates the last ``days`` days of the credit module
on top of the organisation and the case history:

- a registry of subjects (信用主体) in every street and town: restaurants, shops, car repairers,
  advertisers, construction and muck-transport companies, property companies, couriers and
  shared-bike operators, with fake but valid unified social credit codes (GB 32100, with a valid
  GB 11714 organisation code inside); stall owners, villagers and landlords are registered with
  fake but valid resident ID numbers (GB 11643) when a case first finds them;
- violations recorded by the grid's enforcement officer after the case was handled, for the
  classes that name a responsible party (占道经营, 店外经营, 无证摊贩, 违规广告, 渣土车, 工地扬尘,
  违法建设, 油烟, 物业, 乱停放, 阻碍执法…): the harder the response (penalise, crack down) the
  likelier a record; a few subjects offend again and again, most once;
- penalty decisions (warnings on the spot, fines by simple or general procedure, orders to
  rectify by a deadline), fines paid and rectifications done — mostly in time, a few late, a few
  not yet;
- the credit evaluation (``do_evaluate_all``, the periodic task) at night: every night something
  is due (the night after each rectification deadline, the day a clean period ends), every
  Sunday, and every night of the last week. Lists change at night only through overdue orders and
  repair, so this gives the lists a nightly run would (only the cached score is refreshed less
  often); watch and dishonest lists are decided by the app's own rules only;
- a short ledger carried over from before the window (subjects whose records predate the case
  history), so that credit repair — which needs the configured clean period, 180 days by default —
  happens inside the window: one automatic repair by the evaluation, one approved by the brigade
  leader, and one subject still on the dishonest list after a late rectification;
- one violation revoked on review, and subjects named on cases still being handled.

Steps that fall after ``end`` are not done: the history ends with fines unpaid and orders to
rectify still running. Every write is a do_* action; actions that take a day or a time are given
the simulated one.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from urbangrid.cases.models import Case
from urbangrid.credit import actions as A
from urbangrid.credit import identity, queries
from urbangrid.credit.choices import ORGANISATION_KINDS, PenaltyKind, Severity, SubjectKind, ViolationKind
from urbangrid.credit.models import ListEntry, Penalty, Subject, Violation
from urbangrid.demo.simulation import (
    STEP,
    Simulation,
    in_office_hours,
    local_time,
    run_step,
    weighted,
)
from urbangrid.geo.models import Region
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment

log = logging.getLogger(__name__)

VK = ViolationKind
# Case class → (violation kind, subject category, chance that a handled case leads to a record,
# descriptions). A description list may be split by who the subject is ("person" / "org").
CLASS_MAP: dict[str, tuple[str, str, float, list[str] | dict[str, list[str]]]] = {
    "占道经营": (
        VK.STREET_OCCUPATION,
        "stall_or_shop",
        0.9,
        [
            "在{road}占用人行道摆摊销售{goods}，占道面积约{n}平方米",
            "超出门窗在{road}人行道堆放货物、摆放货架",
            "经多次劝导后仍在{road}路口占道经营",
        ],
    ),
    "店外经营": (
        VK.OUTSIDE_SHOP,
        "shop_or_restaurant",
        0.9,
        [
            "超出门窗在{road}门前摆放桌椅经营，约{n}平方米",
            "在店铺门前搭设遮阳棚、摆放冰柜店外经营",
            "夜间在{road}门前外摆桌椅，影响行人通行",
        ],
    ),
    "机动车占道维修洗车": (
        VK.STREET_OCCUPATION,
        "auto",
        0.8,
        ["在{road}人行道上占道洗车，污水横流", "占用{road}道路维修车辆，油污污染路面"],
    ),
    "占道废品收购": (VK.STREET_OCCUPATION, "stall", 0.6, ["在{road}占道收购、堆放废品约{n}平方米"]),
    "马路市场": (VK.STREET_OCCUPATION, "stall", 0.6, ["在{road}马路市场内占道销售{goods}"]),
    "无证食品摊贩": (
        VK.UNLICENSED_STALL,
        "stall",
        0.7,
        ["未取得食品经营许可，在{road}流动销售{food}", "在{road}学校门口无证销售{food}"],
    ),
    "无照经营游商": (
        VK.UNLICENSED_STALL,
        "stall",
        0.7,
        ["未经许可在{road}流动设摊销售{goods}", "在{road}路口无照摆摊销售{goods}，经劝离后返回"],
    ),
    "露天烧烤": (
        VK.UNLICENSED_STALL,
        "stall_or_restaurant",
        0.8,
        ["在{road}露天烧烤，油烟影响周边居民", "夜间在{road}人行道露天烧烤经营"],
    ),
    "非法出版物摊点": (VK.UNLICENSED_STALL, "stall", 0.5, ["在{road}摆摊销售非法出版物"]),
    "违规悬挂横幅": (
        VK.ILLEGAL_ADVERTISING,
        "advertiser",
        0.5,
        ["未经批准在{road}沿线悬挂宣传横幅{n}条", "在{road}行道树上悬挂促销横幅{n}条"],
    ),
    "违规户外广告": (
        VK.ILLEGAL_ADVERTISING,
        "advertiser",
        0.7,
        ["擅自设置户外广告牌，面积约{n}平方米", "户外广告设施审批期满后未拆除"],
    ),
    "非法小广告": (
        VK.ILLEGAL_ADVERTISING,
        "advertiser",
        0.3,
        ["在{road}一带张贴小广告{n}余处，广告留有该单位联系电话"],
    ),
    "散发小广告": (
        VK.ILLEGAL_ADVERTISING,
        "advertiser",
        0.3,
        ["组织人员在{road}路口散发广告传单，造成路面污染"],
    ),
    "渣土车违规": (
        VK.CONSTRUCTION_SITE,
        "transport",
        0.35,
        ["渣土运输车辆未密闭、未按核准路线行驶，沿{road}遗撒", "渣土车未办理处置核准，夜间在{road}运输"],
    ),
    "道路遗撒": (VK.SANITATION, "transport", 0.6, ["运输车辆沿{road}遗撒渣土、泥浆约{n}0米"]),
    "施工占道": (VK.CONSTRUCTION_SITE, "construction", 0.45, ["未经批准占用{road}施工，未设置安全警示"]),
    "工地围挡不规范": (VK.CONSTRUCTION_SITE, "construction", 0.8, ["施工工地围挡破损、不连续，未按规定设置"]),
    "工地扬尘": (VK.CONSTRUCTION_SITE, "construction", 0.9, ["施工工地裸土未覆盖、出场车辆未冲洗，扬尘污染"]),
    "施工扰民": (VK.CONSTRUCTION_SITE, "construction", 0.8, ["夜间施工未办理许可，噪声扰民"]),
    "无证掘路": (
        VK.CONSTRUCTION_SITE,
        "construction",
        0.8,
        ["未取得挖掘道路许可，擅自开挖{road}人行道约{n}平方米"],
    ),
    "违法建设": (
        VK.ILLEGAL_CONSTRUCTION,
        "builder",
        0.8,
        ["未取得建设工程规划许可，擅自搭建彩钢房约{n}平方米", "在屋顶违法加盖房屋约{n}平方米"],
    ),
    "私搭乱建": (VK.ILLEGAL_CONSTRUCTION, "builder", 0.7, ["在门前擅自搭建棚亭约{n}平方米"]),
    "违法占地": (
        VK.ILLEGAL_CONSTRUCTION,
        "villager",
        0.6,
        {
            "person": ["擅自占用集体土地建房约{n}0平方米"],
            "org": ["擅自占用集体土地堆放建材、搭建工棚约{n}0平方米"],
        },
    ),
    "餐饮油烟污染": (VK.SANITATION, "restaurant", 0.9, ["餐饮油烟未经净化直排，影响周边居民"]),
    "乱堆物堆料": (VK.SANITATION, "shop", 0.6, ["在{road}门前乱堆建材、杂物约{n}平方米"]),
    "小区垃圾清运不及时": (
        VK.PROPERTY_MANAGEMENT,
        "property",
        0.3,
        ["所管理小区生活垃圾未按时清运，堆积外溢"],
    ),
    "小区物业管理缺位": (
        VK.PROPERTY_MANAGEMENT,
        "property",
        0.8,
        ["所管理小区公共部位管理缺位，楼道堆物长期未清理"],
    ),
    "小区私占公共空间": (
        VK.PROPERTY_MANAGEMENT,
        "property",
        0.6,
        ["对业主私占小区公共绿地未及时制止和报告"],
    ),
    "机动车乱停放": (
        VK.ILLEGAL_PARKING,
        "courier",
        0.2,
        ["配送车辆长期占用{road}人行道停放", "在{road}盲道上停放配送车辆{n}辆"],
    ),
    "摩托车乱停放": (VK.ILLEGAL_PARKING, "courier", 0.2, ["在{road}人行道上停放电动三轮车{n}辆"]),
    "共享单车乱停放": (
        VK.ILLEGAL_PARKING,
        "bike",
        0.4,
        ["共享单车在{road}地铁口大量堆积，未及时清理调度"],
    ),
    "阻碍执法": (
        VK.OBSTRUCTING_ENFORCEMENT,
        "stall",
        1.0,
        ["拒不配合执法检查，辱骂执法人员，阻碍依法执行职务", "暴力抗拒执法，抢夺暂扣物品"],
    ),
    "违规群租": (VK.OTHER, "landlord", 0.25, ["将住房分隔出租，违规群租存在安全隐患"]),
}
# A harder response makes a record likelier (persuasion seldom ends in one).
RESPONSE_P = {"penalise": 1.0, "crack_down": 1.0, "stop": 0.45, "persuade": 0.1, "": 0.3}

# Subject categories: kind, where subjects are found again (the street's pool or one district-wide
# pool), the chance of a new subject when the pool has some, how many are registered up front
# (per street, or in all for district-wide ones), and the USCC prefix (91 company, 92 个体工商户).
CATEGORIES: dict[str, dict] = {
    "restaurant": {"kind": SubjectKind.BUSINESS, "scope": "street", "new": 0.6, "pre": 3, "uscc": "92"},
    "shop": {"kind": SubjectKind.BUSINESS, "scope": "street", "new": 0.6, "pre": 3, "uscc": "92"},
    "auto": {"kind": SubjectKind.BUSINESS, "scope": "street", "new": 0.6, "pre": 1, "uscc": "92"},
    "property": {"kind": SubjectKind.PROPERTY_COMPANY, "scope": "street", "new": 0.0, "pre": 2, "uscc": "91"},
    "advertiser": {"kind": SubjectKind.BUSINESS, "scope": "district", "new": 0.7, "pre": 10, "uscc": "91"},
    "construction": {"kind": SubjectKind.BUSINESS, "scope": "district", "new": 0.75, "pre": 15, "uscc": "91"},
    "transport": {"kind": SubjectKind.BUSINESS, "scope": "district", "new": 0.4, "pre": 8, "uscc": "91"},
    "courier": {"kind": SubjectKind.BUSINESS, "scope": "district", "new": 0.3, "pre": 4, "uscc": "91"},
    "bike": {"kind": SubjectKind.BUSINESS, "scope": "district", "new": 0.0, "pre": 2, "uscc": "91"},
    "stall": {"kind": SubjectKind.STALL_OWNER, "scope": "street", "new": 0.92, "pre": 0},
    "villager": {"kind": SubjectKind.INDIVIDUAL, "scope": "street", "new": 0.9, "pre": 0},
    "landlord": {"kind": SubjectKind.INDIVIDUAL, "scope": "street", "new": 0.9, "pre": 0},
}
# At most this many subjects registered up front (the city scale has more communities, not more
# streets, but stay bounded anyway); at most this many violations a day on average, and in all.
PRE_REGISTERED_CAP = 160
MAX_PER_DAY, MAX_VIOLATIONS = 4, 600
# However few the chances drew, a window with handled cases shows this many records found
# through them (a short window over a weekend would otherwise show one or none).
MIN_FROM_CASES = 3


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程苏魏吕丁任沈姚卢姜崔"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌宇浩凯健俊宁玲婷雪琳晨欣博文彬鑫辉海波志建国立新春燕龙云峰"
BRANDS = _words(
    "鑫源 宏达 恒通 金盛 华联 永安 顺发 聚德 鸿运 嘉禾 兴隆 昌盛 瑞丰 天成 和顺 "
    "正通 佳美 福满 万家 东盛 长宏 金桥 祥和 德润 汇通 安泰 博远 盛世 宏图 利民 "
    "惠民 开元 乐康 华信 中盛 宝利 隆鑫 富强 益丰 众诚 新航 同创 弘基 泰和 裕丰 "
    "锦程 龙腾 天润"
)
ROADS = _words(
    "解放路 人民路 建设路 中山路 文化路 和平路 胜利路 长安路 东风路 新华路 友谊路 "
    "青年路 劳动路 朝阳路 光明路 幸福路 太白路 环城路 兴庆路 金花路 长乐路 咸宁路 "
    "含光路 丈八路 西关正街 东大街"
)
FOOD_PREFIX = _words(
    "老马家 聚福楼 蜀香园 好再来 一品香 湘里人家 老街坊 味之源 秦味坊 张记 刘记 "
    "王记 陈记 回坊 大碗 阿妈 川渝 金牌"
)
FOOD_TYPES = _words(
    "牛肉面馆 川菜馆 烧烤店 火锅店 饺子馆 快餐店 小吃店 砂锅店 羊肉泡馍馆 凉皮店 米线店 麻辣烫店"
)
SHOP_TYPES = _words("便利店 水果店 五金店 建材经营部 烟酒店 副食店 超市 服装店 手机店 花店 日用百货店 粮油店")
AUTO_TYPES = _words("汽车维修服务部 汽车美容店 洗车行 汽修厂 轮胎店")
AD_TYPES = _words(
    "教育科技有限公司 房地产经纪有限公司 装饰工程有限公司 文化传媒有限公司 广告有限公司 家政服务有限公司"
)
BUILD_TYPES = _words("建筑工程有限公司 建设集团有限公司 市政工程有限公司 路桥工程有限公司 建筑劳务有限公司")
TRANSPORT_TYPES = ["渣土运输有限公司", "土石方工程有限公司", "运输有限公司", "建筑垃圾清运有限公司"]
PROPERTY_TYPES = ["物业服务有限公司", "物业管理有限公司"]
COURIER_TYPES = ["快递服务有限公司", "同城配送有限公司", "物流有限公司"]
BIKES = ["畅行共享单车运营有限公司", "蓝骑出行科技有限公司"]
GOODS = ["水果", "蔬菜", "炒货", "小百货", "袜子鞋垫", "手机配件", "鲜花", "玩具"]
FOOD = ["煎饼", "烤冷面", "凉皮", "炸串", "烤红薯", "熟食"]

# Severity mix by violation kind: weights of (minor, general, serious, grave).
SEVERITY_MIX = {
    VK.OBSTRUCTING_ENFORCEMENT: (0, 10, 60, 30),
    VK.ILLEGAL_CONSTRUCTION: (0, 55, 40, 5),
    VK.CONSTRUCTION_SITE: (5, 61, 31, 3),
    "default": (24, 64, 12, 0),
}
FINES = {
    VK.STREET_OCCUPATION: [50, 100, 100, 200, 500],
    VK.OUTSIDE_SHOP: [100, 200, 200, 500],
    VK.UNLICENSED_STALL: [50, 100, 200],
    VK.ILLEGAL_ADVERTISING: [200, 500, 1000, 2000, 5000],
    VK.CONSTRUCTION_SITE: [2000, 5000, 10000, 20000, 30000],
    VK.ILLEGAL_CONSTRUCTION: [5000, 10000, 20000, 50000],
    VK.SANITATION: [500, 1000, 2000, 5000, 10000],
    VK.PROPERTY_MANAGEMENT: [1000, 2000, 5000],
    VK.ILLEGAL_PARKING: [200, 500, 1000, 2000],
    VK.OBSTRUCTING_ENFORCEMENT: [500, 1000, 2000],
    VK.OTHER: [1000, 2000, 5000],
}
REVOKE_REASON = "经复核，违法行为人认定有误（实际经营者另有其人），予以撤销"
REPAIR_NOTE = "当事人已履行处罚决定、完成整改并作出信用承诺，经审核同意信用修复"


# -------------------------------------------------------------------------------------------------
# Identity numbers: fake, but passing the app's checks.


def _org_code(rng: random.Random) -> str:
    """A GB 11714 organisation code (8 characters + check) as given to recent companies."""
    alphabet = identity.USCC_ALPHABET
    body = "MA" + "".join(rng.choice(alphabet[:10] * 3 + alphabet[10:]) for _ in range(6))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    c = 11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    return body + ("X" if c == 10 else "0" if c == 11 else str(c))


def _uscc(rng: random.Random, prefix: str, area: str) -> str:
    first17 = prefix + area + _org_code(rng)
    return first17 + identity.uscc_check_char(first17)


def _id_number(rng: random.Random, area: str, year_now: int) -> str:
    born = date(rng.randint(year_now - 66, year_now - 22), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{area}{born:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return first17 + identity.id_check_char(first17)


# -------------------------------------------------------------------------------------------------
# Who acts.


class _Cast:
    """The people who act: the enforcement officer of each grid and of each street, the
    district's officers (for district-wide companies), and the leader who approves repair."""

    def __init__(self):

        by_grid: dict[str, tuple] = {}
        for ga in (
            GridAssignment.objects.filter(duty="enforcement", person__is_active=True)
            .select_related("person__user", "person__unit")
            .order_by("id")
        ):
            # The brigade's own officer of the grid first; seconded officers back up.
            cur = by_grid.get(ga.grid_code)
            if cur is None or (ga.person.unit.code == "brigade" and cur[1] != "brigade"):
                by_grid[ga.grid_code] = (ga.person.user, ga.person.unit.code)
        self.by_grid = {code: v[0] for code, v in by_grid.items()}
        self.by_street: dict[int, list] = defaultdict(list)
        self.district_officers: list = []
        for ra in (
            RoleAssignment.objects.filter(role=Role.ENFORCEMENT_OFFICER, person__is_active=True)
            .select_related("person__user", "region")
            .order_by("person__user__username")
        ):
            if ra.region is None or ra.region.level <= 2:
                self.district_officers.append(ra.person.user)
            elif ra.region.level == 3:
                self.by_street[ra.region_id].append(ra.person.user)
            else:
                self.by_street[ra.region.parent_id].append(ra.person.user)
        leaders = list(
            Person.objects.filter(is_active=True, unit__code="brigade", roles__role=Role.UNIT_LEADER)
            .select_related("user")
            .order_by("id")
        ) or list(
            Person.objects.filter(is_active=True, roles__role=Role.DISTRICT_LEADER)
            .select_related("user")
            .order_by("id")
        )
        self.leader = leaders[0].user if leaders else None

    def ok(self) -> bool:
        return bool(self.by_street and self.leader)

    def officer(self, rng, grid_code: str, street_id: int | None):
        return self.by_grid.get(grid_code) or self.street_officer(rng, street_id)

    def street_officer(self, rng, street_id: int | None):
        return rng.choice(self.by_street.get(street_id) or self.district_officers or self.all())

    def district_officer(self, rng):
        return rng.choice(self.district_officers or self.all())

    def all(self) -> list:
        return [u for us in self.by_street.values() for u in us]


class _Registry:
    """The subject registry as the simulation knows it: pools by category and street, names,
    identity numbers and addresses. Registration goes through do_register_subject."""

    def __init__(self, rng, cast, streets, communities, district, city_name, stats, year_now):
        self.rng, self.cast, self.stats, self.year_now = rng, cast, stats, year_now
        self.streets, self.communities, self.district = streets, communities, district
        self.city = (city_name.removesuffix("市") + "市") if city_name else ""
        code = district.code[:6]
        self.area = code if code.isdigit() and len(code) == 6 else "610100"
        self.dname = district.name
        self.pools: dict[tuple, list[tuple[Subject, float]]] = defaultdict(list)
        self.used: set[str] = set()
        self.excluded: set[int] = set()  # the carried-over ledger's subjects keep their own story
        roads = ROADS[:]
        rng.shuffle(roads)
        self.roads = {
            s.pk: [roads[(i * 3 + k) % len(roads)] for k in range(3)] for i, s in enumerate(streets)
        }

    def road(self, street_id) -> str:
        return self.rng.choice(self.roads.get(street_id) or ROADS)

    def _unique(self, make) -> str:
        name = make()
        for _ in range(200):
            if name not in self.used:
                break
            name = make()
        self.used.add(name)
        return name

    def person_name(self) -> str:
        r = self.rng
        return self._unique(
            lambda: r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))
        )

    def _name(self, cat: str) -> str:
        r, d, c = self.rng, self.dname, self.city
        make = {
            "restaurant": lambda: f"{d}{r.choice(FOOD_PREFIX)}{r.choice(FOOD_TYPES)}",
            "shop": lambda: f"{d}{r.choice(BRANDS)}{r.choice(SHOP_TYPES)}",
            "auto": lambda: f"{d}{r.choice(BRANDS)}{r.choice(AUTO_TYPES)}",
            "advertiser": lambda: f"{c}{r.choice(BRANDS)}{r.choice(AD_TYPES)}",
            "construction": lambda: f"{c}{r.choice(BRANDS)}{r.choice(BUILD_TYPES)}",
            "transport": lambda: f"{c}{r.choice(BRANDS)}{r.choice(TRANSPORT_TYPES)}",
            "property": lambda: f"{c}{r.choice(BRANDS)}{r.choice(PROPERTY_TYPES)}",
            "courier": lambda: f"{c}{r.choice(BRANDS)}{r.choice(COURIER_TYPES)}",
            "bike": lambda: f"{c}{r.choice(BIKES)}",
        }.get(cat)
        return self._unique(make) if make else self.person_name()

    def _address(self, cat, street, community) -> str:
        r = self.rng
        if street is None:
            return f"{self.dname}{r.choice(ROADS)}{r.randrange(1, 400)}号"
        if cat == "stall" and r.random() < 0.6:
            return f"流动摊点，常在{street.name}{self.road(street.pk)}一带"
        if street.kind == "town" and community is not None:
            return f"{street.name}{community.name}{r.randrange(1, 12)}组"
        return f"{street.name}{self.road(street.pk)}{r.randrange(1, 400)}号"

    def register(self, cat: str, street, community=None, *, now: datetime) -> Subject | None:
        spec, rng = CATEGORIES[cat], self.rng
        district_wide = spec["scope"] == "district"
        actor = (
            self.cast.district_officer(rng)
            if district_wide or street is None
            else self.cast.street_officer(rng, street.pk)
        )
        if community is None and street is not None:
            community = rng.choice(self.communities.get(street.pk) or [None])
        kind = spec["kind"]
        org = kind in ORGANISATION_KINDS
        # Companies working all over the district are registered at their seat (the street).
        region = (street or self.district) if district_wide else (community or street or self.district)
        try:
            with transaction.atomic():
                s = A.do_register_subject(
                    actor,
                    kind=kind,
                    name=self._name(cat),
                    uscc=_uscc(rng, spec["uscc"], self.area) if org else "",
                    id_number="" if org else _id_number(rng, self.area, self.year_now),
                    legal_representative=self.person_name() if org else "",
                    phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                    address=self._address(cat, street, community),
                    region=region,
                    now=now,
                )
        except DomainError as exc:
            self.stats["refused_registrations"] += 1
            log.debug("demo registration refused: %s", exc)
            return None
        key = (cat, None if district_wide else getattr(street, "pk", None))
        # Most subjects offend rarely, a few again and again: a heavy-tailed propensity.
        self.pools[key].append((s, min(rng.paretovariate(2.5), 3.0)))
        return s

    def pick(self, cat: str, street, community, *, now: datetime) -> Subject | None:
        """A subject of the category for a case in ``street``: one known there, or a new one."""
        spec = CATEGORIES[cat]
        key = (cat, None if spec["scope"] == "district" else getattr(street, "pk", None))
        pool = [(s, w) for s, w in self.pools.get(key, []) if s.pk not in self.excluded]
        if pool and self.rng.random() >= spec["new"]:
            return weighted(self.rng, pool)
        return self.register(cat, street, community, now=now)


def _category(rng, cat: str, street) -> str:
    town = street is not None and street.kind == "town"
    if cat == "stall_or_shop":
        return "stall" if rng.random() < 0.6 else "shop"
    if cat == "shop_or_restaurant":
        return "restaurant" if rng.random() < 0.55 else "shop"
    if cat == "stall_or_restaurant":
        return "stall" if rng.random() < 0.6 else "restaurant"
    if cat == "builder":
        # In the towns villagers build; in the city shops, restaurants and companies.
        if town:
            return "villager" if rng.random() < 0.7 else "construction"
        return weighted(rng, [("shop", 3), ("restaurant", 3), ("construction", 4)])
    if cat == "villager" and not town:
        return "construction"
    return cat


def _severity(rng, kind: str, response: str) -> str:
    mix = SEVERITY_MIX.get(kind, SEVERITY_MIX["default"])
    if response == "persuade":
        mix = (mix[0] + 40, mix[1], mix[2] // 3, 0)
    return weighted(rng, list(zip(Severity.values, mix, strict=True)))


class _Numbers:
    """Decision numbers, running per kind of document and year: 示城管罚决字〔2026〕第0123号."""

    WORDS = {PenaltyKind.WARNING: "简罚字", PenaltyKind.FINE: "罚决字", PenaltyKind.RECTIFY: "责改字"}

    def __init__(self, rng, district_name: str):
        self.rng = rng
        self.abbr = (district_name or "示范区")[:1]
        self.last: dict[tuple[str, int], int] = {}

    def __call__(self, kind: str, day: date) -> str:
        word = self.WORDS[kind]
        key = (word, day.year)
        # The year's numbering started before the window.
        n = self.last.get(key) or self.rng.randrange(60, 260)
        self.last[key] = n + 1
        return f"{self.abbr}城管{word}〔{day.year}〕第{n + 1:04d}号"


class _Sim(Simulation):
    """The credit history's simulation: steps of plans (generators of (time, fn(now))) and
    evaluation nights."""

    def __init__(self, rng, cast, reg, number, stats, start: datetime, end: datetime):
        super().__init__(start, end)
        self.rng, self.cast, self.reg, self.number, self.stats = rng, cast, reg, number, stats
        self.nights: set[date] = set()
        self.revoke_from = 10**9
        self.revoked = False
        self.left_overdue = False

    def evaluate_on(self, day: date):
        """Have the nightly evaluation run on ``day`` (23:30)."""
        at = local_time(day, 23, 30)
        if day not in self.nights and at < self.end:
            self.nights.add(day)
            self.schedule(at, "evaluate", day)

    def run(self, say, total):
        done = 0
        for at, kind, payload in self.events():
            if at >= self.end:
                break
            if kind == "evaluate":
                r = A.do_evaluate_all(None, as_of=payload, now=at)
                self.stats["evaluations"] += 1
                self.stats["auto_repairs"] += r["repaired"]
                continue
            succeeded, _ = run_step(payload.fn, at, self.stats)
            if not succeeded:
                continue
            if getattr(payload.fn, "counts", False):
                done += 1
                if done % 50 == 0:
                    say(f"  {done}/{total} violations ({timezone.localtime(at):%Y-%m-%d})")
            self.follow(payload.plan, not_before=at + STEP)


# -------------------------------------------------------------------------------------------------


def build_history(
    days: int = 90,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
    end: datetime | None = None,
) -> dict:
    """Simulate ``days`` days of the credit module up to ``end`` (default now). Returns counts."""
    rng = random.Random(seed * 7907 + 13)
    say = progress or (lambda s: None)
    end = end or timezone.now()
    start = end - timedelta(days=days)
    end_day, start_day = timezone.localdate(end), timezone.localdate(start)
    stats: dict[str, int] = defaultdict(int)

    cast = _Cast()
    if not cast.ok():
        say("credit history skipped: the organisation has no enforcement officers or brigade leader")
        return {"subjects": 0}
    if Subject.objects.exists():
        say("credit history skipped: credit subjects already exist")
        return {"subjects": Subject.objects.count()}
    area = _Area.of_first_district()
    if area is None:
        say("credit history skipped: no district with streets")
        return {"subjects": 0}
    rules = queries.active_rule_set()
    reg = _Registry(
        rng, cast, area.streets, area.communities, area.district, area.city_name, stats, end_day.year
    )
    sim = _Sim(rng, cast, reg, _Numbers(rng, area.district.name), stats, start, end)

    say("credit: registering subjects")
    _register_known_subjects(sim, area.streets)
    for plan in _ledger_plans(
        sim, area.streets, start_day, days, timedelta(days=int(rules.repair_clean_days))
    ):
        sim.follow(plan)
    picked = _violations_from_cases(rng, start, end, days)
    # About half way through, a serious record that is its subject's only one is revoked.
    sim.revoke_from = len(picked) // 2
    for i, row in enumerate(picked):
        t0 = in_office_hours(rng, row[6] + timedelta(minutes=rng.uniform(20, 240)))
        sim.follow(_violation_plan(sim, i, row, t0, area.street_by_id, area.community_by_id))
    for cid, cname, sid, comm, grid, accepted in _cases_being_handled(end, days):
        t0 = accepted + timedelta(minutes=rng.uniform(30, 180))
        sim.follow(
            _name_plan(sim, cid, cname, area.street_by_id.get(sid), area.community_by_id.get(comm), grid, t0)
        )
    # The nightly evaluation: Sundays and the last week (other nights are added as due).
    d = start_day
    while d <= end_day:
        if d.weekday() == 6 or d > end_day - timedelta(days=7):
            sim.evaluate_on(d)
        d += timedelta(days=1)

    say(f"credit: simulating {len(picked)} violations from the case history over {days} days")
    sim.run(say, len(picked))
    out = _counts(stats)
    say("credit history: " + ", ".join(f"{k}={v}" for k, v in sorted(out.items())))
    return out


@dataclass
class _Area:
    """The first district, its streets and their communities."""

    district: Region
    streets: list
    communities: dict[int, list]
    community_by_id: dict
    city_name: str

    def __post_init__(self):
        self.street_by_id = {s.pk: s for s in self.streets}

    @classmethod
    def of_first_district(cls) -> _Area | None:
        district = Region.objects.filter(level=2).order_by("code").first()
        streets = list(Region.objects.filter(level=3, parent=district).order_by("code")) if district else []
        if not streets:
            return None
        city = Region.objects.filter(level=1).order_by("code").first()
        communities: dict[int, list] = defaultdict(list)
        community_by_id = {}
        for c in Region.objects.filter(level=4, parent__in=streets).order_by("code"):
            communities[c.parent_id].append(c)
            community_by_id[c.pk] = c
        return cls(district, streets, communities, community_by_id, city.name if city else "")


def _register_known_subjects(sim, streets) -> None:
    """The registry up front: businesses known to the street offices and the brigade, registered
    over the year before the window (门前三包 files, permits, earlier inspections)."""
    rng = sim.rng
    per_street = sum(c["pre"] for c in CATEGORIES.values() if c["scope"] == "street")
    district_wide = sum(c["pre"] for c in CATEGORIES.values() if c["scope"] == "district")
    shrink = min(1.0, max(0, PRE_REGISTERED_CAP - district_wide) / (per_street * len(streets)))
    upfront = []
    for cat, spec in CATEGORIES.items():
        if spec["scope"] == "district":
            upfront += [(cat, rng.choice(streets)) for _ in range(spec["pre"])]
            continue
        for s in streets:
            n = spec["pre"] * shrink
            upfront += [(cat, s)] * (int(n) + (rng.random() < n - int(n)))
    rng.shuffle(upfront)
    moments = sorted(
        in_office_hours(rng, sim.start - timedelta(days=rng.uniform(20, 365), hours=rng.uniform(0, 10)))
        for _ in upfront
    )
    for (cat, street), moment in zip(upfront, moments, strict=True):
        sim.reg.register(cat, street, now=moment)


def _violations_from_cases(rng, start: datetime, end: datetime, days: int) -> list:
    """The handled cases of the window that become violations: drawn by class and response, at
    least MIN_FROM_CASES, at most MAX_VIOLATIONS (or MAX_PER_DAY a day)."""
    rows = list(
        Case.objects.filter(
            problem_class__name__in=list(CLASS_MAP),
            reported_at__gte=start,
            handled_at__isnull=False,
            handled_at__lt=end,
        )
        .exclude(state__in=["rejected", "cancelled"])
        .order_by("handled_at", "id")
        .values_list(
            "id",
            "problem_class__name",
            "street_id",
            "community_id",
            "grid_code",
            "reported_at",
            "handled_at",
            "response",
        )
    )
    picked = [r for r in rows if rng.random() < CLASS_MAP[r[1]][2] * RESPONSE_P.get(r[7] or "", 0.3)]
    if len(picked) < MIN_FROM_CASES:
        chosen = {r[0] for r in picked}
        rest = [r for r in rows if r[0] not in chosen]
        picked += rng.sample(rest, min(len(rest), MIN_FROM_CASES - len(picked)))
        picked.sort(key=lambda r: (r[6], r[0]))
    cap = min(MAX_VIOLATIONS, MAX_PER_DAY * max(days, 1))
    if len(picked) > cap:
        keep = set(rng.sample(range(len(picked)), cap))
        picked = [r for i, r in enumerate(picked) if i in keep]
    return picked


def _cases_being_handled(end: datetime, days: int):
    """Cases still being handled whose subject the officer names."""
    return (
        Case.objects.filter(
            problem_class__name__in=list(CLASS_MAP),
            state__in=["handling", "pending_check", "checking", "pending_close"],
            accepted_at__lt=end,
            accepted_at__gte=end - timedelta(days=max(3, min(days, 10))),
        )
        .order_by("accepted_at", "id")
        .values_list("id", "problem_class__name", "street_id", "community_id", "grid_code", "accepted_at")[
            :12
        ]
    )


def _counts(stats: dict) -> dict:
    active = ListEntry.objects.active()
    out = dict(stats)
    out.update(
        subjects=Subject.objects.count(),
        violations=Violation.objects.filter(state="confirmed").count(),
        violations_revoked=Violation.objects.filter(state="revoked").count(),
        violations_with_case=Violation.objects.filter(case__isnull=False).count(),
        penalties=Penalty.objects.count(),
        watch_list=active.filter(list_kind="watch").count(),
        dishonest_list=active.filter(list_kind="dishonest").count(),
        list_entries_repaired=ListEntry.objects.filter(exit_reason="repaired").count(),
        list_entries_revoked=ListEntry.objects.filter(exit_reason="revoked").count(),
    )
    for state in Penalty.objects.values_list("state", flat=True):
        out[f"penalties_{state}"] = out.get(f"penalties_{state}", 0) + 1
    return out


# -------------------------------------------------------------------------------------------------
# Plans: generators of (time, fn(now)) steps; the driver runs each step in time order in its own
# transaction and resumes the generator after the step succeeded.


def _step(fn, counts=False):
    fn.counts = counts
    return fn


def _describe(sim, cname: str, subject: Subject, street_id) -> str:
    texts = CLASS_MAP[cname][3]
    if isinstance(texts, dict):
        texts = texts["person" if subject.is_person else "org"]
    rng = sim.rng
    return rng.choice(texts).format(
        road=sim.reg.road(street_id), n=rng.randint(2, 30), goods=rng.choice(GOODS), food=rng.choice(FOOD)
    )


def _violation_plan(sim, i, row, t, street_by_id, community_by_id):
    """One case's violation: the subject is found (or registered), the violation recorded, then
    the penalty decision and its fulfilment — or, once, a revocation on review."""
    cid, cname, sid, comm, grid, reported_at, _handled_at, response = row
    vkind, cat, _p, _texts = CLASS_MAP[cname]
    street, community = street_by_id.get(sid), community_by_id.get(comm)
    rng = sim.rng
    officer = sim.cast.officer(rng, grid, sid)
    if officer is None:
        return
    h: dict = {}
    # The subject is looked up (or registered) in a step of its own: pools then follow time.
    yield t, lambda now: h.update(s=sim.reg.pick(_category(rng, cat, street), street, community, now=now))
    if h.get("s") is None:
        return
    severity = _severity(rng, vkind, response or "")

    def record(now):
        h["v"] = A.do_record_violation(
            officer,
            h["s"],
            kind=vkind,
            severity=severity,
            occurred_on=timezone.localdate(reported_at),
            description=_describe(sim, cname, h["s"], sid),
            case=Case.objects.get(pk=cid),
            now=now,
        )
        sim.stats[f"severity_{severity}"] += 1

    t += timedelta(minutes=rng.uniform(2, 10))
    yield t, _step(record, counts=True)
    v = h["v"]
    if (
        not sim.revoked
        and i >= sim.revoke_from
        and severity in (Severity.SERIOUS, Severity.GRAVE)
        and not Violation.objects.filter(subject=v.subject_id, state="confirmed").exclude(pk=v.pk).exists()
    ):
        # The party named was the wrong one: the record is revoked on review, before any decision.
        sim.revoked = True
        t = in_office_hours(rng, t + timedelta(days=rng.uniform(2, 6)))
        yield (
            t,
            lambda now: A.do_revoke_violation(
                officer, Violation.objects.get(pk=v.pk), REVOKE_REASON, now=now
            ),
        )
        return
    yield from _penalty_steps(sim, officer, v.pk, vkind, severity, t)


def _penalty_steps(sim, officer, vid: int, kind: str, severity: str, t: datetime):
    """The decision on violation ``vid`` recorded at ``t`` and its fulfilment."""
    pk = _penalty_kind(sim.rng, kind, severity)
    if pk == "none":
        return  # 首违不罚: a first, minor violation corrected at once is recorded without a penalty
    steps = {PenaltyKind.WARNING: _warning_steps, PenaltyKind.FINE: _fine_steps}.get(pk, _rectify_steps)
    yield from steps(sim, officer, lambda: Violation.objects.get(pk=vid), kind, severity, t)


def _penalty_kind(rng, kind: str, severity: str) -> str:
    """The penalty for a violation of ``kind`` and ``severity``, "none" for none."""
    if severity == Severity.MINOR:
        pk = weighted(rng, [("none", 35), (PenaltyKind.WARNING, 60), (PenaltyKind.FINE, 5)])
    elif severity == Severity.GENERAL:
        pk = weighted(
            rng, [("none", 8), (PenaltyKind.WARNING, 32), (PenaltyKind.FINE, 45), (PenaltyKind.RECTIFY, 15)]
        )
    else:
        pk = weighted(rng, [(PenaltyKind.FINE, 60), (PenaltyKind.RECTIFY, 40)])
    if (
        pk == PenaltyKind.FINE
        and kind in (VK.ILLEGAL_CONSTRUCTION, VK.PROPERTY_MANAGEMENT)
        and rng.random() < 0.6
    ):
        pk = PenaltyKind.RECTIFY
    return pk


def _warning_steps(sim, officer, violation, kind, severity, t):
    """A warning on the spot (the simple procedure)."""
    t += timedelta(minutes=sim.rng.uniform(5, 40))
    yield (
        t,
        lambda now: A.do_issue_penalty(
            officer,
            violation(),
            kind=PenaltyKind.WARNING,
            decision_number=sim.number(PenaltyKind.WARNING, timezone.localdate(now)),
            note="适用简易程序当场警告",
            now=now,
        ),
    )


def _fine_steps(sim, officer, violation, kind, severity, t):
    """A fine (on the spot up to 200, else after an investigation and notice), mostly paid."""
    rng = sim.rng
    h: dict = {}
    amount = rng.choice(FINES.get(kind, [200, 500])) * (
        2 if severity in (Severity.SERIOUS, Severity.GRAVE) else 1
    )
    simple = amount <= 200
    if simple:
        t += timedelta(minutes=rng.uniform(5, 40))
    else:
        t = in_office_hours(rng, t + timedelta(days=rng.uniform(3, 12)))

    def fine(now):
        h["p"] = A.do_issue_penalty(
            officer,
            violation(),
            kind=PenaltyKind.FINE,
            amount=amount,
            decision_number=sim.number(PenaltyKind.FINE, timezone.localdate(now)),
            note="适用简易程序当场处罚" if simple else "一般程序",
            now=now,
        )

    yield t, fine
    if rng.random() < 0.86:
        # Paid within the 15 days the decision gives, mostly in the first week.
        t = in_office_hours(
            rng, t + timedelta(days=rng.choice([0, 1, 2, 3, 5, 7, 10, 14]), hours=rng.uniform(1, 6))
        )
        yield (
            t,
            lambda now: A.do_fulfil_penalty(officer, h["p"], fulfilled_on=timezone.localdate(now), now=now),
        )


def _rectify_steps(sim, officer, violation, kind, severity, t):
    """An order to rectify by a deadline, mostly complied with (some late, one never)."""
    rng = sim.rng
    h: dict = {}
    period = rng.choice([15, 20, 30] if kind == VK.ILLEGAL_CONSTRUCTION else [3, 5, 7, 10, 15])
    t += timedelta(minutes=rng.uniform(10, 60))
    decided = timezone.localdate(t)

    def order(now):
        due = timezone.localdate(now) + timedelta(days=period)
        h["p"] = A.do_issue_penalty(
            officer,
            violation(),
            kind=PenaltyKind.RECTIFY,
            decision_number=sim.number(PenaltyKind.RECTIFY, timezone.localdate(now)),
            rectify_by=due,
            note="责令限期改正",
            now=now,
        )
        # The night after the deadline the evaluation marks it overdue if it is not done.
        sim.evaluate_on(due + timedelta(days=1))

    yield t, order
    due, end_day = decided + timedelta(days=period), timezone.localdate(sim.end)
    if not sim.left_overdue and end_day - timedelta(days=21) <= due < end_day - timedelta(days=1):
        # One order of the last weeks is simply not complied with: overdue at the end.
        sim.left_overdue = True
        return
    r = rng.random()
    if r < 0.96:
        # Done before the deadline; the officer checks and records it.
        days_used = max(1, round(period * rng.uniform(0.3, 1.0)))
        t = local_time(decided + timedelta(days=days_used), rng.randint(9, 16), rng.randrange(60))
    elif r < 0.98:
        # Late: overdue (and on the dishonest list) first, done some days later.
        t = local_time(
            decided + timedelta(days=period + rng.randint(3, 12)), rng.randint(9, 16), rng.randrange(60)
        )
    else:
        return  # not done at all within the window
    yield t, lambda now: A.do_fulfil_penalty(officer, h["p"], fulfilled_on=timezone.localdate(now), now=now)


def _name_plan(sim, cid, cname, street, community, grid, t):
    """An officer names the responsible party on a case still being handled (the case page then
    shows the subject's record); the decision on a violation comes later."""
    cat = CLASS_MAP[cname][1]
    officer = sim.cast.officer(sim.rng, grid, street.pk if street else None)
    if officer is None:
        return
    h: dict = {}
    yield t, lambda now: h.update(s=sim.reg.pick(_category(sim.rng, cat, street), street, community, now=now))
    if h.get("s") is None:
        return

    def name(now):
        A.do_name_subject_on_case(officer, Case.objects.get(pk=cid), h["s"], now=now)
        sim.stats["named_on_open_cases"] += 1

    yield t + timedelta(minutes=1), name


def _ledger_plans(sim, streets, start_day: date, days: int, clean: timedelta):
    """Records carried over from before the window, timed so that repair falls inside it:

    1. a restaurant that offended twice (watch list) and paid: repaired automatically by the
       evaluation about a third into the window;
    2. a muck-transport company with a grave violation (dishonest and watch lists) that paid its
       fine: the brigade leader approves its repair the day it becomes possible;
    3. a stall owner who let an order to rectify run out (dishonest list) and complied late: still
       listed at the end (its clean period runs past the window).
    """
    rng = sim.rng
    auto_day = start_day + timedelta(days=max(1, round(days * 0.3)))
    manual_day = start_day + timedelta(days=max(1, round(days * 0.6)))
    first, last = streets[0], streets[-1]
    plans = []
    s = _ledger_subject(sim, "restaurant", first, auto_day - clean - timedelta(days=75))
    if s is not None:
        plans.append(_repaired_automatically(sim, s, sim.cast.street_officer(rng, first.pk), auto_day, clean))
    s = _ledger_subject(sim, "transport", first, manual_day - clean - timedelta(days=28))
    if s is not None and sim.cast.leader is not None:
        plans.append(
            _repaired_by_leader(sim, s, sim.cast.district_officer(rng), sim.cast.leader, manual_day, clean)
        )
    s = _ledger_subject(sim, "stall", last, start_day - timedelta(days=120))
    if s is not None:
        plans.append(_complied_late(sim, s, sim.cast.street_officer(rng, last.pk), start_day))
    return plans


def _ledger_subject(sim, cat, street, first_record: date):
    """A subject registered some weeks before its first record (at the simulated time)."""
    rng, stats = sim.rng, sim.stats
    registered = local_time(first_record - timedelta(days=rng.randint(10, 60)), rng.randint(9, 16))
    s = sim.reg.register(cat, street, now=registered)
    if s is not None:
        sim.reg.excluded.add(s.pk)
        stats["ledger_subjects"] += 1
    return s


def _repaired_automatically(sim, s, off, auto_day: date, clean: timedelta):
    """Two general violations and a paid fine: the evaluation repairs the record on ``auto_day``."""
    number = sim.number
    paid = auto_day - clean  # the clean period runs from the last fulfilment
    v1_day, v2_day = paid - timedelta(days=75), paid - timedelta(days=9)
    h: dict = {}
    t = local_time(v1_day, 10, 20)
    yield (
        t,
        lambda now: h.update(
            v=A.do_record_violation(
                off,
                s,
                kind=VK.OUTSIDE_SHOP,
                severity=Severity.GENERAL,
                occurred_on=v1_day,
                description="超出门窗在门前摆放桌椅经营，约6平方米",
                now=now,
            )
        ),
    )
    yield (
        t + timedelta(minutes=15),
        lambda now: A.do_issue_penalty(
            off,
            h["v"],
            kind=PenaltyKind.WARNING,
            decision_number=number(PenaltyKind.WARNING, v1_day),
            note="适用简易程序当场警告",
            now=now,
        ),
    )
    yield from _fined_and_paid(
        number,
        off,
        s,
        kind=VK.SANITATION,
        severity=Severity.GENERAL,
        occurred=local_time(v2_day, 11, 5),
        description="餐饮油烟未经净化直排，影响周边居民",
        decided=local_time(v2_day + timedelta(days=4), 10, 0),
        amount=2000,
        note="一般程序",
        paid=local_time(paid, 15, 30),
    )
    sim.evaluate_on(auto_day)


def _fined_and_paid(number, off, s, *, kind, severity, occurred, description, decided, amount, note, paid):
    """The steps of a violation fined by the officer and paid: recorded at ``occurred``, the fine
    decided at ``decided``, paid at ``paid``."""
    h: dict = {}
    yield (
        occurred,
        lambda now: h.update(
            v=A.do_record_violation(
                off,
                s,
                kind=kind,
                severity=severity,
                occurred_on=timezone.localdate(occurred),
                description=description,
                now=now,
            )
        ),
    )
    yield (
        decided,
        lambda now: h.update(
            p=A.do_issue_penalty(
                off,
                h["v"],
                kind=PenaltyKind.FINE,
                amount=amount,
                decision_number=number(PenaltyKind.FINE, timezone.localdate(now)),
                note=note,
                now=now,
            )
        ),
    )
    yield (
        paid,
        lambda now: A.do_fulfil_penalty(off, h["p"], fulfilled_on=timezone.localdate(paid), now=now),
    )


def _repaired_by_leader(sim, s, off, leader, manual_day: date, clean: timedelta):
    """A grave violation and a paid fine: the leader approves the repair on ``manual_day``."""
    number, stats = sim.number, sim.stats
    paid = manual_day - clean
    v_day = paid - timedelta(days=28)
    yield from _fined_and_paid(
        number,
        off,
        s,
        kind=VK.CONSTRUCTION_SITE,
        severity=Severity.GRAVE,
        occurred=local_time(v_day, 22, 40),  # a night patrol stops a loaded truck
        description="渣土运输车辆未办理处置核准、未密闭，夜间沿环城路大面积遗撒",
        decided=local_time(v_day + timedelta(days=10), 9, 40),
        amount=20000,
        note="一般程序，经听证",
        paid=local_time(paid, 14, 10),
    )

    def repair(now):
        A.do_repair(leader, s, note=REPAIR_NOTE, as_of=timezone.localdate(now), now=now)
        stats["manual_repairs"] += 1

    # The company applied for repair; the leader approves it the morning it becomes possible.
    yield local_time(manual_day, 10, 0), repair


def _complied_late(sim, s, off, start_day: date):
    """An order to rectify that ran out before it was complied with."""
    number = sim.number
    v_day = start_day - timedelta(days=120)
    due, done = v_day + timedelta(days=10), start_day - timedelta(days=60)
    h: dict = {}
    t = local_time(v_day, 16, 15)
    yield (
        t,
        lambda now: h.update(
            v=A.do_record_violation(
                off,
                s,
                kind=VK.STREET_OCCUPATION,
                severity=Severity.SERIOUS,
                occurred_on=v_day,
                description="在路口搭建固定棚架占道经营，约12平方米",
                now=now,
            )
        ),
    )
    yield (
        t + timedelta(minutes=30),
        lambda now: h.update(
            p=A.do_issue_penalty(
                off,
                h["v"],
                kind=PenaltyKind.RECTIFY,
                rectify_by=due,
                decision_number=number(PenaltyKind.RECTIFY, v_day),
                note="责令限期拆除棚架",
                now=now,
            )
        ),
    )
    sim.evaluate_on(due + timedelta(days=1))
    yield (
        local_time(done, 10, 30),
        lambda now: A.do_fulfil_penalty(off, h["p"], fulfilled_on=done, now=now),
    )
