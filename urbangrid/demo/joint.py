"""Joint enforcement history produced THROUGH THE ACTIONS on a simulated clock.

``build_history(days, seed, progress, end)`` runs after the organisation and the case history
exist and simulates the joint work of the last ``days`` days:

- **Campaigns (专项整治)** on the usual themes: street stalls, outdoor advertising, muck trucks,
  shared bikes, back alleys, a cancelled one and a planned one. Each is launched on its first day
  by the lead unit's leader with its areas, classes and targets (set from the case volume); the
  participating units get phased tasks, report what they did (quantities: stalls cleared, trucks
  checked...), mostly on time, some late, some never; the lead accepts or sends a report back,
  links related cases by hand, and ends a finished campaign with its frozen summary.
- **Consultations (会商)** on real cases of the case history: cases left awaiting dispatch, and
  cases in handling whose unit applies for a return (some returned twice, re-dispatched in
  between, through the case loop's own actions). The dispatcher opens the consultation, the
  units state their views, a written procedure or a consultation meeting decides the lead and
  assisting units, and the decision is applied through the case loop's dispatch; the decided unit
  then handles the case to closure. The last days leave one decided, one with a meeting
  scheduled, one collecting views and one case returned twice that awaits consultation.
- **Joint meetings (联席会议)**: monthly meetings of the district with overdue cases on the agenda,
  a campaign progress meeting, and next month's meeting scheduled today from the proposals;
  minutes, decisions and follow-up tasks (督办事项) that units reply to and the host completes or
  reopens; one stays overdue.

Every write is a ``do_*`` action. The joint actions take their time from ``timezone.now()`` (as
do the audit trail's ``AuditEvent.at`` and the auto timestamps), so each step runs with
``django.utils.timezone.now`` set to the simulated moment; the case actions are also given
``now=`` explicitly. A global queue orders the steps of all stories in time; steps that would fall
after ``end`` are not done. Deterministic for a seed (given the same organisation and history).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from urbangrid.cases import actions as CA
from urbangrid.cases.models import Application, Case, Notification
from urbangrid.cases.queries import suggest_unit
from urbangrid.catalog.models import ProblemClass
from urbangrid.demo.simulation import (
    STEP,
    Simulation,
    last_office_moment,
    later_in_office_hours,
    local_time,
    next_weekday,
    notifications_held,
    office_moment,
    photo_pool,
    run_step,
)
from urbangrid.geo.models import Region
from urbangrid.joint import actions as A
from urbangrid.joint import queries
from urbangrid.joint.choices import (
    AgendaReason,
    ConsultationMode,
    Stance,
    TargetMetric,
    TaskState,
)
from urbangrid.joint.models import Campaign, CampaignCase, CampaignTask, Consultation, FollowUp, Meeting
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import GridAssignment, RoleAssignment, Unit

# Caps that keep the city-scale build bounded (the volume does not grow with the grid count).
MAX_STREET_UNITS = 6
MAX_APPLIED_CONSULTATIONS = 5
MAX_MANUAL_LINKS = 3

# --- campaigns -------------------------------------------------------------------------------------
# Offsets are days from the last day of the history (scaled down for short histories); tasks are
# (unit selector, title, description, phases as fractions of the campaign, quantity range, report
# templates). Unit selectors: a unit code, "streets" (urban street offices), "towns", "all_streets",
# "communities" (of the lead street). Classes are catalogue names (a code repeats across kinds).
CAMPAIGNS = [
    {
        "key": "stalls",
        "title": "占道经营专项整治",
        "topic": "占道经营",
        "description": "针对主次干道、学校医院及农贸市场周边占道经营、店外经营、流动摊贩等突出问题开展集中整治，"
        "做到发现一起、处置一起，整治结束后转入常态化管理。",
        "lead": "bureau",
        "units": ["brigade", "dept_market", "streets"],
        "areas": "district",
        "classes": ["占道经营", "店外经营", "无证食品摊贩", "占道废品收购", "马路市场", "露天烧烤"],
        "related": ["机动车占道维修洗车", "集贸市场秩序混乱", "沿街晾挂"],
        "start": -84,
        "end": -50,
        "fate": "ended",
        "reported_target": "清理占道摊点（处）",
        "tasks": [
            (
                "brigade",
                "早晚高峰重点路段错时巡查管控",
                "对主次干道早晚高峰占道经营开展错时巡查，对屡教不改的依法立案查处。",
                (0.5, 1.0),
                (15, 40),
                [
                    "已组织错时巡查{n}次，劝离流动摊贩{q}处，对屡教不改的3户依法立案。",
                    "本阶段出动执法队员{n}人次，查处占道经营{q}起，重点路段秩序明显好转。",
                ],
            ),
            (
                "dept_market",
                "无证食品摊贩排查及许可指导",
                "联合属地排查无证食品摊贩，引导符合条件的入市经营、办理登记。",
                (0.6, 1.0),
                (5, 18),
                [
                    "排查无证食品摊贩{q}户，指导{n}户办理食品经营登记，其余已劝离。",
                    "会同街道检查农贸市场周边摊点，规范{q}户，下达责令改正通知书{n}份。",
                ],
            ),
            (
                "streets",
                "落实门前三包，清理辖区占道摊点",
                "逐路段落实门前三包责任，清理店外经营和占道摊点，建立长效巡查机制。",
                (0.4, 1.0),
                (20, 60),
                [
                    "辖区签订门前三包责任书{n}份，清理占道摊点{q}处。",
                    "组织网格员和社区干部集中清理店外经营{q}处，重点路段已无反弹。",
                    "本阶段清理占道摊点{q}处，设置临时疏导点{n}处。",
                ],
            ),
        ],
        "end_note": "整治期间累计清理占道摊点{q}处，办结相关案件{closed}件；各街道建立门前三包长效管理机制，"
        "转入常态化管理。",
    },
    {
        "key": "ads",
        "title": "违规户外广告清理整治",
        "topic": "违规户外广告",
        "description": "集中清理违规设置的户外广告、横幅、条幅及破损店招，规范户外广告设置审批，"
        "还路于民、还景于民。",
        "lead": "brigade",
        "units": ["all_streets", "bureau"],
        "areas": "district",
        "classes": [
            "违规户外广告",
            "户外广告设施",
            "违规悬挂横幅",
            "非法小广告",
            "散发小广告",
            "店招牌匾破损",
        ],
        "related": ["沿街晾挂"],
        "start": -62,
        "end": -30,
        "fate": "ended",
        "reported_target": "清理违规广告及横幅（处）",
        "tasks": [
            (
                "all_streets",
                "辖区违规户外广告、横幅排查清理",
                "对辖区主次干道两侧违规广告、横幅逐一登记，限期清理。",
                (0.5, 1.0),
                (10, 45),
                [
                    "排查登记违规广告{n}处，已清理横幅、条幅及违规广告{q}处。",
                    "本阶段清理违规横幅{q}条，督促商户更换破损店招{n}块。",
                ],
            ),
            (
                "bureau",
                "户外广告设置审批复核",
                "复核辖区大型户外广告设施审批手续，对手续不全的下达整改通知。",
                (1.0,),
                (3, 12),
                ["复核大型户外广告设施{n}处，对手续不全的{q}处下达整改通知。"],
            ),
            (
                "brigade",
                "拒不整改违规广告依法拆除",
                "对逾期未整改的违规户外广告依法组织强制拆除。",
                (0.8,),
                (3, 12),
                ["依法拆除逾期未整改的违规广告{q}处，现场已恢复。"],
            ),
        ],
        "end_note": "整治期间累计清理违规广告、横幅{q}处，办结相关案件{closed}件。",
    },
    {
        "key": "muck",
        "title": "渣土车专项治理",
        "topic": "渣土车违规",
        "description": "联合交通运输、公安交警、住建部门，对渣土运输车辆未密闭、沿途遗撒、超载超速，"
        "工地出入口冲洗不到位等问题开展联合执法，实行源头管控、路面查处、末端监管全链条治理。",
        "lead": "bureau",
        "units": ["dept_traffic", "dept_transport", "dept_housing", "brigade"],
        "areas": "district",
        "classes": ["渣土车违规", "道路遗撒", "积存垃圾渣土", "工地扬尘", "工地围挡不规范"],
        "related": ["施工占道", "无证掘路"],
        "start": -30,
        "end": 30,
        "fate": "active",
        "reported_target": "检查渣土运输车辆（辆次）",
        "tasks": [
            (
                "dept_traffic",
                "夜间重点路段设卡联合检查",
                "在渣土车主要通行路段夜间设卡，查处超载超速、闯禁行。",
                (0.3, 0.65, 1.0),
                (20, 60),
                [
                    "夜间设卡检查{n}次，检查渣土车{q}辆次，查处超载超速{n}起。",
                    "本阶段联合检查渣土车{q}辆次，暂扣违规车辆2辆。",
                ],
            ),
            (
                "dept_transport",
                "渣土运输企业资质及车辆备案核查",
                "核查运输企业资质、车辆密闭装置及备案情况。",
                (0.3, 1.0),
                (8, 25),
                ["核查运输企业{n}家、车辆{q}辆，责令{n}家企业限期整改密闭装置。"],
            ),
            (
                "dept_housing",
                "在建工地出入口冲洗设施及围挡检查",
                "逐一检查在建工地出入口冲洗设施、围挡和出土记录。",
                (0.3, 0.65, 1.0),
                (5, 15),
                [
                    "检查在建工地{q}处，对冲洗设施不到位的{n}处下达整改通知。",
                    "复查整改工地{q}处，已全部落实冲洗设施。",
                ],
            ),
            (
                "brigade",
                "道路遗撒源头追查及立案处罚",
                "对道路遗撒追查至工地和运输企业，依法立案处罚。",
                (0.5, 1.0),
                (4, 14),
                ["追查道路遗撒源头{q}起，立案处罚{n}起，责令清理路面。"],
            ),
        ],
    },
    {
        "key": "bikes",
        "title": "共享单车乱停放集中整治",
        "topic": "共享单车乱停放",
        "description": "督促运营企业增派运维力量、完善电子围栏，街道清理重点区域乱停放车辆，"
        "恢复地铁口、商圈周边通行秩序。",
        "lead": "dept_transport",
        "units": ["streets", "dept_traffic"],
        "areas": "streets",
        "classes": ["共享单车乱停放", "非机动车乱停放", "摩托车乱停放"],
        "related": ["机动车乱停放", "停车设施"],
        "start": -14,
        "end": 16,
        "fate": "active",
        "reported_target": "清理乱停放车辆（辆）",
        "tasks": [
            (
                "streets",
                "重点区域共享单车停放秩序管理",
                "在地铁口、商圈、学校周边划定停放区，清理乱停放车辆。",
                (0.35, 1.0),
                (80, 300),
                [
                    "清理乱停放共享单车{q}辆，新划停放区{n}处。",
                    "会同运营企业清理车辆{q}辆，重点区域秩序明显改善。",
                ],
            ),
            (
                "dept_traffic",
                "非机动车道占用及违停查处",
                "查处机动车占用非机动车道及摩托车乱停放。",
                (0.5,),
                (10, 40),
                ["查处机动车占用非机动车道及违停{q}起。"],
            ),
            (
                "dept_transport",
                "督促运营企业增派运维、完善电子围栏",
                "约谈运营企业，督促增派运维人员、完善电子围栏设置。",
                (0.2, 1.0),
                (2, 6),
                ["约谈运营企业{q}家，督促增派运维人员{n}名、新增电子围栏点位。"],
            ),
        ],
    },
    {
        "key": "alleys",
        "title": "背街小巷环境卫生整治",
        "topic": "背街小巷环境卫生",
        "description": "以背街小巷、老旧小区为重点，清理卫生死角、乱堆乱放和沿街晾挂，推行巷长制，"
        "落实日常保洁。",
        "lead": "street",
        "units": ["communities"],
        "areas": "lead_street",
        "classes": ["背街小巷脏乱差", "暴露垃圾", "乱堆物堆料", "沿街晾挂", "垃圾满溢"],
        "related": ["积存垃圾渣土"],
        "start": -21,
        "end": 9,
        "fate": "active",
        "reported_target": "清理卫生死角（处）",
        "tasks": [
            (
                "communities",
                "背街小巷卫生死角清理",
                "逐巷排查卫生死角和乱堆乱放，组织清理并建立台账。",
                (0.4, 1.0),
                (5, 25),
                [
                    "组织志愿者和保洁人员清理卫生死角{q}处，清运垃圾{n}车。",
                    "本阶段清理乱堆乱放{q}处，劝导沿街晾挂{n}户。",
                ],
            ),
        ],
    },
    {
        "key": "noise",
        "title": "夜间施工扰民专项整治",
        "topic": "施工扰民",
        "description": "针对群众反映集中的夜间施工噪声、施工占道问题开展专项检查。",
        "lead": "bureau",
        "units": ["dept_housing", "brigade"],
        "areas": "district",
        "classes": ["施工占道", "工地扬尘"],
        "related": [],
        "start": -20,
        "end": 10,
        "fate": "cancelled",
        "cancel_reason": "与市住房和城乡建设局开展的建筑工地专项检查合并实施，本专项不再单独开展。",
        "tasks": [],
    },
    {
        "key": "two_illegal",
        "title": "“两违”专项整治",
        "topic": "“两违”",
        "description": "对辖区违法建设、违法占地开展全面摸排，分类处置存量、坚决遏制增量，"
        "做到早发现、早制止、早拆除。",
        "lead": "brigade",
        "units": ["towns", "dept_nr"],
        "areas": "towns",
        "classes": ["违法建设", "违法占地", "私搭乱建"],
        "related": [],
        "start": 6,
        "end": 66,
        "fate": "planned",
        "reported_target": "拆除违法建设（处）",
        "tasks": [
            (
                "towns",
                "辖区违法建设、违法占地全面摸排建档",
                "逐村逐户摸排，建立违法建设、违法占地台账。",
                (0.25,),
                (0, 0),
                [],
            ),
            (
                "dept_nr",
                "违法占地卫片图斑核查",
                "核查卫片执法图斑，认定违法占地并移送处置。",
                (0.35,),
                (0, 0),
                [],
            ),
            ("brigade", "存量违法建设分类处置", "对摸排建档的存量违法建设分类依法处置。", (1.0,), (0, 0), []),
        ],
    },
]

# --- consultation texts ------------------------------------------------------------------------------
RETURN_REASONS = [
    "经现场核实，该点位属{street}管辖的公共区域，不属于本单位职责范围。",
    "该问题涉及{other}的监管职责，本单位无相应执法权限，申请回退。",
    "现场为小区内部区域，应由物业服务企业及属地负责，不属于本单位职责。",
    "该设施产权及管养单位不是本单位，申请回退改派。",
]
STATEMENTS = {
    Stance.ACCEPT: [
        "同意牵头处置，本单位将组织人员到场处置并按期反馈结果。",
        "该问题属本单位行业监管范围，同意承办。",
    ],
    Stance.ASSIST: [
        "本单位可派员配合现场处置，并提供专业技术支持。",
        "同意配合，建议由属地牵头组织，本单位负责专业处置。",
    ],
    Stance.DECLINE: [
        "该问题不在本单位“三定”职责范围内，建议由{other}牵头处置，本单位可提供政策咨询。",
        "依据城市管理职责清单，该类问题由属地负责，本单位不宜牵头。",
        "本单位已到场核实，问题成因涉及{other}管理范围，不宜由本单位牵头。",
    ],
}
MEETING_ROOM = "指挥中心三楼会商室"


class _Cast:
    """The people and units who act, found from the organisation the orgs demo built."""

    def __init__(self):

        self.units = {u.code: u for u in Unit.objects.filter(is_active=True).order_by("code")}
        self.district = Region.objects.filter(level=2).order_by("code").first()
        self._read_roles()
        self._read_grid_workers()
        self._read_street_units()
        self.role = Role

    def _read_roles(self) -> None:
        """Who holds which role in which unit, the city-wide staff and the district's leaders."""

        by_unit_role: dict[tuple[int, str], list] = defaultdict(list)
        central: dict[str, list] = defaultdict(list)
        self.district_leaders = []
        for ra in (
            RoleAssignment.objects.filter(person__is_active=True)
            .select_related("person__user", "region")
            .order_by("person__user__username", "id")
        ):
            p = ra.person
            by_unit_role[(p.unit_id, ra.role)].append(p)
            if ra.region_id is None or ra.region.level <= 1:
                central[ra.role].append(p)
            if ra.role == Role.DISTRICT_LEADER and self.district and ra.region_id == self.district.pk:
                self.district_leaders.append(p)
        self.by_unit_role = by_unit_role
        self.dispatchers = [p.user for p in central[Role.DISPATCHER]]
        self.shift = [p.user for p in central[Role.SHIFT_LEADER]]
        self.operators = [p.user for p in central[Role.INTAKE_OPERATOR]]
        self.admins = [p.user for p in central[Role.ADMIN]]

    def _read_grid_workers(self) -> None:
        """Each grid's supervisor and each street's grid workers."""

        self.grid_user: dict[str, object] = {}
        for ga in (
            GridAssignment.objects.filter(duty="supervisor").select_related("person__user").order_by("id")
        ):
            self.grid_user.setdefault(ga.grid_code, ga.person.user)
        self.street_workers: dict[int, list] = defaultdict(list)
        for ra in (
            RoleAssignment.objects.filter(role=Role.GRID_WORKER, person__is_active=True)
            .select_related("person__user", "region")
            .order_by("person__user__username")
        ):
            if ra.region_id:
                sid = ra.region.parent_id if ra.region.level == 4 else ra.region_id
                self.street_workers[sid].append(ra.person.user)

    def _read_street_units(self) -> None:
        """The district's street offices / town governments and the communities under each."""
        streets = [u for u in self.units.values() if u.kind in ("street_office", "town_gov") and u.region_id]
        if self.district:
            streets = [u for u in streets if u.region.parent_id == self.district.pk] or streets
        self.street_units = sorted(streets, key=lambda u: u.region.code)
        self.street_unit_of = {u.region_id: u for u in self.street_units}
        self.community_units: dict[int, list] = defaultdict(list)
        for u in sorted(self.units.values(), key=lambda u: u.code):
            if u.kind == "community" and u.parent_id:
                self.community_units[u.parent_id].append(u)

    def field_staff(self, unit) -> list:
        """The unit's handlers and enforcement officers (who go out in a campaign)."""
        roles = (self.role.UNIT_HANDLER, self.role.ENFORCEMENT_OFFICER)
        seen, out = set(), []
        for role in roles:
            for p in self.by_unit_role.get((unit.pk, role), []):
                if p.pk not in seen:
                    seen.add(p.pk)
                    out.append(p)
        return out

    def ok(self) -> bool:
        return bool(self.dispatchers and self.units.get("bureau") and self.street_units and self.district)

    def _first(self, unit, *roles):
        uid = getattr(unit, "pk", unit)
        for role in roles:
            people = self.by_unit_role.get((uid, role))
            if people:
                return people[0].user
        return None

    def leader(self, unit):
        """Who manages for the unit: a street/town leader, else a unit leader."""
        return self._first(unit, self.role.STREET_LEADER, self.role.UNIT_LEADER)

    def handler(self, unit, rng: random.Random | None = None):
        uid = getattr(unit, "pk", unit)
        people = self.by_unit_role.get((uid, self.role.UNIT_HANDLER)) or self.by_unit_role.get(
            (uid, self.role.UNIT_LEADER)
        )
        if not people:
            return None
        return (rng.choice(people) if rng else people[0]).user

    def person_of(self, unit, *roles):
        uid = getattr(unit, "pk", unit)
        for role in roles:
            people = self.by_unit_role.get((uid, role))
            if people:
                return people[0]
        return None


