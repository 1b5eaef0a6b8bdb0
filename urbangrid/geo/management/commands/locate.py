"""manage.py locate: points -> grid / community / street / district."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from urbangrid.geo.locator import locate_many_indices
from urbangrid.geo.models import Region

from ._common import GeoCommand, add_crs_arguments


class Command(GeoCommand):
    help = (
        "Locate points given as lon,lat arguments or in a CSV file (columns lon,lat or x,y; header "
        "optional) in the declared CRS, and print grid, community, street/town and district of each. "
        "A point on a shared edge gets the grid with the lowest code. Exit codes: 0 all located, "
        "1 some points outside the jurisdiction, 2 bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument("points", nargs="*", help="points as lon,lat (e.g. 108.95,34.27)")
        parser.add_argument("--csv", help="CSV file with lon,lat (or x,y) columns")
        add_crs_arguments(parser, default="wgs84")

    def _read_csv(self, path: Path) -> list[tuple[float, float]]:
        if not path.is_file():
            raise self.bad_input(f"file not found: {path}")
        out: list[tuple[float, float]] = []
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            return out
        header = [c.strip().lower() for c in rows[0]]
        ix, iy, start = 0, 1, 0
        for xs, ys in (("lon", "lat"), ("lng", "lat"), ("x", "y"), ("longitude", "latitude")):
            if xs in header and ys in header:
                ix, iy, start = header.index(xs), header.index(ys), 1
                break
        for n, row in enumerate(rows[start:], start=start + 1):
            try:
                out.append((float(row[ix]), float(row[iy])))
            except (ValueError, IndexError) as exc:
                raise self.bad_input(f"{path}:{n}: not a pair of numbers: {row}") from exc
        return out

    def handle(self, *args, **opts):
        points: list[tuple[float, float]] = []
        for arg in opts["points"]:
            try:
                x, y = (float(v) for v in arg.split(","))
            except ValueError as exc:
                raise self.bad_input(f"not a lon,lat pair: {arg!r}") from exc
            points.append((x, y))
        if opts["csv"]:
            points += self._read_csv(Path(opts["csv"]))
        if not points:
            raise self.bad_input("give points as lon,lat arguments or with --csv")
        xs = np.array([p[0] for p in points])
        ys = np.array([p[1] for p in points])
        crs_kwargs = {k: opts[k] for k in ("zone", "epsg") if opts[k] is not None}
        index, idx = locate_many_indices(xs, ys, opts["crs"], **crs_kwargs)
        region_ids = set()
        for i in idx[idx >= 0]:
            region_ids |= {int(index.community_ids[i]), int(index.street_ids[i]), int(index.district_ids[i])}
        names = {r.pk: f"{r.code} {r.name}" for r in Region.objects.filter(pk__in=region_ids)}
        self.stdout.write("point\tgrid\tcommunity\tstreet\tdistrict")
        outside = 0
        for (x, y), i in zip(points, idx, strict=True):
            if i < 0:
                outside += 1
                self.stdout.write(f"{x},{y}\toutside\t-\t-\t-")
                continue
            self.stdout.write(
                f"{x},{y}\t{index.codes[i]}\t{names.get(int(index.community_ids[i]), '?')}\t"
                f"{names.get(int(index.street_ids[i]), '?')}\t{names.get(int(index.district_ids[i]), '?')}"
            )
        self.stdout.write(f"{len(points) - outside} located, {outside} outside the jurisdiction")
        if outside:
            self.findings()
