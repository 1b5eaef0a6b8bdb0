"""Periodic work of the patrol app (django-tasks; scheduled by settings.PERIODIC_TASKS)."""

from __future__ import annotations

from django_tasks import task

from .actions import do_close_abandoned_tracks


@task()
def close_abandoned_tracks() -> int:
    """Close patrols whose phone went silent for PATROL["ABANDON_AFTER_S"] (idempotent)."""
    return do_close_abandoned_tracks()
