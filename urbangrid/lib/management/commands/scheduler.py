"""Enqueue periodic tasks (settings.PERIODIC_TASKS) for the db_worker.

The tasks themselves are idempotent and claim-based, so a second scheduler or a late tick
never makes a warning or escalation happen twice; this loop only decides *when* to run them.
A lost database connection is waited out with back-off (urbangrid.lib.worker); the ticks that
fell due meanwhile are enqueued once it is back.
"""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

from urbangrid.lib.worker import DATABASE_ERRORS, wait_for_database

log = logging.getLogger("urbangrid.scheduler")


class Command(BaseCommand):
    help = "Enqueue each periodic task at its interval (seconds) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="enqueue every task once and exit")

    def handle(self, *args, once=False, **options):
        cap = settings.URBANGRID["PERIODIC_MAX_INTERVAL"]
        schedule = [(import_string(path), min(interval, cap)) for path, interval in settings.PERIODIC_TASKS]
        next_run = [0.0] * len(schedule)
        while True:
            # As at the start of a request: the pooled connection is health-checked before reuse.
            close_old_connections()
            try:
                for i, (task, interval) in enumerate(schedule):
                    now = time.monotonic()
                    if now >= next_run[i]:
                        task.enqueue()
                        next_run[i] = now + interval
            except DATABASE_ERRORS as exc:
                log.warning("scheduler lost the database (%s); reconnecting", str(exc).strip())
                waited = wait_for_database()
                log.warning("scheduler reconnected after %.1f s; carrying on", waited)
                continue
            if once:
                self.stdout.write(f"enqueued {len(schedule)} periodic tasks")
                return
            time.sleep(1)
