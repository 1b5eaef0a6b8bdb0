"""Patrol test fixtures: a small geography whose grids are exact 100 m squares in the metric
zone (so coverage can be checked against hand-computed areas), and persona users."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from django.utils import timezone

from urbangrid.testing.world import add_person

EPSG = 4545  # CGCS2000 3-degree GK zone 36 (central meridian 108°E), the zone geo.crs picks here
X0, Y0 = 582000.0, 3791000.0  # ≈ 108.90°E, 34.25°N


def metric_box(x, y, w=100.0, h=100.0):
    from urbangrid.geo.crs import from_metric

    return from_metric(shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h), EPSG)


def to_lonlat(xs, ys):
    """Local metric offsets (from X0, Y0) -> canonical lon/lat arrays."""
    from urbangrid.geo.crs import to_canonical_many

    return to_canonical_many(np.asarray(xs, float) + X0, np.asarray(ys, float) + Y0, "cgcs2000_gk", epsg=EPSG)


def _region(code, name, kind, parent, geom=None):
    from urbangrid.geo.models import Region

    r = Region(code=code, name=name, kind=kind, parent=parent)
    if geom is not None:
        r.set_geometry(geom)
    r.save()
    return r


def build_geography():
    """Street A (619901001) with communities A1 (grids 0–3 along x, 100 m each) and A2 (grids 4–5);
    street B (619901002) with community B1 (grids 6–7). All grids in one row, y 0–100 m."""
    from urbangrid.geo import locator
    from urbangrid.geo.models import GeoRevision, UnitGrid

    city = _region("6199", "示范市", "city", None)
    district = _region("619901", "示范区", "district", city)
    sa = _region("619901001", "东关街道", "street", district, metric_box(0, 0, 600))
    sb = _region("619901002", "北塬镇", "town", district, metric_box(600, 0, 200))
    a1 = _region("619901001001", "东关一社区", "community", sa, metric_box(0, 0, 400))
    a2 = _region("619901001002", "东关二社区", "community", sa, metric_box(400, 0, 200))
    b1 = _region("619901002001", "北塬一村", "village", sb, metric_box(600, 0, 200))
    grids = []
    valid_from = timezone.make_aware(datetime(2025, 1, 1))
    for i in range(8):
        comm = a1 if i < 4 else (a2 if i < 6 else b1)
        seq = i + 1 if i < 4 else (i - 3 if i < 6 else i - 5)
        g = UnitGrid(
            code=f"{comm.code}{seq:03d}",
            community=comm,
            street=comm.parent,
            district=district,
            valid_from=valid_from,
        )
        g.set_geometry(metric_box(i * 100, 0))
        g.save()
        grids.append(g)
    GeoRevision.bump()
    locator.invalidate()
    return SimpleNamespace(city=city, district=district, sa=sa, sb=sb, a1=a1, a2=a2, b1=b1, grids=grids)


_counter = [0]


def make_person(role, region=None, *, name=None, grids=()):
    from urbangrid.orgs.models import Unit

    _counter[0] += 1
    unit, _c = Unit.objects.get_or_create(
        code="T-CENTER", defaults=dict(name="监督指挥中心", kind="center", level="city")
    )
    username = f"{role}{_counter[0]}"
    return add_person(
        username, name or username, unit, [role], region, grids=grids, since=date(2025, 1, 1)
    ).user


@pytest.fixture
def geo(db):
    return build_geography()


@pytest.fixture
def people(geo):
    return SimpleNamespace(
        leader_a=make_person("street_leader", geo.sa, name="东关街道领导"),
        leader_b=make_person("street_leader", geo.sb, name="北塬镇领导"),
        centre=make_person("dispatcher", None, name="派遣员"),
        worker=make_person("grid_worker", geo.a1, name="张网格", grids=[g.code for g in geo.grids[:4]]),
        worker2=make_person("grid_worker", geo.a1, name="李网格", grids=[]),
        worker_b=make_person(
            "grid_worker", geo.b1, name="王网格", grids=[geo.grids[6].code, geo.grids[7].code]
        ),
    )


@pytest.fixture
def catalog(db):
    from urbangrid.catalog.seed import load_catalog
    from urbangrid.patrol.checklists import load_checklists

    load_catalog()
    # Transactional (browser) tests truncate every table, seed data of migrations included.
    load_checklists()
