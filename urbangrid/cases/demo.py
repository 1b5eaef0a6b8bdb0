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

import heapq
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from urbangrid.lib.demo import photo_pool, weighted
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role

from . import actions as A
from . import tasks
from .choices import CaseState, Tier
from .intake import DuplicateProposed, IntakeData, do_intake
from .models import Application, Case, Notification
from .queries import suggest_unit

log = logging.getLogger("urbangrid.cases.demo")

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
        from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment

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
    from urbangrid.catalog.models import ProblemClass
    from urbangrid.geo.models import UnitGrid

    rng = random.Random(seed)
    say = progress or (lambda s: None)
    end = end or timezone.now()
    start = end - timedelta(days=days)
    cast = CaseCast()
    if not cast.ok():
        say("case history skipped: the organisation has no operators/shift leaders/dispatchers/grid workers")
        return {"cases": 0}
    classes = list(
        ProblemClass.objects.filter(
            is_active=True, code_set__is_default=True, kind__in=["event", "component"]
        ).select_related("code_set")
    )
    if not classes:
        say("case history skipped: empty catalogue")
        return {"cases": 0}
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
        return {"cases": 0}
    photos = photo_pool(rng)
    per_day = per_day or float(settings.URBANGRID.get("DEMO_CASES_PER_DAY", 15))

    old_cfg = settings.URBANGRID
    settings.URBANGRID = {**old_cfg, "NOTIFY_IMMEDIATE": False}
    stats: dict[str, int] = defaultdict(int)
    queue: list = []
    seq = 0

    def push(t, kind, payload):
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (t, seq, kind, payload))

    # Reports for every day, and an hourly sweep.
    t = start
    while t < end:
        local = timezone.localtime(t)
        weekend = local.weekday() >= 5
        n = rng.gauss(per_day * (0.6 if weekend else 1.1), per_day * 0.15)
        for _ in range(max(0, int(n))):
            hour = weighted(rng, list(enumerate(HOURS)))
            at = local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
            if start <= at < end:
                push(at, "report", None)
        t += timedelta(days=1)
    # The center's backlog at the end: the last hours' reports that staff have taken only some
    # steps further (queues are never all empty in a working city).
    for _ in range(max(4, int(per_day * 0.6))):
        push(end - timedelta(minutes=rng.uniform(5, 180)), "report", {"steps": rng.randint(0, 4)})
    s = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while s < end:
        push(s, "sweep", None)
        s += timedelta(hours=2)

    total_reports = sum(1 for e in queue if e[2] == "report")
    say(f"simulating {total_reports} reports over {days} days")
    done_reports = 0
    try:
        while queue:
            at, _, kind, payload = heapq.heappop(queue)
            if at >= end:
                break
            if kind == "sweep":
                r = tasks.sweep(now=at)
                stats["auto_escalated"] += r["escalated"]
                continue
            if kind == "report":
                done_reports += 1
                if done_reports % 250 == 0:
                    say(f"  {done_reports}/{total_reports} reports ({timezone.localtime(at):%Y-%m-%d})")
                plan = _new_case(rng, cast, at, class_w, grids, photos, stats)
                if plan is not None and payload is not None:
                    plan = islice(plan, payload["steps"])
                if plan is not None:
                    nxt = next(plan, None)
                    if nxt is not None:
                        push(nxt[0], "step", (plan, nxt))
                continue
            plan, (t_step, fn) = payload
            try:
                with transaction.atomic():
                    fn(t_step)
            except DomainError as exc:
                stats["refused_steps"] += 1
                log.debug("demo step refused: %s", exc)
                continue
            nxt = next(plan, None)
            if nxt is not None:
                push(max(nxt[0], t_step + timedelta(seconds=1)), "step", (plan, nxt))
        # The outbound channel did not exist in the past: history notifications count as sent,
        # and everything older than two days as read.
        Notification.objects.filter(sent_at__isnull=True).update(sent_at=end, next_attempt_at=None)
        Notification.objects.filter(
            case__reported_at__lt=end - timedelta(days=2), read_at__isnull=True
        ).update(read_at=end)
    finally:
        settings.URBANGRID = old_cfg
    stats["cases"] = Case.objects.count()
    say("case history: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())))
    return dict(stats)


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


def _mins(rng, lo, hi):
    return timedelta(minutes=rng.uniform(lo, hi))


def case_plan(rng, cast, case_id, t, photos, stats, scenarios=SCENARIOS):
    """A generator of (time, fn(now)) steps for one case, from its state after intake to the end
    of a scenario drawn from ``scenarios``; the driver runs them in global time order. The patrol
    demo drives its hazard cases with it too."""
    op, sl, dp = rng.choice(cast.operators), rng.choice(cast.shift), rng.choice(cast.dispatchers)
    pic = lambda: [rng.choice(photos)]  # noqa: E731

    def case():
        return Case.objects.select_related("problem_class").get(pk=case_id)

    c = case()
    pc = c.problem_class or c.suggested_class
    worker = cast.grid_user.get(c.grid_code) or rng.choice(cast.street_workers.get(c.street_id) or [None])
    if worker is None:
        return
    scenario = weighted(rng, scenarios)
    stats[f"scenario_{scenario}"] += 1

    # Verification of citizen/machine reports.
    if c.state == CaseState.REPORTED:
        if rng.random() < 0.04:
            yield t + _mins(rng, 10, 50), lambda now: A.do_reject(sl, case(), reason="非管理范围", now=now)
            return
        t += _mins(rng, 3, 25)
        yield t, lambda now: A.do_request_verify(op, case(), now=now)
        t += _mins(rng, 8, 28) if rng.random() < 0.88 else _mins(rng, 32, 70)
        real = rng.random() < 0.93
        yield (
            t,
            lambda now: A.do_verify(worker, case(), confirmed=real, photos=pic() if real else [], now=now),
        )
        if not real:
            t += _mins(rng, 5, 40)
            yield t, lambda now: A.do_reject(sl, case(), reason="经核实问题不存在", now=now)
            return
    # On-the-spot handling by the grid worker for small matters.
    if c.channel == "grid_worker" and pc is not None and pc.on_spot_allowed and rng.random() < 0.45:
        t += _mins(rng, 5, 30)
        yield (
            t,
            lambda now: A.do_self_handle(
                worker,
                case(),
                response=rng.choice(["persuade", "stop", "repair"]),
                photos_before=pic(),
                photos_after=pic(),
                now=now,
            ),
        )
        t += _mins(rng, 10, 90)
        yield t, lambda now: A.do_close(sl, case(), note="自处置审核通过", now=now)
        return
    t += _mins(rng, 5, 50) if rng.random() < 0.9 else _mins(rng, 70, 200)
    if scenario == "cancel":
        yield t, lambda now: A.do_reject(sl, case(), reason="重复上报", now=now)
        return
    yield t, lambda now: A.do_register(sl, case(), now=now)
    if scenario == "escalate":

        def escalate(now):
            c = case()
            if c.tier != Tier.CITY:  # a case of a city-level class has nowhere higher to go
                A.do_escalate(rng.choice(cast.leaders or [sl]), c, reason="街道处置力量不足", now=now)

        t += _mins(rng, 2, 20)
        yield t, escalate
    t += _mins(rng, 5, 50) if rng.random() < 0.9 else _mins(rng, 70, 180)
    assists = []
    if scenario == "joint":
        from urbangrid.orgs.models import Unit

        others = list(
            Unit.objects.filter(kind__in=["department", "brigade", "utility"], is_active=True).values_list(
                "id", flat=True
            )
        )
        # Two candidates: whichever unit the dispatch makes the lead, the other one assists.
        assists = [
            {"unit": unit, "instruction": "配合联合执法"}
            for unit in Unit.objects.filter(pk__in=rng.sample(others, min(2, len(others)))).order_by("pk")
        ]

    def dispatch(now):
        c = case()
        lead = suggest_unit(c)  # the unit the dispatch assigns: it cannot assist itself
        helping = [a for a in assists if lead is None or a["unit"].pk != lead.pk][:1]
        A.do_dispatch(
            dp, c, assists=helping, instruction="请按时处置", reason="联合执法" if helping else "", now=now
        )
        stats["joint_dispatched"] += bool(helping)

    yield t, dispatch
    c = case()
    handlers = cast.handlers.get(c.assigned_unit_id) or []
    if not handlers:
        stats["no_handler"] += 1
        return
    uh = rng.choice(handlers)
    if scenario == "return":
        t += _mins(rng, 10, 60)
        yield t, lambda now: A.do_apply(uh, case(), "return", reason="不属于本单位职责", now=now)
        t += _mins(rng, 10, 60)
        yield (
            t,
            lambda now: A.do_decide_application(
                dp,
                Application.objects.get(case_id=case_id, kind="return", state="pending"),
                approved=True,
                note="同意回退",
                now=now,
            ),
        )
        t += _mins(rng, 5, 30)
        yield t, lambda now: A.do_dispatch(dp, case(), unit=_other_unit(case()), reason="回退后改派", now=now)
        c = case()
        handlers = cast.handlers.get(c.assigned_unit_id) or []
        if not handlers:
            return
        uh = rng.choice(handlers)
    t += _mins(rng, 5, 55) if rng.random() < 0.9 else _mins(rng, 65, 240)
    yield t, lambda now: A.do_accept(uh, case(), now=now)
    c = case()
    if assists:
        for task in c.tasks.filter(role="assist", state="pending"):
            ah = cast.handlers.get(task.unit_id) or []
            if ah:
                t += _mins(rng, 30, 300)
                yield (
                    t,
                    lambda now, ah=ah: A.do_assist_report(
                        rng.choice(ah), case(), report="已配合完成", now=now
                    ),
                )
    span = (c.handle_due_at - c.dispatched_at) if c.handle_due_at and c.dispatched_at else timedelta(hours=8)
    if scenario == "supervise":
        t += span * 0.5
        yield t, lambda now: A.do_supervise(sl, case(), instruction="请加快处置进度", now=now)
    if scenario == "postpone":
        t += span * 0.4
        yield (
            t,
            lambda now: A.do_apply(
                uh, case(), "postpone", reason="需协调相关部门", extra_hours=rng.choice([7, 14, 21]), now=now
            ),
        )
        t += _mins(rng, 10, 90)
        yield (
            t,
            lambda now: A.do_decide_application(
                dp,
                Application.objects.get(case_id=case_id, kind="postpone", state="pending"),
                approved=rng.random() < 0.85,
                note="",
                now=now,
            ),
        )
    if scenario == "shelve":
        t += span * 0.5
        yield t, lambda now: A.do_apply(uh, case(), "shelve", reason="需纳入工程计划，短期无法完成", now=now)
        t += _mins(rng, 30, 240)
        yield (
            t,
            lambda now: A.do_decide_application(
                dp,
                Application.objects.get(case_id=case_id, kind="shelve", state="pending"),
                approved=True,
                note="同意挂账",
                now=now,
            ),
        )
        t += timedelta(days=rng.uniform(5, 30))
        yield t, lambda now: A.do_resume(dp, case(), reason="具备处置条件", now=now)
    c = case()
    span = (c.handle_due_at - t) if c.handle_due_at and c.handle_due_at > t else span * 0.3
    t += span * (rng.uniform(1.05, 1.8) if scenario == "late" else rng.uniform(0.15, 0.9))
    response = rng.choice(["stop", "persuade", "persuade", "penalise", "repair", "crack_down"])
    yield (
        t,
        lambda now: A.do_report_back(
            uh,
            case(),
            response=response,
            report="已按要求处置",
            photos_before=pic(),
            photos_after=pic(),
            now=now,
        ),
    )
    rounds = 2 if scenario == "rework" else 1
    for i in range(rounds):
        t += _mins(rng, 5, 40)
        yield t, lambda now: A.do_request_check(op, case(), now=now)
        t += _mins(rng, 8, 28) if rng.random() < 0.9 else _mins(rng, 31, 80)
        passed = i == rounds - 1
        yield t, lambda now, passed=passed: A.do_check(worker, case(), passed=passed, photos=pic(), now=now)
        if not passed:
            t += _mins(rng, 5, 30)
            yield t, lambda now: A.do_rework(sl, case(), reason="核查未通过，仍有问题", now=now)
            t += span * rng.uniform(0.1, 0.5) + _mins(rng, 30, 120)
            yield (
                t,
                lambda now: A.do_report_back(
                    uh,
                    case(),
                    response=response,
                    report="已返工",
                    photos_before=pic(),
                    photos_after=pic(),
                    now=now,
                ),
            )
    t += _mins(rng, 5, 50)
    yield t, lambda now: A.do_close(sl, case(), now=now)
    if c.channel != "grid_worker" and rng.random() < 0.6:
        t += timedelta(hours=rng.uniform(1, 30))
        yield (
            t,
            lambda now: A.do_evaluate(
                op,
                case(),
                satisfaction=weighted(rng, [(5, 55), (4, 25), (3, 12), (2, 5), (1, 3)]),
                note="回访",
                now=now,
            ),
        )


def _other_unit(case):
    from urbangrid.orgs.models import Unit

    cur = case.tasks.filter(state="returned").values_list("unit_id", flat=True).first()
    s = suggest_unit(case)
    if s is not None and s.pk != cur:
        return s
    return Unit.objects.filter(kind__in=["brigade", "bureau"], is_active=True).exclude(pk=cur).first() or s
