"""The demo case history (demo/cases.py): every simulated step is accepted by the actions (a
refused step used to strand its case, e.g. a joint dispatch naming the lead unit as its own
assistant, or escalating a case that was already at city level), cases end in several states,
each with its audit trail, and the same seed gives the same history."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from urbangrid.cases.choices import CaseState
from urbangrid.cases.models import Case, CaseEvent, CaseTask
from urbangrid.demo.cases import build_history

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

DAYS = 3
SEED = 5


def _end() -> datetime:
    """16:00 local on the last past weekday, so the story does not depend on when the test runs."""
    day = timezone.localdate() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(16, 0)))


def _signature():
    return sorted(Case.objects.values_list("number", "state", "problem_class__code", "assigned_unit__code"))


def test_history_runs_every_step_and_leaves_a_lifelike_city(demo):
    end = _end()
    with transaction.atomic():
        first = build_history(days=DAYS, seed=SEED, end=end)
        signature = _signature()
        transaction.set_rollback(True)
    stats = build_history(days=DAYS, seed=SEED, end=end)
    assert stats == first and _signature() == signature  # the same seed, the same history

    assert stats["cases"] > 30 and not stats.get("refused_steps"), stats
    states = set(Case.objects.values_list("state", flat=True))
    assert {CaseState.CLOSED, CaseState.HANDLING} <= states and len(states) >= 4, states
    # Every case has its report event, and every closed case its close event, all in the window.
    assert not Case.objects.exclude(events__action="report").exists()
    assert not Case.objects.filter(state=CaseState.CLOSED).exclude(events__action="close").exists()
    start = end - timedelta(days=DAYS)
    assert not CaseEvent.objects.exclude(at__range=(start, end)).exists()
    # Joint cases were dispatched with assisting units other than their lead.
    joint = CaseTask.objects.filter(role="assist")
    assert joint.values("case").distinct().count() == stats.get("joint_dispatched", 0)
    for task in joint.select_related("case"):
        assert task.unit_id != task.case.assigned_unit_id
