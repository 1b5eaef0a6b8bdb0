"""Reads of the portal app: the PUBLIC projection of cases (no personal data: no names, phones,
e-mails, accounts or staff), the Open311 status mapping and the public statistics.

These reads are deliberately not jurisdiction-filtered: they publish what the city shows to
everyone (M1 publicity of results), field by field, and nothing else.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from django.db.models import Count, F, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.cases.choices import FINAL_STATES, OPEN_STATES, CaseState
from urbangrid.cases.models import Attachment, Case
from urbangrid.cases.queries import PUBLIC_PHOTO_STAGES, public_photo
from urbangrid.geo.locator import degree_box
from urbangrid.geo.models import Region

# 11-digit mainland mobile numbers, landlines and e-mail addresses inside free text.
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{7,8}(?!\d)")
# The lookbehind starts a match only where a run of name characters starts: without it every
# position inside a long run (Chinese text is \w too) rescanned the run, quadratic in its length.
# The possessive quantifiers never backtrack into a run they have read.
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++\.[\w.-]++")
_ID_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def mask_text(text: str) -> str:
    """Hide phone numbers, ID numbers and e-mail addresses a reporter typed into a description."""
    if not text:
        return ""
    text = _ID_RE.sub("******************", text)
    text = _PHONE_RE.sub(r"\1****\2", text)
    text = _LANDLINE_RE.sub(r"\1-********", text)
    return _EMAIL_RE.sub("***@***", text)


def open311_status(state: str) -> str:
    """open: reported and being dealt with (a shelved case is not solved); closed: resolved,
    not registered or cancelled."""
    return "closed" if state in FINAL_STATES else "open"


def status_notes(case) -> str:
    note = CaseState(case.state).label if case.state in CaseState.values else case.state
    if case.duplicate_of_id:
        note = _("%(state)s; merged into case %(number)s") % {
            "state": note,
            "number": case.duplicate_of.number if case.duplicate_of else "",
        }
    return str(note)


def public_cases():
    """Cases with what the public projection reads, in one query plus prefetches."""

    return Case.objects.select_related(
        "problem_class", "assigned_unit", "duplicate_of", "street"
    ).prefetch_related(
        Prefetch(
            "attachments",
            queryset=Attachment.objects.filter(stage__in=PUBLIC_PHOTO_STAGES).order_by("id"),
            to_attr="public_photos",
        )
    )


def photos(case, stage: str) -> list:
    """The case's photos of ``stage`` the public may see (none of an open case)."""
    return [
        a
        for a in getattr(case, "public_photos", [])
        if a.stage == stage and public_photo(a.stage, case.state)
    ]


def expected_at(case):
    """When the problem should be fixed: the handling deadline once dispatched (the earlier
    steps' deadlines are internal and would mislead a citizen)."""
    return case.handle_due_at if case.state not in FINAL_STATES else None


def service_notice(problem_class) -> str:
    if problem_class is None:
        return ""
    return _("Handled within %(amount)s %(unit)s of registration (city handling standard).") % {
        "amount": f"{problem_class.time_limit.normalize():f}",
        "unit": problem_class.get_time_unit_display(),
    }


def nearby_open(lon: float, lat: float, radius_m: float = 300, limit: int = 20) -> list[dict]:
    """Open cases near a point (bounding-box prefilter on the indexed lon/lat, then distance)."""

    min_lon, min_lat, max_lon, max_lat = degree_box(lon, lat, radius_m)
    rows = (
        Case.objects.filter(
            state__in=OPEN_STATES | {CaseState.SHELVED},
            lon__range=(min_lon, max_lon),
            lat__range=(min_lat, max_lat),
            duplicate_of__isnull=True,
        )
        .select_related("problem_class")
        .order_by("-reported_at")[:200]
    )
    out = []
    for c in rows:
        dx = (c.lon - lon) * 111_320 * math.cos(math.radians(lat))
        dy = (c.lat - lat) * 111_320
        dist = math.hypot(dx, dy)
        if dist <= radius_m:
            out.append(
                {
                    "number": c.number,
                    "class_name": c.problem_class.name if c.problem_class else "",
                    "description": mask_text(c.description)[:80],
                    "state": str(CaseState(c.state).label),
                    "reported_at": timezone.localtime(c.reported_at).strftime("%Y-%m-%d %H:%M"),
                    "distance_m": round(dist),
                    "lon": round(c.lon, 5),
                    "lat": round(c.lat, 5),
                    "report_count": c.report_count,
                }
            )
    out.sort(key=lambda r: r["distance_m"])
    return out[:limit]


