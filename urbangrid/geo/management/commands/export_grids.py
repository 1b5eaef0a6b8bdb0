"""manage.py export_grids: current (or historical) unit grids as GeoJSON or a zipped Shapefile."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from urbangrid.geo.crs import resolve_crs
from urbangrid.geo.io import feature_collection, shapefile_zip
from urbangrid.geo.models import Region, UnitGrid

from ._common import GeoCommand, add_crs_arguments, parse_moment


class Command(GeoCommand):
    help = (
        "Export unit grids (code, version, name, community, street, district, area_m2, valid_from) in a "
        "chosen CRS as GeoJSON or a zipped Shapefile (with .prj). Exit codes: 0 ok, 2 bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", help="only grids inside this region code (any level)")
        parser.add_argument("--format", choices=["geojson", "shp"], default="geojson")
        add_crs_arguments(parser, default="cgcs2000")
        parser.add_argument("--at", help="grids valid at this date/time instead of the current ones")
        parser.add_argument("--output", "-o", default="-", help="output file ('-' = stdout, GeoJSON only)")

    def handle(self, *args, **opts):

        spec = resolve_crs(opts["crs"], zone=opts["zone"], epsg=opts["epsg"])
        moment = parse_moment(opts["at"], self)
        grids = UnitGrid.objects.valid_at(moment) if moment else UnitGrid.objects.current()
        if opts["region"]:
            region = Region.objects.filter(code=opts["region"]).first()
            if region is None:
                raise self.bad_input(f"unknown region code {opts['region']}")
            field = {4: "community", 3: "street", 2: "district"}.get(region.level, "district__parent")
            grids = grids.filter(**{field: region})
        rows = grids.select_related("community", "street", "district").order_by("code")
        items = [
            (
                g.geometry,
                {
                    "code": g.code,
                    "version": g.version,
                    "name": g.name,
                    "community": g.community.code,
                    "street": g.street.code,
                    "district": g.district.code,
                    "area_m2": round(g.area_m2, 2),
                    "valid_from": g.valid_from.isoformat(),
                },
            )
            for g in rows.iterator(chunk_size=2000)
        ]
        if opts["format"] == "shp":
            if opts["output"] == "-":
                raise self.bad_input("a Shapefile needs --output FILE.zip")
            Path(opts["output"]).write_bytes(shapefile_zip(items, spec))
        else:
            text = json.dumps(feature_collection(items, spec), ensure_ascii=False)
            if opts["output"] == "-":
                sys.stdout.write(text + "\n")
            else:
                Path(opts["output"]).write_text(text, encoding="utf-8")
        if opts["output"] != "-":
            self.stdout.write(f"exported {len(items)} grids ({spec.label}) to {opts['output']}")
