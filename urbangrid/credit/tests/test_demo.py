"""The credit demo history: built through the actions on a simulated clock over a few days of case
history; subjects with valid identity numbers, violations linked to real cases, penalties issued
and fulfilled, lists decided by the app's rules (a subject on the dishonest list, one repaired
automatically and one by the leader), every row with its audit record, the same seed gives the
same history, and the credit pages show it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from urbangrid.credit import identity
from urbangrid.credit.models import CaseSubject, ListEntry, Penalty, Subject, Violation
from urbangrid.demo.credit import REPAIR_NOTE, build_history
from urbangrid.lib.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

CREDIT_DAYS = 5
SEED = 3


def _signature() -> dict:
    """What the demo produced, without primary keys (they differ between runs)."""
    return {
        "subjects": sorted(
            Subject.objects.values_list("kind", "name", "uscc", "id_number", "address", "score")
        ),
        "violations": sorted(
            Violation.objects.values_list(
                "subject__name", "case__number", "kind", "severity", "occurred_on", "state"
            )
        ),
        "penalties": sorted(
            Penalty.objects.values_list(
                "decision_number", "kind", "amount", "state", "decided_on", "fulfilled_on"
            )
        ),
        "lists": sorted(
            ListEntry.objects.values_list("subject__name", "list_kind", "rule", "entered_on", "removed_on")
        ),
    }


def test_demo_history_states_audit_and_determinism(case_history):
    end = case_history
    # The same seed twice (the first run rolled back) gives the same history.
    with transaction.atomic():
        first = build_history(days=CREDIT_DAYS, seed=SEED, end=end)
        first_signature = _signature()
        transaction.set_rollback(True)
    assert not Subject.objects.exists()
    counts = build_history(days=CREDIT_DAYS, seed=SEED, end=end)
    assert counts == first
    assert _signature() == first_signature
    # A second call leaves an existing registry alone.
    assert build_history(days=CREDIT_DAYS, seed=SEED, end=end) == {"subjects": counts["subjects"]}

    # Subjects of every kind a district registers, with identity numbers that pass the checks.
    kinds = set(Subject.objects.values_list("kind", flat=True))
    assert {"business", "stall_owner", "property_company"} <= kinds
    for s in Subject.objects.all():
        assert s.region_id is not None and s.registered_by_unit_id is not None
        if s.kind in ("business", "property_company"):
            assert identity.is_valid_uscc(s.uscc) and not s.id_number
        else:
            assert identity.is_valid_id_number(s.id_number)

    # Violations found through real cases of the history (and a few carried-over records).
    start_day = timezone.localdate(end - timedelta(days=CREDIT_DAYS))
    with_case = Violation.objects.filter(case__isnull=False).select_related("case")
    assert with_case.count() >= 3
    for v in with_case:
        assert v.occurred_on == timezone.localdate(v.case.reported_at) >= start_day
        assert v.case.handled_at is not None and v.case.handled_at < end
        assert CaseSubject.objects.filter(case=v.case, subject=v.subject).exists()
    assert Violation.objects.filter(case__isnull=True, occurred_on__lt=start_day).exists()

    # Penalties: warnings, fines and orders to rectify; fulfilled and still open.
    assert {"warning", "fine", "rectify"} <= set(Penalty.objects.values_list("kind", flat=True))
    assert Penalty.objects.filter(state="fulfilled", kind__in=["fine", "rectify"]).exists()
    assert Penalty.objects.filter(kind="fine", amount__gt=0).exists()
    for p in Penalty.objects.select_related("violation"):
        assert p.decided_on >= p.violation.occurred_on
        assert p.fulfilled_on is None or p.decided_on <= p.fulfilled_on <= timezone.localdate(end)

    # Lists decided by the app's rules: a subject on the dishonest list (an order to rectify run
    # out), one repaired automatically by the evaluation and one approved by the leader.
    active = ListEntry.objects.active()
    assert counts["dishonest_list"] == active.filter(list_kind="dishonest").count() >= 1
    assert active.filter(list_kind="dishonest", rule="penalty_unfulfilled").exists()
    repaired = ListEntry.objects.filter(exit_reason="repaired")
    assert repaired.filter(exit_note=REPAIR_NOTE, list_kind="dishonest").exists()
    assert repaired.exclude(exit_note=REPAIR_NOTE).exists()
    assert counts["manual_repairs"] == 1 and counts["auto_repairs"] >= 1
    for e in repaired:
        assert start_day <= e.removed_on <= timezone.localdate(end)
    assert counts["evaluations"] >= CREDIT_DAYS

    # Every row was written by an action: its audit record exists, at the simulated time.
    def audited(action, obj):
        return AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).first()

    for s in Subject.objects.all():
        ev = audited("credit.register_subject", s)
        assert ev is not None and ev.at == s.created_at and ev.at < end
    for v in Violation.objects.all():
        ev = audited("credit.record_violation", v)
        assert ev is not None and ev.at == v.created_at and ev.at < end
    for p in Penalty.objects.all():
        assert audited("credit.issue_penalty", p) is not None
    for p in Penalty.objects.filter(state="fulfilled").exclude(kind="warning"):
        assert audited("credit.fulfil_penalty", p) is not None
    for e in ListEntry.objects.all():
        assert audited("credit.enter_list", e) is not None
    # One repair record per repaired subject (it closes all of the subject's entries).
    repairs = AuditEvent.objects.filter(action="credit.repair")
    assert sorted(repairs.values_list("object_id", flat=True)) == sorted(
        {str(pk) for pk in repaired.values_list("subject_id", flat=True)}
    )
    assert not AuditEvent.objects.filter(action__startswith="credit.", at__gte=end).exists()


def test_demo_pages_render(case_history, demo):
    build_history(days=CREDIT_DAYS, seed=SEED, end=case_history)
    leader = demo.client_named("brigade_leader")
    page = leader.get("/credit/").content.decode()
    latest = Violation.objects.select_related("subject").order_by("-created_at").first()
    assert latest.subject.name in page
    assert Subject.objects.order_by("score", "name").first().name in page
    dishonest = ListEntry.objects.active().filter(list_kind="dishonest").select_related("subject").first()
    body = leader.get("/credit/lists/?kind=dishonest").content.decode()
    assert dishonest.subject.name in body
    # A subject page: its violations with the case number and the decision numbers.
    v = Violation.objects.filter(case__isnull=False, penalties__isnull=False).select_related("case").first()
    body = leader.get(f"/credit/subjects/{v.subject_id}/").content.decode()
    assert v.case.number in body and v.penalties.first().decision_number in body
    # The repaired company shows its closed entries with the leader's grounds.
    entry = ListEntry.objects.filter(exit_note=REPAIR_NOTE).first()
    assert REPAIR_NOTE in leader.get(f"/credit/subjects/{entry.subject_id}/").content.decode()
    # The public list: no sign-in, natural persons by surname only.
    public = Client().get("/credit/public/").content.decode()
    person = dishonest.subject
    assert (person.public_name() in public) and (not person.is_person or person.name not in public)
    # An officer of a street sees the subjects of the street's cases.
    officer = demo.client_for("enforcement_officer", street=1)
    assert officer.get("/credit/").status_code == 200
