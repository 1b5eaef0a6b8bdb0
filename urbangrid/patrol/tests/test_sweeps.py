"""Hazard sweeps: a failed item opens one case through the intake; progress counts; jurisdiction."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from urbangrid.lib.errors import InvalidInput, NotFound, PermissionDenied
from urbangrid.patrol import actions as A
from urbangrid.patrol.checklists import CHECKLISTS
from urbangrid.patrol.models import ChecklistItem, InspectionResult
from urbangrid.patrol.queries import campaign_progress

from .conftest import to_lonlat

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def photo(name="p.jpg"):
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def place(user, x, kind="campus", name=None):
    lon, lat = to_lonlat([x], [50])
    return A.do_register_place(
        user,
        name=name or f"场所{x}",
        place_type=kind,
        lon=lon[0],
        lat=lat[0],
        owner_name="某单位",
        owner_phone="029-1234567",
        address="东关路1号",
    )


def answers(kind, fail=()):
    return [
        {"item": i, "passed": i.code not in fail, "note": "消防通道堆放杂物" if i.code in fail else ""}
        for i in ChecklistItem.objects.filter(place_type=kind)
    ]


@pytest.fixture
def campaign(geo, people, catalog):
    today = timezone.localdate()
    return A.do_create_campaign(
        people.leader_a,
        name="秋冬季安全隐患大排查",
        region=geo.sa,
        place_types=["campus", "mall_hotel"],
        start_date=today - timedelta(days=1),
        end_date=today + timedelta(days=30),
    )


def test_seeded_checklists_cover_every_place_type(catalog):
    kinds = set(ChecklistItem.objects.values_list("place_type", flat=True))
    assert kinds == set(CHECKLISTS) and len(kinds) == 7
    assert ChecklistItem.objects.count() == sum(len(v) for v in CHECKLISTS.values())


def test_place_is_located_in_its_grid(geo, people):
    p = place(people.worker, 150)
    assert p.grid_code == geo.grids[1].code and p.street_id == geo.sa.pk and p.community_id == geo.a1.pk
    with pytest.raises(InvalidInput):
        lon, lat = to_lonlat([5000], [50])
        A.do_register_place(
            people.worker, name="外", place_type="campus", lon=lon[0], lat=lat[0], owner_name="x"
        )
    with pytest.raises(PermissionDenied):
        place(people.worker_b, 150)  # street B's worker registering in street A


def test_failed_item_opens_one_case_with_a_deadline(geo, people, campaign):
    from urbangrid.cases.models import Case

    school = place(people.worker, 50, "campus", "东关小学")
    insp = A.do_record_inspection(
        people.worker,
        campaign=campaign,
        place=school,
        results=answers("campus", {"CA02"}),
        photos=[photo()],
        client_key="insp-1",
        notes="复查",
    )
    failed = InspectionResult.objects.get(inspection=insp, passed=False)
    case = failed.case
    assert case is not None and case.channel == "inspection"
    assert case.problem_class.name == "消防通道堵塞"  # CA02 names class 0515
    assert case.grid_code == geo.grids[0].code
    assert failed.rectify_due_at is not None and failed.rectify_due_at > insp.inspected_at
    assert insp.outcome == "failed" and insp.photos.count() == 1
    assert InspectionResult.objects.filter(inspection=insp, case__isnull=False).count() == 1
    # A retried submission (same client key) returns the first inspection: no second case.
    again = A.do_record_inspection(
        people.worker,
        campaign=campaign,
        place=school,
        results=answers("campus", {"CA02"}),
        client_key="insp-1",
    )
    assert again.pk == insp.pk
    # A re-inspection while the hazard is still open links the same case.
    second = A.do_record_inspection(
        people.worker, campaign=campaign, place=school, results=answers("campus", {"CA02"})
    )
    assert InspectionResult.objects.get(inspection=second, passed=False).case_id == case.pk
    assert Case.objects.filter(channel="inspection").count() == 1


def test_inspection_rules(geo, people, campaign):
    school = place(people.worker, 50, "campus")
    with pytest.raises(InvalidInput):  # incomplete checklist
        A.do_record_inspection(people.worker, campaign=campaign, place=school, results=answers("campus")[:-1])
    station = place(people.worker, 150, "station_dock")
    with pytest.raises(InvalidInput):  # type not in the campaign
        A.do_record_inspection(
            people.worker, campaign=campaign, place=station, results=answers("station_dock")
        )
    with pytest.raises(InvalidInput):  # not an image
        A.do_record_inspection(
            people.worker,
            campaign=campaign,
            place=school,
            results=answers("campus"),
            photos=[SimpleUploadedFile("x.jpg", b"not an image")],
        )
    with pytest.raises(NotFound):  # outside the inspector's area
        A.do_record_inspection(people.worker_b, campaign=campaign, place=school, results=answers("campus"))
    with pytest.raises(PermissionDenied):
        A.do_record_inspection(people.leader_a, campaign=campaign, place=school, results=answers("campus"))
    assert not school.inspections.exists()


def test_progress_counts_by_street_and_type(geo, people, campaign):
    from urbangrid.cases.models import Case

    s1 = place(people.worker, 50, "campus")
    s2 = place(people.worker, 150, "campus")
    place(people.worker, 250, "campus")
    m1 = place(people.worker, 350, "mall_hotel")
    place(people.leader_a, 450, "forest_fire")  # not in the campaign
    A.do_record_inspection(people.worker, campaign=campaign, place=s1, results=answers("campus"))
    A.do_record_inspection(
        people.worker, campaign=campaign, place=s2, results=answers("campus", {"CA01", "CA03"})
    )
    A.do_record_inspection(
        people.worker, campaign=campaign, place=m1, results=answers("mall_hotel", {"MH01"})
    )
    p = campaign_progress(campaign, people.leader_a)
    assert p["total"]["places"] == 4 and p["total"]["inspected"] == 3
    assert p["total"]["failed"] == 2 and p["total"]["rectified"] == 0
    assert p["by_type"]["campus"]["places"] == 3 and p["by_type"]["campus"]["failed"] == 1
    # Closing the mall's case (test shortcut for the case loop's close action) rectifies it.
    case_ids = InspectionResult.objects.filter(inspection__place=m1, case__isnull=False).values("case_id")
    Case.objects.filter(id__in=case_ids).update(state="closed", closed_at=timezone.now())
    p = campaign_progress(campaign, people.leader_a)
    assert p["total"]["rectified"] == 1 and p["by_type"]["mall_hotel"]["rectified"] == 1
    # Street B's leader sees none of street A's places.
    assert campaign_progress(campaign, people.leader_b)["total"]["places"] == 0