class _Sim(Simulation):
    """The joint history's simulation: its plans are stories, each receiving the result of its
    previous step (None when the step was refused)."""

    def __init__(self, start: datetime, end: datetime, stats: dict):
        super().__init__(start, end)
        self.stats = stats

    def run(self, say) -> None:
        done = 0
        for at, _kind, step in self.events():
            if at >= self.end:
                self.stats["steps_after_end"] += 1
                step.plan.close()
                continue
            done += 1
            if done % 200 == 0:
                say(f"  joint: {done} steps ({timezone.localtime(at):%Y-%m-%d})")
            succeeded, result = run_step(step.fn, at, self.stats)
            if succeeded:
                self.stats["steps"] += 1
            self.follow(step.plan, not_before=at + STEP, result=result)


def build_history(
    days: int = 90,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
    end: datetime | None = None,
) -> dict:
    """Simulate ``days`` days of campaigns, consultations and joint meetings up to ``end``
    (default now), after the organisation and the case history. Returns counts."""

    say = progress or (lambda s: None)
    end = end or timezone.now()
    days = max(1, int(days))
    rng = random.Random(seed * 1009 + 17)
    cast = _Cast()
    if not cast.ok():
        say("joint history skipped: the organisation has no bureau, street units or dispatchers")
        return {"campaigns": 0}
    stats: dict[str, int] = defaultdict(int)
    today = timezone.localdate(end)
    start = end - timedelta(days=days)
    sim = _Sim(start, end, stats)
    photos = photo_pool(rng)
    last_note = Notification.objects.aggregate(m=Max("id"))["m"] or 0

    say("joint: campaigns")
    for spec in CAMPAIGNS:
        story = _campaign_story(cast, random.Random(rng.random()), spec, today, start, end, days, stats)
        if story is not None:
            sim.follow(story)
    say("joint: consultations")
    for story in _consultation_stories(cast, rng, start, end, photos, stats):
        sim.follow(story)
    say("joint: meetings")
    for story in _meeting_stories(cast, rng, today, start, end, days, stats):
        sim.follow(story)

    with notifications_held():
        sim.run(say)
        # As in the case history: the outbound channel did not exist in the past, so the joint
        # notifications count as sent, and those older than two days as read.
        mine = Notification.objects.filter(id__gt=last_note)
        mine.filter(sent_at__isnull=True).update(sent_at=end, next_attempt_at=None)
        mine.filter(created_at__lt=end - timedelta(days=2), read_at__isnull=True).update(read_at=end)
    out = _counts(today, stats)
    say("joint history: " + ", ".join(f"{k}={v}" for k, v in sorted(out.items())))
    return out


