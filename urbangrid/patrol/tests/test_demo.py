"""The patrol demo history: built through the actions on a simulated clock over the small demo city
and a few days of case history; plans, tracks, check-ins, places, campaigns and inspections are
there in the states a user looks for, every row has its audit record at its simulated time, the
same seed gives the same history, and the patrol pages show it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from urbangrid.cases.models import Case, CaseEvent
from urbangrid.demo.patrol import build_history
from urbangrid.lib.models import AuditEvent
from urbangrid.patrol import actions as A
from urbangrid.patrol.choices import CampaignState, CheckInMethod, InspectionOutcome, TrackState
from urbangrid.patrol.models import (
    CheckIn,
    Inspection,
    InspectionResult,
    PatrolPlan,
    Place,
    SweepCampaign,
    Track,
    TrackBatch,
)

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

DAYS = 7
SEED = 5


def _signature() -> dict:
    """What the demo produced, without primary keys."""
    return {
        "places": sorted(Place.objects.values_list("name", "place_type", "grid_code", "owner_name")),
        "plans": sorted(
            PatrolPlan.objects.values_list("name", "region__code", "valid_from", "valid_to", "is_active")
        ),
        "tracks": sorted(
            Track.objects.values_list("person__user__username", "started_at", "state", "point_count")
        ),
        "checkins": CheckIn.objects.filter(valid=True).count(),
        "inspections": sorted(
            Inspection.objects.values_list("place__name", "inspected_at", "outcome", "inspector__name")
        ),
    }


def test_demo_history_states_audit_and_determinism(case_history):
    end = case_history
    today = timezone.localdate(end)
    # The same seed twice (the first run rolled back) gives the same history.
    with transaction.atomic():
        first = build_history(days=DAYS, seed=SEED, end=end)
        first_signature = _signature()
        transaction.set_rollback(True)
    assert not Track.objects.exists() and not Place.objects.exists()
    counts = build_history(days=DAYS, seed=SEED, end=end)
    assert counts == first
    assert _signature() == first_signature

    # Plans: running today, one ended, one deactivated, with check-in points.
    assert counts["plans"] == 7 and counts["plans_active_today"] >= 4
    assert PatrolPlan.objects.filter(valid_to__lt=today).exists()
    assert PatrolPlan.objects.filter(is_active=False).count() == 1
    assert any(p.windows for p in PatrolPlan.objects.all())
    assert PatrolPlan.objects.filter(patroller__isnull=False).exists()
    assert counts["checkpoints"] > 0

    # Tracks: finished ones over the days, one or two still running at the end, inside the city.
    assert Track.objects.filter(state=TrackState.FINISHED).count() > 50
    running = Track.objects.filter(state=TrackState.ACTIVE)
    assert 1 <= running.count() <= 4
    for t in running:
        assert t.started_at > end - timedelta(hours=2) and t.last_point_at <= end
    day0 = timezone.make_aware(datetime.combine(today, time(0)))
    assert Track.objects.filter(started_at__gte=day0).count() > 5
    assert not Track.objects.filter(point_count__gt=0, street__isnull=True).exists()
    assert TrackBatch.objects.filter(t_last__gte=end).count() == 0
    # Most tracks stay in their patroller's grid: the first point lies in the street of the plan.
    planned = Track.objects.filter(plan__isnull=False, point_count__gt=0).select_related("plan__region")
    inside = sum(1 for t in planned if t.plan.region_id in (t.street_id, t.community_id, t.district_id))
    assert inside >= 0.9 * planned.count()
    # Check-ins by the track passing and explicit ones, a refused one kept with its distance.
    assert CheckIn.objects.filter(method=CheckInMethod.TRACK, valid=True).exists()
    assert CheckIn.objects.filter(method=CheckInMethod.EXPLICIT).exists()

    # Sweeps: a closed campaign and running ones; inspections with hazards opening cases that run
    # the case workflow.
    states = set(SweepCampaign.objects.values_list("state", flat=True))
    assert {CampaignState.CLOSED, CampaignState.ACTIVE} <= states
    assert Inspection.objects.filter(outcome=InspectionOutcome.PASSED).exists()
    failed = InspectionResult.objects.filter(passed=False)
    assert failed.exists() and not failed.filter(case__isnull=True).exists()
    hazard_cases = Case.objects.filter(inspection_results__isnull=False).distinct()
    assert hazard_cases.count() == counts["hazard_cases"] > 0
    assert set(hazard_cases.values_list("channel", flat=True)) == {"inspection"}
    assert hazard_cases.exclude(state="pending_register").exists()
    assert CaseEvent.objects.filter(case__in=hazard_cases, action="register").exists()
    for c in hazard_cases:
        place = c.inspection_results.first().inspection.place
        assert c.reported_at < end and place.name in c.description
    assert Inspection.objects.filter(inspected_at__gte=end - timedelta(days=1)).exists()

    # Every row was written by an action: its audit record exists, at the simulated time.
    def audited(action, obj):
        return AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).first()

    for p in PatrolPlan.objects.all():
        ev = audited("patrol.create_plan", p)
        assert ev is not None and ev.at == p.created_at < end
    for place in Place.objects.all():
        assert audited("patrol.register_place", place).at == place.created_at
    for t in Track.objects.all():
        assert audited("patrol.start_track", t).at == t.started_at
    for t in Track.objects.filter(state=TrackState.FINISHED):
        assert audited("patrol.stop_track", t) is not None
    for c in SweepCampaign.objects.all():
        assert audited("patrol.create_campaign", c) is not None
    for c in SweepCampaign.objects.filter(state=CampaignState.CLOSED):
        assert audited("patrol.close_campaign", c).at < end
    for i in Inspection.objects.all():
        assert audited("patrol.record_inspection", i).at == i.created_at >= i.inspected_at
    assert not AuditEvent.objects.filter(action__startswith="patrol.", at__gt=end).exists()


def test_demo_pages_show_the_history(case_history, demo):
    end = case_history
    build_history(days=DAYS, seed=SEED, end=end)
    leader = demo.client_named("street1_leader")
    plan = PatrolPlan.objects.get(name__endswith="重点区域日常巡查")
    page = leader.get(reverse("patrol:plans")).content.decode()
    assert plan.name in page
    index = leader.get(reverse("patrol:index"))
    assert index.status_code == 200 and index.context["plans_active"] >= 1
    day = timezone.localdate(end).isoformat()
    tracks = leader.get(reverse("patrol:tracks"), {"date": day}).content.decode()
    # A track's street is where its first point lies (GPS near a boundary may put it next door).
    mine = Track.objects.visible_to(User.objects.get(username="street1_leader"))
    track = mine.filter(
        plan=plan, state=TrackState.FINISHED, started_at__date=timezone.localdate(end)
    ).first()
    assert track.person.name in tracks
    assert leader.get(reverse("patrol:track", args=[track.pk])).status_code == 200
    assert leader.get(reverse("patrol:today"), {"date": day}).status_code == 200

    dispatcher = demo.client_named("center_dispatch")
    page = dispatcher.get(reverse("patrol:campaigns")).content.decode()
    for c in SweepCampaign.objects.all():
        assert c.name in page
    inspected = Inspection.objects.filter(outcome=InspectionOutcome.FAILED).select_related("campaign").first()
    detail = dispatcher.get(reverse("patrol:campaign", args=[inspected.campaign_id]))
    assert detail.status_code == 200 and detail.context["progress"]["total"]["failed"] >= 1
    place = Place.objects.order_by("id").first()
    assert place.name in dispatcher.get(reverse("patrol:places")).content.decode()
    # The street's leader sees the street's own patrols only.
    street1 = demo.street(1)
    visible = Track.objects.visible_to(demo.user_named("street1_leader"))
    assert visible.exists() and set(visible.values_list("street_id", flat=True)) == {street1.pk}


def test_two_hazards_open_two_cases_not_a_neighbours(demo):
    """Each failed item is its own case, even beside another open hazard case of the same class
    (the intake's nearby-duplicate rule does not merge sweep findings)."""
    from urbangrid.patrol.checklists import load_checklists
    from urbangrid.patrol.models import ChecklistItem

    load_checklists()
    street = demo.street(1)
    leader = demo.user_named("street1_leader")
    officer = demo.user("enforcement_officer", street=1)
    today = timezone.localdate()
    camp = A.do_create_campaign(
        leader,
        name="商场酒店消防排查",
        region=street,
        place_types=["mall_hotel"],
        start_date=today,
        end_date=today + timedelta(days=5),
    )
    inside = demo.grids_of(street)[0].geometry.representative_point()
    lon, lat = inside.x, inside.y
    mall = A.do_register_place(
        leader,
        name="示范购物中心",
        place_type="mall_hotel",
        lon=lon,
        lat=lat,
        crs="cgcs2000",
        owner_name="示范商贸",
    )
    inn = A.do_register_place(
        leader,
        name="示范宾馆",
        place_type="mall_hotel",
        lon=lon,
        lat=lat,
        crs="cgcs2000",
        owner_name="示范宾馆",
    )
    items = list(ChecklistItem.objects.filter(place_type="mall_hotel").order_by("order"))

    def inspect(place, failing):
        return A.do_record_inspection(
            officer,
            campaign=camp,
            place=place,
            results=[{"item": i, "passed": i.pk not in failing, "note": ""} for i in items],
        )

    first = inspect(mall, {items[0].pk, items[3].pk})
    cases = list(first.results.filter(passed=False).values_list("case_id", flat=True))
    assert len(set(cases)) == 2 and None not in cases
    second = inspect(inn, {items[0].pk})
    other = second.results.get(passed=False).case_id
    assert other not in cases
    # Re-inspecting the mall while its hazard is open links the same case.
    again = inspect(mall, {items[0].pk})
    assert again.results.get(passed=False).case_id == first.results.get(item=items[0]).case_id
