"""Fault tests with real processes: `manage.py serve` (gunicorn, db_worker, scheduler) against the
test database while its PostgreSQL backends are terminated, the database refuses connections for
a while, and children are killed.

PostgreSQL only (the processes share the test database, which on SQLite lives in memory). Each
test starts and stops its own `serve` (in its own session, so nothing outlives it) and waits at
most a bounded number of seconds for anything. URBANGRID_TEST_PORT picks the port (a free one
otherwise).

Two clocks: this process runs on the test clock (time-machine, see the root conftest.py), the
processes it starts run on the real one. What the tests write for them to act on lies in the past
of both (``long_ago()``), and the checks look at ids and states, never at "now". Every wait is
on an event the processes log or write, each bounded, so a loaded machine makes them slower,
not flaky.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from urbangrid.cases.models import Case, Notification
from urbangrid.lib.models import WorkerHeartbeat
from urbangrid.testing.world import report

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="fault tests need PostgreSQL"),
]

SWEEP = "urbangrid.cases.tasks.sweep_deadlines"
DB_ENDPOINT = "/open311/v2/services.json"  # anonymous, reads the catalogue
LOCAL = ZoneInfo("Asia/Shanghai")
STARTUP = 120  # seconds: a loaded CI machine starts four Django processes
# Seconds for a worker or the scheduler to notice the database is back: the back-off of
# urbangrid.lib.worker.wait_for_database is capped at 10 s, the rest is for a loaded machine.
RECONNECT = 60
HTTP_TIMEOUT = 30  # seconds for one request; a loaded machine answers slowly, not wrongly


def wall_clock() -> datetime:
    """The real time, which the subprocesses run on: time-machine moves only this process's clock."""
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.datetime.datetime.now(tz=UTC)
    return datetime.now(UTC)


def long_ago(days: int = 40) -> datetime:
    """09:00 local, ``days`` before the earlier of the test clock and the real clock: in the past
    for this process and for the subprocesses alike, so whatever falls due some weeks after it is
    due for both."""
    earlier = min(timezone.now(), wall_clock()) - timedelta(days=days)
    return earlier.astimezone(LOCAL).replace(hour=9, minute=0, second=0, microsecond=0)


def wait_until(predicate, timeout: float, what: str | Callable[[], str]) -> float:
    """Poll until ``predicate()`` is true; return the seconds it took, fail after ``timeout``.
    ``what`` may be a callable, evaluated at the failure (to show the log as it then is)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what() if callable(what) else what}")
        time.sleep(0.2)
    return time.monotonic() - start


def free_port() -> int:
    if os.environ.get("URBANGRID_TEST_PORT"):
        return int(os.environ["URBANGRID_TEST_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    d = connection.settings_dict
    return f"postgres://{d['USER']}:{d['PASSWORD'] or ''}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


@contextmanager
def admin():
    """A connection to the server's maintenance database, outside the database under test."""
    d = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        user=d["USER"],
        password=d["PASSWORD"] or None,
        host=d["HOST"] or "127.0.0.1",
        port=d["PORT"] or 5432,
        autocommit=True,
    ) as conn:
        yield conn