def _counts(today: date, stats: dict) -> dict:

    out = dict(stats)
    for model, prefix in (
        (Campaign, "campaigns"),
        (CampaignTask, "tasks"),
        (Consultation, "consultations"),
        (FollowUp, "follow_ups"),
    ):
        for row in model.objects.values("state").annotate(n=Count("id")):
            out[f"{prefix}_{row['state']}"] = row["n"]
    for row in Meeting.objects.values("kind", "state").annotate(n=Count("id")):
        out[f"meetings_{row['kind']}_{row['state']}"] = row["n"]
    out["campaigns"] = Campaign.objects.count()
    out["tasks_late"] = CampaignTask.objects.exclude(state=TaskState.DONE).filter(due_date__lt=today).count()
    out["campaign_cases_manual"] = CampaignCase.objects.filter(source="manual").count()
    out["follow_ups_overdue"] = FollowUp.objects.overdue(today).count()
    return out


# --- campaigns -----------------------------------------------------------------------------------------
def _scaled(offset: int, days: int) -> int:
    """Past offsets shrink with a short history (and stay inside it); future ones stay."""
    if offset >= 0:
        return offset
    return max(-(days - 1), round(offset * min(days, 90) / 90))


def _select_units(cast: _Cast, selector: str, lead_street, rng: random.Random) -> list:
    def capped(units):
        units = list(units)
        if len(units) > MAX_STREET_UNITS:
            units = sorted(rng.sample(units, MAX_STREET_UNITS), key=lambda u: u.code)
        return units

    if selector == "streets":
        return capped(u for u in cast.street_units if u.kind == "street_office")
    if selector == "towns":
        return capped(u for u in cast.street_units if u.kind == "town_gov")
    if selector == "all_streets":
        return capped(cast.street_units)
    if selector == "communities":
        return capped(cast.community_units.get(getattr(lead_street, "pk", None), []))
    u = cast.units.get(selector)
    return [u] if u is not None else []


@dataclass
class _CampaignPlan:
    """A campaign as drawn before it is created: who leads it, who takes part, where, what, when."""

    spec: dict
    lead: object
    leader: object
    members: list
    areas: list
    classes: list
    first: date
    last: date
    t_create: datetime
    targets: list
    task_plan: list  # (unit, title, description, due, quantities, texts)

    @property
    def fate(self) -> str:
        return self.spec["fate"]


