"""JSON API of the cases app, mounted under /api/v1/cases/.

- POST /intake, POST /intake/batch: reports from any channel (idempotent by request_id).
- GET / : the case list (filters, cursor pagination on (reported_at, id), newest first).
- GET /my-tasks : what the signed-in user must do now, by role.
- GET /{number} : detail with timeline, tasks, applications, photos and the allowed actions.
- POST /{number}/actions/{action} : every workflow action of workflow.TRANSITIONS, one body schema.
- POST /{number}/photos : photo upload for a stage (multipart), idempotent by content.
- GET /inbox, POST /inbox/{id}/read, POST /inbox/read-all : the in-app inbox.

Errors: 400/422 with ``field``, 403 forbidden action, 404 missing or outside jurisdiction, 409 a
concurrent change or an action not allowed from the current state.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from urbangrid.lib.access import scope_for
from urbangrid.lib.bounds import Float, Int, Moment
from urbangrid.lib.errors import DomainError, InvalidInput, NotFound
from urbangrid.lib.paging import Limit

from . import actions as A
from . import queries, workflow
from .choices import OPEN_STATES, AttachmentStage, CaseState
from .deps import class_key
from .intake import IntakeData, IntakeResult, do_intake, do_intake_many
from .models import Application, Case, Notification

router = Router(tags=["cases"])

PAGE_MAX = 200


# --- schemas -----------------------------------------------------------------------------------
class IntakeIn(Schema):
    channel: str
    description: str = ""
    lon: Float | None = None
    lat: Float | None = None
    crs: str = "wgs84"
    address: str = ""
    class_code: str | None = None  # a class key (E06001) or a code that names one class only
    class_kind: str | None = None
    code_set: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    anonymous: bool = False
    request_id: str | None = None
    photos_base64: list[str] = []
    force_new: bool = False
    link_to: str | None = None  # a staff report: the number of the proposed case it belongs to


class IntakeOut(Schema):
    number: str
    state: str
    created: bool
    replayed: bool
    duplicate_of: str | None
    follows: str | None = None  # the closed case at this place that the new case follows
    public_token: str
    message: str
    suggestions: list[dict]


class BatchItemOut(Schema):
    index: Int
    ok: bool
    result: IntakeOut | None = None
    error: dict | None = None


class AssistIn(Schema):
    unit: str
    instruction: str = ""
    due_at: Moment | None = None


class ActionIn(Schema):
    """Fields used by the actions (others are ignored):
    request_verify/request_check: field_worker (person id); verify: confirmed; check: passed;
    register: class_code; dispatch: unit (code), instruction, assists[]; report_back/self_handle:
    response, report, photos via POST /photos (stages before/after) or photos_*_base64;
    apply_*: reason, extra_hours (postpone); decide_*: approved, note; evaluate: satisfaction;
    supervise: instruction, due_at; reject/cancel/rework/escalate: reason."""

    expected_version: Int | None = None
    reason: str = ""
    note: str = ""
    confirmed: bool | None = None
    passed: bool | None = None
    approved: bool | None = None
    class_code: str | None = None
    class_kind: str | None = None
    code_set: str | None = None
    unit: str | None = None
    instruction: str = ""
    assists: list[AssistIn] = []
    response: str | None = None
    report: str = ""
    extra_hours: Int | None = None
    satisfaction: Int | None = None
    field_worker: Int | None = None
    due_at: Moment | None = None
    photos_base64: list[str] = []
    photos_before_base64: list[str] = []
    photos_after_base64: list[str] = []


class EventOut(Schema):
    at: Moment
    action: str
    action_label: str
    role: str
    actor: str | None
    from_state: str
    to_state: str
    unit: str | None
    reason: str
    payload: dict


class TaskOut(Schema):
    unit: str
    unit_name: str
    role: str
    state: str
    instruction: str
    due_at: Moment | None
    accepted_at: Moment | None
    reported_at: Moment | None
    report: str


class ApplicationOut(Schema):
    id: Int
    kind: str
    state: str
    reason: str
    extra_hours: Int | None
    created_at: Moment
    decided_at: Moment | None
    decision_note: str


class PhotoOut(Schema):
    stage: str
    sha256: str
    url: str
    width: Int | None
    height: Int | None


class CaseRow(Schema):
    number: str
    state: str
    state_label: str
    version: Int
    channel: str
    class_code: str | None
    class_kind: str | None
    class_key: str | None
    class_name: str | None
    description: str
    address: str
    lon: Float | None
    lat: Float | None
    grid_code: str
    street: str | None
    district: str | None
    tier: str
    unit: str | None
    unit_name: str | None
    report_count: Int
    reported_at: Moment
    deadline_step: str
    warn_at: Moment | None
    due_at: Moment | None
    warning: bool
    overdue: bool


class CaseDetail(CaseRow):
    community: str | None
    input_crs: str
    suggestion: dict
    reporter_name: str | None
    reporter_phone: str | None
    anonymous: bool
    response: str
    self_handled: bool
    is_joint: bool
    counters: dict
    stage_times: dict
    satisfaction: Int | None
    allowed_actions: list[str]
    events: list[EventOut]
    tasks: list[TaskOut]
    applications: list[ApplicationOut]
    photos: list[PhotoOut]


class CasePage(Schema):
    items: list[CaseRow]
    next_cursor: str | None


class NotificationOut(Schema):
    id: Int
    kind: str
    title: str
    body: str
    case: str | None
    created_at: Moment
    read_at: Moment | None


class InboxPage(Schema):
    unread: Int
    items: list[NotificationOut]


class Error(Schema):
    code: str
    detail: str
    field: str | None = None


ERRORS = {400: Error, 403: Error, 404: Error, 409: Error}


# --- helpers -----------------------------------------------------------------------------------
def _b64(items: list[str], field: str) -> list[bytes]:
    out = []
    for s in items or []:
        try:
            out.append(base64.b64decode(s.split(",", 1)[-1], validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(_("A photo is not valid base64."), field=field) from exc
    return out


def _intake_out(r: IntakeResult) -> dict:
    return {
        "number": r.case.number,
        "state": r.case.state,
        "created": r.created,
        "replayed": r.replayed,
        "duplicate_of": r.duplicate_of.number if r.duplicate_of is not None else None,
        "follows": r.follows,
        "public_token": r.case.public_token,
        "message": r.message,
        "suggestions": r.suggestions,
    }


def _client_key(request) -> str:
    return f"user:{request.user.pk}" if request.user.is_authenticated else ""


def _row(case: Case, now) -> dict:
    pc = case.problem_class
    return {
        "number": case.number,
        "state": case.state,
        "state_label": str(CaseState(case.state).label),
        "version": case.version,
        "channel": case.channel,
        "class_code": pc.code if pc else None,
        "class_kind": pc.kind if pc else None,
        "class_key": class_key(pc) if pc else None,
        "class_name": pc.name if pc else None,
        "description": case.description,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "grid_code": case.grid_code,
        "street": case.street.name if case.street_id else None,
        "district": case.district.name if case.district_id else None,
        "tier": case.tier,
        "unit": case.assigned_unit.code if case.assigned_unit_id else None,
        "unit_name": case.assigned_unit.name if case.assigned_unit_id else None,
        "report_count": case.report_count,
        "reported_at": case.reported_at,
        "deadline_step": case.deadline_step,
        "warn_at": case.warn_at,
        "due_at": case.due_at,
        "warning": bool(case.warn_at and case.warn_at <= now),
        "overdue": bool(case.due_at and case.due_at <= now),
    }


def _detail(request, case: Case) -> dict:
    from django.urls import reverse

    now = timezone.now()
    d = _row(case, now)
    contact = A.do_read_reporter_contact(request.user, case, via="api") or {}
    events = list(case.events.select_related("actor_person", "unit").order_by("at", "id"))
    tasks = list(case.tasks.select_related("unit").order_by("id"))
    d.update(
        community=case.community.name if case.community_id else None,
        input_crs=case.input_crs,
        suggestion=case.suggestion,
        reporter_name=contact.get("name"),
        reporter_phone=contact.get("phone"),
        anonymous=case.anonymous,
        response=case.response,
        self_handled=case.self_handled,
        is_joint=case.is_joint,
        counters={
            k: getattr(case, k)
            for k in (
                "rework_count",
                "return_count",
                "postpone_count",
                "shelve_count",
                "escalation_count",
                "supervision_count",
            )
        },
        stage_times={
            k: getattr(case, k)
            for k in (
                "verify_requested_at",
                "verify_due_at",
                "verified_at",
                "register_due_at",
                "registered_at",
                "dispatch_due_at",
                "dispatched_at",
                "accept_due_at",
                "accepted_at",
                "handle_due_at",
                "handled_at",
                "check_requested_at",
                "check_due_at",
                "checked_at",
                "closed_at",
                "cancelled_at",
            )
        },
        satisfaction=case.satisfaction,
        allowed_actions=workflow.allowed_actions(case, request.user),
        events=[
            {
                "at": e.at,
                "action": e.action,
                "action_label": str(workflow.EVENT_LABELS.get(e.action, e.action)),
                "role": e.role,
                "actor": e.actor_person.name if e.actor_person_id else None,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "unit": e.unit.name if e.unit_id else None,
                "reason": e.reason,
                "payload": e.payload,
            }
            for e in events
        ],
        tasks=[
            {
                "unit": t.unit.code,
                "unit_name": t.unit.name,
                "role": t.role,
                "state": t.state,
                "instruction": t.instruction,
                "due_at": t.due_at,
                "accepted_at": t.accepted_at,
                "reported_at": t.reported_at,
                "report": t.report,
            }
            for t in tasks
        ],
        applications=[
            {
                "id": a.id,
                "kind": a.kind,
                "state": a.state,
                "reason": a.reason,
                "extra_hours": a.extra_hours,
                "created_at": a.created_at,
                "decided_at": a.decided_at,
                "decision_note": a.decision_note,
            }
            for a in case.applications.order_by("id")
        ],
        photos=[
            {
                "stage": p.stage,
                "sha256": p.sha256,
                "width": p.width,
                "height": p.height,
                "url": reverse("cases:attachment", args=[case.number, p.sha256]),
            }
            for p in case.attachments.order_by("id")
        ],
    )
    return d


def _unit_by_code(code: str):
    from urbangrid.orgs.models import Unit

    u = Unit.objects.filter(code=code, is_active=True).first()
    if u is None:
        raise InvalidInput(_("Unknown unit %(c)s.") % {"c": code}, field="unit")
    return u


def encode_cursor(case_reported_at: datetime, case_id: int) -> str:
    raw = f"{case_reported_at.isoformat()}|{case_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, cid = raw.rsplit("|", 1)
        return datetime.fromisoformat(ts), int(cid)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(_("The cursor is not valid."), field="cursor") from exc


# --- intake ------------------------------------------------------------------------------------
def _intake_data(body: IntakeIn) -> IntakeData:
    extra = {"force_new": body.force_new}
    if body.link_to:
        extra["link_to"] = body.link_to
    if body.class_kind:
        extra["class_kind"] = body.class_kind
    if body.code_set:
        extra["code_set"] = body.code_set
    return IntakeData(
        channel=body.channel,
        description=body.description,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        address=body.address,
        class_code=body.class_code or None,
        reporter_name=body.reporter_name,
        reporter_phone=body.reporter_phone,
        anonymous=body.anonymous,
        photos=_b64(body.photos_base64, "photos_base64"),
        extra=extra,
    )


@router.post("/intake", response={201: IntakeOut, 200: IntakeOut, **ERRORS}, summary="Report a problem")
def intake(request, body: IntakeIn):
    """One report from any channel. A retry with the same request_id returns the first answer
    (200, replayed); a new case answers 201; a report linked to an existing case answers 200."""
    r = do_intake(
        request.user, _intake_data(body), client_key=_client_key(request), request_id=body.request_id
    )
    return Status(201 if r.created else 200, _intake_out(r))


@router.post("/intake/batch", response={200: list[BatchItemOut], 400: Error}, summary="Report many problems")
def intake_batch(request, body: list[IntakeIn]):
    """Up to 500 reports; each is taken or refused on its own (one bad item does not stop the rest).
    The accepted ones are written together, so a batch costs far less per report than single calls."""
    if len(body) > 500:
        raise InvalidInput(_("At most 500 reports per batch."), field="body")
    items, refused = [], {}
    for i, item in enumerate(body):
        try:
            items.append((_intake_data(item), item.request_id))
        except DomainError as exc:
            refused[i] = exc
    results = iter(do_intake_many(request.user, items, client_key=_client_key(request)))
    out = []
    for i in range(len(body)):
        r = refused.get(i) or next(results)
        if isinstance(r, DomainError):
            out.append({"index": i, "ok": False, "error": r.as_dict()})
        else:
            out.append({"index": i, "ok": True, "result": _intake_out(r)})
    return out


# --- lists -------------------------------------------------------------------------------------
def filter_cases(
    qs,
    *,
    state=None,
    class_code=None,
    area=None,
    unit=None,
    overdue=None,
    warning=None,
    date_from=None,
    date_to=None,
    q=None,
    now=None,
):
    from urbangrid.geo.models import Region

    now = now or timezone.now()
    if state:
        states = [s for s in state.split(",") if s]
        if "open" in states:
            states = [s for s in states if s != "open"] + list(OPEN_STATES)
        bad = [s for s in states if s not in CaseState.values]
        if bad:
            raise InvalidInput(_("Unknown state %(s)s.") % {"s": bad[0]}, field="state")
        qs = qs.filter(state__in=states)
    if class_code:
        from .intake import _find_class

        qs = qs.filter(problem_class=_find_class(class_code, None))
    if area:
        region = Region.objects.filter(code=area).first()
        if region is None:
            raise InvalidInput(_("Unknown area %(c)s.") % {"c": area}, field="area")
        col = {2: "district_id", 3: "street_id", 4: "community_id"}.get(region.level)
        if col:
            qs = qs.filter(**{col: region.id})
        elif len(area) == 15:
            qs = qs.filter(grid_code=area)
    if unit:
        qs = qs.filter(assigned_unit__code=unit)
    if overdue is not None:
        cond = Q(due_at__lte=now, state__in=OPEN_STATES)
        qs = qs.filter(cond) if overdue else qs.exclude(cond)
    if warning is not None:
        cond = Q(warn_at__lte=now, due_at__gt=now, state__in=OPEN_STATES)
        qs = qs.filter(cond) if warning else qs.exclude(cond)
    if date_from:
        qs = qs.filter(reported_at__gte=date_from)
    if date_to:
        qs = qs.filter(reported_at__lt=date_to)
    if q:
        q = q.strip()
        qs = qs.filter(Q(number=q) | Q(description__contains=q) | Q(address__contains=q))
    return qs


def case_page(user, *, cursor=None, limit=50, **filters) -> tuple[list[Case], str | None]:
    """A page of visible cases, newest first, keyset-paginated on (reported_at, id)."""
    limit = max(1, min(int(limit), PAGE_MAX))
    qs = filter_cases(Case.objects.visible_to(user), **filters)
    if cursor:
        ts, cid = decode_cursor(cursor)
        qs = qs.filter(Q(reported_at__lt=ts) | Q(reported_at=ts, id__lt=cid))
    rows = list(
        queries.with_regions(qs, "street", "district")
        .select_related("problem_class", "assigned_unit")
        .order_by("-reported_at", "-id")[: limit + 1]
    )
    nxt = encode_cursor(rows[limit - 1].reported_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], nxt


@router.get("/", response={200: CasePage, 400: Error}, summary="List cases")
def list_cases(
    request,
    state: str | None = None,
    class_code: str | None = None,
    area: str | None = None,
    unit: str | None = None,
    overdue: bool | None = None,
    warning: bool | None = None,
    date_from: Moment | None = None,
    date_to: Moment | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = Limit(50, PAGE_MAX),
):
    """Cases the user may see. ``state`` is a comma list (``open`` = every open state); ``area`` a
    district, street/town, community or grid code; ``cursor`` the ``next_cursor`` of the last page."""
    now = timezone.now()
    rows, nxt = case_page(
        request.user,
        cursor=cursor,
        limit=limit,
        state=state,
        class_code=class_code,
        area=area,
        unit=unit,
        overdue=overdue,
        warning=warning,
        date_from=date_from,
        date_to=date_to,
        q=q,
        now=now,
    )
    return {"items": [_row(c, now) for c in rows], "next_cursor": nxt}


@router.get("/my-tasks", response=dict[str, list[CaseRow]], summary="What I must do now")
def my_tasks(request, limit: int = Limit(50, PAGE_MAX)):
    now = timezone.now()
    out = {}
    for role, qs in queries.my_tasks(request.user).items():
        rows = (
            queries.with_regions(qs, "street", "district")
            .select_related("problem_class", "assigned_unit")
            .order_by("due_at", "id")
        )
        out[str(role)] = [_row(c, now) for c in rows[:limit]]
    return out


# --- inbox -------------------------------------------------------------------------------------
def _person_id(request) -> int:
    pid = scope_for(request.user).person_id
    if pid is None:
        raise NotFound(_("You have no inbox."))
    return pid


@router.get("/inbox", response={200: InboxPage, 404: Error}, summary="My notifications")
def inbox(request, unread_only: bool = False, limit: int = Limit(50, PAGE_MAX)):
    pid = _person_id(request)
    qs = Notification.objects.filter(recipient_id=pid)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    # Only the case's number: devices poll the inbox, and the whole case row is 80 columns.
    fields = ("id", "kind", "title", "body", "case__number", "created_at", "read_at")
    items = list(qs.order_by("-created_at", "-id").values(*fields)[:limit])
    for row in items:
        row["case"] = row.pop("case__number")
    unread = Notification.objects.filter(recipient_id=pid, read_at__isnull=True).count()
    return {"unread": unread, "items": items}


@router.post("/inbox/read-all", response={200: dict, 404: Error}, summary="Mark all notifications read")
def inbox_read_all(request):
    from .actions import do_mark_read

    return {"marked": do_mark_read(request.user, None)}


@router.post(
    "/inbox/{notification_id}/read", response={200: dict, 404: Error}, summary="Mark one notification read"
)
def inbox_read(request, notification_id: Int):
    from .actions import do_mark_read

    return {"marked": do_mark_read(request.user, notification_id)}


# --- one case ----------------------------------------------------------------------------------
@router.get("/{number}", response={200: CaseDetail, 404: Error}, summary="Case detail with timeline")
def case_detail(request, number: str):
    return _detail(request, queries.get_case_for(request.user, number))


@router.post("/{number}/photos", response={201: PhotoOut, 200: PhotoOut, **ERRORS}, summary="Upload a photo")
def upload_photo(request, number: str, stage: Form[str], file: File[UploadedFile]):
    """Attach a photo to the case at a stage (report, verify, before, after, check) before the
    action that needs it. The same bytes uploaded twice add nothing (200)."""
    from django.urls import reverse

    from .actions import do_upload_photo

    case = queries.get_case_for(request.user, number)
    att, created = do_upload_photo(request.user, case, stage, file)
    body = {
        "stage": att.stage,
        "sha256": att.sha256,
        "width": att.width,
        "height": att.height,
        "url": reverse("cases:attachment", args=[case.number, att.sha256]),
    }
    return Status(201 if created else 200, body)


@router.post(
    "/{number}/actions/{action}", response={200: CaseDetail, **ERRORS}, summary="Do a workflow action"
)
def do_action(request, number: str, action: str, body: ActionIn):
    """Run one action of the transitions table (see ``allowed_actions`` in the case detail).
    An action not allowed from the case's state answers 409 whatever the caller."""
    case = queries.get_case_for(request.user, number)
    user = request.user
    kw = {"expected_version": body.expected_version}
    if action not in workflow.ACTIONS:
        raise NotFound(_("Unknown action."))
    if action.startswith("apply_"):
        A.do_apply(
            user, case, action.removeprefix("apply_"), reason=body.reason, extra_hours=body.extra_hours, **kw
        )
    elif action.startswith("decide_"):
        app = Application.objects.filter(
            case=case, kind=action.removeprefix("decide_"), state="pending"
        ).first()
        if app is None:
            # Let the gate answer (409 when the table refuses, 403 for the role) before "nothing pending".
            A._gate(user, case, action, check_pre=False)
            raise InvalidInput(_("There is no pending application of this kind."), field="action")
        if body.approved is None:
            raise InvalidInput(_("Say whether you approve."), field="approved")
        A.do_decide_application(user, app, approved=body.approved, note=body.note or body.reason, **kw)
    else:
        fn = A.ACTION_FUNCS[action]
        fn(user, case, **_action_kwargs(action, body, user))
    case = queries.get_case_for(user, number)
    return _detail(request, case)


