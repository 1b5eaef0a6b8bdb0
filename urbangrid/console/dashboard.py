"""Dashboard aggregates (computed in the database) and their Excel export.

Every table is {"key", "title", "columns", "rows"} so the page, the charts and the .xlsx export
share one computation."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from urbangrid.cases.choices import OPEN_STATES, CaseState
from urbangrid.cases.models import Case
from urbangrid.catalog.choices import KIND_LETTERS
from urbangrid.geo.models import Region

HEAT_LIMIT = 20000


def parse_period(params) -> tuple[date, date]:
    today = timezone.localdate()

    def d(value, default):
        try:
            return datetime.strptime(str(value)[:10], "%Y-%m-%d").date()
        except (TypeError, ValueError):
            return default

    until = d(params.get("until"), today)
    since = d(params.get("since"), until - timedelta(days=29))
    if since > until:
        since, until = until, since
    if (until - since).days > 3660:
        since = until - timedelta(days=3660)
    return since, until


def resolve_area(user, code: str):
    """A street/community/district of the user's jurisdiction, or None (= all of it)."""

    if not code:
        return None
    return Region.objects.visible_to(user).filter(code=code, level__gte=2).first()


def base_queryset(user, area=None):
    qs = Case.objects.visible_to(user)
    if area is not None:
        col = {2: "district", 3: "street", 4: "community"}.get(area.level)
        if col:
            qs = qs.filter(**{f"{col}_id": area.pk})
    return qs


def _pct(num, den):
    return round(100.0 * num / den, 1) if den else None


def _table(key: str, title: str, columns: list, rows: list) -> dict:
    return {"key": key, "title": title, "columns": columns, "rows": rows}


def _by_time_table(period, week: bool) -> dict:
    tz = timezone.get_current_timezone()
    trunc = TruncWeek("reported_at", tzinfo=tz) if week else TruncDate("reported_at", tzinfo=tz)
    series = {
        (r["d"].date() if isinstance(r["d"], datetime) else r["d"]): (r["n"], r["closed"])
        for r in period.annotate(d=trunc)
        .values("d")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(state=CaseState.CLOSED)))
        .order_by("d")
    }
    return _table(
        "by_time",
        _("Cases by week") if week else _("Cases by day"),
        [_("Week of") if week else _("Date"), pgettext("count", "Reported"), _("Closed")],
        [[d.isoformat(), n, c] for d, (n, c) in sorted(series.items())],
    )


def _by_class_table(period) -> dict:
    # The key (E06001), not the bare code: a component and an event share 06001.
    rows = [
        [
            KIND_LETTERS.get(r["problem_class__kind"], "") + r["problem_class__code"]
            if r["problem_class__code"]
            else "—",
            r["problem_class__name"] or _("Unclassified"),
            r["n"],
            r["closed"],
        ]
        for r in period.values("problem_class__code", "problem_class__kind", "problem_class__name")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(state=CaseState.CLOSED)))
        .order_by("-n")[:20]
    ]
    columns = [_("Code"), _("Class"), pgettext("count", "Reported"), _("Closed")]
    return _table("by_class", _("Cases by class"), columns, rows)


def _by_area_table(period, area) -> dict:
    """Cases by street/town, or by community inside a street or community."""
    child = "community" if area is not None and area.level >= 3 else "street"
    rows = [
        [r[f"{child}__code"] or "—", r[f"{child}__name"] or _("Unknown"), r["n"], r["open"], r["closed"]]
        for r in period.values(f"{child}__code", f"{child}__name")
        .annotate(
            n=Count("id"),
            open=Count("id", filter=Q(state__in=OPEN_STATES)),
            closed=Count("id", filter=Q(state=CaseState.CLOSED)),
        )
        .order_by("-n")[:50]
    ]
    return _table(
        "by_area",
        _("Cases by community") if child == "community" else _("Cases by street/town"),
        [_("Code"), _("Area"), pgettext("count", "Reported"), pgettext("case", "Open"), _("Closed")],
        rows,
    )


def _on_time(stamp: str, due: str) -> tuple[Count, Count]:
    """The cases with a stage done and a deadline for it, and those done by the deadline."""
    return (
        Count("id", filter=Q(**{f"{stamp}__isnull": False, f"{due}__isnull": False})),
        Count("id", filter=Q(**{f"{stamp}__isnull": False, f"{stamp}__lte": F(due)})),
    )