def _campaign_story(cast, rng, spec, today, start, end, days, stats):
    lead = _campaign_lead(cast, spec)
    leader = cast.leader(lead) if lead is not None else None
    classes = _campaign_classes(spec) if leader is not None else []
    if not classes:
        stats["campaigns_skipped"] += 1
        return None
    select = _unit_sample(cast, lead, rng)
    members: list = []
    for sel in spec["units"]:
        for u in select(sel):
            if u.pk != lead.pk and u not in members:
                members.append(u)
    areas = {
        "district": [cast.district],
        "streets": [u.region for u in select("streets")],
        "towns": [u.region for u in select("towns")],
        "lead_street": [lead.region] if lead.region_id else [cast.district],
    }[spec["areas"]] or [cast.district]
    first = today + timedelta(days=_scaled(spec["start"], days))
    last = max(first, today + timedelta(days=_scaled(spec["end"], days)))
    if spec["fate"] == "planned":
        t_create = max(start, last_office_moment(end) - timedelta(hours=rng.uniform(1, 7)))
    else:
        t_create = max(
            start + timedelta(minutes=30), local_time(first, 8, 30) + timedelta(minutes=rng.uniform(0, 70))
        )
    if t_create >= end:
        return None
    targets = _case_targets(rng, spec, areas, classes, first, last, today, len(members))
    task_plan = _task_plan(spec, lead, members, select, first, last)
    targets += _reported_target(rng, spec, task_plan)
    plan = _CampaignPlan(
        spec, lead, leader, members, areas, classes, first, last, t_create, targets, task_plan
    )
    return _campaign_run(cast, rng, plan, today, end, stats)


def _campaign_lead(cast, spec):
    if spec["lead"] == "street":
        return ([u for u in cast.street_units if u.kind == "street_office"] or cast.street_units)[0]
    return cast.units.get(spec["lead"])


def _campaign_classes(spec) -> list:

    return list(
        ProblemClass.objects.filter(
            name__in=spec["classes"], code_set__is_default=True, is_active=True
        ).order_by("code")
    )


def _unit_sample(cast, lead, rng):
    """A selector of units, drawing the same sample of streets for members, areas and tasks."""
    lead_street = lead if lead.kind in ("street_office", "town_gov") else None
    chosen: dict[str, list] = {}

    def select(sel):
        if sel not in chosen:
            chosen[sel] = _select_units(cast, sel, lead_street, rng)
        return chosen[sel]

    return select


def _case_targets(rng, spec, areas, classes, first, last, today, members: int) -> list:
    """Targets from the case volume in the same areas and classes (projected for a running one)."""
    if not spec["tasks"]:
        return []
    found = _cases_in(areas, classes, first, min(last, today))
    span = (last - first).days + 1
    elapsed = max(1, (min(last, today) - first).days + 1)
    expected = found * span / elapsed if spec["fate"] != "planned" else max(10, members * 6)
    found_t = max(5, round(expected * rng.uniform(0.85, 1.1)))
    return [
        (f"发现{spec['topic']}问题（件）", TargetMetric.CASES_FOUND, found_t),
        ("办结相关案件（件）", TargetMetric.CASES_CLOSED, max(4, round(found_t * rng.uniform(0.8, 0.95)))),
        ("按时办结（件）", TargetMetric.CASES_ON_TIME, max(3, round(found_t * rng.uniform(0.65, 0.8)))),
    ]


def _task_plan(spec, lead, members, select, first, last) -> list:
    """The tasks of every unit taking part, one per phase."""
    task_plan = []
    for sel, title, description, phases, qty, texts in spec["tasks"]:
        units = [lead] if sel == spec["lead"] or getattr(lead, "code", "") == sel else []
        units = units or [u for u in select(sel) if u.pk == lead.pk or u in members]
        for u in units:
            for i, frac in enumerate(phases):
                due = first + timedelta(days=max(0, round(((last - first).days) * frac)))
                phase = f"（第{'一二三四'[i]}阶段）" if len(phases) > 1 else ""
                task_plan.append((u, f"{title}{phase}", description, due, qty, texts))
    return task_plan


def _reported_target(rng, spec, task_plan) -> list:
    """A target on what the tasks report, when the campaign has one."""
    if not (spec.get("reported_target") and task_plan and task_plan[0][4][1] > 0):
        return []
    expected_q = sum((q[0] + q[1]) / 2 for _, _, _, _, q, _ in task_plan)
    return [
        (spec["reported_target"], TargetMetric.REPORTED, max(10, round(expected_q * rng.uniform(0.8, 1.05))))
    ]


def _campaign_run(cast, rng, plan: _CampaignPlan, today, end, stats):
    """The campaign created with its tasks, then cancelled, left planned, or carried out."""
    spec, leader = plan.spec, plan.leader
    campaign = yield (
        plan.t_create,
        lambda now: A.do_create_campaign(
            leader,
            title=spec["title"],
            description=spec["description"],
            lead_unit=plan.lead,
            units=plan.members,
            regions=plan.areas,
            problem_classes=plan.classes,
            start_date=plan.first,
            end_date=plan.last,
            people=cast.field_staff(plan.lead)[:4],
            targets=plan.targets,
            now=now,
        ),
    )
    if campaign is None:
        return
    stats["campaigns_created"] += 1
    tasks = yield (
        plan.t_create + timedelta(minutes=rng.uniform(15, 50)),
        lambda now: [
            A.do_add_campaign_task(
                leader, campaign, unit=u, title=title, due_date=due, description=desc, now=now
            )
            for u, title, desc, due, _q, _t in plan.task_plan
        ],
    )
    if plan.fate == "cancelled":
        cancel_at = min(office_moment(rng, plan.first + timedelta(days=3)), end - timedelta(hours=1))
        yield (
            max(plan.t_create + timedelta(hours=1), cancel_at),
            lambda now: A.do_cancel_campaign(leader, campaign, reason=spec["cancel_reason"], now=now),
        )
        return
    if plan.fate == "planned" or not tasks:
        return
    for at, fn in _campaign_work(cast, rng, plan, campaign, tasks, today, end):  # noqa: UP028 - the queue sends each step's result back
        yield at, fn


def _campaign_work(cast, rng, plan: _CampaignPlan, campaign, tasks, today, end) -> list:
    """The steps of the tasks, the case links and (for an ended campaign) its end, in time order."""
    t_create, leader = plan.t_create, plan.leader
    closes_at = (
        office_moment(rng, next_weekday(plan.last + timedelta(days=rng.randint(1, 3))), 9, 12)
        if plan.fate == "ended"
        else end
    )
    steps: list[tuple[datetime, Callable]] = []
    # A running campaign has a report on its last day (the first task not yet due).
    recent = None
    if plan.fate == "active":
        recent = max(
            t_create + timedelta(hours=1), last_office_moment(end) - timedelta(hours=rng.uniform(0.5, 5))
        )
    for task, (u, _title, _desc, due, qty, texts) in zip(tasks, plan.task_plan, strict=True):
        at = recent if recent is not None and due > today else None
        if at is not None:
            recent = None
        steps.extend(
            _task_steps(cast, rng, leader, task, u, due, qty, texts, t_create, closes_at, today, end, at)
        )
    steps.extend(
        _link_steps(cast, rng, leader, campaign, plan.spec, plan.areas, plan.first, plan.last, closes_at)
    )
    if plan.fate == "ended":
        steps.append((closes_at, lambda now: _end_campaign(leader, campaign, plan.spec, now)))
    steps.sort(key=lambda s: s[0])
    return steps


def _cases_in(areas, classes, first: date, last: date) -> int:

    q = Q(pk__in=[])
    for r in areas:
        q |= {2: Q(district=r), 3: Q(street=r), 4: Q(community=r)}.get(r.level, Q())
    return (
        Case.objects.filter(q, problem_class__in=classes)
        .filter(
            reported_at__gte=queries.day_start(first),
            reported_at__lt=queries.day_start(last + timedelta(days=1)),
        )
        .exclude(state__in=queries.EXCLUDED_STATES)
        .count()
    )


