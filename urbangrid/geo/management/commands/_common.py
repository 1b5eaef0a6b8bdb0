"""Shared pieces of the geo commands: exit codes 0 ok / 1 findings / 2 bad input, CRS options."""

from __future__ import annotations

import sys
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from urbangrid.lib.errors import DomainError

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class GeoCommand(BaseCommand):
    """A command whose domain errors become exit code 2 with the (Chinese) message on stderr."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=EXIT_BAD_INPUT) from exc

    def bad_input(self, message: str):
        return CommandError(message, returncode=EXIT_BAD_INPUT)

    def findings(self) -> None:
        """Exit with code 1 after the report has been printed (findings are not errors)."""
        sys.stdout.flush()
        raise SystemExit(EXIT_FINDINGS)


def add_crs_arguments(parser, default: str | None = None) -> None:
    parser.add_argument(
        "--crs",
        required=default is None,
        default=default,
        help="coordinate system: wgs84 | cgcs2000 | gcj02 | bd09 | cgcs2000_gk (with --zone or --epsg) | epsg:NNNN",
    )
    parser.add_argument(
        "--zone", type=int, help="3-degree Gauss-Krüger zone number (25-45), e.g. 36 for 108°E"
    )
    parser.add_argument("--epsg", type=int, help="EPSG code of a projected system, e.g. 4545")


def parse_moment(value: str | None, command: GeoCommand) -> datetime | None:
    """YYYY-MM-DD (local midnight) or an ISO date-time; None when not given."""
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise command.bad_input(f"--valid-from: not a date or date-time: {value!r}")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
