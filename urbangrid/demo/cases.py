"""A realistic case history produced THROUGH THE ACTIONS with simulated time.

``build_history(days, seed, progress)`` simulates the last ``days`` days: reports arrive with a
daily rhythm (morning and afternoon peaks, quiet nights, fewer at weekends) from every channel, in
every street, of the catalogue's common classes; each case follows a scenario (normal, late,
reworked, returned and re-dispatched, postponed, shelved, cancelled, rejected, joint, fixed on the
spot, escalated, supervised, evaluated). A global event queue orders every step of every case in
time, and the deadline sweep runs every two simulated hours, so warnings, overdue marks and automatic
escalations happen as they would have. Steps that fall after "now" are not done, and the last
hours' reports are taken only part of the way (the center's backlog), so the history ends with
cases open at every stage. Every write is a do_* action given an explicit ``now``.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from urbangrid.cases import actions as A
from urbangrid.cases import tasks
from urbangrid.cases.choices import CaseState, Tier
from urbangrid.cases.intake import DuplicateProposed, IntakeData, do_intake
from urbangrid.cases.models import Application, Case, Notification
from urbangrid.cases.queries import suggest_unit
from urbangrid.catalog.models import ProblemClass
from urbangrid.demo.simulation import (
    STEP,
    Simulation,
    notifications_held,
    photo_pool,
    run_step,
    weighted,
)
from urbangrid.geo.models import UnitGrid
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment, Unit

log = logging.getLogger(__name__)

CHANNELS = [
    ("grid_worker", 52),
    ("hotline", 16),
    ("citizen_web", 12),
    ("messaging", 8),
    ("machine", 5),
    ("staff", 4),
    ("inspection", 3),
]
# Hourly weights (local time) of reports: morning and afternoon peaks, quiet nights.
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 12, 8, 9, 13, 15, 14, 11, 8, 6, 4, 3, 2, 1]
SCENARIOS = [
    ("normal", 58),
    ("late", 9),
    ("rework", 7),
    ("return", 5),
    ("postpone", 5),
    ("shelve", 2),
    ("cancel", 3),
    ("joint", 4),
    ("escalate", 4),
    ("supervise", 3),
]
DESCRIPTIONS = {
    "default": ["现场发现{n}", "{n}，影响市容和通行", "群众反映{n}，请尽快处理", "{n}问题，已持续数日"],
}


class CaseCast:
    """The people who act in the history, found from the organisation the orgs demo built."""

    def __init__(self):

        def users(role, central_only=False):
            qs = RoleAssignment.objects.filter(role=role, person__is_active=True)
            if central_only:
                qs = qs.filter(region__isnull=True) | qs.filter(region__level__lte=2)
            people = (
                Person.objects.filter(id__in=qs.values("person_id")).select_related("user").order_by("id")
            )
            return [p.user for p in people]

        self.operators = users(Role.INTAKE_OPERATOR, True)
        self.shift = users(Role.SHIFT_LEADER, True)
        self.dispatchers = users(Role.DISPATCHER, True)
        self.leaders = users(Role.DISTRICT_LEADER, True) + users(Role.CITY_LEADER, True)
        self.staff = self.operators[:1]
        self.grid_user: dict[str, object] = {}
        for ga in (
            GridAssignment.objects.filter(duty="supervisor").select_related("person__user").order_by("id")
        ):
            self.grid_user.setdefault(ga.grid_code, ga.person.user)
        self.street_workers: dict[int, list] = defaultdict(list)
        for ra in RoleAssignment.objects.filter(role=Role.GRID_WORKER).select_related(
            "person__user", "region"
        ):
            if ra.region_id:
                sid = ra.region.parent_id if ra.region.level == 4 else ra.region_id
                self.street_workers[sid].append(ra.person.user)
        self.handlers: dict[int, list] = defaultdict(list)
        for p in (
            Person.objects.filter(is_active=True, roles__role=Role.UNIT_HANDLER)
            .select_related("user")
            .distinct()
        ):
            self.handlers[p.unit_id].append(p.user)

    def ok(self) -> bool:
        return bool(self.operators and self.shift and self.dispatchers and self.grid_user)


def build_history(
    days: int = 90,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
    per_day: float | None = None,
    end: datetime | None = None,
) -> dict:
    """Simulate ``days`` days of cases up to ``end`` (default now). Returns counts."""
    rng = random.Random(seed)
    say = progress or (lambda s: None)
    end = end or timezone.now()
    sim = Simulation(end - timedelta(days=days), end)
    world = _world(say)
    if world is None:
        return {"cases": 0}
    world.photos = photo_pool(rng)
    per_day = per_day or float(settings.URBANGRID.get("DEMO_CASES_PER_DAY", 15))
    stats: dict[str, int] = defaultdict(int)
    with notifications_held():
        _schedule_reports(sim, rng, per_day)
        _schedule_sweeps(sim)
        total_reports = sim.scheduled("report")
        say(f"simulating {total_reports} reports over {days} days")
        _run(sim, rng, world, stats, say, total_reports)
        _notices_of_the_past_sent(end)
    stats["cases"] = Case.objects.count()
    say("case history: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())))
    return dict(stats)


@dataclass
class _World:
    """What reports are made of: the people, the weighted problem classes and the grids."""

    cast: CaseCast
    class_w: list
    grids: list
    photos: list = field(default_factory=list)


def _world(say) -> _World | None:
    """The city's people, classes and grids, or None (said why) when the history cannot run."""

    cast = CaseCast()
    if not cast.ok():
        say("case history skipped: the organisation has no operators/shift leaders/dispatchers/grid workers")
        return None
    classes = list(
        ProblemClass.objects.filter(
            is_active=True, code_set__is_default=True, kind__in=["event", "component"]
        ).select_related("code_set")
    )
    if not classes:
        say("case history skipped: empty catalogue")
        return None
    # Events dominate; stalls, parking, garbage and street occupation are the usual suspects.
    common = {"占道", "停", "垃圾", "摊", "广告", "违", "井盖", "积水", "杂物", "店外"}
    class_w = [
        (pc, (6 if any(k in pc.name for k in common) else 1) * (3 if pc.kind == "event" else 1))
        for pc in classes
    ]
    grids = list(
        UnitGrid.objects.current().values_list(
            "code", "street_id", "min_lon", "min_lat", "max_lon", "max_lat"
        )
    )
    grids = [g for g in grids if g[2] is not None]
    if not grids:
        say("case history skipped: no grids")
        return None
    return _World(cast, class_w, grids)


