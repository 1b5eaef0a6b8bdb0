"""manage.py build_demo_city --seed N --scale small|city [--history-days N] [--if-empty]

Builds the demo city through the same actions a real city uses: the geography and unit grids
(urbangrid.demo.geo), the problem catalogue and calendar, units, people with every role, grid
assignments, secondments and the responsibility matrix; optionally N days of history of cases,
patrols, joint enforcement and credit (urbangrid.demo.cases, .patrol, .joint, .credit). Deterministic for a seed. Prints the
demo accounts.
"""

from __future__ import annotations

import re
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from urbangrid.demo.city import build_demo_city, build_histories
from urbangrid.demo.orgs import DEMO_PASSWORD
from urbangrid.geo.models import Region
from urbangrid.orgs.models import Unit


class Command(BaseCommand):
    help = "Build the deterministic demo city (geography, catalogue, units, people, grids, history)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same city)")
        parser.add_argument(
            "--scale",
            choices=["small", "city"],
            default="small",
            help="small: a few grids for tests; city: ~50 km², ~5,000 grids",
        )
        parser.add_argument("--history-days", type=int, default=0, help="days of case history to simulate")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when a city already exists")
        parser.add_argument("--quiet-accounts", action="store_true", help="do not print the account list")

    def handle(
        self, *args, seed=1, scale="small", history_days=0, if_empty=False, quiet_accounts=False, **opts
    ):
        started = time.monotonic()
        if Region.objects.exists() or Unit.objects.exists():
            if if_empty:
                self.stdout.write("城市数据已存在，跳过构建 (a city already exists; nothing to do).")
                self._print_accounts(None, quiet_accounts)
                return
            raise CommandError("the database already holds a city; use a fresh database or --if-empty")
        if history_days < 0:
            raise CommandError("--history-days must not be negative")

        def progress(*parts, **kw):
            text = " ".join(str(p) for p in parts if p is not None)
            if kw:
                text += " " + " ".join(f"{k}={v}" for k, v in kw.items())
            self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {text}")
            self.stdout.flush()

        result = build_demo_city(seed=seed, scale=scale, progress=progress)
        if history_days > 0:
            build_histories(days=history_days, seed=seed, end=timezone.now(), progress=progress)
        progress(
            f"done: {result.units} units, {result.people} people, {result.grid_assignments} grid assignments, "
            f"{result.secondments} secondments, {result.rules} responsibility rules"
        )
        self._print_accounts(result, quiet_accounts)

    def _print_accounts(self, result, quiet: bool) -> None:
        if quiet:
            return
        if result is None:
            self.stdout.write(
                f"演示账号见首次构建时的输出；常用：admin, center_intake, center_shift, center_dispatch, "
                f"street1_leader, s1_worker1, dept_market_handler（密码 {DEMO_PASSWORD}）"
            )
            return
        self.stdout.write("")
        self.stdout.write(f"演示账号 / demo accounts (password for all: {DEMO_PASSWORD})")
        shown = 0
        for username, role, description in result.accounts:
            # Long rosters: every kind of account, but numbered field staff only for street 1.
            m = re.match(r"^s(\d+)(?:c(\d+))?_", username)
            if m and (
                m.group(1) != "1"
                or (m.group(2) not in (None, "1"))
                or re.search(r"[2-9]\d*$|1\d+$", username)
            ):
                continue
            self.stdout.write(f"  {username:<24} {role:<20} {description}")
            shown += 1
        self.stdout.write(
            f"  … and {len(result.accounts) - shown} more of the same pattern: street<i>_leader, s<i>_worker<n>, "
            "s<i>_officer<n>, s<i>c<j>_handler, s<i>c<j>_leader, s<i>_bureau_officer, s<i>_nr_officer"
        )
