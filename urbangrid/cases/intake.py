"""Intake (M2): every channel's report enters here.

``do_intake(actor, data, client_key=, request_id=)`` locates the point (grid, community, street,
district; the grid version valid now is kept, with the input CRS and coordinates), suggests a class
from the text when none is given (and keeps why), and looks for a likely duplicate: an open case of
the same class (or its equivalent in the other code set) within DUPLICATE_DISTANCE_M metres and
DUPLICATE_WINDOW_HOURS. A citizen's or a machine's report is counted on it (report_count + 1, the
reporter told its number); a staff channel's report is not merged unasked: the match is proposed
(DuplicateProposed, 409) and the person chooses, ``extra["link_to"]`` (a case number) or
``extra["force_new"]``. A closed case is never a duplicate: a report of the same problem there
opens a new case that ``follows`` the closed one.

Idempotent by (client_key, request_id): a retry returns the first result. Two concurrent retries
race on the unique constraint of Report; the loser catches IntegrityError and returns the winner's.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.catalog.cache import active_classes
from urbangrid.lib import limits, rows
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from urbangrid.lib.roles import Role

from . import attachments, deadlines, deps, notify, numbering
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


class DuplicateProposed(Conflict):
    """A staff report matches an open case: the person chooses to add it there or open a new
    case. ``details``: the case's number, its distance in metres and the class key."""

    code = "duplicate_proposed"


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
    follows: str | None = None  # the number of the closed case a new case follows

    @property
    def message(self) -> str:
        if self.duplicate_of is not None:
            return _("This problem was already reported as case %(n)s; your report was added to it.") % {
                "n": self.case.number
            }
        if self.follows:
            return _(
                "Your report was received as case %(n)s (case %(old)s at this place was already closed)."
            ) % {"n": self.case.number, "old": self.follows}
        return _("Your report was received as case %(n)s.") % {"n": self.case.number}


def _cfg(name, default):
    return settings.URBANGRID.get(name, default)


def _client_key(actor, client_key: str) -> str:
    return (client_key or (f"user:{actor.pk}" if getattr(actor, "pk", None) else ""))[:64]


def _request_id(request_id) -> str | None:
    return (str(request_id)[:80] or None) if request_id else None


def do_intake(
    actor, data: IntakeData, *, client_key: str = "", request_id: str | None = None, now=None
) -> IntakeResult:
    """Receive one report (see the module docstring). Bad input raises and changes nothing."""
    client_key = _client_key(actor, client_key)
    request_id = _request_id(request_id)
    # Almost every request is new, so none is looked up first: a retry fails on Report's unique
    # (client key, request id) before its case number is taken, and rolls back.
    try:
        return _intake(actor, data, client_key=client_key, request_id=request_id, now=now)
    except IntegrityError:
        if request_id:
            replay = _replay(client_key, request_id)
            if replay is not None:
                return replay
        raise


def _intake_or_error(actor, data, *, client_key, request_id, now) -> IntakeResult | DomainError:
    """``do_intake`` of one item of a batch, its refusal returned rather than raised."""
    try:
        return do_intake(actor, data, client_key=client_key, request_id=request_id, now=now)
    except DomainError as exc:
        return exc


def _triage(actor, items, ids, *, client_key, now) -> tuple[list, list[tuple[int, _Prepared]]]:
    """Answers the items that need no new case (replays, repeats, reports linked by the person,
    refusals) and prepares the others. Returns the results so far (a repeated request id holds
    the index of its first item) and the prepared (index, report) pairs."""
    known = {
        r.request_id: r
        for r in Report.objects.select_related("case").filter(
            client_key=client_key, request_id__in=[rid for rid in ids if rid]
        )
    }
    results: list = [None] * len(items)
    todo: list[tuple[int, _Prepared]] = []
    first_of: dict[str, int] = {}
    for i, ((data, _rid), rid) in enumerate(zip(items, ids, strict=True)):
        if rid in known:
            results[i] = _replay_of(known[rid])
        elif rid and rid in first_of:
            results[i] = first_of[rid]  # the same request twice in one batch: answered once
        elif data.extra.get("link_to"):  # the person chose the case: counted on it alone
            results[i] = _intake_or_error(actor, data, client_key=client_key, request_id=rid, now=now)
        else:
            try:
                todo.append((i, _prepare(actor, data)))
            except DomainError as exc:
                results[i] = exc
            if rid:
                first_of[rid] = i
    return results, todo