def _task_steps(cast, rng, leader, task, unit, due, qty, texts, created, closes_at, today, end, recent=None):
    """Reports (on time, late or never), and the lead's acceptance or send-back, for one task."""
    handler = cast.handler(unit, rng)
    if handler is None or not texts:
        return []
    steps = []

    def report(at, q):
        text = rng.choice(texts).format(q=q, n=rng.randint(2, 12))
        steps.append(
            (
                at,
                lambda now, text=text, q=q: A.do_report_campaign_task(
                    handler, task, report=text, quantity=q, now=now
                ),
            )
        )

    def accept(at, ok=True):
        note = "经核查，任务完成情况属实。" if ok else "报告未附台账，请补充整改前后对比材料后重新报送。"
        steps.append(
            (
                at,
                lambda now, ok=ok, note=note: A.do_accept_campaign_task(
                    leader, task, accepted=ok, note=note, now=now
                ),
            )
        )

    roll = rng.random()
    q = rng.randint(*qty)
    due_end = local_time(due, 17, 30)
    if recent is not None:
        at = recent
    elif due <= today:
        if roll < 0.68:
            at = office_moment(rng, max(timezone.localdate(created), due - timedelta(days=rng.randint(0, 2))))
        elif roll < 0.86:
            at = office_moment(rng, due + timedelta(days=rng.randint(1, 4)))  # late
        else:
            return []  # never reported: late
    else:
        # A task not yet due is sometimes reported early, when its deadline is near.
        if roll < 0.35 and (due - today).days <= 7:
            lo = created + timedelta(hours=6)
            at = lo + (min(end, due_end) - lo) * rng.uniform(0.3, 1.0)
        else:
            return []
    at = max(at, created + timedelta(hours=2))
    if at >= closes_at:
        return []
    report(at, q)
    r2 = rng.random()
    acc = later_in_office_hours(rng, at, rng.uniform(3, 40))
    if acc >= closes_at:
        return steps
    if r2 < 0.15:
        accept(acc, ok=False)
        again = later_in_office_hours(rng, acc, rng.uniform(20, 60))
        if again < closes_at:
            report(again, q + rng.randint(0, 6))
            acc2 = later_in_office_hours(rng, again, rng.uniform(4, 30))
            if acc2 < closes_at:
                accept(acc2)
    elif r2 < 0.85:
        accept(acc)
    return steps


def _link_steps(cast, rng, leader, campaign_ref, spec, areas, first, last, closes_at):
    """Cases of related classes found during the campaign, linked by hand by the lead."""

    if not spec.get("related"):
        return []
    related = ProblemClass.objects.filter(name__in=spec["related"], code_set__is_default=True)
    q = Q(pk__in=[])
    for r in areas:
        q |= {2: Q(district=r), 3: Q(street=r), 4: Q(community=r)}.get(r.level, Q())
    cases = list(
        Case.objects.filter(q, problem_class__in=related, duplicate_of__isnull=True)
        .filter(
            reported_at__gte=queries.day_start(first),
            reported_at__lt=queries.day_start(last + timedelta(days=1)),
        )
        .exclude(state__in=queries.EXCLUDED_STATES)
        .order_by("number")
        .values_list("pk", "reported_at")[:40]
    )
    steps = []
    for pk, reported in sorted(rng.sample(cases, min(len(cases), MAX_MANUAL_LINKS)), key=lambda c: c[1]):
        at = later_in_office_hours(rng, reported, rng.uniform(2, 30))
        if at < closes_at:
            steps.append((at, lambda now, pk=pk: A.do_link_case(leader, campaign_ref, pk, now=now)))
    return steps


def _end_campaign(leader, campaign, spec, now):
    summary = queries.campaign_summary(campaign, now)
    q = sum(u["quantity"] for u in summary["units"])
    note = spec.get("end_note", "").format(q=q, closed=summary["cases"]["closed"])
    return A.do_end_campaign(leader, campaign, note=note, now=now)


# --- consultations -----------------------------------------------------------------------------------
def _consultation_stories(cast, rng, start, end, photos, stats):
    """Pick real cases and give each a story: applied (and then handled), decided, meeting
    scheduled, collecting views, or returned twice awaiting consultation."""

    busy = set(Consultation.objects.open().values_list("case_id", flat=True))
    pending_apps = set(Application.objects.filter(state="pending").values_list("case_id", flat=True))
    base = (
        Case.objects.filter(reported_at__gte=start, district=cast.district, duplicate_of__isnull=True)
        .exclude(pk__in=busy)
        .exclude(pk__in=pending_apps)
        .filter(problem_class__isnull=False)
        .annotate(last=Max("events__at"))
    )
    # Cases that could not be dispatched: a disputed responsibility from the start.
    stuck = list(
        base.filter(state="pending_dispatch", assigned_unit__isnull=True, last__lte=end - timedelta(days=2))
        .order_by("last", "number")
        .values_list("pk", "last")[:MAX_APPLIED_CONSULTATIONS]
    )
    # Cases in handling whose unit will dispute them (not joint cases: one lead unit).
    handling = list(
        base.filter(state__in=["pending_handle", "handling"], assigned_unit__isnull=False, is_joint=False)
        .order_by("last", "number")
        .values_list("pk", "last")[:400]
    )
    plans = []
    n_stuck = min(len(stuck), 3)
    for pk, last in stuck[:n_stuck]:
        plans.append(("applied", pk, last, None, 0))
    # The stories that leave a consultation in each open state end on the last day: they start
    # at a set office time and take a case that was quiet since before then.
    anchor = last_office_moment(end)
    day = timezone.localdate(anchor)
    starts = {
        "candidate": anchor - timedelta(hours=rng.uniform(4, 5)),
        "open": anchor - timedelta(hours=rng.uniform(6, 7)),
        "scheduled": office_moment(rng, day - timedelta(days=1), 10, 14),
        "decided": office_moment(rng, day - timedelta(days=2), 9, 12),
    }
    for kind, t0 in starts.items():
        if timezone.localtime(t0).hour < 8:
            starts[kind] = office_moment(rng, day - timedelta(days=1), 13, 14)
    want = [("applied", None, 1)] * max(0, MAX_APPLIED_CONSULTATIONS - n_stuck) + [
        ("candidate", starts["candidate"], 2),
        ("open", starts["open"], 2),
        ("scheduled", starts["scheduled"], 1),
        ("decided", starts["decided"], 2),
    ]
    used = set()
    for kind, t0, returns in reversed(want):
        # Applied stories take about four days after the case's last event.
        latest = t0 - timedelta(minutes=30) if t0 is not None else end - timedelta(days=4)
        for pk, last in reversed(handling):
            if pk in used or last is None or last > latest:
                continue
            used.add(pk)
            plans.append((kind, pk, last, t0, returns))
            break
    for i, (kind, pk, last, t0, returns) in enumerate(sorted(plans, key=lambda p: p[2])):
        r = random.Random(rng.random())
        if kind == "applied" and returns:
            returns = 2 if r.random() < 0.4 else 1
        mode = ConsultationMode.MEETING if kind == "applied" and i % 3 == 1 else ConsultationMode.WRITTEN
        story = _consult_story(cast, r, kind, pk, last, t0, returns, mode, end, photos, stats)
        if story is not None:
            stats[f"consult_plan_{kind}"] += 1
            yield story


def _other_unit(cast, case, exclude: set):
    """The plausible other unit of a dispute: the street unit, the class's department, the bureau."""

    options = [cast.street_unit_of.get(case.street_id)]
    options.append(suggest_unit(case))
    options += [cast.units.get("brigade"), cast.units.get("bureau")]
    for u in options:
        if u is not None and u.pk not in exclude and cast.handler(u) is not None:
            return u
    return None


def _consult_story(cast, rng, kind, case_id, last, t0, returns, mode, end, photos, stats):
    story = _ConsultStory(cast, rng, kind, case_id, mode, end, photos, stats)
    c = story.case()
    story.dp = rng.choice(cast.dispatchers)
    first_unit = c.assigned_unit
    if returns and (first_unit is None or cast.handler(first_unit) is None):
        return None
    story.street_unit = cast.street_unit_of.get(c.street_id)
    story.street_name = getattr(c.street, "name", "属地")
    story.cls = c.problem_class.name if c.problem_class else "该问题"
    t = t0 if t0 is not None else later_in_office_hours(rng, last, rng.uniform(2, 10))
    involved = [first_unit] if first_unit is not None else []
    if returns >= 2:
        story.second = _other_unit(cast, c, {u.pk for u in involved})
        if story.second is None:
            returns = 1
    story.returns = returns
    story.shift = rng.choice(cast.shift) if cast.shift else story.dp
    story.first = c
    return story.run(t)


