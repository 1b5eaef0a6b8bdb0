"""Periodic credit work: the daily evaluation (scores, overdue penalties, list entry, automatic
repair). Idempotent: running it twice on one day changes nothing the second time."""

from django_tasks import task

from .actions import do_evaluate_all


@task()
def evaluate_credit():

    return do_evaluate_all(None)
