"""The evaluation tests' scenario: one district, two streets, two communities with one grid each,
three units, a handful of staff (made like the shared test world's cast, urbangrid/testing/world.py)
and a dozen cases whose every stage time is set by hand, so each indicator can be checked against
a value computed on paper. It stays apart from the shared world: the figures the tests check are
pinned to its own regions, units and people.

The cases are written with ``Case.objects.bulk_create`` on purpose: the tests pin the indicator
arithmetic to exact timestamps (late by minutes, across the month boundary, reworked twice...),
which walking the real workflow cannot produce deterministically. The cases app's own tests
cover that the workflow fills these columns.

Period under test: October 2026 (Asia/Shanghai). ``AS_OF`` is mid-November.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from urbangrid.testing.world import add_person

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 15, 12, 0, tzinfo=TZ)
G1, G2 = "619901001001001", "619901002001001"


def t(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@dataclass
class World:
    district: object = None
    s1: object = None
    s2: object = None
    c1: object = None
    c2: object = None
    u1: object = None
    u2: object = None
    u3: object = None
    people: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    cases: dict = field(default_factory=dict)


def build_world() -> World:
    from urbangrid.cases.models import Case, CaseEvent
    from urbangrid.evaluation.defaults import seed
    from urbangrid.geo.models import Region
    from urbangrid.orgs.models import Unit

    seed()  # idempotent: transactional (browser) tests flush the migration's rows
    w = World()
    w.district = Region.objects.create(code="619901", name="示范区", kind="district")
    w.s1 = Region.objects.create(code="619901001", name="东街道", kind="street", parent=w.district)
    w.s2 = Region.objects.create(code="619901002", name="西镇", kind="town", parent=w.district)
    w.c1 = Region.objects.create(code="619901001001", name="东一社区", kind="community", parent=w.s1)
    w.c2 = Region.objects.create(code="619901002001", name="西一村", kind="village", parent=w.s2)
    centre = Unit.objects.create(
        code="CENTRE", name="监督指挥中心", kind="center", level="district", region=w.district
    )
    w.u1 = Unit.objects.create(code="U1", name="市政管理处", kind="department", level="city")
    w.u2 = Unit.objects.create(code="U2", name="东街道办", kind="street_office", level="street", region=w.s1)
    w.u3 = Unit.objects.create(code="U3", name="西镇政府", kind="town_gov", level="street", region=w.s2)

    def person(key, name, unit, role, region, grids=()):
        p = add_person(key, name, unit, [role], region, grids=grids, since=t(1, 1).date())
        w.people[key], w.users[key] = p, p.user
        return p

    gw1 = person("gw1", "张网格", w.u2, "grid_worker", w.c1, grids=[G1])
    gw2 = person("gw2", "李网格", w.u3, "grid_worker", w.c2, grids=[G2])
    sl = person("sl", "王值班", centre, "shift_leader", w.district)
    dp = person("dp", "赵派遣", centre, "dispatcher", w.district)
    op = person("op", "钱受理", centre, "intake_operator", w.district)
    person("leader1", "东街道领导", w.u2, "street_leader", w.s1)
    person("city", "市领导", centre, "city_leader", None)
    person("h1", "市政处置员", w.u1, "unit_handler", None)

    east = dict(district=w.district, street=w.s1, community=w.c1, grid_code=G1)
    west = dict(district=w.district, street=w.s2, community=w.c2, grid_code=G2)
    n = iter(range(1, 100))

    def case(key, where, **f):
        i = next(n)
        c = Case(number=f"20261000{i:04d}", city_code="6199", public_token=f"tok{i:04d}", **where, **f)
        w.cases[key] = c
        return c

    closed = dict(state="closed")
    rows = [
        # A: worker report, everything on time, closed.
        case(
            "A",
            east,
            channel="grid_worker",
            reporter_person=gw1,
            reported_at=t(10, 2, 9),
            register_due_at=t(10, 2, 10),
            registered_at=t(10, 2, 9, 30),
            registered_by=sl,
            dispatch_due_at=t(10, 2, 10, 30),
            dispatched_at=t(10, 2, 9, 45),
            dispatched_by=dp,
            assigned_unit=w.u1,
            handle_due_at=t(10, 5, 17),
            handled_at=t(10, 4, 10, 50),
            check_due_at=t(10, 4, 12, 30),
            checked_at=t(10, 4, 12),
            checked_by=gw1,
            closed_at=t(10, 4, 13),
            closed_by=sl,
            **closed,
        ),
        # B: hotline; verified late, dispatched late, returned once, handled late, reworked twice; closed.
        case(
            "B",
            east,
            channel="hotline",
            reported_at=t(10, 3, 9),
            verify_due_at=t(10, 3, 10, 30),
            verified_at=t(10, 3, 11),
            verified_by=gw1,
            field_worker=gw1,
            register_due_at=t(10, 3, 12, 30),
            registered_at=t(10, 3, 12),
            registered_by=sl,
            dispatch_due_at=t(10, 3, 13),
            dispatched_at=t(10, 3, 14),
            dispatched_by=dp,
            return_count=1,
            assigned_unit=w.u1,
            handle_due_at=t(10, 10, 17),
            handled_at=t(10, 12, 14),
            rework_count=2,
            check_due_at=t(10, 12, 17),
            checked_at=t(10, 12, 16),
            checked_by=gw1,
            closed_at=t(10, 13, 9),
            closed_by=sl,
            satisfaction=1,
            **closed,
        ),
        # C: worker report, registered late, open and overdue in handling.
        case(
            "C",
            west,
            channel="grid_worker",
            reporter_person=gw2,
            reported_at=t(10, 20, 9),
            register_due_at=t(10, 20, 10),
            registered_at=t(10, 20, 11),
            registered_by=sl,
            dispatch_due_at=t(10, 20, 12),
            dispatched_at=t(10, 20, 11, 30),
            dispatched_by=dp,
            assigned_unit=w.u1,
            handle_due_at=t(10, 25, 17),
            state="handling",
        ),
        # D: citizen; postponed, handled on time, on-site check overdue (field worker gw2).
        case(
            "D",
            west,
            channel="citizen_web",
            reported_at=t(10, 10, 9),
            verify_due_at=t(10, 10, 10),
            verified_at=t(10, 10, 9, 50),
            verified_by=gw2,
            field_worker=gw2,
            register_due_at=t(10, 10, 11),
            registered_at=t(10, 10, 10, 30),
            registered_by=sl,
            dispatch_due_at=t(10, 10, 12),
            dispatched_at=t(10, 10, 11),
            dispatched_by=dp,
            assigned_unit=w.u1,
            handle_due_at=t(10, 20, 17),
            postpone_count=1,
            handled_at=t(10, 19, 10),
            check_due_at=t(10, 19, 12),
            state="pending_check",
        ),
        # E: reported in September, handling deadline on 1 October 03:00 (crosses the boundary), late.
        case(
            "E",
            east,
            channel="grid_worker",
            reporter_person=gw1,
            reported_at=t(9, 25, 9),
            register_due_at=t(9, 25, 10),
            registered_at=t(9, 25, 9, 30),
            registered_by=sl,
            dispatch_due_at=t(9, 25, 11),
            dispatched_at=t(9, 25, 10),
            dispatched_by=dp,
            assigned_unit=w.u2,
            handle_due_at=t(10, 1, 3),
            handled_at=t(10, 2, 9),
            check_due_at=t(10, 2, 17),
            checked_at=t(10, 2, 16),
            checked_by=gw1,
            closed_at=t(10, 3, 10),
            closed_by=sl,
            **closed,
        ),
        # F: registered in October, handling deadline in November (outside October's due set).
        case(
            "F",
            east,
            channel="grid_worker",
            reporter_person=gw1,
            reported_at=t(10, 28, 9),
            register_due_at=t(10, 28, 10),
            registered_at=t(10, 28, 9, 20),
            registered_by=sl,
            dispatch_due_at=t(10, 28, 11),
            dispatched_at=t(10, 28, 10),
            dispatched_by=dp,
            assigned_unit=w.u2,
            handle_due_at=t(11, 3, 17),
            handled_at=t(10, 30, 9),
            check_due_at=t(10, 30, 12),
            checked_at=t(10, 30, 13),
            checked_by=gw1,
            closed_at=t(10, 30, 14),
            closed_by=sl,
            self_handled=False,
            **closed,
        ),
        # G: hotline, shelved (挂账): out of the handling denominators.
        case(
            "G",
            east,
            channel="hotline",
            reported_at=t(10, 5, 9),
            register_due_at=t(10, 5, 10),
            registered_at=t(10, 5, 9, 40),
            registered_by=sl,
            dispatch_due_at=t(10, 5, 11),
            dispatched_at=t(10, 5, 10),
            dispatched_by=dp,
            assigned_unit=w.u1,
            handle_due_at=t(10, 15, 17),
            shelve_count=1,
            state="shelved",
        ),
        # H: worker report, cancelled (作废) after registration and dispatch.
        case(
            "H",
            west,
            channel="grid_worker",
            reporter_person=gw2,
            reported_at=t(10, 6, 9),
            register_due_at=t(10, 6, 10),
            registered_at=t(10, 6, 9, 30),
            registered_by=sl,
            dispatch_due_at=t(10, 6, 11),
            dispatched_at=t(10, 6, 10),
            dispatched_by=dp,
            assigned_unit=w.u1,
            handle_due_at=t(10, 12, 17),
            cancelled_at=t(10, 7),
            state="cancelled",
        ),
        # I: worker report rejected (不予立案).
        case(
            "I",
            east,
            channel="grid_worker",
            reporter_person=gw1,
            reported_at=t(10, 7, 9),
            register_due_at=t(10, 7, 10),
            state="rejected",
        ),
        # J: September deadline, closed in October.
        case(
            "J",
            east,
            channel="grid_worker",
            reporter_person=gw1,
            reported_at=t(9, 20, 9),
            register_due_at=t(9, 20, 10),
            registered_at=t(9, 20, 9, 30),
            registered_by=sl,
            dispatch_due_at=t(9, 20, 11),
            dispatched_at=t(9, 20, 10),
            dispatched_by=dp,
            assigned_unit=w.u2,
            handle_due_at=t(9, 28, 17),
            handled_at=t(9, 27, 9),
            check_due_at=t(10, 2, 9),
            checked_at=t(10, 2, 8),
            checked_by=gw1,
            closed_at=t(10, 2, 9),
            closed_by=sl,
            **closed,
        ),
        # K: hotline, verified late by gw2, registration overdue and still open.
        case(
            "K",
            west,
            channel="hotline",
            reported_at=t(10, 29, 9),
            verify_due_at=t(10, 29, 10),
            verified_at=t(10, 29, 10, 10),
            verified_by=gw2,
            field_worker=gw2,
            register_due_at=t(10, 29, 12),
            state="pending_register",
        ),
        # L: citizen report whose verification (gw1) is overdue and open.
        case(
            "L",
            east,
            channel="citizen_web",
            reported_at=t(10, 30, 9),
            verify_due_at=t(10, 30, 10, 30),
            field_worker=gw1,
            state="verifying",
        ),
    ]
    Case.objects.bulk_create(rows)
    c = w.cases
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case=c["B"],
                at=t(10, 3, 9, 10),
                actor_person=op,
                action="request_verify",
                role="intake_operator",
            ),
            CaseEvent(
                case=c["D"],
                at=t(10, 10, 9, 45),
                actor_person=op,
                action="request_verify",
                role="intake_operator",
            ),
            CaseEvent(
                case=c["A"], at=t(10, 4, 11), actor_person=op, action="request_check", role="intake_operator"
            ),
            CaseEvent(
                case=c["B"], at=t(10, 12, 15), actor_person=op, action="request_check", role="intake_operator"
            ),
            # September: outside the period.
            CaseEvent(
                case=c["E"],
                at=t(9, 25, 9, 5),
                actor_person=op,
                action="request_verify",
                role="intake_operator",
            ),
        ]
    )
    return w