class _ConsultStory:
    """A case the units pass back and forth (``kind`` says how far its story goes): returned,
    consulted on in writing or in a meeting, decided and applied, then handled by the lead unit.
    Its steps are generators of (time, fn) steps that return what the next step needs, or None
    when the story ends there."""

    def __init__(self, cast, rng, kind, case_id, mode, end, photos, stats):
        self.cast, self.rng, self.kind, self.case_id, self.mode = cast, rng, kind, case_id, mode
        self.end, self.photos, self.stats = end, photos, stats
        self.second = None

    def case(self):
        return Case.objects.select_related("problem_class", "street", "assigned_unit").get(pk=self.case_id)

    def after(self, moment, lo, hi):
        """A unit's next move: in office hours for the older stories, the same afternoon for the
        recent ones (anchored in office hours already)."""
        if self.kind == "applied":
            return later_in_office_hours(self.rng, moment, self.rng.uniform(lo, hi))
        return moment + timedelta(hours=self.rng.uniform(lo, hi))

    def run(self, t):
        reasons = []
        if self.returns:
            t = yield from self.returned(t, reasons)
            if t is None:
                return
        if self.kind == "candidate":
            self.stats["consult_candidates"] += 1
            return
        opened = yield from self.opened(t, reasons)
        if opened is None:
            return
        cons, parties, t = opened
        vt, lead, assists = yield from self.views_stated(t, cons, parties)
        if self.kind == "open":
            return
        met = yield from self.met(vt, cons, parties)
        if met is None:
            return
        vt, meeting_mode, decider = met
        decided = yield from self.decided(vt, cons, parties, lead, assists, meeting_mode, decider)
        if decided is None or self.kind == "decided":
            return
        decided_at, deadline, update_matrix = decided
        at = yield from self.applied(decided_at, cons, update_matrix)
        if at is None:
            return
        # The decided unit handles the case to closure.
        yield from _handle_case(
            self.cast, self.rng, self.case, lead, assists, at, deadline, self.shift, self.photos
        )

    def returned(self, t, reasons):
        """Each unit in turn asks to return the case and the dispatcher agrees; the first return
        is dispatched to a second unit. Fills ``reasons`` with (unit, reason)."""
        cast, rng, case, dp, kind, returns = self.cast, self.rng, self.case, self.dp, self.kind, self.returns
        for n in range(returns):
            unit = case().assigned_unit
            handler = cast.handler(unit, rng)
            other = _other_unit(cast, case(), {unit.pk}) if unit else None
            reason = rng.choice(RETURN_REASONS).format(
                street=self.street_name, other=getattr(other, "name", "相关部门")
            )
            reasons.append((unit, reason))
            app = yield (
                t,
                lambda now, h=handler, reason=reason: CA.do_apply(
                    h, case(), "return", reason=reason, now=now
                ),
            )
            if app is None:
                return None
            t += timedelta(hours=rng.uniform(0.5, 2.5) if kind == "applied" else rng.uniform(0.3, 1))
            note = "同意回退" if n + 1 < returns else "同意回退，提请会商"
            ok = yield (
                t,
                lambda now, app=app, note=note: CA.do_decide_application(
                    dp, app, approved=True, note=note, now=now
                ),
            )
            if ok is None:
                return None
            if n + 1 < returns:
                t += timedelta(minutes=rng.uniform(10, 40))
                redispatched = yield (
                    t,
                    lambda now: CA.do_dispatch(
                        dp,
                        case(),
                        unit=self.second,
                        reason=f"回退后改派{self.second.name}",
                        instruction="请核实后处置",
                        now=now,
                    ),
                )
                if redispatched is None:
                    return None
                t = self.after(t, 1, 4) if kind == "applied" else self.after(t, 0.5, 1.5)
        return t

    def opened(self, t, reasons):
        """The consultation opened with the units in the dispute (those that held the case, the
        street, the class's department); returns (consultation, parties, time)."""
        street_name, cls, returns = self.street_name, self.cls, self.returns
        parties = [u for u, _ in reasons]
        for _i in range(2):
            u = _other_unit(self.cast, self.case(), {p.pk for p in parties})
            if u is not None and len(parties) < 3:
                parties.append(u)
        if len(parties) < 2:
            return None
        self.names = "、".join(u.name for u in parties)
        if returns >= 2:
            reason = (
                f"案件先后被{reasons[0][0].name}、{reasons[1][0].name}回退，双方均认为不属于本单位职责，"
                f"{street_name}{cls}问题的责任边界不清，提请会商确定责任单位。"
            )
        elif returns == 1:
            reason = (
                f"{reasons[0][0].name}以“{reasons[0][1].rstrip('。')}”为由申请回退，"
                f"责任清单对{street_name}{cls}问题的责任主体界定不清，提请会商。"
            )
        else:
            reason = f"案件立案后未能及时派遣：{cls}问题涉及{self.names}，职责交叉，提请会商明确牵头单位。"
        t += timedelta(minutes=self.rng.uniform(10, 40))
        views_due = local_time(timezone.localdate(t) + timedelta(days=1), 18, 0)
        cons = yield (
            t,
            lambda now: A.do_open_consultation(
                self.dp,
                self.case(),
                reason=reason,
                units=parties,
                mode=ConsultationMode.WRITTEN,
                views_due_at=views_due,
                now=now,
            ),
        )
        if cons is None:
            return None
        return cons, parties, t

    def views_stated(self, t, cons, parties):
        """The outcome is decided now (stances lean towards it, but the lead may have declined);
        the units state their views. Returns (time of the last view, lead, assisting units)."""
        cast, rng, kind = self.cast, self.rng, self.kind
        street_unit = self.street_unit
        lead = street_unit if street_unit in parties and rng.random() < 0.45 else rng.choice(parties)
        assists = [u for u in parties if u.pk != lead.pk and rng.random() < 0.75]
        stances = {}
        for u in parties:
            if u.pk == lead.pk:
                stances[u.pk] = Stance.ACCEPT if rng.random() < 0.55 else Stance.DECLINE
            elif u in assists:
                stances[u.pk] = Stance.ASSIST if rng.random() < 0.7 else Stance.DECLINE
            else:
                stances[u.pk] = Stance.DECLINE
        n_views = len(parties) if kind not in ("open", "scheduled") else max(1, len(parties) - 2)
        vt = t
        for u in parties[:n_views]:
            vt = self.after(vt, 0.5, 6) if kind == "applied" else self.after(vt, 0.2, 1.5)
            other = next((p for p in parties if p.pk != u.pk), lead)
            statement = rng.choice(STATEMENTS[stances[u.pk]]).format(other=other.name)
            who = cast.handler(u, rng) or cast.leader(u)
            yield (
                vt,
                lambda now, u=u, who=who, statement=statement: A.do_state_view(
                    who, cons, unit=u, stance=stances[u.pk], statement=statement, now=now
                ),
            )
        return vt, lead, assists

    def met(self, vt, cons, parties):
        """The consultation meeting when one is held (the district leader decides there);
        returns (time, whether it met, who decides), None when the story stops at scheduling."""
        cast, rng, kind, end = self.cast, self.rng, self.kind, self.end
        meeting_mode = self.mode == ConsultationMode.MEETING or kind == "scheduled"
        decider = self.dp
        if meeting_mode:
            st = vt + timedelta(minutes=rng.uniform(20, 90))
            if kind == "scheduled":  # the meeting is still ahead
                meet_at = local_time(next_weekday(timezone.localdate(end) + timedelta(days=1)), 10, 0)
            else:
                meet_at = local_time(next_weekday(timezone.localdate(st) + timedelta(days=1)), 15, 0)
                if meet_at > end - timedelta(days=2):  # no time left for a meeting: decide in writing
                    meeting_mode = False
            attendees = [
                p
                for p in (cast.person_of(u, cast.role.UNIT_LEADER, cast.role.STREET_LEADER) for u in parties)
                if p
            ]
        if meeting_mode:
            meeting = yield (
                st,
                lambda now: A.do_schedule_consultation_meeting(
                    self.dp, cons, scheduled_at=meet_at, location=MEETING_ROOM, attendees=attendees, now=now
                ),
            )
            if meeting is None or kind == "scheduled":
                return None
            vt = meet_at + timedelta(minutes=rng.uniform(70, 110))
            if cast.district_leaders and self.first.district_id == cast.district.pk:
                decider = cast.district_leaders[0].user
        return vt, meeting_mode, decider

    def decided(self, vt, cons, parties, lead, assists, meeting_mode, decider):
        """The decision (and the minutes of a meeting); returns (time, deadline, whether the
        matrix is to follow), None when it was refused."""
        rng, street_name, cls = self.rng, self.street_name, self.cls
        deadline = local_time(timezone.localdate(vt) + timedelta(days=rng.randint(3, 5)), 18, 0)
        assists_txt = f"，{'、'.join(u.name for u in assists)}配合" if assists else ""
        update_matrix = self.first.problem_class is not None and rng.random() < 0.5
        decision = f"经会商，明确由{lead.name}牵头负责处置{assists_txt}，于{deadline:%m月%d日}前办结并反馈。"
        if update_matrix:
            decision += f"今后{street_name}{cls}问题按此分工派遣，提请更新责任清单。"
        minutes = ""
        if meeting_mode:
            minutes = (
                f"会商会议在{MEETING_ROOM}召开，{self.names}参加。各单位陈述了意见。会议认为，该问题发生在{street_name}辖区，"
                f"按照“属地管理、行业监管”的原则，{decision}"
            )
        dt = self.after(vt, 0.5, 3) if not meeting_mode else vt
        decided = yield (
            dt,
            lambda now: A.do_decide_consultation(
                decider,
                cons,
                lead_unit=lead,
                assist_units=assists,
                deadline=deadline,
                decision=decision,
                update_matrix=update_matrix,
                minutes=minutes,
                now=now,
            ),
        )
        if decided is None:
            return None
        return dt, deadline, update_matrix

    def applied(self, dt, cons, update_matrix):
        """The decision applied to the case (and, once per history, to the matrix); returns the
        time it was applied, None when it was refused."""
        cast, rng = self.cast, self.rng
        at = dt + timedelta(minutes=rng.uniform(15, 60))
        applied = yield at, lambda now: A.do_apply_consultation(self.dp, cons, now=now)
        if applied is None:
            return None
        if update_matrix and cast.admins and self.stats["matrix_updates"] < 1:
            self.stats["matrix_updates"] += 1
            yield (
                later_in_office_hours(rng, at, rng.uniform(16, 30)),
                lambda now: A.do_update_matrix_from_consultation(cast.admins[0], cons, now=now),
            )
        return at


