"""Serve the platform for a demo or a small site: the web server plus the task worker and the
scheduler that enqueues periodic work (deadline sweeps), all stopped together with Ctrl-C.

`serve` supervises its children: one that exits is started again (after a back-off that grows
while it keeps dying young), so a crashed worker never takes the web server down with it.
"""

import logging
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from urbangrid.lib.deploy import refuse_demo_key

log = logging.getLogger("urbangrid.serve")

# A child that ran this long before exiting is restarted at once; one dying younger waits
# 1, 2, 4 … up to MAX_BACKOFF seconds, so a crash loop does not spin.
HEALTHY_AFTER = 30.0
MAX_BACKOFF = 30.0


class Child:
    """One supervised process: its command line, the running process and its restart back-off."""

    def __init__(self, name: str, argv: list[str]):
        self.name, self.argv = name, argv
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self.backoff = 0.0
        self.restart_at: float | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=settings.BASE_DIR)
        self.started = time.monotonic()
        self.restart_at = None
        log.info("started %s (pid %d)", self.name, self.proc.pid)

    def check(self, now: float) -> None:
        """Start again once its back-off has passed, if it has exited."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        assert self.proc is not None  # started before it is checked
        code = self.proc.poll()
        if code is None:
            return
        young = now - self.started < HEALTHY_AFTER
        self.backoff = min(MAX_BACKOFF, max(1.0, self.backoff * 2)) if young else 0.0
        self.restart_at = now + self.backoff
        log.warning(
            "%s (pid %d) exited with code %s; restarting in %.0f s",
            self.name,
            self.proc.pid,
            code,
            self.backoff,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Command(BaseCommand):
    help = "Run the web server (gunicorn), the task worker (db_worker) and the scheduler together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="web worker processes")

    def handle(self, *args, host, port, workers, **options):
        refuse_demo_key()  # before any child: a refused web child would be restarted forever
        call_command("collectstatic", interactive=False, verbosity=0)
        py = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        children = [
            Child(
                "web",
                [
                    py,
                    "-m",
                    "gunicorn",
                    "urbangrid.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(workers),
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                ],
            ),
            Child("db_worker", [py, manage, "db_worker", "--queue-name", "*"]),
            Child("scheduler", [py, manage, "scheduler"]),
        ]
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        for child in children:
            child.start()
        self.stdout.write(self.style.SUCCESS(f"urbangrid is serving on http://{host}:{port}/ (Ctrl-C stops)"))
        try:
            while not stopping:
                now = time.monotonic()
                for child in children:
                    child.check(now)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                child.stop()
            for child in children:
                child.wait()
