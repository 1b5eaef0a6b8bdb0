"""Periodic work of the joint app (django-tasks; scheduled by settings.PERIODIC_TASKS)."""

from __future__ import annotations

from django_tasks import task

from .actions import do_start_due_campaigns


@task()
def start_due_campaigns() -> int:
    """Planned campaigns whose first day has come are under way (idempotent)."""
    return do_start_due_campaigns()
