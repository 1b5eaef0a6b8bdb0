"""Background processes that outlive a database restart or failover.

A dropped connection (terminated backend, restart, failover) surfaces as OperationalError or
InterfaceError on the next query. The task worker and the scheduler catch it, drop their
connections, wait for the database with exponential back-off and carry on; the periodic work they
run is idempotent and claim-based, so an interrupted round simply runs again.

A worker also writes a heartbeat from a thread of its own; the live workers hand tasks left
RUNNING by a worker whose heartbeat went stale (killed, machine lost) back to the queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat

log = logging.getLogger("urbangrid.worker")

DATABASE_ERRORS = (OperationalError, InterfaceError)
# A task that took its worker down this many times is failed instead of being run again.
MAX_CLAIMS = 3


def wait_for_database(first_delay: float = 0.5, max_delay: float = 10.0) -> float:
    """Drop this thread's connections and reconnect, backing off (0.5, 1, 2 … 10 s) while the
    database is unreachable. Returns the seconds spent waiting."""
    started = time.monotonic()
    delay = first_delay
    while True:
        connections.close_all()
        try:
            connections["default"].ensure_connection()
            return time.monotonic() - started
        except DATABASE_ERRORS as exc:
            log.warning("database unavailable (%s); retrying in %.1f s", str(exc).strip(), delay)
            time.sleep(delay)
            delay = min(max_delay, delay * 2)


def heartbeat_seconds() -> float:
    return cast(float, settings.URBANGRID["WORKER_HEARTBEAT_SECONDS"])


def requeue_orphans(now=None, *, stale: timedelta | None = None, dead: set[str] | None = None) -> dict:
    """Hand RUNNING tasks whose worker is gone back to the queue: those claimed by ``dead``
    workers, or (with ``stale``) by workers without a heartbeat newer than ``now - stale``.

    A task that already took MAX_CLAIMS workers down is failed instead. Each row is released by a
    conditional update on its claim (status and started_at), so a worker that finishes the task
    meanwhile, or another worker reclaiming it at the same time, wins cleanly."""
    now = now or timezone.now()
    running = DBTaskResult.objects.running()
    alive: set[str] = set()
    if stale is not None:
        cutoff = now - stale
        running = running.filter(started_at__lt=cutoff)
        alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    stats = {"requeued": 0, "failed": 0}
    for pk, worker_ids, started_at in running.values_list("id", "worker_ids", "started_at"):
        last = worker_ids[-1] if worker_ids else ""
        if (dead is not None and last not in dead) or last in alive:
            continue
        claim = DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at)
        if len(worker_ids) >= MAX_CLAIMS:
            released = claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path="urbangrid.lib.worker.WorkerLost",
                traceback=f"the worker running this task was lost {len(worker_ids)} times: {worker_ids}",
            )
            kind = "failed"
        else:
            released = claim.update(status=TaskResultStatus.READY, started_at=None)
            kind = "requeued"
        if released:
            stats[kind] += 1
            log.warning("task %s of lost worker %s %s", pk, last or "?", kind)
    return stats


def beat(worker_id: str, now=None) -> None:
    """Record that ``worker_id`` is alive, then release what dead workers left RUNNING."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id, defaults={"host": socket.gethostname()[:255], "pid": os.getpid(), "seen_at": now}
    )
    requeue_orphans(now, stale=timedelta(seconds=6 * heartbeat_seconds()))
    # Heartbeats of workers gone for a day are of no use to anyone.
    WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()


class _Heartbeat(threading.Thread):
    """Beats while the process lives, including while the main thread runs a long task."""

    def __init__(self, worker_id: str):
        super().__init__(name="heartbeat", daemon=True)
        self.worker_id = worker_id

    def run(self) -> None:
        while True:
            try:
                beat(self.worker_id)
            except DATABASE_ERRORS as exc:
                log.warning("heartbeat of worker %s failed: %s", self.worker_id, str(exc).strip())
            except Exception:
                # Never die silently: a worker without heartbeat would have its tasks taken away.
                log.exception("heartbeat of worker %s failed", self.worker_id)
            finally:
                # This thread's own connection: a fresh one each beat survives any outage.
                connections.close_all()
            time.sleep(heartbeat_seconds())


class ResilientWorker(Worker):
    """django-tasks-db's worker, kept alive through a lost database connection."""

    def run(self) -> None:
        heartbeat = None
        while True:
            try:
                if heartbeat is None:
                    beat(self.worker_id)  # before the first claim, so nobody takes this worker for dead
                    heartbeat = _Heartbeat(self.worker_id)
                    heartbeat.start()
                else:
                    # Back after a lost connection, this worker runs nothing: a task it had
                    # claimed goes back to the queue.
                    requeue_orphans(dead={self.worker_id})
                return super().run()
            except DATABASE_ERRORS as exc:
                log.warning(
                    "worker %s lost the database (%s); reconnecting", self.worker_id, str(exc).strip()
                )
            waited = wait_for_database()
            log.warning("worker %s reconnected after %.1f s; carrying on", self.worker_id, waited)
            self.startup_delay = False