def _schedule_reports(sim: Simulation, rng: random.Random, per_day: float) -> None:
    """Reports for every day with the daily rhythm, then the center's backlog at the end: the
    last hours' reports that staff have taken only some steps further (queues are never all empty
    in a working city)."""
    start, end = sim.start, sim.end
    t = start
    while t < end:
        local = timezone.localtime(t)
        weekend = local.weekday() >= 5
        n = rng.gauss(per_day * (0.6 if weekend else 1.1), per_day * 0.15)
        for _ in range(max(0, int(n))):
            hour = weighted(rng, list(enumerate(HOURS)))
            at = local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
            if start <= at < end:
                sim.schedule(at, "report")
        t += timedelta(days=1)
    for _ in range(max(4, int(per_day * 0.6))):
        sim.schedule(end - timedelta(minutes=rng.uniform(5, 180)), "report", {"steps": rng.randint(0, 4)})


def _schedule_sweeps(sim: Simulation) -> None:
    """The deadline sweep every two simulated hours."""
    s = sim.start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while s < sim.end:
        sim.schedule(s, "sweep")
        s += timedelta(hours=2)


def _run(sim: Simulation, rng, world: _World, stats, say, total_reports: int) -> None:
    done_reports = 0
    for at, kind, payload in sim.events():
        if at >= sim.end:
            break
        if kind == "sweep":
            stats["auto_escalated"] += tasks.sweep(now=at)["escalated"]
        elif kind == "report":
            done_reports += 1
            if done_reports % 250 == 0:
                say(f"  {done_reports}/{total_reports} reports ({timezone.localtime(at):%Y-%m-%d})")
            plan = _new_case(rng, world.cast, at, world.class_w, world.grids, world.photos, stats)
            if plan is not None:
                sim.follow(plan if payload is None else islice(plan, payload["steps"]))
        else:
            # A case's steps run at the times its plan gave them.
            done, _ = run_step(payload.fn, payload.planned, stats)
            if done:
                sim.follow(payload.plan, not_before=payload.planned + STEP)


