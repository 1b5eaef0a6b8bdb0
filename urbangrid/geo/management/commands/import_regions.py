"""manage.py import_regions FILE --crs CRS: regions from GeoJSON or a zipped Shapefile."""

from __future__ import annotations

from pathlib import Path

from urbangrid.geo.actions import do_import_regions

from ._common import GeoCommand, add_crs_arguments


class Command(GeoCommand):
    help = (
        "Import regions (city, district, street/town, community/village) from GeoJSON or a zipped "
        "Shapefile. Features need properties code and name (kind is optional). The source CRS must be "
        "declared. Invalid input is refused as a whole. Exit codes: 0 ok, 2 bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .geojson/.json file or a .zip with a Shapefile")
        add_crs_arguments(parser)
        parser.add_argument("--format", choices=["auto", "geojson", "shp"], default="auto")
        parser.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise self.bad_input(f"file not found: {path}")
        result = do_import_regions(
            None,
            path.read_bytes(),
            opts["crs"],
            zone=opts["zone"],
            epsg=opts["epsg"],
            fmt=opts["format"],
            dry_run=opts["dry_run"],
        )
        prefix = "[dry run] " if result.dry_run else ""
        self.stdout.write(
            f"{prefix}regions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