def do_intake_many(
    actor, items: list[tuple[IntakeData, str | None]], *, client_key: str = "", now=None
) -> list[IntakeResult | DomainError]:
    """Receive many reports (a platform's or a hotline system's batch): per item the result of
    ``do_intake`` or the error that refused it. Refused items change nothing.

    Duplicates are found against the database and against the batch's earlier new cases. The new
    cases are written in one transaction with one insert per table and one number allocation;
    each report counted on an existing case is its own short transaction, so a batch never holds
    a busy case's row lock while it writes the rest. Should another client write one of the same
    request ids meanwhile, the new cases fall back to item-by-item ``do_intake`` (retry-safe)."""
    now = now or timezone.now()
    client_key = _client_key(actor, client_key)
    ids = [_request_id(rid) for _data, rid in items]
    results, todo = _triage(actor, items, ids, client_key=client_key, now=now)
    scope = scope_for(actor)
    new, in_batch, stored, proposed = _sort_out(todo, scope, actor, now)
    for i, exc in proposed:
        results[i] = exc
    try:
        with transaction.atomic():
            written = _write_new(
                actor, [(p, case, ids[i]) for i, p, case in new], scope, client_key=client_key, now=now
            )
        for (i, _p, _case), result in zip(new, written, strict=True):
            results[i] = result
    except IntegrityError:
        for i in [i for i, _p, _case in new] + [i for i, _p, _j, _d in in_batch]:
            results[i] = _intake_or_error(
                actor, items[i][0], client_key=client_key, request_id=ids[i], now=now
            )
        in_batch = []
    # Reports duplicating the batch's own new cases count on them now that they are stored.
    stored += [(new[j][2].pk, i, p, dist) for i, p, j, dist in in_batch]
    link = {"actor": actor, "scope": scope, "client_key": client_key, "now": now}
    _link_stored([(cid, i, p, dist, ids[i]) for cid, i, p, dist in stored], results, **link)
    # Repeated request ids point at their first item: give them its answer, marked as a replay.
    return [_as_replay(results[r]) if isinstance(r, int) else r for r in results]


def _as_replay(result):
    if isinstance(result, IntakeResult):
        return IntakeResult(
            case=result.case,
            report=result.report,
            created=False,
            replayed=True,
            duplicate_of=result.duplicate_of,
            suggestions=result.suggestions,
        )
    return result


def _sort_out(todo, scope, actor, now):
    """Split a batch (no writes, no locks): new cases (unsaved), reports duplicating a new case of
    the same batch (by its index in ``new``), reports duplicating a stored case (by id), and the
    staff reports whose match is proposed instead (index, DuplicateProposed)."""
    new: list[tuple[int, _Prepared, Case]] = []
    in_batch: list[tuple[int, _Prepared, int, float]] = []
    stored: list[tuple[int, int, _Prepared, float]] = []
    proposed: list[tuple[int, DuplicateProposed]] = []
    wanted = [(p.klass or p.suggested, p.loc.lon, p.loc.lat) for _i, p in todo]
    for (i, p), (dup_id, dist, closed_id) in zip(todo, _match_all(wanted, now), strict=True):
        if not p.data.extra.get("force_new"):
            if dup_id is not None:
                if p.data.channel not in STAFF_CHANNELS:
                    stored.append((dup_id, i, p, dist))
                    continue
                if Case.objects.visible_to(actor).filter(pk=dup_id).exists():
                    proposed.append((i, _proposal(dup_id, dist, p)))
                    continue
            j, dist = _nearest_in_batch(p, [n[1] for n in new])
            # A staff report is never merged unasked; the batch's case has no number to propose yet.
            if j is not None and p.data.channel not in STAFF_CHANNELS:
                in_batch.append((i, p, j, dist))
                continue
        new.append((i, p, _new_case(p, scope, actor, now, follows_id=closed_id)))
    return new, in_batch, stored, proposed