def _notices_of_the_past_sent(end: datetime) -> None:
    """The outbound channel did not exist in the past: history notifications count as sent, and
    everything older than two days as read."""
    Notification.objects.filter(sent_at__isnull=True).update(sent_at=end, next_attempt_at=None)
    Notification.objects.filter(case__reported_at__lt=end - timedelta(days=2), read_at__isnull=True).update(
        read_at=end
    )


def _new_case(rng, cast, at, class_w, grids, photos, stats):
    code, street_id, x0, y0, x1, y1 = rng.choice(grids)
    pc = weighted(rng, class_w)
    channel = weighted(rng, CHANNELS)
    lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
    if channel in ("grid_worker", "inspection"):
        actor = cast.grid_user.get(code) or rng.choice(cast.street_workers.get(street_id) or [None])
        if actor is None:
            channel, actor = "hotline", rng.choice(cast.operators)
    elif channel in ("hotline", "staff"):
        actor = rng.choice(cast.operators)
    else:
        actor = None
    # A few citizens report what is already known: a duplicate near an open case.
    if channel in ("citizen_web", "messaging", "hotline") and rng.random() < 0.05:
        near = (
            Case.objects.filter(
                reported_at__gte=at - timedelta(hours=48), reported_at__lt=at, problem_class__isnull=False
            )
            .order_by("-reported_at")
            .values_list("lon", "lat", "problem_class_id")
            .first()
        )
        if near:
            lon, lat = near[0] + rng.uniform(-0.0002, 0.0002), near[1] + rng.uniform(-0.0002, 0.0002)
            pc = next((p for p, _ in class_w if p.pk == near[2]), pc)
    data = IntakeData(
        channel=channel,
        description=rng.choice(DESCRIPTIONS["default"]).format(n=pc.name),
        lon=lon,
        lat=lat,
        class_code=pc.code if rng.random() < 0.85 or channel == "grid_worker" else None,
        reporter_name=rng.choice(["王先生", "李女士", "张师傅", "刘阿姨", "陈同学", ""])
        if channel != "grid_worker"
        else "",
        reporter_phone=f"139{rng.randrange(10**8):08d}"
        if channel in ("hotline", "citizen_web", "messaging")
        else "",
        anonymous=rng.random() < 0.1,
        photos=[rng.choice(photos)] if rng.random() < 0.7 else [],
        extra={"class_kind": pc.kind},
    )
    try:
        with transaction.atomic():
            try:
                r = do_intake(actor, data, now=at, client_key="demo", request_id=None)
            except DuplicateProposed as exc:
                # The operator or worker confirms the proposed case, as the person would.
                data.extra["link_to"] = exc.details["number"]
                r = do_intake(actor, data, now=at, client_key="demo", request_id=None)
    except DomainError as exc:
        stats["refused_reports"] += 1
        log.debug("demo report refused: %s", exc)
        return None
    if not r.created:
        stats["duplicates_linked"] += 1
        return None
    stats["reports"] += 1
    return case_plan(rng, cast, r.case.pk, at, photos, stats)


