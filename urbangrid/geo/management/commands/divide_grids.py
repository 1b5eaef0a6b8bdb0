"""manage.py divide_grids --region CODE: divide a community (or every community of a region)."""

from __future__ import annotations

from django.db import transaction

from urbangrid.geo.actions import COMMUNITY_KINDS, do_divide_grids, grid_target_m2
from urbangrid.geo.division import divide_lonlat
from urbangrid.geo.models import Region

from ._common import GeoCommand, parse_moment


class Command(GeoCommand):
    help = (
        "Divide a community/village (or every community/village inside a street, town or district) "
        "into unit grids of about --target-m2 (default settings.URBANGRID['GRID_TARGET_M2']), numbered "
        "west->east, north->south. Replaces the current grids (they keep their history as older "
        "versions). Exit codes: 0 ok, 2 bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--region", required=True, help="region code (community, street/town or district)"
        )
        parser.add_argument("--target-m2", type=float, default=None, help="target grid area in m²")
        parser.add_argument(
            "--valid-from", help="start of validity (YYYY-MM-DD or ISO date-time); default now"
        )
        parser.add_argument("--dry-run", action="store_true", help="report the grid counts, write nothing")

    def handle(self, *args, **opts):
        region = Region.objects.filter(code=opts["region"]).first()
        if region is None:
            raise self.bad_input(f"unknown region code {opts['region']}")
        if region.kind in COMMUNITY_KINDS:
            communities = [region]
        else:
            communities = list(
                Region.objects.filter(code__startswith=region.code, kind__in=COMMUNITY_KINDS).order_by("code")
            )
        if not communities:
            raise self.bad_input(f"no community or village inside {region.code}")
        target = opts["target_m2"] or grid_target_m2()
        moment = parse_moment(opts["valid_from"], self)
        total = 0
        with transaction.atomic():
            for i, community in enumerate(communities, start=1):
                if opts["dry_run"]:
                    n = len(divide_lonlat(community.geometry, target)) if community.geometry_wkb else 0
                else:
                    n = len(do_divide_grids(None, community, target, moment))
                total += n
                self.stdout.write(f"[{i}/{len(communities)}] {community.code} {community.name}: {n} grids")
        prefix = "[dry run] " if opts["dry_run"] else ""
        self.stdout.write(f"{prefix}{len(communities)} communities, {total} grids of about {target:.0f} m²")