def _proposal(case_id, dist, p) -> DuplicateProposed:
    number = Case.objects.filter(pk=case_id).values_list("number", flat=True).get()
    pc = p.klass or p.suggested
    return DuplicateProposed(
        _(
            "Case %(n)s of the same class, %(d)s m away, is still open. Add this report to it, "
            "or open a new case if it is another problem."
        )
        % {"n": number, "d": round(dist)},
        field="duplicate_choice",
        details={"number": number, "distance_m": round(dist, 1), "class": pc.key},
    )


def _write_new(actor, new, scope, *, client_key, now) -> list[IntakeResult]:
    """Store new cases, their reports, events and photos, one INSERT per table; ``new``: (prepared
    report, unsaved case, request id). The database numbers the cases (see numbering)."""
    if not new:
        return []
    rows.insert([case for _p, case, _rid in new])
    reports = [
        _report(case, p, actor, client_key=client_key, request_id=rid, now=now) for p, case, rid in new
    ]
    rows.insert(reports)
    rows.insert(
        [
            _report_event(case, report, p, scope, actor, now)
            for (p, case, _rid), report in zip(new, reports, strict=True)
        ]
    )
    photos, stage = [], AttachmentStage.REPORT
    for (p, case, _rid), report in zip(new, reports, strict=True):
        written = (attachments.with_file(ph, stage, user=actor, report=report, now=now) for ph in p.photos)
        once = {a.sha256: a for a in written}  # the same photo twice in a report is one attachment
        for att in once.values():
            att.case = case
        photos += once.values()
    rows.insert(photos)
    numbering.settle([case for _p, case, _rid in new])
    return [
        IntakeResult(case=case, report=report, created=True, suggestions=p.suggestions)
        for (p, case, _rid), report in zip(new, reports, strict=True)
    ]


# What counting a report on a case and answering the reporter read of it (the row is locked).
_LINK_COLUMNS = ("id", "number", "state", "public_token", "report_count")
_CHOICE_COLUMNS = ("lon", "lat", "duplicate_of_id", "problem_class_id", "suggested_class_id")


def _link_stored(entries, results, *, actor, scope, client_key, now) -> None:
    """Count a batch's duplicate reports on their stored cases in one short transaction of its
    own: the cases locked in id order (two batches wait for each other, never deadlock), only the
    columns counting and answering need. ``entries``: (case id, item index, report, distance,
    request id). If another client wrote one of the request ids meanwhile, each is taken alone."""
    if not entries:
        return
    entries = sorted(entries, key=lambda e: (e[0], e[1]))
    try:
        with transaction.atomic():
            cases = Case.objects.select_for_update().only(*_LINK_COLUMNS)
            locked = {c.pk: c for c in cases.filter(pk__in={e[0] for e in entries}).order_by("pk")}
            done = _link_all(
                actor,
                scope,
                [(p, locked[cid], dist, rid) for cid, _i, p, dist, rid in entries],
                client_key=client_key,
                now=now,
            )
        for (_cid, i, *_rest), result in zip(entries, done, strict=True):
            results[i] = result
    except IntegrityError:
        for cid, i, p, dist, rid in entries:
            results[i] = _link_alone(
                p, cid, dist, actor=actor, scope=scope, client_key=client_key, now=now, request_id=rid
            )


def _link_alone(p, case_id, dist, *, actor, scope, client_key, request_id, now) -> IntakeResult:
    """Count one report on a stored case in a transaction of its own; a retry answers as a replay."""
    try:
        with transaction.atomic():
            dup = Case.objects.select_for_update().get(pk=case_id)
            return _link(actor, p, dup, dist, scope, client_key=client_key, request_id=request_id, now=now)
    except IntegrityError:
        replay = _replay(client_key, request_id) if request_id else None
        if replay is None:
            raise
        return replay


def _nearest_in_batch(p, earlier: list[_Prepared]) -> tuple[int | None, float | None]:
    """The batch's earlier new case that ``p`` duplicates (same rules as find_duplicate)."""
    pc = p.klass or p.suggested
    if pc is None:
        return None, None
    rows = [
        (j, o.loc.lon, o.loc.lat, (o.klass or o.suggested).pk, CaseState.REPORTED)
        for j, o in enumerate(earlier)
        if (o.klass or o.suggested) is not None
    ]
    return _nearest(rows, pc, p.loc.lon, p.loc.lat)


