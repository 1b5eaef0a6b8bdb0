"""Enqueue periodic tasks (settings.PERIODIC_TASKS) for the db_worker.

The tasks themselves are idempotent and claim-based, so a second scheduler or a late tick
never makes a warning or escalation happen twice; this loop only decides *when* to run them.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Enqueue each periodic task at its interval (seconds) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="enqueue every task once and exit")

    def handle(self, *args, once=False, **options):
        schedule = [(import_string(path), interval) for path, interval in settings.PERIODIC_TASKS]
        next_run = [0.0] * len(schedule)
        while True:
            now = time.monotonic()
            for i, (task, interval) in enumerate(schedule):
                if now >= next_run[i]:
                    task.enqueue()
                    next_run[i] = now + interval
            if once:
                self.stdout.write(f"enqueued {len(schedule)} periodic tasks")
                return
            time.sleep(1)
