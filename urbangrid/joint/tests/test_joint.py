"""Joint enforcement rules against hand-made examples: campaign linking and summary figures,
consultation decided and applied through the case loop's real dispatch action, joint meetings with
agenda proposals and follow-ups, permissions and jurisdiction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from urbangrid.cases.models import CaseEvent, CaseTask
from urbangrid.joint import actions as A
from urbangrid.joint import queries
from urbangrid.joint.models import Campaign, CampaignCase, Consultation, FollowUp
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.models import AuditEvent
from urbangrid.testing.world import at

pytestmark = pytest.mark.django_db


def make_campaign(world, **kw):
    today = timezone.localdate()
    args = dict(
        title="清波街道占道经营专项整治",
        lead_unit=world.units["bureau"],
        units=[world.units["market"], world.units["A"]],
        regions=[world.regions["A"]],
        problem_classes=[world.classes["stall"]],
        start_date=today - timedelta(days=10),
        end_date=today + timedelta(days=3),
        targets=[
            ("结案数", "cases_closed", 2),
            ("按期结案", "cases_on_time", 2),
            ("清理摊点", "reported", 30),
        ],
    )
    args.update(kw)
    return A.do_create_campaign(world.user("bruno"), **args)


def test_campaign_links_cases_by_area_class_and_dates_and_sums_up(world):
    c = make_campaign(world)
    due = at(2, 18)
    inside = [
        # closed on time (reported back before the handling deadline)
        world.case(
            reported_at=at(5), state="closed", handle_due_at=due, handled_at=at(3), closed_at=at(3, 12)
        ),
        # closed late
        world.case(
            reported_at=at(6), state="closed", handle_due_at=at(5, 18), handled_at=at(4), closed_at=at(4, 12)
        ),
        # still being handled, overdue, a joint case
        world.case(reported_at=at(4), state="handling", handle_due_at=at(1), is_joint=True),
    ]
    # Outside: other street, other class, before the start, cancelled.
    world.case(street=world.regions["B"], reported_at=at(5))
    world.case(cls=world.classes["garbage"], reported_at=at(5))
    world.case(reported_at=at(12))
    world.case(reported_at=at(5), state="cancelled")
    manual = world.case(
        street=world.regions["B"], reported_at=at(3), state="closed", handled_at=at(2), closed_at=at(2, 12)
    )
    A.do_link_case(world.user("paul"), c, manual)  # a case outside the areas, linked by hand
    with pytest.raises(InvalidInput):
        A.do_link_case(world.user("bruno"), c, world.case(reported_at=at(20)))

    assert set(queries.campaign_cases(c).values_list("id", flat=True)) == {x.pk for x in inside} | {manual.pk}
    s = queries.campaign_summary(c)
    assert s["cases"] == {
        "found": 4,
        "closed": 3,
        "on_time": 2,
        "open": 1,
        "shelved": 0,
        "overdue_open": 1,
        "joint": 1,
        "close_rate": 75.0,
        "on_time_rate": 66.7,
    }

    t1 = A.do_add_campaign_task(
        world.user("bruno"),
        c,
        unit=world.units["market"],
        title="查处无照经营",
        due_date=timezone.localdate(),
    )
    t2 = A.do_add_campaign_task(
        world.user("bruno"), c, unit=world.units["A"], title="清理占道摊点", due_date=timezone.localdate()
    )
    with pytest.raises(InvalidInput):  # not a participant
        A.do_add_campaign_task(
            world.user("bruno"), c, unit=world.units["housing"], title="x", due_date=timezone.localdate()
        )
    with pytest.raises(PermissionDenied):  # another unit cannot report for the street office
        A.do_report_campaign_task(world.user("mark"), t2, report="清理 35 处", quantity=35)
    A.do_report_campaign_task(world.user("hank"), t2, report="清理占道摊点 35 处", quantity=35)
    A.do_accept_campaign_task(world.user("bruno"), t2)
    A.do_report_campaign_task(world.user("mark"), t1, report="立案 2 起", quantity=0)

    ended = A.do_end_campaign(world.user("bruno"), c, note="整治效果明显")
    summary = ended.summary
    assert ended.state == "ended" and summary["cases"]["found"] == 4
    units = {u["unit__name"]: u for u in summary["units"]}
    assert units["清波街道办"]["done"] == 1 and units["清波街道办"]["completion"] == 100.0
    assert units["市场监管局"]["done"] == 0 and units["市场监管局"]["reported"] == 1
    targets = {t["name"]: t for t in summary["targets"]}
    assert targets["结案数"] == {**targets["结案数"], "actual": 3, "achieved": True}
    assert targets["按期结案"]["actual"] == 2 and targets["按期结案"]["achieved"]
    assert targets["清理摊点"]["actual"] == 35 and summary["targets_achieved"] == 3
    # The automatic matches are now links, kept with the campaign.
    assert CampaignCase.objects.filter(campaign=c, source="auto").count() == 3
    assert AuditEvent.objects.filter(action="joint.end_campaign", object_id=str(c.pk)).exists()
    with pytest.raises(Conflict):
        A.do_add_campaign_task(
            world.user("bruno"), c, unit=world.units["market"], title="x", due_date=timezone.localdate()
        )


def test_a_planned_campaign_gets_under_way_on_its_first_day_once(world):
    today = timezone.localdate()
    planned = make_campaign(world, start_date=today + timedelta(days=2), end_date=today + timedelta(days=20))
    cancelled = make_campaign(
        world, start_date=today + timedelta(days=1), end_date=today + timedelta(days=20)
    )
    A.do_cancel_campaign(world.user("bruno"), cancelled, reason="计划调整")
    assert planned.state == "planned"
    assert A.do_start_due_campaigns(now=timezone.now() + timedelta(days=1)) == 0
    on_day = timezone.now() + timedelta(days=2)
    assert A.do_start_due_campaigns(now=on_day) == 1
    assert A.do_start_due_campaigns(now=on_day) == 0  # the scheduler runs it every ten minutes
    planned.refresh_from_db()
    cancelled.refresh_from_db()
    assert (planned.state, cancelled.state) == ("active", "cancelled")
    assert AuditEvent.objects.filter(action="joint.start_campaign").count() == 1


def test_campaign_validation_permissions_and_visibility(world):
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        make_campaign(world, lead_unit=world.units["bureau"]) if False else A.do_create_campaign(
            world.user("mark"),
            title="x",
            lead_unit=world.units["bureau"],
            regions=[world.regions["A"]],
            start_date=today,
            end_date=today,
        )
    with pytest.raises(InvalidInput):
        make_campaign(world, end_date=today - timedelta(days=30))
    with pytest.raises(InvalidInput):
        make_campaign(world, regions=[])
    assert not Campaign.objects.exists()
    c = make_campaign(world, units=[world.units["market"]])
    assert c.code.startswith(f"ZX{c.start_date:%Y}")
    # Street A's leader sees it (their area), street B's does not; the market bureau takes part.
    assert Campaign.objects.visible_to(world.user("stella")).filter(pk=c.pk).exists()
    assert not Campaign.objects.visible_to(world.user("steve")).filter(pk=c.pk).exists()
    assert Campaign.objects.visible_to(world.user("mark")).filter(pk=c.pk).exists()
    assert not Campaign.objects.visible_to(world.user("helen")).filter(pk=c.pk).exists()
    with pytest.raises(NotFound):
        A.do_end_campaign(world.user("steve"), c)
    with pytest.raises(PermissionDenied):  # participant, but not the lead unit
        A.do_end_campaign(world.user("maria"), c)


def test_consultation_decision_applied_through_dispatch(world):
    """A case returned twice goes to consultation; the market bureau accepts, the housing bureau
    declines; the decision (market leads, street office assists) is applied with the real
    cases.actions.do_dispatch: the assigned unit changes and a dispatch CaseEvent is written."""
    case = world.case(state="pending_dispatch", return_count=2, assigned_unit=world.units["housing"])
    CaseTask.objects.create(case=case, unit=world.units["housing"], role="lead", state="returned")
    CaseTask.objects.create(case=case, unit=world.units["market"], role="lead", state="returned")
    assert case in queries.consultation_candidates(world.user("paul"))
    with pytest.raises(PermissionDenied):
        A.do_open_consultation(world.user("mark"), case, reason="x")
    cons = A.do_open_consultation(world.user("paul"), case, reason="住建与市场监管互相推诿")
    assert cons.trigger == "returned"
    assert set(cons.parties.values_list("unit_id", flat=True)) == {
        world.units["housing"].pk,
        world.units["market"].pk,
    }
    assert case not in queries.consultation_candidates(world.user("paul"))
    with pytest.raises(Conflict):
        A.do_open_consultation(world.user("paul"), case, reason="again")
    with pytest.raises(PermissionDenied):  # a unit speaks only for itself
        A.do_state_view(world.user("mark"), cons, unit=world.units["housing"], stance="accept", statement="x")
    A.do_state_view(
        world.user("mark"),
        cons,
        unit=world.units["market"],
        stance="accept",
        statement="属无照经营，由我局牵头",
    )
    A.do_state_view(
        world.user("helen"), cons, unit=world.units["housing"], stance="decline", statement="不涉及建设工程"
    )
    meeting = A.do_schedule_consultation_meeting(
        world.user("paul"), cons, scheduled_at=timezone.now() + timedelta(hours=2), location="指挥中心 302"
    )
    assert meeting.agenda.get().case_id == case.pk
    deadline = timezone.now() + timedelta(days=3)
    with pytest.raises(InvalidInput):  # a meeting's decision needs minutes
        A.do_decide_consultation(
            world.user("paul"),
            cons,
            lead_unit=world.units["market"],
            deadline=deadline,
            decision="市场监管局牵头",
        )
    with pytest.raises(InvalidInput):
        A.do_decide_consultation(
            world.user("paul"),
            cons,
            lead_unit=world.units["market"],
            assist_units=[world.units["market"]],
            deadline=deadline,
            decision="x",
            minutes="m",
        )
    A.do_decide_consultation(
        world.user("paul"),
        cons,
        lead_unit=world.units["market"],
        assist_units=[world.units["A"]],
        deadline=deadline,
        decision="市场监管局牵头查处，清波街道办配合",
        minutes="会议纪要：……",
        update_matrix=True,
    )
    case.refresh_from_db()
    assert case.assigned_unit_id == world.units["housing"].pk  # deciding alone does not touch the case
    events_before = CaseEvent.objects.filter(case=case, action="dispatch").count()
    with pytest.raises(PermissionDenied):  # only a dispatcher may dispatch
        A.do_apply_consultation(world.user("clara"), cons)
    A.do_apply_consultation(world.user("paul"), cons)
    case.refresh_from_db()
    assert (
        case.assigned_unit_id == world.units["market"].pk and case.state == "pending_handle" and case.is_joint
    )
    ev = CaseEvent.objects.filter(case=case, action="dispatch").order_by("-id").first()
    assert CaseEvent.objects.filter(case=case, action="dispatch").count() == events_before + 1
    assert ev.unit_id == world.units["market"].pk and str(cons.pk) in ev.reason
    active = CaseTask.objects.filter(case=case, state="pending")
    assert {(t.unit_id, t.role) for t in active} == {
        (world.units["market"].pk, "lead"),
        (world.units["A"].pk, "assist"),
    }
    cons.refresh_from_db()
    assert cons.state == "applied" and not cons.matrix_updated and "清波街道" in cons.matrix_result
    # The matrix is master data: an administrator enters the decision through the catalog action.
    from urbangrid.catalog.models import ResponsibilityRule

    with pytest.raises(PermissionDenied):
        A.do_update_matrix_from_consultation(world.user("paul"), cons)
    A.do_update_matrix_from_consultation(world.user("ada"), cons)
    assert ResponsibilityRule.objects.filter(
        problem_class=world.classes["stall"], region=world.regions["A"], unit=world.units["market"]
    ).exists()
    with pytest.raises(Conflict):
        A.do_update_matrix_from_consultation(world.user("ada"), cons)
    meeting.refresh_from_db()
    assert meeting.state == "held"
    with pytest.raises(Conflict):
        A.do_apply_consultation(world.user("paul"), cons)


def test_consultation_needs_case_awaiting_dispatch_and_jurisdiction(world):
    case = world.case(state="handling", assigned_unit=world.units["housing"], street=world.regions["B"])
    cons = A.do_open_consultation(
        world.user("paul"), case, reason="责任不清", units=[world.units["housing"], world.units["market"]]
    )
    assert cons.trigger == "flagged"
    A.do_decide_consultation(
        world.user("paul"),
        cons,
        lead_unit=world.units["market"],
        deadline=timezone.now() + timedelta(days=1),
        decision="市场监管局负责",
    )
    with pytest.raises(Conflict):
        A.do_apply_consultation(world.user("paul"), cons)
    assert Consultation.objects.get(pk=cons.pk).state == "decided"
    assert not Consultation.objects.visible_to(world.user("stella")).filter(pk=cons.pk).exists()
    assert Consultation.objects.visible_to(world.user("mark")).filter(pk=cons.pk).exists()


def test_joint_meeting_agenda_minutes_and_follow_ups(world):
    now = timezone.now()
    overdue = world.case(
        state="handling", assigned_unit=world.units["housing"], handle_due_at=now - timedelta(days=2)
    )
    disputed = world.case(state="pending_dispatch", return_count=3)
    world.case(state="handling", handle_due_at=now + timedelta(days=2))  # not overdue
    proposals = queries.agenda_proposals(world.user("paul"), region=world.regions["A"])
    assert [(p["reason"], p["case"].pk) for p in proposals] == [
        ("disputed", disputed.pk),
        ("overdue", overdue.pk),
    ]
    m = A.do_schedule_meeting(
        world.user("paul"),
        title="第一季度城市管理联席会议",
        scheduled_at=now + timedelta(days=1),
        host_unit=world.units["bureau"],
        units=[world.units["housing"], world.units["market"]],
        agenda=[(p["reason"], "", p["case"]) for p in proposals],
    )
    items = list(m.agenda.all())
    assert [i.case_id for i in items] == [disputed.pk, overdue.pk]
    A.do_record_minutes(
        world.user("paul"), m, minutes="会议议定事项如下……", decisions={items[1].pk: "住建局三日内完成"}
    )
    f = A.do_add_follow_up(
        world.user("paul"),
        m,
        title="拆除违建",
        unit=world.units["housing"],
        due_date=timezone.localdate() + timedelta(days=3),
        agenda_item=items[1],
    )
    with pytest.raises(PermissionDenied):
        A.do_reply_follow_up(world.user("mark"), f, reply="x")
    with pytest.raises(Conflict):
        A.do_close_follow_up(world.user("paul"), f)
    A.do_reply_follow_up(world.user("helen"), f, reply="已拆除")
    A.do_close_follow_up(world.user("paul"), f)
    f.refresh_from_db()
    assert f.state == "done" and f.closed_at
    assert not FollowUp.objects.overdue(timezone.localdate() + timedelta(days=10)).exists()
    assert FollowUp.objects.visible_to(world.user("helen")).filter(pk=f.pk).exists()
    assert not FollowUp.objects.visible_to(world.user("steve")).filter(pk=f.pk).exists()
