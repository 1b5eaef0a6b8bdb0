"""A tiny geography for tests that must not depend on the geo demo (and for the shared test
fixtures until urbangrid.demo.geo is available): one district with one street office and one
town, two communities/villages each, two ~100 m square unit grids per community."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from shapely.geometry import box

from urbangrid.geo.models import Region, UnitGrid

LON0, LAT0 = 108.90, 34.25  # a plausible inland city centre
STEP = 0.001  # ~100 m


def build_tiny_geography() -> dict[str, Region]:
    city = Region.objects.create(code="6199", name="示范市", kind="city")
    district = Region.objects.create(code="619901", name="示范区", kind="district", parent=city)
    made = {"city": city, "district": district}
    valid_from = timezone.make_aware(datetime(2025, 1, 1))
    for si, (kind, sname) in enumerate([("street", "东关街道"), ("town", "北塬镇")], start=1):
        street = Region.objects.create(code=f"619901{si:03d}", name=sname, kind=kind, parent=district)
        made[f"street{si}"] = street
        for ci in range(1, 3):
            ckind = "community" if kind == "street" else "village"
            cname = f"{sname[:2]}{'一二'[ci - 1]}{'社区' if ckind == 'community' else '村'}"
            community = Region.objects.create(
                code=f"{street.code}{ci:03d}", name=cname, kind=ckind, parent=street
            )
            made[f"s{si}c{ci}"] = community
            x0 = LON0 + (si - 1) * 4 * STEP + (ci - 1) * 2 * STEP
            community.set_geometry(box(x0, LAT0, x0 + 2 * STEP, LAT0 + STEP))
            community.save()
            for gi in range(1, 3):
                g = UnitGrid(
                    code=f"{community.code}{gi:03d}",
                    community=community,
                    street=street,
                    district=district,
                    valid_from=valid_from,
                )
                gx = x0 + (gi - 1) * STEP
                g.set_geometry(box(gx, LAT0, gx + STEP, LAT0 + STEP))
                g.save()
    return made
