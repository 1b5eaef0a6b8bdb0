"""JSON API of the cases app, mounted under /api/v1/cases/.

- POST /intake, POST /intake/batch: reports from any channel (idempotent by request_id).
- GET / : the case list (filters, cursor pagination on (reported_at, id), newest first).
- GET /my-tasks : what the signed-in user must do now, by role.
- GET /{number} : detail with timeline, tasks, applications, photos and the allowed actions.
- POST /{number}/actions/<action> : one endpoint per workflow action, its body the record's input.
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
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from urbangrid.lib.access import scope_for
from urbangrid.lib.bounds import Float, Int, Moment
from urbangrid.lib.errors import DomainError, InvalidInput, NotFound
from urbangrid.lib.paging import Limit
from urbangrid.lib.schemas import related

from . import actions as A
from . import inputs, queries, workflow
from .actions import do_mark_read, do_upload_photo
from .choices import AttachmentStage, CaseState
from .deps import class_key
from .filters import CaseFilter
from .intake import IntakeData, do_intake, do_intake_many
from .models import Case, Notification

router = Router(tags=["cases"])

PAGE_MAX = 200


# --- schemas -----------------------------------------------------------------------------------
# The Out schemas read model instances (resolve_* for what is not a column). Their notes are
# comments: a docstring would become a description in the published OpenAPI document.
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


class IntakeOut(Schema):  # read from an IntakeResult
    number: str
    state: str
    created: bool
    replayed: bool
    duplicate_of: str | None
    follows: str | None = None  # the closed case at this place that the new case follows
    public_token: str
    message: str
    suggestions: list[dict]

    resolve_number = related("case.number")
    resolve_state = related("case.state")
    resolve_duplicate_of = related("duplicate_of.number")
    resolve_public_token = related("case.public_token")


class BatchItemOut(Schema):
    index: Int
    ok: bool
    result: IntakeOut | None = None
    error: dict | None = None


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

    @staticmethod
    def resolve_action_label(event) -> str:
        return str(workflow.EVENT_LABELS.get(event.action, event.action))

    resolve_actor = related("actor_person.name")
    resolve_unit = related("unit.name")


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

    resolve_unit = related("unit.code")
    resolve_unit_name = related("unit.name")


class ApplicationOut(Schema):
    id: Int
    kind: str
    state: str
    reason: str
    extra_hours: Int | None
    created_at: Moment
    decided_at: Moment | None
    decision_note: str


class PhotoOut(Schema):  # read from an Attachment whose case is loaded (its related manager sets it)
    stage: str
    sha256: str
    url: str
    width: Int | None
    height: Int | None

    @staticmethod
    def resolve_url(photo) -> str:
        return reverse("cases:attachment", args=[photo.case.number, photo.sha256])


class CaseRow(Schema):  # read from a Case loaded by _for_rows
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

    @staticmethod
    def resolve_state_label(case: Case) -> str:
        return str(CaseState(case.state).label)

    resolve_class_code = related("problem_class.code")

    resolve_class_kind = related("problem_class.kind")

    @staticmethod
    def resolve_class_key(case: Case) -> str | None:
        return class_key(case.problem_class) if case.problem_class_id else None

    resolve_class_name = related("problem_class.name")

    resolve_street = related("street.name")

    resolve_district = related("district.name")

    resolve_unit = related("assigned_unit.code")

    resolve_unit_name = related("assigned_unit.name")

    @staticmethod
    def resolve_warning(case: Case) -> bool:
        return bool(case.warn_at and case.warn_at <= timezone.now())

    @staticmethod
    def resolve_overdue(case: Case) -> bool:
        return bool(case.due_at and case.due_at <= timezone.now())


COUNTERS = (
    "rework_count",
    "return_count",
    "postpone_count",
    "shelve_count",
    "escalation_count",
    "supervision_count",
)
STAGE_TIMES = (
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


# Validated by _detail, which puts the request and the reporter's contact (what the reader may see
# of it) in the context.
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

    resolve_community = related("community.name")

    @staticmethod
    def resolve_reporter_name(case: Case, context) -> str | None:
        return context["contact"].get("name")

    @staticmethod
    def resolve_reporter_phone(case: Case, context) -> str | None:
        return context["contact"].get("phone")

    @staticmethod
    def resolve_counters(case: Case) -> dict:
        return {name: getattr(case, name) for name in COUNTERS}

    @staticmethod
    def resolve_stage_times(case: Case) -> dict:
        return {name: getattr(case, name) for name in STAGE_TIMES}

    @staticmethod
    def resolve_allowed_actions(case: Case, context) -> list[str]:
        return workflow.allowed_actions(case, context["request"].user)

    @staticmethod
    def resolve_events(case: Case):
        return case.events.select_related("actor_person", "unit").order_by("at", "id")

    @staticmethod
    def resolve_tasks(case: Case):
        return case.tasks.select_related("unit").order_by("id")

    @staticmethod
    def resolve_applications(case: Case):
        return case.applications.order_by("id")

    @staticmethod
    def resolve_photos(case: Case):
        return case.attachments.order_by("id")


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


def _client_key(request) -> str:
    return f"user:{request.user.pk}" if request.user.is_authenticated else ""


def _detail(request, case: Case) -> CaseDetail:
    # Reading the reporter's contact is audited (an action), so it is read once, here.
    contact = A.do_read_reporter_contact(request.user, case, via="api") or {}
    return CaseDetail.model_validate(case, context={"request": request, "contact": contact})


def _for_rows(qs):
    """The related rows ``CaseRow`` reads, joined (no N+1)."""
    return queries.with_regions(qs, "street", "district").select_related("problem_class", "assigned_unit")


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
        photos=inputs.decode_base64(body.photos_base64, "photos_base64"),
        extra=extra,
    )


@router.post("/intake", response={201: IntakeOut, 200: IntakeOut, **ERRORS}, summary="Report a problem")
def intake(request, body: IntakeIn):
    """One report from any channel. A retry with the same request_id returns the first answer
    (200, replayed); a new case answers 201; a report linked to an existing case answers 200."""
    r = do_intake(
        request.user, _intake_data(body), client_key=_client_key(request), request_id=body.request_id
    )
    return Status(201 if r.created else 200, r)


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
            out.append({"index": i, "ok": True, "result": r})
    return out


# --- lists -------------------------------------------------------------------------------------
def case_page(
    user, *, cursor=None, limit=50, filters: CaseFilter | None = None
) -> tuple[list[Case], str | None]:
    """A page of visible cases, newest first, keyset-paginated on (reported_at, id)."""
    limit = max(1, min(int(limit), PAGE_MAX))
    qs = (filters or CaseFilter()).filter(Case.objects.visible_to(user))
    if cursor:
        ts, cid = decode_cursor(cursor)
        qs = qs.filter(Q(reported_at__lt=ts) | Q(reported_at=ts, id__lt=cid))
    rows = list(_for_rows(qs).order_by("-reported_at", "-id")[: limit + 1])
    nxt = encode_cursor(rows[limit - 1].reported_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], nxt


@router.get("/", response={200: CasePage, 400: Error}, summary="List cases")
def list_cases(
    request,
    filters: Query[CaseFilter],
    cursor: str | None = None,
    limit: int = Limit(50, PAGE_MAX),
):
    """Cases the user may see. ``state`` is a comma list (``open`` = every open state); ``area`` a
    district, street/town, community or grid code; ``cursor`` the ``next_cursor`` of the last page."""
    rows, nxt = case_page(request.user, cursor=cursor, limit=limit, filters=filters)
    return {"items": rows, "next_cursor": nxt}


@router.get("/my-tasks", response=dict[str, list[CaseRow]], summary="What I must do now")
def my_tasks(request, limit: int = Limit(50, PAGE_MAX)):
    tasks = workflow.my_tasks(request.user)
    return {str(role): list(_for_rows(qs).order_by("due_at", "id")[:limit]) for role, qs in tasks.items()}


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

    return {"marked": do_mark_read(request.user, None)}


@router.post(
    "/inbox/{notification_id}/read", response={200: dict, 404: Error}, summary="Mark one notification read"
)
def inbox_read(request, notification_id: Int):

    return {"marked": do_mark_read(request.user, notification_id)}


# --- one case ----------------------------------------------------------------------------------
@router.get("/{number}", response={200: CaseDetail, 404: Error}, summary="Case detail with timeline")
def case_detail(request, number: str):
    return _detail(request, queries.get_case_for(request.user, number))


@router.post("/{number}/photos", response={201: PhotoOut, 200: PhotoOut, **ERRORS}, summary="Upload a photo")
def upload_photo(request, number: str, stage: Form[str], file: File[UploadedFile]):
    """Attach a photo to the case at a stage (report, verify, before, after, check) before the
    action that needs it. The same bytes uploaded twice add nothing (200)."""

    case = queries.get_case_for(request.user, number)
    att, created = do_upload_photo(request.user, case, stage, file)
    return Status(201 if created else 200, att)


def _action_endpoint(spec: workflow.CaseAction):
    """POST /{number}/actions/<name>: one endpoint per action record, its body the record's input
    schema, so that each action is documented with exactly the fields it takes."""

    def endpoint(request, number: str, body):
        case = queries.get_case_for(request.user, number)
        A.perform(
            request.user, case, spec.name, expected_version=body.expected_version, **body.kwargs(request.user)
        )
        return _detail(request, queries.get_case_for(request.user, number))

    with translation.override("en"):  # the OpenAPI document is written in English
        label = str(spec.label)
    endpoint.__annotations__ = {"number": str, "body": spec.input}
    endpoint.__name__ = f"do_{spec.name}"
    endpoint.__doc__ = (
        f"{label}. An action not allowed from the case's state answers 409 whatever the caller."
    )
    router.post(
        f"/{{number}}/actions/{spec.name}",
        response={200: CaseDetail, **ERRORS},
        summary=label,
        operation_id=f"case_{spec.name}",
    )(endpoint)


for _spec in workflow.ACTIONS:
    _action_endpoint(_spec)


@router.post("/{number}/actions/{action}", response={404: Error}, include_in_schema=False)
def unknown_action(request, number: str, action: str):
    """Any other action name: the case is looked up first (outside one's area stays 404)."""
    queries.get_case_for(request.user, number)
    raise NotFound(_("Unknown action."))


__all__ = ["router", "case_page", "AttachmentStage"]
