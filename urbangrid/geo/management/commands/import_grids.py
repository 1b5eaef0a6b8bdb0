"""manage.py import_grids FILE --crs CRS: unit grids from GeoJSON or a zipped Shapefile."""

from __future__ import annotations

from pathlib import Path

from urbangrid.geo.actions import do_import_grids

from ._common import GeoCommand, add_crs_arguments, parse_moment


class Command(GeoCommand):
    help = (
        "Import unit grids (15-digit code = 12-digit community code + 3-digit sequence; optional name) "
        "from GeoJSON or a zipped Shapefile. A changed boundary opens a new version from --valid-from. "
        "Every grid must lie inside its community. Exit codes: 0 ok, 2 bad input (nothing written)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .geojson/.json file or a .zip with a Shapefile")
        add_crs_arguments(parser)
        parser.add_argument("--format", choices=["auto", "geojson", "shp"], default="auto")
        parser.add_argument(
            "--valid-from", help="start of validity (YYYY-MM-DD or ISO date-time); default now"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise self.bad_input(f"file not found: {path}")
        result = do_import_grids(
            None,
            path.read_bytes(),
            opts["crs"],
            zone=opts["zone"],
            epsg=opts["epsg"],
            fmt=opts["format"],
            valid_from=parse_moment(opts["valid_from"], self),
            dry_run=opts["dry_run"],
        )
        prefix = "[dry run] " if result.dry_run else ""
        self.stdout.write(
            f"{prefix}grids: {result.created} created, {result.updated} new versions, {result.unchanged} unchanged"
        )
