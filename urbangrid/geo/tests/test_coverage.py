"""Coverage proof: clean divisions pass; crafted gaps, overlaps, spill-over and unstaffed grids are found."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box

from urbangrid.geo.actions import do_change_grid_boundary
from urbangrid.geo.coverage import check_region
from urbangrid.geo.models import UnitGrid

from .conftest import X0, Y0

pytestmark = pytest.mark.django_db


def area_kinds(report):
    return sorted(f.kind for f in report.area_findings)


def test_divided_regions_pass_at_every_level(tiny):
    for region in [tiny.district, *tiny.streets, *tiny.communities]:
        report = check_region(region, supervisors=False)
        assert report.area_findings == [], [f.describe() for f in report.findings]
        assert report.grids > 0
    assert check_region(tiny.district, supervisors=False).children == 2


def test_crafted_gap_and_overlap_are_found(tiny):
    community = tiny.communities[0]
    grids = tiny.grids(community)
    # Gap: shrink one grid to 60 % (new version); overlap: grow a neighbour beyond its edge.
    shrink = grids[0]
    small = shapely.affinity.scale(shrink.geometry, 0.6, 0.6, origin=shrink.geometry.centroid)
    do_change_grid_boundary(None, shrink.code, small)
    grow = grids[-1]  # far from the shrunk one, so it cannot fill the gap
    big = grow.geometry.buffer(0.0001).intersection(community.geometry)
    do_change_grid_boundary(None, grow.code, big)

    report = check_region(community, supervisors=False)
    gaps = [f for f in report.findings if f.kind == "gap"]
    overlaps = [f for f in report.findings if f.kind == "overlap"]
    assert len(gaps) == 1
    lost = shrink.area_m2 - UnitGrid.objects.current().get(code=shrink.code).area_m2
    assert gaps[0].area_m2 == pytest.approx(lost, rel=1e-3)
    assert shrink.code in gaps[0].codes
    assert gaps[0].geometry.contains(shapely.Point(gaps[0].lon, gaps[0].lat))
    assert overlaps and all(grow.code in f.codes for f in overlaps)
    assert all(f.area_m2 >= report.sliver_m2 for f in overlaps)
    assert report.total_area_m2 == pytest.approx(sum(f.area_m2 for f in gaps + overlaps))
    # The street and the district see the same problems.
    assert "gap" in area_kinds(check_region(tiny.streets[0], supervisors=False))
    # A sliver threshold above the gap hides it.
    assert "gap" not in area_kinds(check_region(community, sliver_m2=lost * 2, supervisors=False))


def test_grid_outside_its_community_is_found(tiny):
    community = tiny.communities[0]
    grid = tiny.grids(community)[0]
    # Written directly (the actions refuse it) to prove the check sees data that arrived otherwise.
    moved = shapely.affinity.translate(grid.geometry, yoff=0.003)
    UnitGrid.objects.filter(pk=grid.pk).update(geometry_wkb=shapely.to_wkb(moved))
    kinds = area_kinds(check_region(community, supervisors=False))
    assert "outside" in kinds and "gap" in kinds


def test_child_regions_gap(tiny):
    from urbangrid.geo.models import Region

    village = tiny.communities[3]
    Region.objects.filter(pk=village.pk).update(
        geometry_wkb=shapely.to_wkb(box(X0 + 0.005, Y0, X0 + 0.009, Y0 + 0.005))
    )
    report = check_region(tiny.streets[1], supervisors=False)
    assert "child_gap" in area_kinds(report)


def test_grids_without_supervisor_are_findings(tiny):
    from urbangrid.orgs.choices import GridDuty
    from urbangrid.orgs.models import GridAssignment, Person

    community = tiny.communities[1]
    report = check_region(community)
    unstaffed = [f for f in report.findings if f.kind == "no_supervisor"]
    assert len(unstaffed) == report.grids  # nobody is assigned in the tiny geography
    person = Person.objects.filter(is_active=True).first()
    if person is None:
        pytest.skip("no person in the test database")
    from django.utils import timezone

    first = tiny.grids(community)[0].code
    GridAssignment.objects.create(
        grid_code=first, person=person, duty=GridDuty.SUPERVISOR, valid_from=timezone.localdate()
    )
    report = check_region(community)
    codes = {f.codes[0] for f in report.findings if f.kind == "no_supervisor"}
    assert first not in codes and len(codes) == report.grids - 1


def test_demo_city_passes_coverage(demo):
    report = check_region(demo.district, supervisors=False)
    assert report.ok, [f.describe() for f in report.findings[:5]]
    assert report.children == 8
