"""manage.py evaluate --period 2026-10 [--scheme CODE[@VERSION]] [--subject unit|street|...|all]
[--format table|json|xlsx] [--output FILE] [--as-of ISO]: the same numbers as the pages and the API."""

from __future__ import annotations

import json
import sys
import time
import unicodedata
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from urbangrid.evaluation.choices import SubjectKind
from urbangrid.evaluation.indicators import REGISTRY
from urbangrid.evaluation.periods import Period
from urbangrid.evaluation.reports import fmt_value, rankings_workbook
from urbangrid.evaluation.scoring import evaluate_many, resolve_version
from urbangrid.lib.errors import DomainError


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    return s + " " * max(0, w - _width(s))


class Command(BaseCommand):
    help = "Compute the evaluation indicators, scores, grades and rankings for a period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--period", required=True, help="2026-10, 2026-Q4, 2026-W42, 2026, 2026-10-05 or A..B"
        )
        parser.add_argument(
            "--scheme", default="", help="scheme code, optionally @version (default: the city's)"
        )
        parser.add_argument(
            "--subject", default="all", help="|".join(SubjectKind.values) + "|all (comma separated)"
        )
        parser.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        parser.add_argument("--output", default="", help="file to write (required for xlsx)")
        parser.add_argument("--as-of", default="", help="compute as at this ISO time (default: now)")

    def handle(self, *args, **opts):
        with translation.override("zh-hans"):
            try:
                self._run(opts)
            except DomainError as exc:
                raise CommandError(exc.message) from exc

    def _run(self, opts):
        period = Period.parse(opts["period"])
        version = resolve_version(opts["scheme"] or None)
        kinds = (
            SubjectKind.values
            if opts["subject"] == "all"
            else [k.strip() for k in opts["subject"].split(",")]
        )
        bad = [k for k in kinds if k not in SubjectKind.values]
        if bad:
            raise CommandError(f"unknown subject kind(s): {', '.join(bad)}")
        as_of = None
        if opts["as_of"]:
            as_of = datetime.fromisoformat(opts["as_of"])
            if timezone.is_naive(as_of):
                as_of = timezone.make_aware(as_of)
        t0 = time.perf_counter()
        evals = evaluate_many(kinds, period, version, as_of=as_of)
        for ev in evals:
            self.stderr.write(f"  {SubjectKind(ev.kind).label}: {len(ev.rows)}", ending="\n")
        elapsed = time.perf_counter() - t0
        self.stderr.write(f"{period.label} · {version} · {elapsed:.2f} s")
        fmt, out = opts["format"], opts["output"]
        if fmt == "xlsx":
            if not out:
                raise CommandError("--output FILE is required for --format xlsx")
            with open(out, "wb") as fh:
                fh.write(rankings_workbook(evals, f"{version.scheme.name} · {period.label}"))
            self.stdout.write(out)
            return
        if fmt == "json":
            doc = {
                "period": period.label,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "scheme": version.scheme.code,
                "version": version.number,
                "subjects": {ev.kind: [r.as_dict() for r in ev.rows] for ev in evals},
            }
            text = json.dumps(doc, ensure_ascii=False, indent=1)
        else:
            text = "\n".join(self._table(ev) for ev in evals)
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            self.stdout.write(out)
        else:
            sys.stdout.flush()
            self.stdout.write(text)

    def _table(self, ev) -> str:
        header = (
            ["#", "±", str(SubjectKind(ev.kind).label)]
            + [str(REGISTRY[c].name) for c in ev.codes]
            + ["得分", "等级"]
        )
        rows = []
        for r in ev.rows:
            ch = r.change
            rows.append(
                [str(r.rank or "—"), "—" if ch is None else f"{ch:+d}", r.subject.name]
                + [fmt_value(c, r.measures.get(c)) for c in ev.codes]
                + ["—" if r.total is None else f"{r.total:.2f}", r.grade or "—"]
            )
        widths = [max(_width(x) for x in col) for col in zip(header, *rows, strict=False)]
        lines = [f"== {SubjectKind(ev.kind).label} ({len(rows)}) =="]
        for row in [header, *rows]:
            lines.append("  ".join(_pad(x, w) for x, w in zip(row, widths, strict=False)))
        return "\n".join(lines)
