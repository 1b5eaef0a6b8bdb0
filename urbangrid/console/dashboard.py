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

from urbangrid.cases.choices import OPEN_STATES, CaseState
from urbangrid.cases.models import Case
from urbangrid.catalog.choices import KIND_LETTERS

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
    from urbangrid.geo.models import Region

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


def compute(user, params) -> dict:
    since, until = parse_period(params)
    area = resolve_area(user, params.get("area", ""))
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(since, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    area_qs = base_queryset(user, area)
    period = area_qs.filter(reported_at__gte=start, reported_at__lt=end)
    week = params.get("by") == "week"
    trunc = TruncWeek("reported_at", tzinfo=tz) if week else TruncDate("reported_at", tzinfo=tz)
    series = {
        (r["d"].date() if isinstance(r["d"], datetime) else r["d"]): (r["n"], r["closed"])
        for r in period.annotate(d=trunc)
        .values("d")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(state=CaseState.CLOSED)))
        .order_by("d")
    }
    by_time_rows = [[d.isoformat(), n, c] for d, (n, c) in sorted(series.items())]

    # The key (E06001), not the bare code: a component and an event share 06001.
    by_class_rows = [
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
    child = "community" if area is not None and area.level >= 3 else "street"
    by_area_rows = [
        [r[f"{child}__code"] or "—", r[f"{child}__name"] or _("Unknown"), r["n"], r["open"], r["closed"]]
        for r in period.values(f"{child}__code", f"{child}__name")
        .annotate(
            n=Count("id"),
            open=Count("id", filter=Q(state__in=OPEN_STATES)),
            closed=Count("id", filter=Q(state=CaseState.CLOSED)),
        )
        .order_by("-n")[:50]
    ]
    agg = period.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(state__in=OPEN_STATES)),
        closed=Count("id", filter=Q(state=CaseState.CLOSED)),
        shelved=Count("id", filter=Q(state=CaseState.SHELVED)),
        dropped=Count("id", filter=Q(state__in=[CaseState.CANCELLED, CaseState.REJECTED])),
        registered=Count("id", filter=Q(registered_at__isnull=False)),
        verified=Count("id", filter=Q(verified_at__isnull=False, verify_due_at__isnull=False)),
        verified_on_time=Count(
            "id", filter=Q(verified_at__isnull=False, verified_at__lte=F("verify_due_at"))
        ),
        handled=Count("id", filter=Q(handled_at__isnull=False, handle_due_at__isnull=False)),
        handled_on_time=Count("id", filter=Q(handled_at__isnull=False, handled_at__lte=F("handle_due_at"))),
        dispatched=Count("id", filter=Q(dispatched_at__isnull=False, dispatch_due_at__isnull=False)),
        dispatched_on_time=Count(
            "id", filter=Q(dispatched_at__isnull=False, dispatched_at__lte=F("dispatch_due_at"))
        ),
        self_handled=Count("id", filter=Q(self_handled=True)),
    )
    status_rows = [
        [pgettext("case", "Open"), agg["open"]],
        [_("Closed"), agg["closed"]],
        [_("Shelved"), agg["shelved"]],
        [_("Cancelled or not registered"), agg["dropped"]],
    ]
    rate_rows = [
        [
            _("Closing rate (closed / registered)"),
            agg["closed"],
            agg["registered"],
            _pct(agg["closed"], agg["registered"]),
        ],
        [
            _("On-time verification rate"),
            agg["verified_on_time"],
            agg["verified"],
            _pct(agg["verified_on_time"], agg["verified"]),
        ],
        [
            _("On-time dispatch rate"),
            agg["dispatched_on_time"],
            agg["dispatched"],
            _pct(agg["dispatched_on_time"], agg["dispatched"]),
        ],
        [
            _("On-time handling rate"),
            agg["handled_on_time"],
            agg["handled"],
            _pct(agg["handled_on_time"], agg["handled"]),
        ],
        [_("Fixed on the spot"), agg["self_handled"], agg["total"], _pct(agg["self_handled"], agg["total"])],
    ]
    now = timezone.now()
    overdue_rows = [
        [r["assigned_unit__name"], r["n"], r["total"]]
        for r in area_qs.filter(state__in=OPEN_STATES, assigned_unit__isnull=False)
        .values("assigned_unit__name")
        .annotate(n=Count("id", filter=Q(due_at__lte=now)), total=Count("id"))
        .filter(n__gt=0)
        .order_by("-n")[:10]
    ]
    tables = [
        {
            "key": "by_time",
            "title": _("Cases by week") if week else _("Cases by day"),
            "columns": [_("Week of") if week else _("Date"), pgettext("count", "Reported"), _("Closed")],
            "rows": by_time_rows,
        },
        {
            "key": "by_class",
            "title": _("Cases by class"),
            "columns": [_("Code"), _("Class"), pgettext("count", "Reported"), _("Closed")],
            "rows": by_class_rows,
        },
        {
            "key": "by_area",
            "title": _("Cases by community") if child == "community" else _("Cases by street/town"),
            "columns": [
                _("Code"),
                _("Area"),
                pgettext("count", "Reported"),
                pgettext("case", "Open"),
                _("Closed"),
            ],
            "rows": by_area_rows,
        },
        {
            "key": "status",
            "title": _("Open and closed"),
            "columns": [_("State"), pgettext("count", "Cases")],
            "rows": status_rows,
        },
        {
            "key": "rates",
            "title": _("On-time rates"),
            "columns": [_("Indicator"), _("Count"), _("Out of"), _("Rate (%)")],
            "rows": rate_rows,
        },
        {
            "key": "overdue_units",
            "title": _("Units with most overdue open cases"),
            "columns": [_("Unit"), _("Overdue"), pgettext("case", "Open")],
            "rows": overdue_rows,
        },
    ]
    return {
        "since": since,
        "until": until,
        "area": area,
        "by": "week" if week else "day",
        "total": agg["total"],
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
    from openpyxl import Workbook
    from openpyxl.styles import Font

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
