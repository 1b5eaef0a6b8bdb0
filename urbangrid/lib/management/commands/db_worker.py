"""django-tasks-db's `db_worker`, kept alive through a database restart or failover and reclaiming
the tasks of lost workers (urbangrid.lib.worker). Replaces the library's command of the same name
because urbangrid.lib comes before django_tasks_db in INSTALLED_APPS."""

from unittest import mock

from django_tasks_db.management.commands import db_worker

from urbangrid.lib.worker import ResilientWorker


class Command(db_worker.Command):
    def handle(self, *args, **options):
        # The library's handle builds its Worker by name from its own module; everything else
        # (options, signals, logging, autoreload) stays the library's.
        with mock.patch.object(db_worker, "Worker", ResilientWorker):
            return super().handle(*args, **options)
