"""Duplicates, idempotent retries, deadline arithmetic across holidays, the sweep, notification
retries, and each role's allowed actions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from urbangrid.cases import actions as A
from urbangrid.cases import deadlines, tasks
from urbangrid.cases.choices import CaseState
from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.cases.models import Attachment, Case, CaseEvent, Notification, Report
from urbangrid.cases.workflow import TRANSITIONS, allowed_actions
from urbangrid.testing.world import jpeg, photo, report

pytestmark = pytest.mark.clock

TZ = ZoneInfo("Asia/Shanghai")


def local(*a):
    return datetime(*a, tzinfo=TZ)


def fresh(case):
    return Case.objects.select_related("problem_class").get(pk=case.pk)


# --- duplicates ----------------------------------------------------------------------------------
def test_duplicate_linked_within_distance_and_window(world):
    w = world
    t0 = local(2026, 11, 2, 10, 0)
    first = report(w, now=t0).case
    # ~20 m east, same class, an hour later, from a citizen: linked, not a new case.
    r = report(
        w,
        who="carl",
        channel="citizen_web",
        point=(w.A[0] + 0.0002, w.A[1]),
        now=t0 + timedelta(hours=1),
        reporter_phone="13900001111",
    )
    assert not r.created and r.duplicate_of.pk == first.pk
    assert fresh(first).report_count == 2
    assert Report.objects.filter(case=first, opened_case=False).count() == 1
    assert CaseEvent.objects.filter(case=first, action="link_report").count() == 1
    assert Notification.objects.filter(to_phone="13900001111", kind="duplicate").count() == 1
    # Another class of the same major class is another problem: a new case.
    r = report(
        w,
        who="carl",
        channel="citizen_web",
        cls="parking",
        point=(w.A[0], w.A[1] + 0.0001),
        now=t0 + timedelta(hours=2),
    )
    assert r.created and r.duplicate_of is None


def test_duplicate_across_a_grid_boundary(world):
    # The search looks in every grid near the point, not only in the report's own grid.
    w = world
    t0 = local(2026, 11, 2, 10, 0)
    first = report(w, point=(100.0049, 20.0025), now=t0).case
    r = report(w, who="carl", channel="citizen_web", point=(100.0051, 20.0025), now=t0 + timedelta(minutes=5))
    assert first.grid_code == w.grids["A1"].code and r.report.payload["distance_m"] < 25
    assert not r.created and r.duplicate_of.pk == first.pk


def test_reports_without_class_meet_on_the_suggested_class(world):
    # Two citizens describe the same stall without choosing a class: the first case has only the
    # classifier's suggestion until it is registered; the second report is still counted on it.
    w = world
    t0 = local(2026, 11, 2, 10, 0)
    first = report(w, who="carl", channel="citizen_web", cls=None, now=t0)
    assert first.created and first.case.problem_class_id is None and first.case.suggested_class_id
    again = report(w, who="carl", channel="citizen_web", cls=None, point=(w.A[0] + 0.0001, w.A[1]), now=t0)
    assert not again.created and again.duplicate_of.pk == first.case.pk


def test_not_duplicate_when_far_late_or_unrelated(world):
    w = world
    t0 = local(2026, 11, 2, 10, 0)
    first = report(w, now=t0).case
    assert report(w, point=(w.A[0] + 0.0008, w.A[1]), now=t0).created  # ~84 m away
    assert report(w, now=t0 + timedelta(hours=73)).created  # outside the 72 h window
    assert report(w, cls="building", now=t0).created  # another major class
    assert fresh(first).report_count == 1


def test_report_at_a_recently_closed_case_opens_a_new_case_following_it(world):
    w = world
    t0 = local(2026, 11, 2, 10, 0)
    case = report(w, now=t0).case
    A.do_self_handle(
        w.user("grace"),
        case,
        response="persuade",
        photos_before=photo(),
        photos_after=photo((0, 0, 9)),
        now=t0,
    )
    A.do_close(w.user("sam"), case, now=t0 + timedelta(minutes=5))
    r = report(w, who="carl", channel="citizen_web", now=t0 + timedelta(hours=3))
    assert r.created and r.duplicate_of is None and r.case.follows_id == case.pk
    assert case.number in r.message and fresh(case).state == "closed"


# --- idempotency ---------------------------------------------------------------------------------
def test_retry_returns_first_result_and_adds_no_photo(world):
    w = world
    data = IntakeData(
        channel="grid_worker",
        description="占道经营",
        lon=w.A[0],
        lat=w.A[1],
        class_code=w.classes["stall"].code,
        photos=[jpeg()],
        extra={"class_kind": "event"},
    )
    r1 = do_intake(w.user("grace"), data, request_id="abc")
    r2 = do_intake(w.user("grace"), data, request_id="abc")
    assert r1.case.pk == r2.case.pk and r2.replayed and not r2.created
    assert Case.objects.filter(pk=r1.case.pk).count() == 1
    assert (
        Report.objects.filter(request_id="abc").count() == 1
        and Attachment.objects.filter(case=r1.case).count() == 1
    )
    # Another client may use the same request id for its own report.
    # (a staff report near an open case of its class says which case it belongs to)
    data.extra["link_to"] = r1.case.number
    r3 = do_intake(w.user("grace"), data, client_key="device-2", request_id="abc")
    assert r3.report.pk != r1.report.pk


def test_bad_input_changes_nothing(world):
    w = world
    before = (Case.objects.count(), Report.objects.count(), Attachment.objects.count())
    from urbangrid.lib.errors import InvalidInput

    for bad in (
        dict(lon=None),
        dict(lon=500.0),
        dict(crs="mercator"),
        dict(photos=[b"GIF89a-not-really"]),
        dict(reporter_phone="call me"),
        dict(class_code="nope"),
    ):
        kw = dict(
            channel="grid_worker",
            description="占道",
            lon=w.A[0],
            lat=w.A[1],
            class_code=w.classes["stall"].code,
            extra={"class_kind": "event"},
        )
        kw.update(bad)
        with pytest.raises(InvalidInput):
            do_intake(w.user("grace"), IntakeData(**kw), request_id=f"bad-{len(kw)}-{list(bad)[0]}")
    assert (Case.objects.count(), Report.objects.count(), Attachment.objects.count()) == before


def test_oversized_upload_refused(world, settings):
    settings.URBANGRID = {**settings.URBANGRID, "UPLOAD_MAX_BYTES": 100}
    from urbangrid.lib.errors import InvalidInput

    with pytest.raises(InvalidInput):
        report(world, photos=[jpeg(size=(200, 200))])


def test_exif_stripped_and_orientation_applied(world):
    import io

    from PIL import Image

    from urbangrid.cases.attachments import normalise_image

    im = Image.new("RGB", (40, 20), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    exif[0x010F] = "SecretCam"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    out, w_, h_ = normalise_image(buf.getvalue())
    again = Image.open(io.BytesIO(out))
    assert (w_, h_) == (20, 40) and not again.getexif()


# --- deadlines -----------------------------------------------------------------------------------
@pytest.fixture
def holidays(db):
    from urbangrid.catalog.models import CalendarDay

    rows = {date(2026, 10, d): False for d in range(1, 9)}  # National Day week (Thu 1 – Thu 8)
    rows[date(2026, 9, 27)] = True  # Sunday make-up working day
    rows[date(2026, 10, 10)] = True  # Saturday make-up working day
    for d, working in rows.items():
        CalendarDay.objects.update_or_create(date=d, defaults={"is_working": working, "note": "test"})
    _drop_calendar_cache()
    yield
    _drop_calendar_cache()


def _drop_calendar_cache():
    try:
        from urbangrid.catalog.calendar import invalidate_calendar

        invalidate_calendar()
    except ImportError:
        pass


def test_working_hour_steps_skip_the_holiday(holidays):
    start = local(2026, 9, 30, 17, 0)  # Wednesday, 30 minutes before the end of the day
    d = deadlines.step_deadline("dispatch", start)
    assert d.due_at == local(2026, 10, 9, 9, 0)  # 0.5 h on the 30th, 0.5 h on Friday 9 October
    assert d.warn_at == local(2026, 10, 9, 8, 48)  # 80% of the hour
    # Verification counts calendar minutes, holiday or not.
    v = deadlines.step_deadline("verify", local(2026, 10, 3, 11, 50))
    assert v.due_at == local(2026, 10, 3, 12, 20) and v.warn_at == local(2026, 10, 3, 12, 14)


def test_make_up_working_day_counts(holidays):
    d = deadlines.step_deadline("register", local(2026, 9, 26, 18, 0))  # Saturday evening
    assert d.due_at == local(2026, 9, 27, 9, 30)  # the make-up Sunday


def test_handling_days_across_the_holiday(world, holidays):
    stall = world.classes["stall"]  # 1 working day
    d = deadlines.step_deadline("handle", local(2026, 9, 30, 16, 0), stall)
    assert d.due_at == local(2026, 10, 9, 16, 0)
    assert local(2026, 10, 9, 8, 30) < d.warn_at < d.due_at
    building = world.classes["building"]  # 15 working days, Saturday 10 October works
    d = deadlines.step_deadline("handle", local(2026, 9, 30, 10, 0), building)
    # Working days after 30 Sep: 9, 10 (Sat), 12–16, 19–23, 26, 27, 28 → the 15th is 28 October.
    assert d.due_at == local(2026, 10, 28, 10, 0)


def test_action_columns_follow_the_step(world, holidays):
    w = world
    t = local(2026, 9, 30, 17, 0)
    case = report(w, now=t).case
    assert case.deadline_step == "register" and case.register_due_at == local(2026, 10, 9, 9, 0)
    A.do_register(w.user("sam"), case, now=t + timedelta(minutes=10))
    assert case.deadline_step == "dispatch" and case.dispatch_due_at == case.due_at
    A.do_dispatch(w.user("dan"), case, now=local(2026, 10, 9, 9, 0))
    assert case.deadline_step == "accept" and case.accept_due_at == local(2026, 10, 9, 10, 0)
    assert case.handle_due_at == local(2026, 10, 10, 9, 0)  # 1 working day; Saturday the 10th works


# --- sweep ---------------------------------------------------------------------------------------
def test_sweep_warns_once_marks_overdue_once_and_escalates(world):
    w = world
    t0 = local(2026, 11, 2, 9, 0)  # Monday
    case = report(w, cls="parking", now=t0).case  # 4 working hours
    A.do_register(w.user("sam"), case, now=t0)
    A.do_dispatch(w.user("dan"), case, now=t0)
    A.do_accept(w.user("hank"), case, now=t0 + timedelta(minutes=10))
    case = fresh(case)
    # 4 working hours from dispatch at 9:00: 3 h in the morning, 1 h after 14:00.
    assert case.due_at == local(2026, 11, 2, 15, 0) and case.warn_at == local(2026, 11, 2, 14, 12)
    assert tasks.sweep(now=local(2026, 11, 2, 11, 0)) == {"warned": 0, "overdue": 0, "escalated": 0}
    assert tasks.sweep(now=local(2026, 11, 2, 14, 15)) == {"warned": 1, "overdue": 0, "escalated": 0}
    assert tasks.sweep(now=local(2026, 11, 2, 14, 20))["warned"] == 0
    assert tasks.sweep(now=local(2026, 11, 2, 15, 5)) == {"warned": 0, "overdue": 1, "escalated": 1}
    assert tasks.sweep(now=local(2026, 11, 2, 16, 0)) == {"warned": 0, "overdue": 0, "escalated": 0}
    case = fresh(case)
    assert case.tier == "district" and case.escalation_count == 1 and case.overdue_at is not None
    ev = CaseEvent.objects.get(case=case, action="escalate")
    assert ev.role == "system" and ev.payload["auto"] is True
    assert Notification.objects.filter(case=case, kind="overdue").exists()
    assert Notification.objects.filter(case=case, kind="warning").exists()


def test_class_without_escalation_is_only_notified(world):
    w = world
    w.classes["parking"].escalate_after_overdue = False
    w.classes["parking"].save()
    t0 = local(2026, 11, 2, 9, 0)
    case = report(w, cls="parking", now=t0).case
    A.do_register(w.user("sam"), case, now=t0)
    A.do_dispatch(w.user("dan"), case, now=t0)
    assert tasks.sweep(now=local(2026, 11, 5, 9, 0))["escalated"] == 0
    assert fresh(case).escalation_count == 0


# --- notifications -------------------------------------------------------------------------------
def test_notifications_hold_only_while_their_condition_does(world):
    """A deadline alert or a request to act is withdrawn (read, never sent) once the case moves
    on; news (the outcome) stays."""
    from urbangrid.cases.choices import ApplicationKind

    w = world
    t0 = local(2026, 11, 2, 9, 0)  # Monday
    case = report(w, cls="parking", now=t0).case
    assert case.state == CaseState.PENDING_REGISTER
    t1 = local(2026, 11, 3, 9, 0)
    assert tasks.sweep(now=t1)["overdue"] == 1
    sl_alerts = Notification.objects.filter(
        case=case, recipient=w.persons["sam"], kind__in=["warning", "overdue"]
    )
    assert sl_alerts.count() == 2 and not sl_alerts.filter(read_at__isnull=False).exists()

    t2 = t1 + timedelta(minutes=5)
    A.do_register(w.user("sam"), case, now=t2)
    # Registered: the register alerts no longer hold, and the outbound channel never sends them.
    assert set(sl_alerts.values_list("read_at", flat=True)) == {t2}
    backend = Flaky(0)
    tasks.deliver(now=t2, backend=backend)
    assert not set(backend.sent) & set(sl_alerts.values_list("id", flat=True))
    assert set(sl_alerts.values_list("sent_at", "next_attempt_at")) == {(None, None)}

    A.do_dispatch(w.user("dan"), case, now=t2)
    A.do_accept(w.user("hank"), case, now=t2)
    handle_warn = fresh(case).warn_at
    assert tasks.sweep(now=handle_warn)["warned"] == 1
    warning = Notification.objects.get(case=case, kind="warning", recipient=w.persons["dan"], read_at=None)
    A.do_apply(
        w.user("hank"), case, ApplicationKind.POSTPONE, reason="等材料", extra_hours=8, now=handle_warn
    )
    ask = Notification.objects.get(case=case, kind="apply_postpone", recipient=w.persons["dan"])
    (app,) = case.applications.all()
    t3 = handle_warn + timedelta(minutes=1)
    A.do_decide_application(w.user("dan"), app, approved=True, now=t3)
    # Decided, and the deadline it warned about moved: neither line holds any more.
    warning.refresh_from_db()
    ask.refresh_from_db()
    assert warning.read_at == t3 and ask.read_at == t3

    case = fresh(case)
    t4 = t3 + timedelta(hours=1)
    A.do_report_back(
        w.user("hank"),
        case,
        response="persuade",
        report="已劝离",
        photos_before=photo((1, 2, 3)),
        photos_after=photo((3, 2, 1)),
        now=t4,
    )
    send_check = Notification.objects.get(case=case, kind="report_back", recipient=w.persons["olivia"])
    assert send_check.read_at is None
    A.do_request_check(w.user("olivia"), case, now=t4)
    send_check.refresh_from_db()
    assert send_check.read_at == t4
    A.do_check(w.user("grace"), case, passed=True, photos=photo((9, 9, 9)), now=t4)
    A.do_close(w.user("sam"), case, now=t4)
    assert fresh(case).state == CaseState.CLOSED
    # Nothing about the closed case waits in anyone's inbox but news: the decision, the outcome.
    unread = Notification.objects.filter(case=case, read_at__isnull=True, recipient__isnull=False)
    assert set(unread.values_list("kind", flat=True)) <= {"decided_postpone", "outcome"}


class Flaky:
    def __init__(self, failures):
        self.failures = failures
        self.sent = []

    def send(self, n):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("gateway down")
        self.sent.append(n.pk)


def test_notification_retried_with_backoff_then_sent_once(world):
    from urbangrid.cases.notify import notify

    t0 = local(2026, 11, 2, 9, 0)
    (n,) = notify(world.persons["hank"], "test", "hello", now=t0)
    backend = Flaky(2)
    assert tasks.deliver(now=t0, backend=backend) == {"sent": 0, "failed": 1, "gave_up": 0}
    n.refresh_from_db()
    assert n.send_attempts == 1 and n.next_attempt_at == t0 + timedelta(minutes=1) and "down" in n.last_error
    assert tasks.deliver(now=t0 + timedelta(seconds=30), backend=backend)["failed"] == 0  # not due yet
    assert tasks.deliver(now=t0 + timedelta(minutes=1), backend=backend)["failed"] == 1
    n.refresh_from_db()
    assert n.next_attempt_at == t0 + timedelta(minutes=3)
    assert tasks.deliver(now=t0 + timedelta(minutes=3), backend=backend)["sent"] == 1
    assert tasks.deliver(now=t0 + timedelta(hours=3), backend=backend)["sent"] == 0
    n.refresh_from_db()
    assert n.sent_at is not None and backend.sent == [n.pk]


def test_webhook_backend_posts_json(world, settings):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.handle_request, daemon=True)
    th.start()
    settings.URBANGRID = {
        **settings.URBANGRID,
        "NOTIFY_BACKEND": "webhook",
        "NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{srv.server_port}/hook",
    }
    from urbangrid.cases.notify import notify

    notify(world.persons["hank"], "test", "你好")
    assert tasks.deliver()["sent"] == 1
    th.join(5)
    srv.server_close()
    assert got and got[0]["title"] == "你好"


# --- roles ---------------------------------------------------------------------------------------
ROLE_USERS = {
    "grid_worker": "grace",
    "intake_operator": "olivia",
    "shift_leader": "sam",
    "dispatcher": "dan",
    "unit_handler": "hank",
    "district_leader": "diana",
}


def test_each_role_sees_exactly_its_table_actions(world):
    """For a case in each reachable state, allowed_actions ⊆ the table's actions for the user's role."""
    w = world
    case = report(w).case
    A.do_register(w.user("sam"), case)
    A.do_dispatch(w.user("dan"), case)
    for role, who in ROLE_USERS.items():
        allowed = set(allowed_actions(fresh(case), w.user(who)))
        table = {a for (s, a), tr in TRANSITIONS.items() if s == case.state and role in tr.roles}
        assert allowed <= table, (role, allowed - table)
    assert set(allowed_actions(fresh(case), w.user("hank"))) == {"accept", "apply_return", "apply_cancel"}
    assert set(allowed_actions(fresh(case), w.user("dan"))) == {"apply_cancel", "supervise", "escalate"}
    assert set(allowed_actions(fresh(case), w.user("grace"))) == {"apply_cancel"}
    assert set(allowed_actions(fresh(case), w.user("sam"))) == {
        "decide_cancel",
        "cancel",
        "supervise",
        "escalate",
    } - {"decide_cancel"}


def test_forbidden_role_gets_403_and_nothing_changes(world):
    from urbangrid.lib.errors import PermissionDenied

    w = world
    case = report(w).case
    for who in ("grace", "olivia", "dan", "diana"):
        with pytest.raises(PermissionDenied):
            A.do_register(w.user(who), fresh(case))
    assert fresh(case).version == 1
    assert CaseState(fresh(case).state) == CaseState.PENDING_REGISTER


def test_one_delivery_run_per_transaction_however_many_notifications(world, settings):
    from django.db import transaction

    from urbangrid.cases import notify

    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": True}
    people = [world.persons["grace"], world.persons["sam"]]
    with transaction.atomic():
        conn = transaction.get_connection()
        before = len(conn.run_on_commit)
        for i in range(3):
            notify.notify(people, "warning", f"title {i}")
        kicks = [e for e in conn.run_on_commit[before:] if e[1] is notify._kick_delivery]
        assert len(kicks) == 1
        transaction.set_rollback(True)
