"""manage.py check_coverage --region CODE: the coverage proof (gaps, overlaps, unstaffed grids)."""

from __future__ import annotations

import json

from urbangrid.geo.coverage import check_region
from urbangrid.geo.models import Region

from ._common import GeoCommand


class Command(GeoCommand):
    help = (
        "Prove that the current unit grids (and the child regions) of a region cover it with no gap "
        "and no overlap: prints each gap/overlap with its area and location, grids without a named "
        "supervisor, and a last line with the count and the total m². Exit codes: 0 no findings, "
        "1 findings, 2 bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="region code (any level)")
        parser.add_argument(
            "--sliver-m2", type=float, default=None, help="ignore pieces below this area (m²)"
        )
        parser.add_argument(
            "--no-supervisors", action="store_true", help="do not list grids without a supervisor"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **opts):
        region = Region.objects.filter(code=opts["region"]).first()
        if region is None:
            raise self.bad_input(f"unknown region code {opts['region']}")
        if opts["sliver_m2"] is not None and opts["sliver_m2"] < 0:
            raise self.bad_input("--sliver-m2 must not be negative")
        report = check_region(region, sliver_m2=opts["sliver_m2"], supervisors=not opts["no_supervisors"])
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(
                f"{region.code} {region.name}: {report.grids} grids, {report.children} child regions, "
                f"{report.region_area_m2:,.0f} m², sliver threshold {report.sliver_m2:g} m², {report.seconds:.2f} s"
            )
            for f in report.findings:
                self.stdout.write(f.describe())
            area = report.area_findings
            self.stdout.write(
                f"{len(area)} gaps/overlaps, total {report.total_area_m2:.2f} m²; "
                f"{len(report.findings) - len(area)} grids without a supervisor"
            )
        if report.findings:
            self.findings()
