"""manage.py bulkgen_cases --count N [--open-fraction 0.1] [--days 365] [--no-events] [--seed 1]

Writes N benchmark cases directly (urbangrid.cases.bulkgen), shaped like action-produced rows."""

import time

from django.core.management.base import BaseCommand, CommandError

from urbangrid.cases.bulkgen import generate


class Command(BaseCommand):
    help = "Write many cases directly for benchmarks (rows shaped like those the actions produce)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--open-fraction", type=float, default=0.1)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument(
            "--no-events", action="store_true", help="skip CaseEvent rows (faster, not for evaluation)"
        )

    def handle(self, *args, count, open_fraction, days, seed, batch, no_events, **opts):

        if count <= 0 or not 0 <= open_fraction <= 1:
            raise CommandError("--count must be positive and --open-fraction within 0..1")
        started = time.monotonic()

        def progress(msg):
            self.stdout.write(f"[{time.monotonic() - started:7.1f}s] {msg}")
            self.stdout.flush()

        n = generate(
            count,
            open_fraction=open_fraction,
            seed=seed,
            days=days,
            events=not no_events,
            batch=batch,
            progress=progress,
        )
        self.stdout.write(f"{n} cases in {time.monotonic() - started:.1f}s")
