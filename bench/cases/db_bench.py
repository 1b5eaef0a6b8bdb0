"""Deadline sweep and dispatcher case list over the benchmark database (DATABASE_URL).

Sweep: first brings the database to steady state (every deadline already past is marked warned /
overdue, as earlier sweeps would have done), then times
  - idle sweeps (nothing newly due: the cost paid every minute),
  - the peak minute of a city of this size (PEAK_WARNINGS warnings + PEAK_OVERDUE overdue, see below),
  - busy sweeps: K open cases are given deadlines that passed a minute ago (K warnings + K overdue,
    each overdue handling case escalated through do_escalate, with notifications),
against a BASELINE in the same run: counting the open cases (one indexed query).
List: a district dispatcher's first page (50) with several filter sets, p50/p95 over R repetitions,
against a BASELINE of the same page for the whole city without filters.
Prints JSON lines.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import timedelta


def setup_django():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")
    import django

    django.setup()


BUSY_SIZES = tuple(int(x) for x in os.environ.get("BUSY_SIZES", "100,1000").split(","))
# The busiest minute a city of this size sees: 1,000,000 cases a year over 250 working days of
# 8 hours is ~8.3 new cases a minute; with ~6 step deadlines per case, if half of the steps reach
# their warning point and a tenth run late, a sweep claims ~25 warnings and ~5 overdue cases.
PEAK_WARNINGS, PEAK_OVERDUE = 25, 5


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return {
        "n": reps,
        "p50_ms": round(statistics.median(out), 2),
        "p95_ms": round(out[int(0.95 * (len(out) - 1))], 2),
        "max_ms": round(out[-1], 2),
    }


def main():
    setup_django()
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from urbangrid.cases import tasks
    from urbangrid.cases.api import CaseRow, case_page
    from urbangrid.cases.choices import OPEN_STATES
    from urbangrid.cases.filters import CaseFilter
    from urbangrid.cases.models import Case, Notification
    from urbangrid.orgs.models import RoleAssignment

    total = Case.objects.count()
    open_n = Case.objects.filter(state__in=OPEN_STATES).count()
    print(json.dumps({"cases": total, "open": open_n, "vendor": connection.vendor}), flush=True)
    now = timezone.now()
    # Steady state: what earlier sweeps would already have claimed.
    Case.objects.filter(warned_at__isnull=True, warn_at__lte=now).update(warned_at=F("warn_at"))
    Case.objects.filter(overdue_at__isnull=True, due_at__lte=now).update(overdue_at=F("due_at"))
    # Those mass updates leave dead entries in the sweeper's partial indexes; in a running city the
    # sweep touches a few dozen rows a minute and autovacuum keeps up, so vacuum as it would have.
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("VACUUM ANALYZE cases_case")

    baseline = timed(lambda: Case.objects.filter(state__in=OPEN_STATES).count(), 20)
    print(json.dumps({"bench": "baseline_count_open", **baseline}), flush=True)
    idle = timed(lambda: tasks.sweep(now=timezone.now()), 20)
    print(json.dumps({"bench": "sweep_idle", **idle}), flush=True)

    def sweeps(reps, n, make_due):
        """Sweep ``reps`` times after ``make_due(ids, now)`` gave n random handling cases deadlines
        that just passed; the sorted times (ms) and the last sweep's counts."""
        runs = []
        for _rep in range(reps):
            t = timezone.now()
            ids = list(
                Case.objects.filter(state="handling", escalation_count=0)
                .order_by("?")
                .values_list("id", flat=True)[:n]
            )
            make_due(ids, t)
            t0 = time.perf_counter()
            stats = tasks.sweep(now=t)
            runs.append(((time.perf_counter() - t0) * 1000, stats))
        return sorted(r[0] for r in runs), runs[-1][1]

    def peak_minute(ids, t):
        warn_only, late = ids[:PEAK_WARNINGS], ids[PEAK_WARNINGS:]
        Case.objects.filter(id__in=warn_only).update(
            warn_at=t - timedelta(minutes=1), due_at=t + timedelta(hours=2), warned_at=None, overdue_at=None
        )
        Case.objects.filter(id__in=late).update(
            warn_at=t - timedelta(hours=1),
            warned_at=t - timedelta(hours=1),
            due_at=t - timedelta(minutes=1),
            overdue_at=None,
        )

    def all_late(ids, t):
        Case.objects.filter(id__in=ids).update(
            warn_at=t - timedelta(minutes=2), due_at=t - timedelta(minutes=1), warned_at=None, overdue_at=None
        )

    ms, last = sweeps(5, PEAK_WARNINGS + PEAK_OVERDUE, peak_minute)
    print(
        json.dumps(
            {
                "bench": f"sweep_peak_minute_{PEAK_WARNINGS}w_{PEAK_OVERDUE}o",
                "runs_ms": [round(x, 1) for x in ms],
                "p50_ms": round(statistics.median(ms), 1),
                "last_stats": last,
            }
        ),
        flush=True,
    )
    for k in BUSY_SIZES:
        ms, last = sweeps(3, k, all_late)
        print(
            json.dumps(
                {
                    "bench": f"sweep_busy_{k}",
                    "runs_ms": [round(x, 1) for x in ms],
                    "per_case_ms": round(ms[1] / k, 2),
                    "last_stats": last,
                }
            ),
            flush=True,
        )
    Notification.objects.filter(kind__in=["warning", "overdue", "escalate"], sent_at__isnull=True).update(
        sent_at=timezone.now(), next_attempt_at=None
    )

    # Case list: a district dispatcher (area role over the district) vs the whole city unfiltered.
    from django.contrib.auth import get_user_model

    ra = (
        RoleAssignment.objects.filter(role="dispatcher", region__level=2)
        .select_related("person__user")
        .first()
    )
    if ra is None:
        from urbangrid.geo.models import Region
        from urbangrid.orgs.models import Person

        p = Person.objects.filter(roles__role="dispatcher").first()
        ra = RoleAssignment.objects.create(
            person=p, role="dispatcher", region=Region.objects.filter(level=2).first()
        )
        ra = RoleAssignment.objects.select_related("person__user").get(pk=ra.pk)
    user = ra.person.user
    admin = get_user_model().objects.filter(is_superuser=True).first()
    street = ra.region.children.order_by("code").first()

    def page(u, **f):
        rows, _ = case_page(u, limit=50, filters=CaseFilter(**f))
        return [CaseRow.from_orm(c).model_dump() for c in rows]

    print(
        json.dumps({"bench": "list_baseline_city_unfiltered", **timed(lambda: page(admin), 30)}), flush=True
    )
    filters = {
        "first_page": {},
        "open": {"state": "open"},
        "street_open": {"state": "open", "area": street.code if street else None},
        "overdue": {"overdue": True},
        "handling_text": {"state": "handling", "q": "占道"},
    }
    first_cursor = case_page(user, limit=50)[1]
    for name, f in filters.items():
        print(
            json.dumps(
                {"bench": f"list_district_dispatcher_{name}", **timed(lambda f=f: page(user, **f), 30)}
            ),
            flush=True,
        )
    print(
        json.dumps(
            {
                "bench": "list_district_dispatcher_page2",
                **timed(lambda: case_page(user, limit=50, cursor=first_cursor), 30),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
