"""An action stamps what it writes with the moment it is given (``now=``), never with the process
clock: the demo history and replays depend on it. ``auto_now_add`` used to overwrite the moment."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from urbangrid.cases.models import Report
from urbangrid.lib.audit import record
from urbangrid.lib.models import AuditEvent
from urbangrid.testing.world import report


def test_intake_stamps_case_report_and_audit_with_its_moment(world):
    moment = timezone.now() - timedelta(days=3, hours=5)
    case = report(world, now=moment).case
    case.refresh_from_db()
    assert case.created_at == moment
    assert case.updated_at == moment
    assert {r.created_at for r in Report.objects.filter(case=case)} == {moment}


def test_audit_event_keeps_the_moment_it_is_given(world):
    moment = timezone.now() - timedelta(days=40)
    event = record(world.user("ada"), "test.moment", None, at=moment)
    assert AuditEvent.objects.get(pk=event.pk).at == moment
