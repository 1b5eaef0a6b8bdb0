"""Bench data: top the `city` demo up to N open cases spread over the grids, with a mix of
states and deadlines (normal / warning / overdue). A bulk path for benchmark data only: it
writes rows directly (bulk_create) instead of going through do_intake, which would take minutes
for 20,000 cases and measure intake rather than the map."""

from __future__ import annotations

import random
import sys
from datetime import timedelta


def main(target: int = 20000, seed: int = 5) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from urbangrid.cases.bulkgen import GRID_COLUMNS
    from urbangrid.cases.choices import OPEN_STATES
    from urbangrid.cases.models import Case
    from urbangrid.catalog.models import ProblemClass
    from urbangrid.geo.models import UnitGrid

    have = Case.objects.filter(state__in=OPEN_STATES).count()
    need = target - have
    print(f"open cases: {have}; adding {max(need, 0)}", flush=True)
    if need <= 0:
        return
    rng = random.Random(seed)
    grids = list(UnitGrid.objects.current().values_list(*GRID_COLUMNS))
    classes = list(ProblemClass.objects.filter(code_set__is_default=True).values_list("id", flat=True))
    states = sorted(OPEN_STATES)
    now = timezone.now()
    import shapely

    geoms = {
        g: shapely.from_wkb(bytes(w)) for g, w in UnitGrid.objects.current().values_list("id", "geometry_wkb")
    }
    rows = []
    base = Case.objects.count()
    for i in range(need):
        g = grids[rng.randrange(len(grids))]
        geom = geoms[g[0]]
        for _ in range(20):
            lon, lat = rng.uniform(g[5], g[7]), rng.uniform(g[6], g[8])
            if geom.contains(shapely.Point(lon, lat)):
                break
        else:
            p = geom.representative_point()
            lon, lat = p.x, p.y
        reported = now - timedelta(hours=rng.uniform(0, 24 * 20))
        r = rng.random()
        due = (
            now + timedelta(hours=rng.uniform(2, 48))
            if r < 0.7
            else now + timedelta(minutes=rng.uniform(1, 50))
            if r < 0.85
            else now - timedelta(hours=rng.uniform(1, 72))
        )
        warn = due - timedelta(hours=1)
        n = base + i + 1
        rows.append(
            Case(
                city_code=settings.URBANGRID["CITY_CODE"],
                number=f"BENCH{n:09d}",
                state=rng.choice(states),
                channel="grid_worker",
                problem_class_id=rng.choice(classes),
                description="bench case",
                lon=lon,
                lat=lat,
                input_crs="wgs84",
                input_lon=lon,
                input_lat=lat,
                grid_id=g[0],
                grid_code=g[1],
                community_id=g[2],
                street_id=g[3],
                district_id=g[4],
                public_token=f"bench{n:027d}",
                reported_at=reported,
                due_at=due,
                warn_at=warn,
                deadline_step="handle",
            )
        )
        if len(rows) >= 2000:
            Case.objects.bulk_create(rows)
            rows = []
            print(f"  {i + 1}/{need}", flush=True)
    if rows:
        Case.objects.bulk_create(rows)
    print(f"open cases now: {Case.objects.filter(state__in=OPEN_STATES).count()}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