def _totals(period) -> dict:
    verified, verified_on_time = _on_time("verified_at", "verify_due_at")
    handled, handled_on_time = _on_time("handled_at", "handle_due_at")
    dispatched, dispatched_on_time = _on_time("dispatched_at", "dispatch_due_at")
    return period.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(state__in=OPEN_STATES)),
        closed=Count("id", filter=Q(state=CaseState.CLOSED)),
        shelved=Count("id", filter=Q(state=CaseState.SHELVED)),
        dropped=Count("id", filter=Q(state__in=[CaseState.CANCELLED, CaseState.REJECTED])),
        registered=Count("id", filter=Q(registered_at__isnull=False)),
        verified=verified,
        verified_on_time=verified_on_time,
        handled=handled,
        handled_on_time=handled_on_time,
        dispatched=dispatched,
        dispatched_on_time=dispatched_on_time,
        self_handled=Count("id", filter=Q(self_handled=True)),
    )


def _status_table(totals: dict) -> dict:
    rows = [
        [pgettext("case", "Open"), totals["open"]],
        [_("Closed"), totals["closed"]],
        [_("Shelved"), totals["shelved"]],
        [_("Cancelled or not registered"), totals["dropped"]],
    ]
    return _table("status", _("Open and closed"), [_("State"), pgettext("count", "Cases")], rows)


def _rates_table(totals: dict) -> dict:
    rates = [  # label, numerator, denominator
        (_("Closing rate (closed / registered)"), "closed", "registered"),
        (_("On-time verification rate"), "verified_on_time", "verified"),
        (_("On-time dispatch rate"), "dispatched_on_time", "dispatched"),
        (_("On-time handling rate"), "handled_on_time", "handled"),
        (_("Fixed on the spot"), "self_handled", "total"),
    ]
    rows = [[label, totals[num], totals[den], _pct(totals[num], totals[den])] for label, num, den in rates]
    columns = [_("Indicator"), _("Count"), _("Out of"), _("Rate (%)")]
    return _table("rates", _("On-time rates"), columns, rows)


def _overdue_units_table(area_qs) -> dict:
    now = timezone.now()
    rows = [
        [r["assigned_unit__name"], r["n"], r["total"]]
        for r in area_qs.filter(state__in=OPEN_STATES, assigned_unit__isnull=False)
        .values("assigned_unit__name")
        .annotate(n=Count("id", filter=Q(due_at__lte=now)), total=Count("id"))
        .filter(n__gt=0)
        .order_by("-n")[:10]
    ]
    return _table(
        "overdue_units",
        _("Units with most overdue open cases"),
        [_("Unit"), _("Overdue"), pgettext("case", "Open")],
        rows,
    )


def compute(user, params) -> dict:
    since, until = parse_period(params)
    area = resolve_area(user, params.get("area", ""))
    start = timezone.make_aware(datetime.combine(since, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    area_qs = base_queryset(user, area)
    period = area_qs.filter(reported_at__gte=start, reported_at__lt=end)
    week = params.get("by") == "week"
    by_time = _by_time_table(period, week)
    by_class = _by_class_table(period)
    by_area = _by_area_table(period, area)
    totals = _totals(period)
    tables = [
        by_time,
        by_class,
        by_area,
        _status_table(totals),
        _rates_table(totals),
        _overdue_units_table(area_qs),
    ]
    return {
        "since": since,
        "until": until,
        "area": area,
        "by": "week" if week else "day",
        "total": totals["total"],
        "tables": tables,
        "start": start,
        "end": end,
    }


def heat_points(user, params) -> list[list[float]]:
    data_since, data_until = parse_period(params)
    area = resolve_area(user, params.get("area", ""))
    start = timezone.make_aware(datetime.combine(data_since, time.min))
    end = timezone.make_aware(datetime.combine(data_until + timedelta(days=1), time.min))
    qs = base_queryset(user, area).filter(reported_at__gte=start, reported_at__lt=end, lon__isnull=False)
    return [
        [round(lat, 5), round(lon, 5)] for lon, lat in qs.order_by().values_list("lon", "lat")[:HEAT_LIMIT]
    ]


def to_xlsx(table: dict, subtitle: str) -> bytes:

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\\/*?:\[\]]", "-", str(table["title"]))[:31]
    ws.append([str(table["title"])])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([subtitle])
    ws.append([str(c) for c in table["columns"]])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in table["rows"]:
        ws.append([str(v) if hasattr(v, "__html__") else v for v in row])
    for i, _col in enumerate(table["columns"], start=1):
        ws.column_dimensions[ws.cell(row=3, column=i).column_letter].width = 18 if i > 1 else 28
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