def _handle_case(cast, rng, case, lead, assists, t, deadline, shift, photos):

    handler = cast.handler(lead, rng)
    if handler is None:
        return
    t = later_in_office_hours(rng, t, rng.uniform(0.5, 3))
    ok = yield t, lambda now: CA.do_accept(handler, case(), note="按会商决定承办", now=now)
    if ok is None:
        return
    for u in assists:
        h = cast.handler(u, rng)
        if h is None:
            continue
        t = later_in_office_hours(rng, t, rng.uniform(3, 20))
        yield (
            t,
            lambda now, h=h: CA.do_assist_report(h, case(), report="已按会商决定派员配合现场处置。", now=now),
        )
    t = later_in_office_hours(rng, t, rng.uniform(4, 24))
    ok = yield (
        t,
        lambda now: CA.do_report_back(
            handler,
            case(),
            response=rng.choice(["repair", "stop", "persuade"]),
            report="已按会商决定牵头处置完毕，现场已恢复。",
            photos_before=[rng.choice(photos)],
            photos_after=[rng.choice(photos)],
            now=now,
        ),
    )
    if ok is None:
        return
    c = case()
    worker = cast.grid_user.get(c.grid_code) or (cast.street_workers.get(c.street_id) or [None])[0]
    if worker is None or not cast.operators:
        return
    t += timedelta(minutes=rng.uniform(10, 40))
    yield t, lambda now: CA.do_request_check(rng.choice(cast.operators), case(), now=now)
    t += timedelta(minutes=rng.uniform(15, 60))
    ok = yield t, lambda now: CA.do_check(worker, case(), passed=True, photos=[rng.choice(photos)], now=now)
    if ok is None:
        return
    t += timedelta(minutes=rng.uniform(10, 50))
    yield t, lambda now: CA.do_close(shift, case(), note="会商案件办结", now=now)


# --- joint meetings ----------------------------------------------------------------------------------
def _overdue_at(cast, moment: datetime, limit: int = 3) -> list:
    """Cases that were past their handling deadline and not yet handled at ``moment``."""

    return list(
        Case.objects.filter(
            district=cast.district,
            dispatched_at__lt=moment,
            handle_due_at__lt=moment,
            assigned_unit__isnull=False,
        )
        .filter(Q(handled_at__isnull=True) | Q(handled_at__gt=moment))
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=moment))
        .exclude(state__in=queries.EXCLUDED_STATES)
        .select_related("problem_class", "street", "assigned_unit")
        .order_by("handle_due_at", "number")[:limit]
    )


def _meeting_stories(cast, rng, today, start, end, days, stats):
    host_person = cast.district_leaders[0] if cast.district_leaders else None
    district_gov = cast.units.get("district_gov")
    bureau_leader = cast.leader(cast.units.get("bureau"))
    regular_units = [
        u
        for u in (
            cast.units.get(k)
            for k in ("bureau", "center", "brigade", "dept_market", "dept_housing", "dept_traffic")
        )
        if u is not None
    ] + cast.street_units[:MAX_STREET_UNITS]
    if host_person is not None and district_gov is not None and host_person.unit_id == district_gov.pk:
        host = host_person.user
        for offset in (-62, -32):
            d = next_weekday(today + timedelta(days=_scaled(offset, days)))
            if d >= today:
                continue
            yield _monthly_meeting(
                cast, random.Random(rng.random()), host, district_gov, regular_units, d, start, end, stats
            )
        yield _upcoming_meeting(
            cast, random.Random(rng.random()), host, district_gov, regular_units, today, start, end
        )
    if bureau_leader is not None:
        d = next_weekday(today + timedelta(days=_scaled(-8, days)))
        if d > today - timedelta(days=2):
            d = today - timedelta(days=2)
        yield _progress_meeting(cast, random.Random(rng.random()), bureau_leader, today, d, start, end)


def _attendees(cast, units):
    return [
        p for p in (cast.person_of(u, cast.role.UNIT_LEADER, cast.role.STREET_LEADER) for u in units) if p
    ]


def _monthly_meeting(cast, rng, host, host_unit, units, day, start, end, stats):
    held = local_time(day, 9, 30)
    scheduled = max(start + timedelta(minutes=5), office_moment(rng, day - timedelta(days=rng.randint(3, 6))))
    overdue = _overdue_at(cast, held - timedelta(days=1))
    month = timezone.localtime(held).month
    agenda = [
        (AgendaReason.OTHER, f"通报{(month - 2) % 12 + 1}月份网格化案件办理情况及各单位考核排名", None),
        *[
            (
                AgendaReason.OVERDUE,
                f"{c.number} {c.problem_class.name if c.problem_class else ''}（{getattr(c.street, 'name', '')}）超期未办结",
                c,
            )
            for c in overdue
        ],
        (AgendaReason.OTHER, "研究部署下阶段专项整治工作", None),
    ]

    def story():
        meeting = yield (
            scheduled,
            lambda now: A.do_schedule_meeting(
                host,
                title=f"{month}月份城市管理联席会议",
                scheduled_at=held,
                host_unit=host_unit,
                location="区政府三楼第一会议室",
                region=cast.district,
                units=units,
                attendees=_attendees(cast, units),
                agenda=agenda,
                now=now,
            ),
        )
        if meeting is None:
            return
        items = list(meeting.agenda.order_by("position"))
        decisions = {}
        follow = []
        for item in items:
            if item.case_id:
                c = item.case
                unit = c.assigned_unit
                due = day + timedelta(days=rng.randint(3, 6))
                decisions[item.pk] = f"责成{unit.name}于{due:%m月%d日}前办结，并书面说明超期原因。"
                why = rng.choice(
                    [
                        "涉及多部门协调，处置周期较长",
                        "当事人拒不配合，需依法履行告知程序",
                        "需协调专业施工队伍，工期较长",
                    ]
                )
                reply = f"已于会后组织专人处置，超期原因：{why}；今后将加强时限管理。"
                follow.append((item, f"办结案件{c.number}并书面说明超期原因", unit, due, reply))
            elif "考核" in item.title:
                decisions[item.pk] = "通报排名靠后的单位作表态发言，限期整改。"
            else:
                decisions[item.pk] = "各街道（镇）结合辖区实际制定专项整治方案，报指挥中心备案。"
                for u in cast.street_units[: rng.randint(1, 2)]:
                    follow.append(
                        (
                            item,
                            f"报送{u.short_name or u.name}专项整治工作方案",
                            u,
                            day + timedelta(days=rng.randint(5, 9)),
                            f"已制定《{u.short_name or u.name}专项整治工作方案》，报指挥中心备案。",
                        )
                    )
        minutes = (
            f"{timezone.localtime(held):%m月%d日}上午，区政府召开城市管理联席会议，{host_unit.name}主持，"
            f"{'、'.join(u.short_name or u.name for u in units[:8])}等单位参加。会议通报了上月网格化案件办理情况，"
            f"逐件研究了超期未办结案件，部署了下阶段专项整治工作。"
        )
        t = held + timedelta(hours=2, minutes=rng.uniform(0, 40))
        yield (
            t,
            lambda now: A.do_record_minutes(
                host, meeting, minutes=minutes, decisions=decisions, held_at=held, now=now
            ),
        )
        yield from _follow_up_steps(cast, rng, host, meeting, follow, t + timedelta(minutes=10))

    return story()