def terminate_backends() -> int:
    """pg_terminate_backend every connection to the test database but this test's own."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        own = cur.fetchone()[0]
    with admin() as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            [connection.settings_dict["NAME"], own],
        ).fetchone()
    return row[0]


@contextmanager
def outage():
    """The database refuses new connections and drops the existing ones (this test's survives),
    as in a restart or failover, until the block ends."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with admin() as conn:
        conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        try:
            terminate_backends()
            yield
        finally:
            conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")


class Served:
    """`manage.py serve` on the test database, its output in a file."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.log_path = tmp_path / "serve.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "URBANGRID_VAR_DIR": str(tmp_path / "var"),
            "URBANGRID_PERIODIC_MAX_INTERVAL": "1",
            "URBANGRID_WORKER_HEARTBEAT_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve", "--port", str(self.port)]
                + ["--workers", "1"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        return self.log[-chars:]

    def mark(self) -> int:
        """Where the log ends now, for ``since``."""
        return self.log_path.stat().st_size

    def since(self, mark: int) -> str:
        """What was logged after ``mark``."""
        return self.log_path.read_bytes()[mark:].decode(errors="replace")

    def pid(self, child: str) -> int | None:
        """The pid of the latest start of ``child`` (web, db_worker, scheduler)."""
        found = re.findall(rf"started {child} \(pid (\d+)\)", self.log)
        return int(found[-1]) if found else None

    def get(self, path: str = DB_ENDPOINT) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=HTTP_TIMEOUT) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0  # refused / reset: nobody serving

    def wait_ready(self) -> None:
        """The site answers and the worker has run a sweep enqueued by the scheduler."""
        wait_until(
            lambda: self.get() == 200, STARTUP, lambda: f"serve answering on {self.port}\n{self.tail()}"
        )
        wait_until(
            lambda: DBTaskResult.objects.successful().filter(task_path=SWEEP).exists(),
            STARTUP,
            lambda: f"a first sweep\n{self.tail()}",
        )

    def wait_started(self) -> float:
        """serve has collected the static files and started its three children."""
        return wait_until(
            lambda: all(self.pid(name) for name in ("web", "db_worker", "scheduler")),
            STARTUP,
            lambda: f"serve starting its children\n{self.tail()}",
        )

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return  # serve stops its children itself
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Not reaped yet, so the session (ours alone) still bears serve's pid.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def served(tx_world, tmp_path):
    srv = Served(tmp_path)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_terminated_backends_and_an_outage_stop_neither_the_site_nor_background_work(served, tx_world):
    srv = served
    children = {name: srv.pid(name) for name in ("web", "db_worker", "scheduler")}

    # Eight terminations of every backend (the web's pooled connections, the worker's, the
    # scheduler's), each followed by requests: the pooled connections are health-checked.
    answers = []
    for _ in range(8):
        assert terminate_backends() >= 1
        answers += [srv.get() for _ in range(5)]
    assert [a for a in answers if a != 200] == []

    # A restart or failover: no connection at all for a few seconds. Meanwhile a case falls due
    # (reported long ago: its deadlines have passed on the test clock and the real one alike).
    reported = long_ago()
    # A terminated backend above may already have made one of them log a reconnection.
    outage_began = srv.mark()
    with outage():
        case = report(tx_world, cls="parking", now=reported).case
        assert case.warn_at is not None and case.warn_at < reported + timedelta(days=30)
        time.sleep(3)
        assert srv.get() == 500  # the database is really gone
    took = wait_until(
        lambda: Notification.objects.filter(case=case, sent_at__isnull=False).exists(),
        60,
        lambda: f"the sweep and the notification of case {case.number}\n{srv.tail()}",
    )
    assert Case.objects.get(pk=case.pk).warned_at is not None
    print(f"worker and scheduler carried on: sweep + notification {took:.1f} s after the outage")

    # Both met the outage and came back by themselves. The worker may have run the sweep (queued
    # before the outage) while the scheduler still sleeps in its back-off, so its return is
    # waited for, not assumed to come before the notification.
    wait_until(
        lambda: (
            re.search(r"worker \S+ reconnected after", log := srv.since(outage_began))
            and "scheduler reconnected after" in log
        ),
        RECONNECT,
        lambda: f"the worker and the scheduler reconnecting\n{srv.tail()}",
    )
    # Nobody died and nobody was restarted.
    assert {name: srv.pid(name) for name in children} == children
    assert all(alive(pid) for pid in children.values())
    assert "exited with code" not in srv.log


def test_serve_restarts_a_dead_child_and_its_task_is_reclaimed(served):
    srv = served
    worker, scheduler = srv.pid("db_worker"), srv.pid("scheduler")
    worker_id = WorkerHeartbeat.objects.get(pid=worker).worker_id
    # Kill the worker as it runs a task: the row it claimed stays RUNNING under its id.
    os.kill(worker, signal.SIGKILL)
    os.kill(scheduler, signal.SIGKILL)
    claimed = long_ago()  # long before the dead worker's last heartbeat, by either clock
    orphan = DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING,
        args_kwargs={"args": [], "kwargs": {}},
        task_path=SWEEP,
        backend_name="default",
        run_after=claimed,
        started_at=claimed,
        worker_ids=[worker_id],
        exception_class_path="",
        traceback="",
    )
    assert srv.get() == 200  # the web server is not taken down with them
    before_restart = list(DBTaskResult.objects.filter(task_path=SWEEP).values_list("id", flat=True))

    wait_until(lambda: srv.pid("db_worker") != worker, 30, lambda: f"a new db_worker\n{srv.tail()}")
    wait_until(lambda: srv.pid("scheduler") != scheduler, 30, lambda: f"a new scheduler\n{srv.tail()}")
    assert srv.proc.poll() is None and srv.get() == 200
    # The new worker's heartbeat thread finds the dead worker silent and requeues its task.
    wait_until(
        lambda: DBTaskResult.objects.filter(pk=orphan.pk, status=TaskResultStatus.SUCCESSFUL).exists(),
        STARTUP,
        lambda: f"the orphaned task run again\n{srv.tail()}",
    )
    # The new scheduler enqueues (ids, not times: this process may run on a test clock).
    wait_until(
        lambda: DBTaskResult.objects.filter(task_path=SWEEP).exclude(id__in=before_restart).exists(),
        30,
        lambda: f"the new scheduler enqueuing\n{srv.tail()}",
    )


def test_background_processes_started_during_an_outage_wait_for_the_database(tx_world, tmp_path):
    srv = None
    try:
        with outage():
            srv = Served(tmp_path)
            # Starting serve (collectstatic, then three Django processes) is what a loaded machine
            # slows down; meeting the outage is then a matter of seconds. Each gets its own bound.
            started = srv.wait_started()
            met = wait_until(
                lambda: (
                    re.search(r"worker \S+ lost the database", srv.log)
                    and "scheduler lost the database" in srv.log
                ),
                STARTUP,
                lambda: f"the worker and the scheduler meeting the outage\n{srv.tail()}",
            )
        print(f"serve started its children in {started:.1f} s; both met the outage {met:.1f} s later")
        srv.wait_ready()  # a sweep enqueued by the scheduler and run by the worker
        wait_until(
            lambda: (
                re.search(r"worker \S+ reconnected after", srv.log)
                and "scheduler reconnected after" in srv.log
            ),
            RECONNECT,
            lambda: f"the worker and the scheduler reconnecting\n{srv.tail()}",
        )
        assert "exited with code" not in srv.log
        assert WorkerHeartbeat.objects.filter(pid=srv.pid("db_worker")).exists()
    finally:
        if srv is not None:
            srv.stop()
