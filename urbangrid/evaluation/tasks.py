"""Background work of the evaluation app (django-tasks, queue "reports")."""

from __future__ import annotations

from django_tasks import task

from .reports import build


@task(queue_name="reports")
def build_report(report_id: int) -> str:
    """Build a monthly assessment report's Excel and PDF files, updating its progress."""

    return build(report_id)