def _replay(client_key, request_id) -> IntakeResult | None:
    report = (
        Report.objects.select_related("case").filter(client_key=client_key, request_id=request_id).first()
    )
    return None if report is None else _replay_of(report)


def _replay_of(report) -> IntakeResult:
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
    if channel not in Channel.values:
        raise InvalidInput(_("Unknown channel."), field="channel")
    roles = STAFF_CHANNELS.get(channel)
    if roles and not scope_for(actor).has_role(*roles):
        raise PermissionDenied(_("Your role may not report through this channel."))


def _find_class(code: str, kind: str | None, code_set: str | None = None):
    """The class a report or a register step names: see catalog.cache.ActiveClasses.resolve."""

    return active_classes().resolve(code, kind or None, code_set or None)


def find_duplicate(pc, lon: float, lat: float, now, *, exclude_id=None) -> tuple[Case | None, float | None]:
    """The nearest open case of the same class near the point."""
    if pc is None:
        return None, None
    cid, d = _nearest(_duplicate_candidates([(pc, lon, lat)], now), pc, lon, lat, exclude_id=exclude_id)
    return (None, None) if cid is None else (Case.objects.get(pk=cid), d)


def find_duplicate_ids(wanted: list[tuple], now) -> list[tuple[int | None, float | None]]:
    """``find_duplicate`` for many (class, lon, lat) at once, with one query: the id of each
    point's duplicate (or None) and its distance."""
    return [(cid, d) for cid, d, _closed in _match_all(wanted, now)]


def _match_all(wanted: list[tuple], now) -> list[tuple[int | None, float | None, int | None]]:
    """For each (class, lon, lat): the open duplicate's id and distance, and the id of the
    nearest recently closed case of the same class (which a new case then follows)."""
    asked = [w for w in wanted if w[0] is not None]
    rows = _duplicate_candidates(asked, now) if asked else []
    out = []
    for pc, lon, lat in wanted:
        if pc is None:
            out.append((None, None, None))
            continue
        cid, d = _nearest(rows, pc, lon, lat)
        closed_id = _nearest(rows, pc, lon, lat, closed=True)[0] if cid is None else None
        out.append((cid, d, closed_id))
    return out


def _distance_limit() -> float:
    return float(_cfg("DUPLICATE_DISTANCE_M", 50))


