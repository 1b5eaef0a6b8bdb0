from django.core.management.base import BaseCommand

from urbangrid.catalog.seed import load_catalog


class Command(BaseCommand):
    help = "Load the problem catalogue (both code sets, 立结案标准) and the 2025–2027 calendar. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--update", action="store_true", help="rewrite existing rows from the seed")

    def handle(self, *args, update=False, **options):
        counts = load_catalog(update=update)
        self.stdout.write(
            f"classes created: {counts['classes']}, calendar days created: {counts['calendar_days']}"
        )
