"""Assessment periods: day, ISO week, month, quarter, year or a custom range of days.

A period is a half-open range of local days [start, end); its datetime bounds are local
midnights (Asia/Shanghai by default) made aware, so a case reported at 23:59 on the last day
belongs to the period and one at 00:00 on the next day does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.lib.errors import InvalidInput

from .choices import PeriodKind


def _month_add(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        s = self.start
        if self.kind == PeriodKind.DAY:
            return s.isoformat()
        if self.kind == PeriodKind.WEEK:
            y, w, _d = s.isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind == PeriodKind.MONTH:
            return f"{s.year}-{s.month:02d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return str(s.year)
        return f"{s.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"

    def __str__(self) -> str:
        return self.label

    @property
    def start_dt(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_dt(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end, time.min))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        s = self.start
        if self.kind == PeriodKind.MONTH:
            return Period(self.kind, _month_add(s, -1), s)
        if self.kind == PeriodKind.QUARTER:
            return Period(self.kind, _month_add(s, -3), s)
        if self.kind == PeriodKind.YEAR:
            return Period(self.kind, date(s.year - 1, 1, 1), s)
        return Period(self.kind, s - timedelta(days=self.days), s)

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-10' month, '2026-10-05' day, '2026-W42' ISO week, '2026-Q4', '2026', or
        '2026-10-01..2026-10-15' (both days included)."""
        t = (text or "").strip()
        try:
            if ".." in t:
                a, b = (date.fromisoformat(x.strip()) for x in t.split("..", 1))
                if b < a:
                    raise ValueError
                return cls(PeriodKind.CUSTOM, a, b + timedelta(days=1))
            if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", t, re.I):
                start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
                return cls(PeriodKind.WEEK, start, start + timedelta(days=7))
            if m := re.fullmatch(r"(\d{4})-Q([1-4])", t, re.I):
                start = date(int(m[1]), 3 * (int(m[2]) - 1) + 1, 1)
                return cls(PeriodKind.QUARTER, start, _month_add(start, 3))
            if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
                start = date(int(m[1]), int(m[2]), 1)
                return cls(PeriodKind.MONTH, start, _month_add(start, 1))
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
                d = date.fromisoformat(t)
                return cls(PeriodKind.DAY, d, d + timedelta(days=1))
            if re.fullmatch(r"\d{4}", t):
                return cls(PeriodKind.YEAR, date(int(t), 1, 1), date(int(t) + 1, 1, 1))
        except ValueError:
            pass
        raise InvalidInput(
            _(
                "Unknown period “%(text)s”: use 2026-10, 2026-Q4, 2026-W42, 2026, 2026-10-05 or 2026-10-01..2026-10-15."
            )
            % {"text": text},
            field="period",
        )

    @classmethod
    def current_month(cls) -> Period:
        today = timezone.localdate()
        start = today.replace(day=1)
        return cls(PeriodKind.MONTH, start, _month_add(start, 1))

    @classmethod
    def last_month(cls) -> Period:
        return cls.current_month().previous()