def case_plan(rng, cast, case_id, t, photos, stats, scenarios=SCENARIOS):
    """A generator of (time, fn(now)) steps for one case, from its state after intake to the end
    of a scenario drawn from ``scenarios``; the driver runs them in global time order. The patrol
    demo drives its hazard cases with it too."""
    story = _CaseStory(rng, cast, case_id, photos, stats)
    c = story.case()
    pc = c.problem_class or c.suggested_class
    story.worker = cast.grid_user.get(c.grid_code) or rng.choice(
        cast.street_workers.get(c.street_id) or [None]
    )
    if story.worker is None:
        return
    scenario = weighted(rng, scenarios)
    stats[f"scenario_{scenario}"] += 1
    if c.state == CaseState.REPORTED:
        t = yield from story.verified(t)
        if t is None:
            return
    if c.channel == "grid_worker" and pc is not None and pc.on_spot_allowed and rng.random() < 0.45:
        yield from story.handled_on_the_spot(t)
        return
    t = yield from story.registered(t, scenario)
    if t is None:
        return
    t, assists = yield from story.dispatched(t, scenario)
    handler = story.handler()
    if handler is None:
        stats["no_handler"] += 1
        return
    if scenario == "return":
        t = yield from story.returned_and_redispatched(t, handler)
        handler = story.handler()
        if handler is None:
            return
    t, span = yield from story.accepted(t, handler, assists)
    t = yield from story.delayed(t, handler, span, scenario)
    t, c = yield from story.handled(t, handler, span, scenario)
    yield from story.closed(t, c)


def _mins(rng, lo, hi):
    return timedelta(minutes=rng.uniform(lo, hi))