def public_timeline(case) -> list[dict]:
    """State changes of the case with their times (no actor, role, unit person or reason)."""
    events = case.events.exclude(to_state="").order_by("at", "id").values("at", "from_state", "to_state")
    out, last = [], None
    for e in events:
        if e["to_state"] == last:
            continue
        last = e["to_state"]
        label = CaseState(e["to_state"]).label if e["to_state"] in CaseState.values else e["to_state"]
        out.append({"at": e["at"], "state": e["to_state"], "label": str(label)})
    if not out:
        out.append(
            {"at": case.reported_at, "state": CaseState.REPORTED, "label": str(CaseState.REPORTED.label)}
        )
    return out


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    now = timezone.localtime(now or timezone.now())
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return start, nxt


def on_time_q() -> Q:
    """Closed cases whose handling was reported back by its deadline (no deadline = on time)."""
    return Q(handle_due_at__isnull=True) | Q(handled_at__isnull=False, handled_at__lte=F("handle_due_at"))


def month_stats(start: datetime, end: datetime) -> dict:

    received = Case.objects.filter(
        reported_at__gte=start, reported_at__lt=end, duplicate_of__isnull=True
    ).count()
    closed_qs = Case.objects.filter(state=CaseState.CLOSED, closed_at__gte=start, closed_at__lt=end)
    agg = closed_qs.aggregate(closed=Count("id"), on_time=Count("id", filter=on_time_q()))
    rate = (agg["on_time"] / agg["closed"] * 100) if agg["closed"] else None
    return {"received": received, "closed": agg["closed"], "on_time": agg["on_time"], "on_time_rate": rate}


def by_street(start: datetime, end: datetime) -> list[dict]:
    """Received and closed per street/town in the period (two grouped queries)."""

    received = dict(
        Case.objects.filter(reported_at__gte=start, reported_at__lt=end, duplicate_of__isnull=True)
        .values_list("street_id")
        .annotate(n=Count("id"))
        .values_list("street_id", "n")
    )
    closed_rows = (
        Case.objects.filter(state=CaseState.CLOSED, closed_at__gte=start, closed_at__lt=end)
        .values("street_id")
        .annotate(n=Count("id"), on_time=Count("id", filter=on_time_q()))
    )
    closed = {r["street_id"]: r for r in closed_rows}
    streets = Region.objects.filter(level=3).order_by("code").values("id", "name")
    out = []
    for s in streets:
        c = closed.get(s["id"], {})
        n_closed = c.get("n", 0)
        out.append(
            {
                "name": s["name"],
                "received": received.get(s["id"], 0),
                "closed": n_closed,
                "on_time_rate": (c.get("on_time", 0) / n_closed * 100) if n_closed else None,
            }
        )
    return out


def monthly_series(months: int = 12, now: datetime | None = None) -> list[dict]:
    """Received / closed / on-time rate for each of the last ``months`` months."""
    start, _end = month_bounds(now)
    series = []
    for _i in range(months):
        end = (start + timedelta(days=32)).replace(day=1)
        row = month_stats(start, end)
        row["month"] = start.strftime("%Y-%m")
        series.append(row)
        start = (start - timedelta(days=1)).replace(day=1)
    return list(reversed(series))


def classes_handled(start: datetime, end: datetime, limit: int = 15) -> list[dict]:

    return list(
        Case.objects.filter(
            state=CaseState.CLOSED, closed_at__gte=start, closed_at__lt=end, problem_class__isnull=False
        )
        .values("problem_class__code", "problem_class__name", "problem_class__major_name")
        .annotate(n=Count("id"))
        .order_by("-n", "problem_class__code")[:limit]
    )


def recent_closed_with_photos(limit: int = 6) -> list:
    """Recently closed cases that have both a before (or report) and an after photo."""

    with_after = Attachment.objects.filter(stage="after").values("case_id")
    cases = list(
        public_cases().filter(state=CaseState.CLOSED, id__in=with_after).order_by("-closed_at")[:limit]
    )
    out = []
    for c in cases:
        before = photos(c, "before") or photos(c, "report")
        after = photos(c, "after")
        if before and after:
            out.append(
                {"case": c, "before": before[0], "after": after[0], "description": mask_text(c.description)}
            )
    return out
