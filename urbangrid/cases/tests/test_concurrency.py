"""Races decided by the database: two dispatchers, two sweepers, two retries of one report.

Each test runs the contenders in threads, i.e. on separate database connections, released at the
same moment by a barrier. On PostgreSQL they really overlap (row locks, READ COMMITTED re-checks);
on SQLite writers are serialised (BEGIN IMMEDIATE), and a contender that finds the database busy
retries, as a worker would.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import OperationalError, connection, connections

from urbangrid.cases import actions as A
from urbangrid.cases import tasks
from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.cases.models import Attachment, Case, CaseEvent, CaseTask, Report
from urbangrid.lib.errors import Conflict
from urbangrid.testing.world import jpeg, report

TZ = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db(transaction=True)


def race(*fns):
    """Run fns in threads released together; returns their results or exceptions."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait(5)
            for attempt in range(50):
                try:
                    results[i] = fn()
                    break
                except OperationalError as exc:  # SQLite: "database is locked" → retry like a worker
                    if connection.vendor != "sqlite" or attempt == 49:
                        raise
                    time.sleep(0.02)
                    del exc
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_dispatchers_one_wins(tx_world):
    w = tx_world
    case = report(w).case
    A.do_register(w.user("sam"), case)

    def dispatch(who, unit, reason):
        def go():
            c = Case.objects.select_related("problem_class").get(pk=case.pk)
            return A.do_dispatch(w.user(who), c, unit=unit, reason=reason)

        return go

    out = race(dispatch("dan", w.units["A"], ""), dispatch("dora", w.units["brigade"], "大队负责"))
    wins = [r for r in out if isinstance(r, Case)]
    conflicts = [r for r in out if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, out
    c = Case.objects.get(pk=case.pk)
    assert c.state == "pending_handle" and c.version == 3
    assert CaseEvent.objects.filter(case=c, action="dispatch").count() == 1
    assert CaseTask.objects.filter(case=c).count() == 1
    assert CaseTask.objects.get(case=c).unit_id == c.assigned_unit_id


def test_sweep_twice_concurrently_warns_and_escalates_once(tx_world):
    w = tx_world
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
    cases = []
    for i in range(6):
        c = report(
            w,
            cls="parking",
            point=(w.A[0] + i * 0.001, w.A[1]),
            now=t0,
            extra={"force_new": True, "class_kind": "event"},
        ).case
        A.do_register(w.user("sam"), c, now=t0)
        A.do_dispatch(w.user("dan"), c, now=t0)
        cases.append(c)
    later = t0 + timedelta(days=3)
    out = race(lambda: tasks.sweep(now=later), lambda: tasks.sweep(now=later))
    assert all(isinstance(r, dict) for r in out), out
    assert sum(r["warned"] for r in out) == 6
    assert sum(r["overdue"] for r in out) == 6
    assert sum(r["escalated"] for r in out) == 6
    for c in cases:
        assert CaseEvent.objects.filter(case=c, action="escalate").count() == 1
        assert Case.objects.get(pk=c.pk).escalation_count == 1


def test_concurrent_retries_make_one_case_and_one_photo(tx_world):
    w = tx_world
    data = IntakeData(
        channel="grid_worker",
        description="占道经营",
        lon=w.A[0],
        lat=w.A[1],
        class_code=w.classes["stall"].code,
        photos=[jpeg()],
        extra={"class_kind": "event"},
    )

    def submit():
        return do_intake(w.user("grace"), data, request_id="same-request")

    out = race(submit, submit, submit)
    assert all(not isinstance(r, Exception) for r in out), out
    assert len({r.case.pk for r in out}) == 1
    assert Case.objects.count() == 1 and Report.objects.count() == 1 and Attachment.objects.count() == 1
    assert sum(1 for r in out if r.created) == 1


def test_case_numbers_unique_under_concurrency(tx_world):
    w = tx_world

    def submit(i):
        return lambda: (
            report(
                w, point=(w.A[0] + i * 0.0009, w.A[1]), extra={"force_new": True, "class_kind": "event"}
            ).case.number
        )

    out = race(*(submit(i) for i in range(4)))
    assert all(isinstance(r, str) for r in out), out
    # Each reporter is told its own number, and the day's numbers have no gap.
    serials = sorted(int(n[8:]) for n in out)
    assert serials == list(range(serials[0], serials[0] + 4))
    assert set(out) == set(Case.objects.values_list("number", flat=True))