def _action_kwargs(action: str, b: ActionIn, user) -> dict:
    kw: dict = {"expected_version": b.expected_version}

    def person(pid):
        from urbangrid.orgs.models import Person

        if pid is None:
            return None
        p = Person.objects.visible_to(user).filter(pk=pid).first()
        if p is None:
            raise InvalidInput(_("Unknown person."), field="field_worker")
        return p

    if action in ("request_verify", "request_check"):
        kw.update(field_worker=person(b.field_worker), reason=b.reason)
    elif action == "verify":
        if b.confirmed is None:
            raise InvalidInput(_("Say whether the problem is there."), field="confirmed")
        kw.update(confirmed=b.confirmed, note=b.note, photos=_b64(b.photos_base64, "photos_base64"))
    elif action == "check":
        if b.passed is None:
            raise InvalidInput(_("Say whether the check passed."), field="passed")
        kw.update(passed=b.passed, note=b.note, photos=_b64(b.photos_base64, "photos_base64"))
    elif action == "register":
        pc = None
        if b.class_code:
            from .intake import _find_class

            pc = _find_class(b.class_code, b.class_kind, b.code_set)
        kw.update(problem_class=pc, reason=b.reason)
    elif action == "dispatch":
        kw.update(
            unit=_unit_by_code(b.unit) if b.unit else None,
            reason=b.reason,
            instruction=b.instruction,
            assists=[
                {"unit": _unit_by_code(a.unit), "instruction": a.instruction, "due_at": a.due_at}
                for a in b.assists
            ],
        )
    elif action in ("report_back", "self_handle"):
        kw.update(
            response=b.response,
            photos_before=_b64(b.photos_before_base64, "photos_before_base64"),
            photos_after=_b64(b.photos_after_base64, "photos_after_base64"),
        )
        kw["report" if action == "report_back" else "note"] = b.report or b.note
    elif action == "assist_report":
        kw.update(report=b.report)
    elif action == "evaluate":
        if b.satisfaction is None:
            raise InvalidInput(_("Give a satisfaction score."), field="satisfaction")
        kw.update(satisfaction=b.satisfaction, note=b.note)
    elif action == "supervise":
        kw.update(instruction=b.instruction or b.reason, due_at=b.due_at)
    elif action in ("accept", "close"):
        kw.update(note=b.note or b.reason)
    else:  # reject, cancel, rework, resume, escalate
        kw.update(reason=b.reason)
    return kw


__all__ = ["router", "case_page", "filter_cases", "AttachmentStage"]
