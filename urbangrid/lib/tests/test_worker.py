"""Tasks left RUNNING by a lost task worker go back to the queue (or fail after MAX_CLAIMS lost
workers); tasks of live workers are left alone. The fault tests with real processes are in
urbangrid/cases/tests/test_faults.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from urbangrid.lib.models import WorkerHeartbeat
from urbangrid.lib.worker import MAX_CLAIMS, beat, requeue_orphans

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
STALE = timedelta(seconds=60)


def running(worker_ids, started_at):
    return DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="urbangrid.cases.tasks.sweep_deadlines",
        backend_name="default",
        run_after=get_date_max(),
        started_at=started_at,
        worker_ids=worker_ids,
        exception_class_path="",
        traceback="",
    )


def seen(worker_id, at):
    WorkerHeartbeat.objects.create(worker_id=worker_id, host="h", pid=1, seen_at=at)


def status(row):
    row.refresh_from_db()
    return row.status


def test_tasks_of_a_lost_worker_are_requeued_and_live_ones_kept():
    now = T0 + timedelta(minutes=5)
    seen("killed", T0)
    seen("alive", now - timedelta(seconds=30))
    orphan = running(["killed"], T0)
    never_beat = running(["old-style"], T0)  # a worker without heartbeats (before this change)
    busy = running(["alive"], T0)
    just_claimed = running(["starting"], now - timedelta(seconds=10))  # its first beat may be pending
    cursed = running([f"w{i}" for i in range(MAX_CLAIMS)], T0)  # took MAX_CLAIMS workers down

    assert requeue_orphans(now, stale=STALE) == {"requeued": 2, "failed": 1}

    assert status(orphan) == status(never_beat) == TaskResultStatus.READY
    assert orphan.started_at is None and orphan.worker_ids == ["killed"]
    # READY again means a worker will pick it up: the library's own queue query sees it.
    assert set(DBTaskResult.objects.ready().values_list("id", flat=True)) == {orphan.id, never_beat.id}
    assert status(busy) == status(just_claimed) == TaskResultStatus.RUNNING
    assert status(cursed) == TaskResultStatus.FAILED and "lost 3 times" in cursed.traceback
    # Nothing left to do: a second reclaimer at the same moment changes nothing.
    assert requeue_orphans(now, stale=STALE) == {"requeued": 0, "failed": 0}


def test_a_reconnected_worker_releases_only_its_own_claim():
    mine = running(["me"], T0)
    other = running(["other"], T0)
    assert requeue_orphans(T0, dead={"me"}) == {"requeued": 1, "failed": 0}
    assert status(mine) == TaskResultStatus.READY and status(other) == TaskResultStatus.RUNNING


def test_a_finished_task_is_not_reclaimed():
    # The claim changed between the scan and the release (the worker finished it): no update.
    row = running(["slow"], T0)
    DBTaskResult.objects.filter(pk=row.pk).update(status=TaskResultStatus.SUCCESSFUL)
    assert requeue_orphans(T0 + timedelta(hours=1), stale=STALE) == {"requeued": 0, "failed": 0}
    assert status(row) == TaskResultStatus.SUCCESSFUL


def test_beat_records_life_reclaims_and_prunes(settings):
    settings.URBANGRID = {**settings.URBANGRID, "WORKER_HEARTBEAT_SECONDS": 10}
    now = T0 + timedelta(days=2)
    seen("gone-long-ago", T0)
    orphan = running(["gone-long-ago"], T0)
    beat("me", now)
    hb = WorkerHeartbeat.objects.get()
    assert (hb.worker_id, hb.seen_at) == ("me", now)
    assert status(orphan) == TaskResultStatus.READY
    beat("me", now + timedelta(seconds=10))
    assert WorkerHeartbeat.objects.get().seen_at == now + timedelta(seconds=10)
