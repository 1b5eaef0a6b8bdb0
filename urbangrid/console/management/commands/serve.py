"""Serve the platform for a demo or a small site: the web server plus the task worker and the
scheduler that enqueues periodic work (deadline sweeps), all stopped together with Ctrl-C."""

import contextlib
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn), the task worker (db_worker) and the scheduler together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="web worker processes")

    def handle(self, *args, host, port, workers, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        py = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        procs = [
            subprocess.Popen(
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
                cwd=settings.BASE_DIR,
            ),
            subprocess.Popen([py, manage, "db_worker", "--queue-name", "*"], cwd=settings.BASE_DIR),
            subprocess.Popen([py, manage, "scheduler"], cwd=settings.BASE_DIR),
        ]
        self.stdout.write(self.style.SUCCESS(f"urbangrid is serving on http://{host}:{port}/ (Ctrl-C stops)"))

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in procs):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    procs[0].wait(timeout=1)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for p in procs:
                p.wait(timeout=15)
