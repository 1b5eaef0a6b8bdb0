"""Background work of the evaluation app (django-tasks, queue "reports")."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="reports")
def build_report(report_id: int) -> str:
    """Build a monthly assessment report's Excel and PDF files, updating its progress."""
    from .reports import build

    return build(report_id)