class _CaseStory:
    """The steps of one case's scenario, each a generator of (time, fn(now)) steps that returns
    the time it reached; its people are drawn when the story starts."""

    def __init__(self, rng, cast, case_id, photos, stats):
        self.rng, self.cast, self.case_id, self.photos, self.stats = rng, cast, case_id, photos, stats
        self.op, self.sl, self.dp = (
            rng.choice(cast.operators),
            rng.choice(cast.shift),
            rng.choice(cast.dispatchers),
        )
        self.worker = None

    def case(self):
        return Case.objects.select_related("problem_class").get(pk=self.case_id)

    def pic(self):
        return [self.rng.choice(self.photos)]

    def handler(self):
        """A handler of the unit the case is assigned to, or None when it has none."""
        handlers = self.cast.handlers.get(self.case().assigned_unit_id) or []
        return self.rng.choice(handlers) if handlers else None

    def verified(self, t):
        """Verification of a citizen/machine report; None when it is rejected."""
        rng, case, sl = self.rng, self.case, self.sl
        if rng.random() < 0.04:
            yield t + _mins(rng, 10, 50), lambda now: A.do_reject(sl, case(), reason="非管理范围", now=now)
            return None
        t += _mins(rng, 3, 25)
        yield t, lambda now: A.do_request_verify(self.op, case(), now=now)
        t += _mins(rng, 8, 28) if rng.random() < 0.88 else _mins(rng, 32, 70)
        real = rng.random() < 0.93
        yield (
            t,
            lambda now: A.do_verify(
                self.worker, case(), confirmed=real, photos=self.pic() if real else [], now=now
            ),
        )
        if not real:
            t += _mins(rng, 5, 40)
            yield t, lambda now: A.do_reject(sl, case(), reason="经核实问题不存在", now=now)
            return None
        return t

    def handled_on_the_spot(self, t):
        """A small matter handled by the grid worker who found it."""
        rng, case = self.rng, self.case
        t += _mins(rng, 5, 30)
        yield (
            t,
            lambda now: A.do_self_handle(
                self.worker,
                case(),
                response=rng.choice(["persuade", "stop", "repair"]),
                photos_before=self.pic(),
                photos_after=self.pic(),
                now=now,
            ),
        )
        t += _mins(rng, 10, 90)
        yield t, lambda now: A.do_close(self.sl, case(), note="自处置审核通过", now=now)

    def registered(self, t, scenario):
        """Registration (and escalation); None when the case is cancelled instead."""
        rng, case, sl = self.rng, self.case, self.sl
        t += _mins(rng, 5, 50) if rng.random() < 0.9 else _mins(rng, 70, 200)
        if scenario == "cancel":
            yield t, lambda now: A.do_reject(sl, case(), reason="重复上报", now=now)
            return None
        yield t, lambda now: A.do_register(sl, case(), now=now)
        if scenario == "escalate":

            def escalate(now):
                c = case()
                if c.tier != Tier.CITY:  # a case of a city-level class has nowhere higher to go
                    A.do_escalate(
                        rng.choice(self.cast.leaders or [sl]), c, reason="街道处置力量不足", now=now
                    )

            t += _mins(rng, 2, 20)
            yield t, escalate
        return t

    def dispatched(self, t, scenario):
        """The dispatch, with an assisting unit in the joint scenario; returns (time, assists)."""
        rng = self.rng
        t += _mins(rng, 5, 50) if rng.random() < 0.9 else _mins(rng, 70, 180)
        assists = _assists(rng) if scenario == "joint" else []

        def dispatch(now):
            c = self.case()
            lead = suggest_unit(c)  # the unit the dispatch assigns: it cannot assist itself
            helping = [a for a in assists if lead is None or a["unit"].pk != lead.pk][:1]
            A.do_dispatch(
                self.dp,
                c,
                assists=helping,
                instruction="请按时处置",
                reason="联合执法" if helping else "",
                now=now,
            )
            self.stats["joint_dispatched"] += bool(helping)

        yield t, dispatch
        return t, assists

    def returned_and_redispatched(self, t, handler):
        """The unit asks to return the case, the dispatcher agrees and dispatches it elsewhere."""
        rng, case, dp = self.rng, self.case, self.dp
        t += _mins(rng, 10, 60)
        yield t, lambda now: A.do_apply(handler, case(), "return", reason="不属于本单位职责", now=now)
        t += _mins(rng, 10, 60)
        yield t, self._decision(kind="return", approved=True, note="同意回退")
        t += _mins(rng, 5, 30)
        yield t, lambda now: A.do_dispatch(dp, case(), unit=_other_unit(case()), reason="回退后改派", now=now)
        return t

    def _decision(self, kind, approved, note):
        """The dispatcher's decision on the case's pending application of ``kind``."""

        def decide(now):
            application = Application.objects.get(case_id=self.case_id, kind=kind, state="pending")
            return A.do_decide_application(self.dp, application, approved=approved, note=note, now=now)

        return decide

    def accepted(self, t, handler, assists):
        """The unit accepts, assisting units report; returns (time, the handling time span)."""
        rng, case = self.rng, self.case
        t += _mins(rng, 5, 55) if rng.random() < 0.9 else _mins(rng, 65, 240)
        yield t, lambda now: A.do_accept(handler, case(), now=now)
        c = case()
        if assists:
            for task in c.tasks.filter(role="assist", state="pending"):
                ah = self.cast.handlers.get(task.unit_id) or []
                if ah:
                    t += _mins(rng, 30, 300)
                    yield (
                        t,
                        lambda now, ah=ah: A.do_assist_report(
                            rng.choice(ah), case(), report="已配合完成", now=now
                        ),
                    )
        span = (
            (c.handle_due_at - c.dispatched_at) if c.handle_due_at and c.dispatched_at else timedelta(hours=8)
        )
        return t, span

    def delayed(self, t, handler, span, scenario):
        """Supervised, postponed or shelved (and resumed) while being handled."""
        rng, case = self.rng, self.case
        if scenario == "supervise":
            t += span * 0.5
            yield t, lambda now: A.do_supervise(self.sl, case(), instruction="请加快处置进度", now=now)
        if scenario == "postpone":
            t += span * 0.4
            yield (
                t,
                lambda now: A.do_apply(
                    handler,
                    case(),
                    "postpone",
                    reason="需协调相关部门",
                    extra_hours=rng.choice([7, 14, 21]),
                    now=now,
                ),
            )
            t += _mins(rng, 10, 90)
            # The approval is drawn when the decision is made.
            yield t, lambda now: self._decision(kind="postpone", approved=rng.random() < 0.85, note="")(now)
        if scenario == "shelve":
            t += span * 0.5
            yield (
                t,
                lambda now: A.do_apply(
                    handler, case(), "shelve", reason="需纳入工程计划，短期无法完成", now=now
                ),
            )
            t += _mins(rng, 30, 240)
            yield t, self._decision(kind="shelve", approved=True, note="同意挂账")
            t += timedelta(days=rng.uniform(5, 30))
            yield t, lambda now: A.do_resume(self.dp, case(), reason="具备处置条件", now=now)
        return t

    def handled(self, t, handler, span, scenario):
        """The unit reports back and the grid worker checks, twice when it needs rework; returns
        (time, the case as it was before)."""
        rng, case = self.rng, self.case
        c = case()
        span = (c.handle_due_at - t) if c.handle_due_at and c.handle_due_at > t else span * 0.3
        t += span * (rng.uniform(1.05, 1.8) if scenario == "late" else rng.uniform(0.15, 0.9))
        response = rng.choice(["stop", "persuade", "persuade", "penalise", "repair", "crack_down"])
        yield t, self._report_back(handler, response, "已按要求处置")
        rounds = 2 if scenario == "rework" else 1
        for i in range(rounds):
            t += _mins(rng, 5, 40)
            yield t, lambda now: A.do_request_check(self.op, case(), now=now)
            t += _mins(rng, 8, 28) if rng.random() < 0.9 else _mins(rng, 31, 80)
            passed = i == rounds - 1
            yield (
                t,
                lambda now, passed=passed: A.do_check(
                    self.worker, case(), passed=passed, photos=self.pic(), now=now
                ),
            )
            if not passed:
                t += _mins(rng, 5, 30)
                yield t, lambda now: A.do_rework(self.sl, case(), reason="核查未通过，仍有问题", now=now)
                t += span * rng.uniform(0.1, 0.5) + _mins(rng, 30, 120)
                yield t, self._report_back(handler, response, "已返工")
        return t, c

    def _report_back(self, handler, response, report):
        return lambda now: A.do_report_back(
            handler,
            self.case(),
            response=response,
            report=report,
            photos_before=self.pic(),
            photos_after=self.pic(),
            now=now,
        )

    def closed(self, t, c):
        """Closed, and evaluated by the reporter of most public reports."""
        rng = self.rng
        t += _mins(rng, 5, 50)
        yield t, lambda now: A.do_close(self.sl, self.case(), now=now)
        if c.channel != "grid_worker" and rng.random() < 0.6:
            t += timedelta(hours=rng.uniform(1, 30))
            yield (
                t,
                lambda now: A.do_evaluate(
                    self.op,
                    self.case(),
                    satisfaction=weighted(rng, [(5, 55), (4, 25), (3, 12), (2, 5), (1, 3)]),
                    note="回访",
                    now=now,
                ),
            )


def _assists(rng):
    """Two candidate assisting units: whichever unit the dispatch makes the lead, the other one
    assists."""

    others = list(
        Unit.objects.filter(kind__in=["department", "brigade", "utility"], is_active=True).values_list(
            "id", flat=True
        )
    )
    return [
        {"unit": unit, "instruction": "配合联合执法"}
        for unit in Unit.objects.filter(pk__in=rng.sample(others, min(2, len(others)))).order_by("pk")
    ]


def _other_unit(case):

    cur = case.tasks.filter(state="returned").values_list("unit_id", flat=True).first()
    s = suggest_unit(case)
    if s is not None and s.pk != cur:
        return s
    return Unit.objects.filter(kind__in=["brigade", "bureau"], is_active=True).exclude(pk=cur).first() or s
