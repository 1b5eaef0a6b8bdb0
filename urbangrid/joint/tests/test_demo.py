"""The joint demo history: built through the actions on a simulated clock over a few days of case
history, every state a user looks for is there, each row has its audit record, the same seed gives
the same history, and the joint pages show it."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from urbangrid.demo.joint import build_history
from urbangrid.joint.choices import (
    CampaignState,
    ConsultationState,
    FollowUpState,
    MeetingKind,
    MeetingState,
    TaskState,
)
from urbangrid.joint.models import (
    Campaign,
    CampaignCase,
    CampaignTask,
    Consultation,
    FollowUp,
    Meeting,
)
from urbangrid.lib.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

JOINT_DAYS = 10
SEED = 3


def _signature() -> dict:
    """What the demo produced, without primary keys (they differ between runs)."""
    return {
        "campaigns": sorted(
            Campaign.objects.values_list(
                "code", "title", "state", "start_date", "end_date", "lead_unit__code"
            )
        ),
        "tasks": sorted(
            CampaignTask.objects.values_list("campaign__code", "unit__code", "title", "state", "quantity")
        ),
        "links": sorted(
            CampaignCase.objects.filter(source="manual").values_list("campaign__code", "case__number")
        ),
        "consultations": sorted(
            Consultation.objects.values_list("case__number", "trigger", "mode", "state", "lead_unit__code")
        ),
        "meetings": sorted(Meeting.objects.values_list("title", "kind", "state", "scheduled_at")),
        "follow_ups": sorted(FollowUp.objects.values_list("title", "unit__code", "state", "due_date")),
    }


def test_demo_history_states_audit_and_determinism(case_history):
    end = case_history
    # The same seed twice (the first run rolled back) gives the same history.
    with transaction.atomic():
        first = build_history(days=JOINT_DAYS, seed=SEED, end=end)
        first_signature = _signature()
        transaction.set_rollback(True)
    assert not Campaign.objects.exists()
    counts = build_history(days=JOINT_DAYS, seed=SEED, end=end)
    assert _signature() == first_signature
    assert {k: v for k, v in counts.items()} == first

    # Campaigns in every state, tasks at every stage, some late, cases linked by hand.
    states = set(Campaign.objects.values_list("state", flat=True))
    assert {CampaignState.ACTIVE, CampaignState.PLANNED, CampaignState.CANCELLED} <= states
    assert CampaignState.ENDED in states
    ended = Campaign.objects.filter(state=CampaignState.ENDED).first()
    assert ended.summary["cases"]["found"] >= 0 and ended.ended_at <= end
    task_states = set(CampaignTask.objects.values_list("state", flat=True))
    assert {TaskState.OPEN, TaskState.REPORTED, TaskState.DONE} <= task_states
    assert counts["tasks_late"] > 0
    planned = Campaign.objects.get(state=CampaignState.PLANNED)
    assert planned.start_date > timezone.localdate(end) and planned.tasks.exists()

    # Consultations on real cases of the history.
    assert Consultation.objects.exists()
    assert Consultation.objects.filter(
        state__in=[ConsultationState.OPEN, ConsultationState.SCHEDULED, ConsultationState.DECIDED]
    ).exists()
    for cons in Consultation.objects.select_related("case"):
        assert cons.parties.count() >= 2
        assert cons.case.reported_at <= cons.opened_at < end
        if cons.state == ConsultationState.APPLIED:
            assert cons.case.assigned_unit_id is not None
            assert cons.case.events.filter(action="dispatch", at=cons.applied_at).exists()

    # Meetings held with minutes, one scheduled ahead, follow-ups open, replied, done, one overdue.
    assert (
        Meeting.objects.filter(kind=MeetingKind.JOINT, state=MeetingState.HELD).exclude(minutes="").exists()
    )
    assert Meeting.objects.filter(
        kind=MeetingKind.JOINT, state=MeetingState.SCHEDULED, scheduled_at__gt=end
    ).exists()
    fu_states = set(FollowUp.objects.values_list("state", flat=True))
    assert {FollowUpState.OPEN, FollowUpState.REPLIED, FollowUpState.DONE} <= fu_states
    assert FollowUp.objects.overdue(timezone.localdate(end)).count() == 1

    # Every row was written by an action: its audit record exists, at the simulated time.
    def audited(action, obj):
        return AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).first()

    for c in Campaign.objects.all():
        ev = audited("joint.create_campaign", c)
        assert ev is not None and ev.at == c.created_at and ev.at < end
    for t in CampaignTask.objects.exclude(state=TaskState.OPEN):
        assert audited("joint.report_campaign_task", t) is not None
    for t in CampaignTask.objects.filter(state=TaskState.DONE):
        assert audited("joint.accept_campaign_task", t) is not None
    for cons in Consultation.objects.all():
        assert audited("joint.open_consultation", cons).at == cons.opened_at
    for m in Meeting.objects.filter(kind=MeetingKind.JOINT):
        assert audited("joint.schedule_meeting", m) is not None
    for f in FollowUp.objects.all():
        assert audited("joint.add_follow_up", f) is not None
    assert not AuditEvent.objects.filter(action__startswith="joint.", at__gte=end).exists()


def test_demo_pages_render(case_history, demo):
    build_history(days=JOINT_DAYS, seed=SEED, end=case_history)
    dispatcher = demo.client_named("center_dispatch")
    page = dispatcher.get("/joint/").content.decode()
    assert "渣土车专项治理" in page and "“两违”专项整治" in page
    active = Campaign.objects.get(title="渣土车专项治理")
    body = dispatcher.get(f"/joint/campaigns/{active.pk}/").content.decode()
    assert "夜间重点路段设卡联合检查" in body
    cons = Consultation.objects.order_by("-opened_at").first()
    assert cons.case.number in dispatcher.get(f"/joint/consultations/{cons.pk}/").content.decode()
    meeting = Meeting.objects.get(title="渣土车专项治理工作推进会")
    body = dispatcher.get(f"/joint/meetings/{meeting.pk}/").content.decode()
    assert "对冲洗设施不到位的在建工地下达整改通知并复查" in body
    for url in ("/joint/campaigns/", "/joint/consultations/", "/joint/meetings/"):
        assert dispatcher.get(url).status_code == 200
    # A participating unit sees its own campaign tasks on the joint index.
    traffic = demo.client_named("dept_traffic_handler")
    assert "夜间重点路段设卡联合检查" in traffic.get("/joint/").content.decode()
