"""Bulk generator for benchmarks: millions of cases written directly with bulk_create.

The rows are shaped exactly like those the actions produce for the same scenario (a grid worker's
report taken through register → dispatch → accept → report back → request check → check → close,
or stopped at an open stage): the same columns set, the same deadline arithmetic (deadlines.py on
the working calendar), the same version counter, the same CaseEvent kinds with from/to states,
the same CaseTask and Report rows, and case numbers that continue CaseNumberSequence.
tests/test_bulkgen.py compares a bulk row with an action-produced row column by column.

Usage: ``manage.py bulkgen_cases --count 1000000 --open-fraction 0.1 [--no-events]``.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from urbangrid.catalog.models import ProblemClass
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.orgs.models import Person, RoleAssignment

from . import deadlines
from .choices import CaseState, DeadlineStep, TaskRole, TaskState
from .models import Case, CaseEvent, CaseNumberSequence, CaseTask, Report
from .queries import suggest_unit

# The closed path and, for open cases, where they stop: (state after the step, action, role).
PATH = [
    (CaseState.PENDING_REGISTER, "report", "grid_worker"),
    (CaseState.PENDING_DISPATCH, "register", "shift_leader"),
    (CaseState.PENDING_HANDLE, "dispatch", "dispatcher"),
    (CaseState.HANDLING, "accept", "unit_handler"),
    (CaseState.PENDING_CHECK, "report_back", "unit_handler"),
    (CaseState.CHECKING, "request_check", "intake_operator"),
    (CaseState.PENDING_CLOSE, "check", "grid_worker"),
    (CaseState.CLOSED, "close", "shift_leader"),
]
OPEN_STOPS = [0, 1, 2, 3, 3, 3, 4, 5, 6]  # index into PATH of the last step done (handling weighs most)


class _Deadlines:
    """deadlines.step_deadline memoised on (step, class, start rounded to the minute)."""

    def __init__(self):
        self.cache: dict = {}

    def __call__(self, step, start, pc=None):
        key = (step, pc.pk if pc else None, start.replace(second=0, microsecond=0))
        d = self.cache.get(key)
        if d is None:
            base = deadlines.step_deadline(step, key[2], pc)
            d = (base.warn_at - key[2], base.due_at - key[2])
            self.cache[key] = d
        # Same offsets as the minute it starts in (sub-minute drift only).
        return start + d[0], start + d[1]


def _people():

    out = {}
    for role in ("grid_worker", "shift_leader", "dispatcher", "intake_operator"):
        pid = RoleAssignment.objects.filter(role=role).values_list("person_id", flat=True).first()
        out[role] = Person.objects.filter(pk=pid).select_related("user").first() if pid else None
    return out


# The grid columns the generator reads, in the order its tuples are indexed by.
GRID_COLUMNS = (
    "id",
    "code",
    "community_id",
    "street_id",
    "district_id",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
)
# States in which the lead unit has reported back.
_REPORTED_STATES = (CaseState.PENDING_CHECK, CaseState.CHECKING, CaseState.PENDING_CLOSE, CaseState.CLOSED)
# Actions whose events name the case's unit.
_UNIT_ACTIONS = ("dispatch", "accept", "report_back")


@dataclass
class _Cast:
    """One person per role (the first one holding it): person ids and user ids; the city."""

    pid: dict
    uid: dict
    city: str

    @classmethod
    def load(cls) -> _Cast:
        people = _people()
        return cls(
            pid={r: (p.pk if p else None) for r, p in people.items()},
            uid={r: (p.user_id if p else None) for r, p in people.items()},
            city=str(settings.URBANGRID["CITY_CODE"]),
        )


class _UnitChooser:
    """The unit intake would suggest for a class in a grid, memoised per (class, street)."""

    def __init__(self):
        self.units: dict = {}

    def __call__(self, pc, g):
        key = (pc.pk, g[3])
        if key not in self.units:
            self.units[key] = self._suggest(pc, g)
        return self.units[key]

    @staticmethod
    def _suggest(pc, g):

        fake = SimpleNamespace(
            problem_class=pc,
            community=Region.objects.defer("geometry_wkb").get(pk=g[2]),
            street=Region.objects.defer("geometry_wkb").get(pk=g[3]),
            tier="street",
            district_id=g[4],
            community_id=g[2],
            street_id=g[3],
        )
        u = suggest_unit(fake)
        return u.pk if u else None


def _number_counters() -> dict:
    counters: dict = defaultdict(int)
    for row in CaseNumberSequence.objects.all():
        counters[row.day] = row.last
    return counters


def _new_case(t: datetime, g, pc, number: str, cast: _Cast, rng) -> Case:
    c = Case(
        city_code=cast.city,
        number=number,
        channel="grid_worker",
        problem_class_id=pc.pk,
        description=f"现场发现{pc.name}",
        lon=rng.uniform(g[5], g[7]),
        lat=rng.uniform(g[6], g[8]),
        input_crs="wgs84",
        grid_id=g[0],
        grid_code=g[1],
        community_id=g[2],
        street_id=g[3],
        district_id=g[4],
        reporter_user_id=cast.uid["grid_worker"],
        reporter_person_id=cast.pid["grid_worker"],
        public_token=secrets.token_urlsafe(16)[:22],
        tier=str(pc.tier) if pc.tier != "grid" else "grid",
        verify_result=True,
        reported_at=t,
        suggestion={},
    )
    c.input_lon, c.input_lat = c.lon, c.lat
    return c


def _report_of(c: Case, cast: _Cast) -> Report:
    return Report(
        case_id=c.pk,
        client_key="bulkgen",
        channel="grid_worker",
        opened_case=True,
        description=c.description,
        lon=c.lon,
        lat=c.lat,
        reporter_user_id=cast.uid["grid_worker"],
        payload={"crs": "wgs84", "input": [c.lon, c.lat], "suggestions": []},
    )


def _lead_task_of(c: Case, cast: _Cast) -> CaseTask:
    done = c.state in _REPORTED_STATES
    return CaseTask(
        case_id=c.pk,
        unit_id=c.assigned_unit_id,
        role=TaskRole.LEAD,
        state=TaskState.REPORTED if done else (TaskState.ACCEPTED if c.accepted_at else TaskState.PENDING),
        due_at=c.handle_due_at,
        accepted_at=c.accepted_at,
        reported_at=c.handled_at if done else None,
        handler_id=cast.pid.get("unit_handler"),
    )


def _events_of(c: Case, steps: list, cast: _Cast) -> list[CaseEvent]:
    evs, prev = [], ""
    for at, state, action, role, payload in steps:
        evs.append(
            CaseEvent(
                case_id=c.pk,
                at=at,
                actor_id=cast.uid.get(role),
                actor_person_id=cast.pid.get(role),
                role=role,
                action=action,
                from_state=prev,
                to_state=state,
                unit_id=c.assigned_unit_id if action in _UNIT_ACTIONS else None,
                payload=payload,
            )
        )
        prev = state
    return evs


@dataclass
class _Generator:
    """The state ``generate`` carries from case to case and batch to batch."""

    rng: random.Random
    end: datetime
    days: int
    classes: list
    grids: list
    forced_times: list[datetime] | None
    open_fraction: float
    cast: _Cast = field(default_factory=_Cast.load)
    deadlines: _Deadlines = field(default_factory=_Deadlines)
    unit_for: _UnitChooser = field(default_factory=_UnitChooser)
    counters: dict = field(default_factory=_number_counters)

    def case(self, index: int) -> tuple[Case, list]:
        """The case number ``index`` of the run with its event steps."""
        rng = self.rng
        if self.forced_times:
            t = self.forced_times[index]
        else:
            t = self.end - timedelta(seconds=rng.uniform(0, self.days * 86400))
        g = rng.choice(self.grids)
        pc = rng.choice(self.classes)
        stop = len(PATH) - 1 if rng.random() >= self.open_fraction else rng.choice(OPEN_STOPS)
        day = timezone.localtime(t).date()
        self.counters[day] += 1
        c = _new_case(t, g, pc, f"{day:%Y%m%d}{self.counters[day]:06d}", self.cast, rng)
        unit_id = self.unit_for(pc, g)
        steps = _fill(c, pc, g, stop, t, rng, self.deadlines, self.cast.pid, unit_id)
        return c, steps

    @transaction.atomic
    def write(self, cases: list[Case], all_steps: list[list], events: bool) -> None:
        Case.objects.bulk_create(cases, batch_size=2000)
        reports = [_report_of(c, self.cast) for c in cases]
        tasks_ = [_lead_task_of(c, self.cast) for c in cases if c.dispatched_at]
        Report.objects.bulk_create(reports, batch_size=5000)
        CaseTask.objects.bulk_create(tasks_, batch_size=5000)
        if events:
            evs = [
                e for c, steps in zip(cases, all_steps, strict=True) for e in _events_of(c, steps, self.cast)
            ]
            CaseEvent.objects.bulk_create(evs, batch_size=5000)
        # Keep the number sequence in step with every committed batch (an interrupted run
        # leaves no number that intake could hand out again).
        for day in {timezone.localtime(c.reported_at).date() for c in cases}:
            CaseNumberSequence.objects.update_or_create(day=day, defaults={"last": self.counters[day]})


def generate(
    count: int,
    *,
    open_fraction: float = 0.1,
    seed: int = 1,
    days: int = 365,
    end: datetime | None = None,
    events: bool = True,
    batch: int = 5000,
    progress: Callable[[str], None] | None = None,
    classes=None,
    grids=None,
    forced_times: list[datetime] | None = None,
) -> int:
    """Write ``count`` cases (``open_fraction`` of them still open). Returns the number written."""

    say = progress or (lambda s: None)
    rng = random.Random(seed)
    end = end or timezone.now()
    classes = classes or list(
        ProblemClass.objects.filter(is_active=True, code_set__is_default=True, kind="event")
    )
    grids = grids or list(UnitGrid.objects.current().values_list(*GRID_COLUMNS))
    gen = _Generator(rng, end, days, classes, grids, forced_times, open_fraction)
    written = 0
    while written < count:
        n = min(batch, count - written)
        made = [gen.case(written + i) for i in range(n)]
        gen.write([c for c, _s in made], [s for _c, s in made], events)
        written += n
        say(f"bulkgen: {written}/{count}")
    return written


def _fill(c: Case, pc, g, stop: int, t: datetime, rng, dl, pid, unit_id) -> list:
    """Set the columns the actions would set for PATH[0..stop]; return the event list."""
    m = lambda lo, hi: timedelta(minutes=rng.uniform(lo, hi))  # noqa: E731
    steps = [
        (
            t,
            CaseState.PENDING_REGISTER,
            "report",
            "grid_worker",
            {"channel": "grid_worker", "grid": g[1], "class": pc.key, "suggested": None},
        )
    ]
    c.deadline_step = DeadlineStep.REGISTER
    c.warn_at, c.due_at = dl(DeadlineStep.REGISTER, t)
    c.register_due_at = c.due_at
    state = CaseState.PENDING_REGISTER
    for idx in range(1, stop + 1):
        new_state, action, role = PATH[idx]
        t = t + (
            m(5, 50)
            if action != "report_back"
            else (c.handle_due_at - c.dispatched_at) * rng.uniform(0.2, 1.2)
        )
        payload: dict = {}
        if action == "register":
            c.tier = "street" if pc.tier in ("grid", "street") else str(pc.tier)
            c.registered_at, c.registered_by_id = t, pid["shift_leader"]
            c.deadline_step = DeadlineStep.DISPATCH
            c.warn_at, c.due_at = dl(DeadlineStep.DISPATCH, t)
            c.dispatch_due_at = c.due_at
            payload = {
                "class_code": pc.code,
                "class_key": pc.key,
                "acceptance_condition": pc.acceptance_condition,
                "audit_refused": False,
            }
        elif action == "dispatch":
            c.assigned_unit_id, c.dispatched_at, c.dispatched_by_id = unit_id, t, pid["dispatcher"]
            c.handle_due_at = dl(DeadlineStep.HANDLE, t, pc)[1]
            c.deadline_step = DeadlineStep.ACCEPT
            c.warn_at, c.due_at = dl(DeadlineStep.ACCEPT, t)
            c.accept_due_at = c.due_at
            payload = {
                "suggested_unit": None,
                "overridden": False,
                "assists": [],
                "tier": c.tier,
                "instruction": "",
            }
        elif action == "accept":
            c.accepted_at = t
            warn, due = dl(DeadlineStep.HANDLE, c.dispatched_at, pc)
            c.deadline_step, c.warn_at, c.due_at = (
                DeadlineStep.HANDLE,
                min(warn, c.handle_due_at),
                c.handle_due_at,
            )
        elif action == "report_back":
            c.handled_at, c.response = t, rng.choice(["stop", "persuade", "penalise", "repair"])
            c.deadline_step, c.warn_at, c.due_at = "", None, None
            payload = {
                "response": c.response,
                "photos_before": [],
                "photos_after": [],
                "on_time": t <= c.handle_due_at,
            }
        elif action == "request_check":
            c.check_requested_at, c.field_worker_id = t, pid["grid_worker"]
            c.deadline_step = DeadlineStep.CHECK
            c.warn_at, c.due_at = dl(DeadlineStep.CHECK, t)
            c.check_due_at = c.due_at
            payload = {"field_worker": pid["grid_worker"]}
        elif action == "check":
            c.checked_at, c.checked_by_id, c.check_passed = t, pid["grid_worker"], True
            c.deadline_step = DeadlineStep.CLOSE
            c.warn_at, c.due_at = dl(DeadlineStep.CLOSE, t)
            payload = {"passed": True, "photos": []}
        elif action == "close":
            c.closed_at, c.closed_by_id = t, pid["shift_leader"]
            c.deadline_step, c.warn_at, c.due_at = "", None, None
            payload = {"audited_self_handling": False}
        state = new_state
        steps.append((t, state, action, role, payload))
    c.state = state
    c.version = len(steps)
    c.updated_at = t
    return steps
