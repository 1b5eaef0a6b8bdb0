"""Intake (M2): every channel's report enters here.

``do_intake(actor, data, client_key=, request_id=)`` locates the point (grid, community, street,
district; the grid version valid now is kept, with the input CRS and coordinates), suggests a class
from the text when none is given (and keeps why), looks for a likely duplicate (same class or the
same major class, within DUPLICATE_DISTANCE_M metres and DUPLICATE_WINDOW_HOURS, open or recently
closed) and either links the report to it (report_count + 1, the reporter told) or opens a new case
with a number and a public follow-up token.

Idempotent by (client_key, request_id): a retry returns the first result. Two concurrent retries
race on the unique constraint of Report; the loser catches IntegrityError and returns the winner's.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.lib.errors import InvalidInput, PermissionDenied
from urbangrid.orgs.choices import Role

from . import attachments, deadlines, deps, notify
from .actions import next_case_number
from .choices import NEEDS_VERIFICATION, OPEN_STATES, AttachmentStage, CaseState, Channel, DeadlineStep, Tier
from .models import Case, CaseEvent, Report

STAFF_CHANNELS = {
    Channel.GRID_WORKER: (Role.GRID_WORKER, Role.ENFORCEMENT_OFFICER),
    Channel.HOTLINE: (Role.INTAKE_OPERATOR,),
    Channel.STAFF: (
        Role.INTAKE_OPERATOR,
        Role.SHIFT_LEADER,
        Role.DISPATCHER,
        Role.GRID_WORKER,
        Role.ENFORCEMENT_OFFICER,
        Role.UNIT_HANDLER,
        Role.UNIT_LEADER,
        Role.STREET_LEADER,
        Role.DISTRICT_LEADER,
        Role.CITY_LEADER,
    ),
    Channel.INSPECTION: (Role.GRID_WORKER, Role.ENFORCEMENT_OFFICER, Role.INTAKE_OPERATOR, Role.SHIFT_LEADER),
}
CRS_CHOICES = ("wgs84", "cgcs2000", "gcj02", "bd09", "cgcs2000_gk")


@dataclass
class IntakeData:
    channel: str
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str = ""
    class_code: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    anonymous: bool = False
    photos: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class IntakeResult:
    case: Case
    report: Report
    created: bool  # False for a retry (same request id) or a report linked to an existing case
    duplicate_of: Case | None = None
    suggestions: list = field(default_factory=list)
    replayed: bool = False  # True when this answer repeats an earlier submission

    @property
    def message(self) -> str:
        if self.duplicate_of is not None:
            return _("This problem was already reported as case %(n)s; your report was added to it.") % {
                "n": self.case.number
            }
        return _("Your report was received as case %(n)s.") % {"n": self.case.number}


def _cfg(name, default):
    return settings.URBANGRID.get(name, default)


def do_intake(
    actor, data: IntakeData, *, client_key: str = "", request_id: str | None = None, now=None
) -> IntakeResult:
    """Receive one report (see the module docstring). Bad input raises and changes nothing."""
    client_key = (client_key or (f"user:{actor.pk}" if getattr(actor, "pk", None) else ""))[:64]
    request_id = (str(request_id)[:80] or None) if request_id else None
    # Most requests are new: a bare existence check on the unique index is cheaper than loading.
    if request_id and Report.objects.filter(client_key=client_key, request_id=request_id).exists():
        replay = _replay(client_key, request_id)
        if replay is not None:
            return replay
    try:
        return _intake(actor, data, client_key=client_key, request_id=request_id, now=now)
    except IntegrityError:
        if request_id:
            replay = _replay(client_key, request_id)
            if replay is not None:
                return replay
        raise


def _replay(client_key, request_id) -> IntakeResult | None:
    report = (
        Report.objects.select_related("case").filter(client_key=client_key, request_id=request_id).first()
    )
    if report is None:
        return None
    case = report.case
    return IntakeResult(
        case=case,
        report=report,
        created=False,
        replayed=True,
        duplicate_of=None if report.opened_case else case,
        suggestions=report.payload.get("suggestions", []),
    )


def _check_channel(actor, channel):
    from urbangrid.orgs.jurisdiction import scope_for

    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel."), field="channel")
    roles = STAFF_CHANNELS.get(channel)
    if roles and not scope_for(actor).has_role(*roles):
        raise PermissionDenied(_("Your role may not report through this channel."))


def _find_class(code: str, kind: str | None):
    from urbangrid.catalog.cache import active_classes

    found = active_classes().find(code, kind)
    if found is None:
        raise InvalidInput(_("Unknown class code %(c)s.") % {"c": code}, field="class_code")
    return found


def find_duplicate(
    pc, lon: float, lat: float, now, *, exclude_id=None, lock=False
) -> tuple[Case | None, float | None]:
    """The nearest open or recently closed case of the same or a related class near the point
    (locked for update when ``lock``: the caller is about to count a report on it)."""
    from urbangrid.catalog.cache import active_classes

    if pc is None:
        return None, None
    dist = float(_cfg("DUPLICATE_DISTANCE_M", 50))
    window = timedelta(hours=float(_cfg("DUPLICATE_WINDOW_HOURS", 72)))
    dlat = dist / 111_320.0
    dlon = dist / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    since = now - window
    qs = (
        Case.objects.filter(
            lon__range=(lon - dlon, lon + dlon),
            lat__range=(lat - dlat, lat + dlat),
            reported_at__gte=since,
            problem_class_id__in=active_classes().related_ids(pc),
            duplicate_of__isnull=True,
        )
        .filter(
            Q(state__in=OPEN_STATES)
            | Q(state=CaseState.SHELVED)
            | Q(state=CaseState.CLOSED, closed_at__gte=since)
        )
        .values_list("id", "lon", "lat", "problem_class_id")[:50]
    )
    best = None
    for cid, clon, clat, cpc in qs:
        if cid == exclude_id:
            continue
        d = deps.distance_m(lon, lat, clon, clat)
        # The same class counts a little nearer than a related one.
        key = d if cpc == pc.pk else d + dist / 4
        if d <= dist and (best is None or key < best[0]):
            best = (key, cid, d)
    if best is None:
        return None, None
    qs = Case.objects.select_for_update() if lock else Case.objects
    return qs.get(pk=best[1]), best[2]


@transaction.atomic
def _intake(actor, data: IntakeData, *, client_key, request_id, now=None) -> IntakeResult:
    from urbangrid.orgs.jurisdiction import scope_for

    now = now or timezone.now()
    _check_channel(actor, data.channel)
    description = (data.description or "").strip()
    if not description and not data.class_code:
        raise InvalidInput(_("Describe the problem or choose its class."), field="description")
    if data.lon is None or data.lat is None:
        raise InvalidInput(_("The location of the problem is required."), field="lon")
    try:
        lon, lat = float(data.lon), float(data.lat)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("Coordinates must be numbers."), field="lon") from exc
    crs = (data.crs or "wgs84").lower()
    if crs not in CRS_CHOICES:
        raise InvalidInput(_("Unknown coordinate system %(c)s.") % {"c": crs}, field="crs")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(_("Coordinates must be numbers."), field="lon")
    if crs != "cgcs2000_gk" and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(
            _("Longitude/latitude out of range (is the coordinate system right?)."), field="lon"
        )
    if data.reporter_phone and not all(c.isdigit() or c in "+- " for c in data.reporter_phone):
        raise InvalidInput(_("The phone number is not valid."), field="reporter_phone")

    loc = deps.locate(lon, lat, crs)
    if loc is None:
        raise InvalidInput(_("The point is outside the jurisdiction."), field="lon")
    pc = _find_class(data.class_code, data.extra.get("class_kind")) if data.class_code else None
    suggestions = []
    suggested = None
    if pc is None and description:
        found = deps.suggest_classes(description, limit=3)
        suggested = found[0].problem_class if found else None
        for s in found:
            suggestions.append(
                {
                    "class_id": s.problem_class.pk,
                    "code": s.problem_class.code,
                    "name": s.problem_class.name,
                    "score": round(float(s.score), 3),
                    "matched": list(s.matched),
                }
            )
    photos = attachments.prepare_many(data.photos)

    scope = scope_for(actor)
    reporter_person_id = scope.person_id
    reporter_user_id = getattr(actor, "pk", None)
    name = (data.reporter_name or "").strip()[:60]
    phone = (data.reporter_phone or "").strip()[:20]

    dup, dist = (None, None)
    if not data.extra.get("force_new"):
        dup, dist = find_duplicate(pc or suggested, loc.lon, loc.lat, now, lock=True)

    payload = {"crs": crs, "input": [lon, lat], "suggestions": suggestions}
    if dup is not None:
        Case.objects.filter(pk=dup.pk).update(report_count=F("report_count") + 1, updated_at=now)
        dup.report_count += 1  # the row is locked: no one else counted in between
        report = Report.objects.create(
            case=dup,
            client_key=client_key,
            request_id=request_id,
            channel=data.channel,
            opened_case=False,
            description=description,
            lon=loc.lon,
            lat=loc.lat,
            reporter_user_id=reporter_user_id,
            reporter_name=name,
            reporter_phone=phone,
            payload={**payload, "distance_m": round(dist, 1)},
        )
        CaseEvent.objects.create(
            case=dup,
            at=now,
            actor_id=reporter_user_id,
            actor_person_id=reporter_person_id,
            role=data.channel,
            action="link_report",
            from_state=dup.state,
            to_state=dup.state,
            payload={"report": report.pk, "distance_m": round(dist, 1), "channel": data.channel},
        )
        for p in photos:
            attachments.store(dup, AttachmentStage.REPORT, None, user=actor, report=report, prepared=p)
        result = IntakeResult(
            case=dup, report=report, created=False, duplicate_of=dup, suggestions=suggestions
        )
        if phone and not data.anonymous:
            notify.notify_phone(phone, "duplicate", result.message, "", case=dup, now=now)
        return result

    verified = data.channel not in NEEDS_VERIFICATION
    state = CaseState.PENDING_REGISTER if verified else CaseState.REPORTED
    klass = pc or None
    tier_src = klass or suggested
    tier = str(tier_src.tier) if tier_src is not None and tier_src.tier in Tier.values else Tier.STREET
    case = Case(
        city_code=str(settings.URBANGRID["CITY_CODE"]),
        number=next_case_number(now),
        state=state,
        channel=data.channel,
        problem_class=klass,
        suggested_class=suggested,
        suggestion={"suggestions": suggestions} if suggestions else {},
        description=description,
        address=(data.address or "").strip()[:200],
        lon=loc.lon,
        lat=loc.lat,
        input_crs=crs,
        input_lon=lon,
        input_lat=lat,
        grid_id=loc.grid_id,
        grid_code=loc.grid_code,
        community_id=loc.community_id,
        street_id=loc.street_id,
        district_id=loc.district_id,
        reporter_user_id=reporter_user_id,
        reporter_person_id=reporter_person_id,
        reporter_name=name,
        reporter_phone=phone,
        anonymous=bool(data.anonymous),
        public_token=secrets.token_urlsafe(16)[:22],
        tier=tier,
        verify_result=True if data.channel == Channel.GRID_WORKER else None,
        reported_at=now,
        **deadlines.columns_for(DeadlineStep.REGISTER, now),
    )
    case.save(force_insert=True)
    report = Report.objects.create(
        case=case,
        client_key=client_key,
        request_id=request_id,
        channel=data.channel,
        opened_case=True,
        description=description,
        lon=loc.lon,
        lat=loc.lat,
        reporter_user_id=reporter_user_id,
        reporter_name=name,
        reporter_phone=phone,
        payload=payload,
    )
    CaseEvent.objects.create(
        case=case,
        at=now,
        actor_id=reporter_user_id,
        actor_person_id=reporter_person_id,
        role=_reporter_role(scope, data.channel),
        action="report",
        from_state="",
        to_state=state,
        payload={
            "channel": data.channel,
            "report": report.pk,
            "grid": loc.grid_code,
            "class": klass.code if klass else None,
            "suggested": suggested.code if suggested else None,
        },
    )
    for p in photos:
        attachments.store(case, AttachmentStage.REPORT, None, user=actor, report=report, prepared=p)
    return IntakeResult(case=case, report=report, created=True, suggestions=suggestions)


def _reporter_role(scope, channel) -> str:
    roles = STAFF_CHANNELS.get(channel, ())
    for r in roles:
        if r in scope.roles:
            return str(r)
    return str(channel)