def _follow_up_steps(cast, rng, host, meeting, follow, t, *, reopen_rate=0.2, fates=None):
    """Add the follow-ups, then the units reply and the host completes (or reopens) them."""
    created = []
    for i, (item, title, unit, due, reply) in enumerate(follow):
        f = yield (
            t + timedelta(minutes=i),
            lambda now, item=item, title=title, unit=unit, due=due: A.do_add_follow_up(
                host, meeting, title=title, unit=unit, due_date=due, agenda_item=item, now=now
            ),
        )
        if f is not None:
            created.append((f, unit, due, reply, (fates or {}).get(i, "done")))
    steps = []
    for f, unit, due, reply, fate in created:
        who = cast.handler(unit, rng)
        if who is None or fate == "open":
            continue
        if fate == "replied_today":
            at = fates["_now"] - timedelta(minutes=rng.uniform(30, 150))
            steps.append(
                (
                    at,
                    lambda now, f=f, who=who, reply=reply: A.do_reply_follow_up(who, f, reply=reply, now=now),
                )
            )
            continue
        at = office_moment(rng, due - timedelta(days=rng.randint(0, 2)))
        at = max(at, t + timedelta(hours=3))
        steps.append(
            (
                at,
                lambda now, f=f, who=who, reply=reply: A.do_reply_follow_up(who, f, reply=reply, now=now),
            )
        )
        close_at = later_in_office_hours(rng, at, rng.uniform(3, 30))
        if rng.random() < reopen_rate:
            # A first reply that does not convince: reopened, replied again, then completed.
            steps.append(
                (
                    close_at,
                    lambda now, f=f: A.do_close_follow_up(
                        host, f, accepted=False, note="整改不彻底，请继续落实", now=now
                    ),
                )
            )
            again = later_in_office_hours(rng, close_at, rng.uniform(8, 30))
            steps.append(
                (
                    again,
                    lambda now, f=f, who=who: A.do_reply_follow_up(
                        who, f, reply="已补充整改，并建立日常巡查台账。", now=now
                    ),
                )
            )
            close_at = later_in_office_hours(rng, again, rng.uniform(3, 20))
        steps.append(
            (
                close_at,
                lambda now, f=f: A.do_close_follow_up(host, f, accepted=True, note="经核实已完成", now=now),
            )
        )
    steps.sort(key=lambda s: s[0])
    for at, fn in steps:
        yield at, fn


def _progress_meeting(cast, rng, host, today, day, start, end):
    """The muck-truck campaign's progress meeting: one follow-up left overdue, one replied today."""
    bureau = cast.units["bureau"]
    units = [
        u
        for u in (cast.units.get(k) for k in ("dept_traffic", "dept_transport", "dept_housing", "brigade"))
        if u
    ]
    if not units:
        return iter(())
    held = local_time(day, 14, 30)
    scheduled = max(start + timedelta(minutes=5), office_moment(rng, day - timedelta(days=2)))
    agenda = [
        (AgendaReason.OTHER, "通报渣土车专项治理前期联合执法情况", None),
        (AgendaReason.OTHER, "研究解决部分在建工地出入口冲洗设施不到位问题", None),
        (AgendaReason.OTHER, "夜间联合检查卡点设置及执法衔接", None),
    ]
    by_code = {u.code: u for u in units}
    plan = [
        # (agenda index, title, unit code, due, fate, reply)
        (
            1,
            "对冲洗设施不到位的在建工地下达整改通知并复查",
            "dept_housing",
            max(day, today - timedelta(days=2)),
            "open",
            "",
        ),
        (
            2,
            "增设夜间联合检查卡点2处",
            "dept_traffic",
            today + timedelta(days=3),
            "replied_today",
            "已在渣土车主要通行路段增设夜间联合检查卡点2处，与执法大队建立联勤机制。",
        ),
        (
            0,
            "约谈渣土运输企业，督促落实车辆密闭",
            "dept_transport",
            max(day, today - timedelta(days=3)),
            "done",
            "已约谈渣土运输企业5家，督促全部车辆加装密闭装置，签订承诺书。",
        ),
        (0, "建立道路遗撒案件移送台账", "brigade", today + timedelta(days=6), "open", ""),
    ]
    plan = [p for p in plan if p[2] in by_code]

    def story():
        meeting = yield (
            scheduled,
            lambda now: A.do_schedule_meeting(
                host,
                title="渣土车专项治理工作推进会",
                scheduled_at=held,
                host_unit=bureau,
                location="市城管执法局五楼会议室",
                units=units,
                attendees=_attendees(cast, units),
                agenda=agenda,
                now=now,
            ),
        )
        if meeting is None:
            return
        items = list(meeting.agenda.order_by("position"))
        decisions = {
            items[0].pk: "前期联合执法成效明显，各单位继续保持高压态势。",
            items[1].pk: "住建部门牵头对问题工地逐一下达整改通知，逾期未改的暂停出土。",
            items[2].pk: "交警部门增设夜间卡点，执法大队派员同步开展遗撒查处。",
        }
        minutes = (
            f"{timezone.localtime(held):%m月%d日}下午，市城管执法局召开渣土车专项治理工作推进会，交通运输、公安交警、住建、"
            "执法大队参加。会议通报了前期联合执法情况，研究了工地出入口冲洗不到位和夜间检查衔接问题，明确了下一步分工。"
        )
        t = held + timedelta(hours=1, minutes=rng.uniform(20, 50))
        yield (
            t,
            lambda now: A.do_record_minutes(
                host, meeting, minutes=minutes, decisions=decisions, held_at=held, now=now
            ),
        )
        follow = [(items[i], title, by_code[code], due, reply) for i, title, code, due, _f, reply in plan]
        fates = {i: p[4] for i, p in enumerate(plan)}
        fates["_now"] = last_office_moment(end)
        yield from _follow_up_steps(
            cast, rng, host, meeting, follow, t + timedelta(minutes=10), reopen_rate=0, fates=fates
        )

    return story()


def _upcoming_meeting(cast, rng, host, host_unit, units, today, start, end):
    """Next month's joint meeting, scheduled today from the agenda proposals."""
    at = max(start + timedelta(minutes=5), last_office_moment(end) - timedelta(hours=rng.uniform(0.5, 3)))
    day = next_weekday(today + timedelta(days=3))

    def story():
        def schedule(now):
            proposals = queries.agenda_proposals(host, now=now, limit=5)
            agenda = [(p["reason"], "", p["case"]) for p in proposals]
            agenda.append((AgendaReason.OTHER, "通报本月专项整治工作进展", None))
            return A.do_schedule_meeting(
                host,
                title=f"{day.month}月份城市管理联席会议",
                scheduled_at=local_time(day, 9, 30),
                host_unit=host_unit,
                location="区政府三楼第一会议室",
                region=cast.district,
                units=units,
                attendees=_attendees(cast, units),
                agenda=agenda,
                now=now,
            )

        yield at, schedule

    return story()


__all__ = ["build_history"]