def _duplicate_candidates(wanted: list[tuple], now) -> list[tuple]:
    """(id, lon, lat, class, state) of the open, shelved or recently closed cases of the classes related
    to any of ``wanted`` (class, lon, lat) in the grids near its point. Looking by grid code and
    report time keeps the search to a few grids' last days, however large the city and its history
    (a box on lon/lat read a strip of every case ever reported at that longitude).

    Plain SQL: it runs for every report, and the ORM took five times the statement's own time to
    compile it."""

    since = now - timedelta(hours=float(_cfg("DUPLICATE_WINDOW_HOURS", 72)))
    codes, classes = set(), set()
    for pc, lon, lat in wanted:
        codes.update(deps.grid_codes_near(lon, lat, _distance_limit()))
        classes.update(active_classes().related_ids(pc))
    if not codes or not classes:
        return []
    states = [*OPEN_STATES, CaseState.SHELVED]
    since_db = connection.ops.adapt_datetimefield_value(since)

    def marks(values) -> str:
        return ", ".join(["%s"] * len(values))

    # A case opened from text alone has only the classifier's class until it is registered; the
    # new report's own class may be a suggestion too, so both sides count the same way.
    klass = "COALESCE(problem_class_id, suggested_class_id)"

    sql = (
        f"SELECT id, lon, lat, {klass}, state FROM {Case._meta.db_table} "
        f"WHERE grid_code IN ({marks(codes)}) AND reported_at >= %s "
        f"AND {klass} IN ({marks(classes)}) AND duplicate_of_id IS NULL "
        f"AND (state IN ({marks(states)}) OR (state = %s AND closed_at >= %s))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*sorted(codes), since_db, *sorted(classes), *states, CaseState.CLOSED, since_db])
        return cursor.fetchall()


def _nearest(rows, pc, lon, lat, *, exclude_id=None, closed=False) -> tuple[int | None, float | None]:
    """Among candidate rows, the nearest open (or, with ``closed``, closed) case of ``pc``'s class
    or its equivalent within the distance."""

    limit = _distance_limit()
    related = set(active_classes().related_ids(pc))
    best = None
    for cid, clon, clat, cpc, state in rows:
        if cid == exclude_id or cpc not in related or (state == CaseState.CLOSED) != closed:
            continue
        d = deps.distance_m(lon, lat, clon, clat)
        if d <= limit and (best is None or d < best[0]):
            best = (d, cid)
    return (best[1], best[0]) if best else (None, None)


@dataclass
class _Prepared:
    """One report checked, located and classified; nothing written yet."""

    data: IntakeData
    description: str
    crs: str
    lon: float  # as given, in ``crs``
    lat: float
    loc: object  # geo.locator.Location (canonical lon/lat, grid and areas)
    klass: object | None  # the class given by the reporter
    suggested: object | None  # the classifier's best class when none was given
    suggestions: list
    photos: list
    name: str
    phone: str

    @property
    def payload(self) -> dict:
        out = {"crs": self.crs, "input": [self.lon, self.lat], "suggestions": self.suggestions}
        if self.data.extra.get("photo_meta"):  # when and where each photo was taken (mobile)
            out["photo_meta"] = self.data.extra["photo_meta"]
        return out


def _check_text(data: IntakeData, description: str) -> None:
    """The text fields fit their columns, the problem is described or classed, the phone is a phone."""
    for value, limit, name, label in (
        (description, limits.DESCRIPTION_MAX, "description", _("The description")),
        (data.address, limits.ADDRESS_MAX, "address", _("The address")),
        (data.reporter_name, limits.NAME_MAX, "reporter_name", _("The reporter's name")),
        (data.reporter_phone, limits.PHONE_MAX, "reporter_phone", _("The phone number")),
    ):
        limits.check_length((value or "").strip(), limit, field=name, label=label)
    if not description and not data.class_code:
        raise InvalidInput(_("Describe the problem or choose its class."), field="description")


def _check_phone(phone: str) -> None:
    if phone and not all(c.isdigit() or c in "+- " for c in phone):
        raise InvalidInput(_("The phone number is not valid."), field="reporter_phone")


def _coordinates(data: IntakeData) -> tuple[float, float, str]:
    """The report's point as given (lon, lat, coordinate system), checked for plausibility."""
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
    return lon, lat, crs


def _suggestion(s) -> dict:
    pc = s.problem_class
    return {
        "class_id": pc.pk,
        "code": pc.code,
        "key": deps.class_key(pc),
        "name": pc.name,
        "score": round(float(s.score), 3),
        "matched": list(s.matched),
    }


def _classify(data: IntakeData, description: str):
    """The class the reporter gave; else the classifier's best class and its suggestions."""
    if data.class_code:
        klass = _find_class(data.class_code, data.extra.get("class_kind"), data.extra.get("code_set"))
    else:
        klass = None
    if klass is not None or not description:
        return klass, None, []
    found = deps.suggest_classes(description, limit=3)
    return None, (found[0].problem_class if found else None), [_suggestion(s) for s in found]


def _prepare(actor, data: IntakeData) -> _Prepared:
    """Check one report and work out where and what it is. Raises on bad input, writes nothing."""
    _check_channel(actor, data.channel)
    description = (data.description or "").strip()
    _check_text(data, description)
    lon, lat, crs = _coordinates(data)
    _check_phone(data.reporter_phone)
    loc = deps.locate(lon, lat, crs)
    if loc is None:
        raise InvalidInput(_("The point is outside the jurisdiction."), field="lon")
    klass, suggested, suggestions = _classify(data, description)
    return _Prepared(
        data=data,
        description=description,
        crs=crs,
        lon=lon,
        lat=lat,
        loc=loc,
        klass=klass,
        suggested=suggested,
        suggestions=suggestions,
        photos=attachments.prepare_many(data.photos),
        name=(data.reporter_name or "").strip(),
        phone=(data.reporter_phone or "").strip(),
    )


@transaction.atomic
def _intake(actor, data: IntakeData, *, client_key, request_id, now=None) -> IntakeResult:
    now = now or timezone.now()
    p = _prepare(actor, data)
    scope = scope_for(actor)
    if data.extra.get("link_to"):
        dup, dist = _chosen_case(actor, p, str(data.extra["link_to"]))
        return _link(actor, p, dup, dist, scope, client_key=client_key, request_id=request_id, now=now)
    dup_id, dist, closed_id = _match_all([(p.klass or p.suggested, p.loc.lon, p.loc.lat)], now)[0]
    if data.extra.get("force_new"):
        dup_id = None
    if dup_id is not None and data.channel in STAFF_CHANNELS:
        # A retry of a stored report finds its own case: it is answered, not proposed.
        replay = _replay(client_key, request_id) if request_id else None
        if replay is not None:
            return replay
        # Proposed to the person; a case they may not see is neither shown nor merged into.
        if Case.objects.visible_to(actor).filter(pk=dup_id).exists():
            raise _proposal(dup_id, dist, p)
        dup_id = None
    if dup_id is not None:
        dup = Case.objects.select_for_update().only(*_LINK_COLUMNS).get(pk=dup_id)
        return _link(actor, p, dup, dist, scope, client_key=client_key, request_id=request_id, now=now)
    new = [(p, _new_case(p, scope, actor, now, follows_id=closed_id), request_id)]
    result = _write_new(actor, new, scope, client_key=client_key, now=now)[0]
    if closed_id is not None:
        result.follows = Case.objects.filter(pk=closed_id).values_list("number", flat=True).get()
    return result


def _chosen_case(actor, p: _Prepared, number: str) -> tuple[Case, float]:
    """The (locked) case a person chose to add the report to: one they may see, still open, of
    the same class."""

    found = Case.objects.visible_to(actor).filter(number=number).values_list("pk", flat=True).first()
    if found is None:
        raise InvalidInput(_("Case %(n)s was not found.") % {"n": number}, field="duplicate_choice")
    dup = Case.objects.select_for_update().only(*_LINK_COLUMNS, *_CHOICE_COLUMNS).get(pk=found)
    if dup.state not in OPEN_STATES | {CaseState.SHELVED} or dup.duplicate_of_id:
        raise InvalidInput(
            _("Case %(n)s is no longer open: report the problem as a new case.") % {"n": number},
            field="duplicate_choice",
        )
    pc, theirs = p.klass or p.suggested, dup.problem_class_id or dup.suggested_class_id
    if pc is not None and theirs is not None and theirs not in active_classes().related_ids(pc):
        raise InvalidInput(
            _("Case %(n)s is about another class of problem: report this one as a new case.") % {"n": number},
            field="duplicate_choice",
        )
    return dup, deps.distance_m(p.loc.lon, p.loc.lat, dup.lon, dup.lat)


def _link(actor, p: _Prepared, dup: Case, dist: float, scope, *, client_key, request_id, now) -> IntakeResult:
    """Count the report on the (locked) case it duplicates; tell the reporter which case it is."""
    return _link_all(actor, scope, [(p, dup, dist, request_id)], client_key=client_key, now=now)[0]


def _link_all(actor, scope, links, *, client_key, now) -> list[IntakeResult]:
    """Count reports on the (locked) cases they duplicate: one UPDATE per case, the reports and
    their events inserted together. ``links``: (prepared report, case, distance, request id)."""
    for case_id, n in Counter(dup.pk for _p, dup, _d, _r in links).items():
        Case.objects.filter(pk=case_id).update(report_count=F("report_count") + n, updated_at=now)
    for _p, dup, _d, _r in links:
        dup.report_count += 1  # the rows are locked: no one else counted in between
    reports = [
        _report(dup, p, actor, client_key=client_key, request_id=request_id, now=now, distance=dist)
        for p, dup, dist, request_id in links
    ]
    rows.insert(reports)
    rows.insert(
        [
            CaseEvent(
                case=dup,
                at=now,
                actor_id=getattr(actor, "pk", None),
                actor_person_id=scope.person_id,
                role=p.data.channel,
                action="link_report",
                from_state=dup.state,
                to_state=dup.state,
                payload={"report": report.pk, "distance_m": round(dist, 1), "channel": p.data.channel},
            )
            for (p, dup, dist, _r), report in zip(links, reports, strict=True)
        ]
    )
    results = []
    for (p, dup, _d, _r), report in zip(links, reports, strict=True):
        for photo in p.photos:
            attachments.store(dup, AttachmentStage.REPORT, None, user=actor, report=report, prepared=photo)
        result = IntakeResult(
            case=dup, report=report, created=False, duplicate_of=dup, suggestions=p.suggestions
        )
        if p.phone and not p.data.anonymous:
            notify.notify_phone(p.phone, "duplicate", result.message, "", case=dup, now=now)
        results.append(result)
    return results


def _new_case(p: _Prepared, scope, actor, now, *, follows_id=None) -> Case:
    """The unsaved case a report opens (the database gives its number: see numbering)."""
    channel = p.data.channel
    verified = channel not in NEEDS_VERIFICATION
    tier_src = p.klass or p.suggested
    tier = str(tier_src.tier) if tier_src is not None and tier_src.tier in Tier.values else Tier.STREET
    loc = p.loc
    return Case(
        city_code=str(settings.URBANGRID["CITY_CODE"]),
        number=numbering.provisional(now),
        state=CaseState.PENDING_REGISTER if verified else CaseState.REPORTED,
        channel=channel,
        problem_class=p.klass,
        suggested_class=p.suggested,
        suggestion={"suggestions": p.suggestions} if p.suggestions else {},
        description=p.description,
        address=(p.data.address or "").strip(),
        lon=loc.lon,
        lat=loc.lat,
        input_crs=p.crs,
        input_lon=p.lon,
        input_lat=p.lat,
        grid_id=loc.grid_id,
        grid_code=loc.grid_code,
        community_id=loc.community_id,
        street_id=loc.street_id,
        district_id=loc.district_id,
        reporter_user_id=getattr(actor, "pk", None),
        reporter_person_id=scope.person_id,
        reporter_name=p.name,
        reporter_phone=p.phone,
        anonymous=bool(p.data.anonymous),
        public_token=secrets.token_urlsafe(16)[:22],
        tier=tier,
        verify_result=True if channel == Channel.GRID_WORKER else None,
        reported_at=now,
        created_at=now,
        updated_at=now,
        follows_id=follows_id,
        **deadlines.columns_for(DeadlineStep.REGISTER, now),
    )


def _report(case: Case, p: _Prepared, actor, *, client_key, request_id, now, distance=None) -> Report:
    """The unsaved report row: opening ``case``, or (with the ``distance`` to it) counted on it."""
    linked = distance is not None
    return Report(
        case=case,
        client_key=client_key,
        request_id=request_id,
        channel=p.data.channel,
        opened_case=not linked,
        description=p.description,
        lon=p.loc.lon,
        lat=p.loc.lat,
        reporter_user_id=getattr(actor, "pk", None),
        reporter_name=p.name,
        reporter_phone=p.phone,
        payload={**p.payload, "distance_m": round(distance, 1)} if linked else p.payload,
        created_at=now,
    )


def _report_event(case: Case, report: Report, p: _Prepared, scope, actor, now) -> CaseEvent:
    return CaseEvent(
        case=case,
        at=now,
        actor_id=getattr(actor, "pk", None),
        actor_person_id=scope.person_id,
        role=_reporter_role(scope, p.data.channel),
        action="report",
        from_state="",
        to_state=case.state,
        payload={
            "channel": p.data.channel,
            "report": report.pk,
            "grid": p.loc.grid_code,
            "class": p.klass.key if p.klass else None,
            "suggested": p.suggested.key if p.suggested else None,
        },
    )


def _reporter_role(scope, channel) -> str:
    roles = STAFF_CHANNELS.get(channel, ())
    for r in roles:
        if r in scope.roles:
            return str(r)
    return str(channel)
