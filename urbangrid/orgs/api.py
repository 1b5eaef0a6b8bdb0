"""JSON API of the orgs app, mounted under /api/v1/orgs/. Every list goes through visible_to."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.lib.bounds import Day, Float, Int, Moment
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit, Offset
from urbangrid.lib.roles import Role
from urbangrid.lib.schemas import related

from . import actions
from .choices import GridDuty
from .models import (
    ApiToken,
    Equipment,
    GridAssignment,
    Person,
    RoleAssignment,
    TrainingCourse,
    TrainingRecord,
    TrainingSession,
    Unit,
)
from .queries import (
    _active_q,
    funds_summary,
    grids_with_untrained_workers,
    grids_without_supervisor,
    person_for,
    untrained_workers,
)

router = Router(tags=["orgs"])


class RegionBrief(Schema):
    code: str
    name: str
    kind: str
    level: Int


class UnitOut(Schema):
    id: Int
    code: str
    name: str
    short_name: str
    kind: str
    level: str
    region: RegionBrief | None
    parent_code: str | None
    duties: str
    phone: str
    is_active: bool

    @staticmethod
    def resolve_parent_code(obj):
        return obj.parent.code if obj.parent_id else None


class RoleOut(Schema):
    role: str
    label: str
    region: RegionBrief | None
    valid_from: Day | None
    valid_to: Day | None

    @staticmethod
    def resolve_label(assignment: RoleAssignment) -> str:
        return str(assignment.get_role_display())


class MeOut(Schema):
    username: str
    name: str
    is_superuser: bool
    unit: UnitOut | None
    roles: list[str]
    role_details: list[RoleOut]
    all_city: bool
    areas: list[str]
    grids: list[str]
    acting_for_units: list[str]


@router.get("/me", response=MeOut, summary="Who am I: roles, unit, area, grids")
def me(request):
    user = request.user
    scope = scope_for(user)
    person = person_for(user)
    details = []
    if person is not None:
        details = list(
            RoleAssignment.objects.filter(_active_q(), person=person)
            .select_related("region")
            .order_by("role")
        )
    units = Unit.objects.filter(pk__in=scope.unit_ids).order_by("code").values_list("code", flat=True)
    return {
        "username": user.get_username(),
        "name": person.name if person else user.get_full_name() or user.get_username(),
        "is_superuser": user.is_superuser,
        "unit": Unit.objects.select_related("region", "parent").get(pk=person.unit_id) if person else None,
        "roles": sorted(scope.roles),
        "role_details": details,
        "all_city": scope.all_city,
        "areas": list(scope.region_codes),
        "grids": sorted(scope.grid_codes),
        "acting_for_units": list(units),
    }


@router.get("/units", response=list[UnitOut], summary="Units visible to me")
def list_units(request, kind: str | None = None, level: str | None = None, q: str | None = None):
    qs = Unit.objects.visible_to(request.user).select_related("region", "parent").filter(is_active=True)
    if kind:
        qs = qs.filter(kind=kind)
    if level:
        qs = qs.filter(level=level)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(short_name__icontains=q))
    return list(qs.order_by("level", "code")[:2000])


@router.get("/units/{code}", response=UnitOut, summary="One unit")
def get_unit(request, code: str):
    unit = Unit.objects.visible_to(request.user).select_related("region", "parent").filter(code=code).first()
    if unit is None:
        raise NotFound(_("No such unit."))
    return unit


class PersonOut(Schema):
    id: Int
    username: str
    name: str
    unit_code: str
    unit_name: str
    title: str
    phone: str
    is_active: bool
    roles: list[RoleOut]

    resolve_username = related("user.username")
    resolve_unit_code = related("unit.code")
    resolve_unit_name = related("unit.name")

    @staticmethod
    def resolve_roles(person: Person) -> list[RoleAssignment]:
        """The roles in force today (from the prefetched ``roles__region``)."""
        today = timezone.localdate()
        return [
            a
            for a in person.roles.all()
            if (a.valid_from is None or a.valid_from <= today) and (a.valid_to is None or a.valid_to >= today)
        ]


class PeoplePage(Schema):
    count: Int
    items: list[PersonOut]


@router.get("/people", response=PeoplePage, summary="People visible to me")
def list_people(
    request,
    role: str | None = None,
    unit: str | None = None,
    region: str | None = None,
    q: str | None = None,
    limit: int = Limit(100, 500),
    offset: int = Offset(),
):
    if role and role not in Role.values:
        raise InvalidInput(_("Unknown role: %(role)s") % {"role": role}, field="role")
    qs = Person.objects.visible_to(request.user).filter(is_active=True)
    if role or region:
        ras = RoleAssignment.objects.filter(_active_q())
        if role:
            ras = ras.filter(role=role)
        if region:
            ras = ras.filter(Q(region__code__startswith=region))
        qs = qs.filter(id__in=ras.values("person_id"))
    if unit:
        qs = qs.filter(unit__code=unit)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(user__username__icontains=q))
    page = (
        qs.select_related("user", "unit")
        .prefetch_related("roles__region")
        .order_by("unit__code", "user__username")
    )
    return {"count": qs.count(), "items": list(page[offset : offset + limit])}


@router.get("/people/{int:person_id}", response=PersonOut, summary="One person")
def get_person(request, person_id: Int):
    p = (
        Person.objects.visible_to(request.user)
        .select_related("user", "unit")
        .prefetch_related("roles__region")
        .filter(pk=person_id)
        .first()
    )
    if p is None:
        raise NotFound(_("No such person."))
    return p


class AssignmentOut(Schema):
    id: Int
    grid_code: str
    person_id: Int
    person_name: str
    username: str
    duty: str
    duty_label: str
    valid_from: Day
    valid_to: Day | None

    resolve_person_name = related("person.name")
    resolve_username = related("person.user.username")

    @staticmethod
    def resolve_duty_label(assignment: GridAssignment) -> str:
        return str(assignment.get_duty_display())


def _assignments_visible(user):

    scope = scope_for(user)
    qs = GridAssignment.objects.select_related("person__user")
    if scope.all_city:
        return qs
    grids = UnitGrid.objects.visible_to(user).values("code")
    return qs.filter(Q(grid_code__in=grids) | Q(person_id=scope.person_id))


@router.get("/grid-assignments", response=list[AssignmentOut], summary="Who is named for which grid")
def list_assignments(
    request,
    grid_code: str | None = None,
    person_id: Int | None = None,
    duty: str | None = None,
    current: bool = True,
    limit: int = Limit(1000, 5000),
    offset: int = Offset(),
):
    qs = _assignments_visible(request.user)
    if grid_code:
        qs = qs.filter(grid_code=grid_code)
    if person_id:
        qs = qs.filter(person_id=person_id)
    if duty:
        if duty not in GridDuty.values:
            raise InvalidInput(_("Unknown grid duty: %(duty)s") % {"duty": duty}, field="duty")
        qs = qs.filter(duty=duty)
    if current:
        qs = qs.filter(_active_q())
    return list(qs.order_by("grid_code", "duty", "person_id")[offset : offset + limit])


class GapsOut(Schema):
    region: str | None
    count: Int
    grid_codes: list[str]


@router.get("/grid-gaps", response=GapsOut, summary="Current grids with no named supervisor")
def grid_gaps(request, region: str | None = None):

    scope = scope_for(request.user)
    reg = None
    if region:
        reg = Region.objects.visible_to(request.user).filter(code=region).first()
        if reg is None:
            raise NotFound(_("No such region in your area."))
    codes = grids_without_supervisor(reg)
    if not scope.all_city:
        visible = set(
            UnitGrid.objects.visible_to(request.user).filter(code__in=codes).values_list("code", flat=True)
        )
        codes = [c for c in codes if c in visible]
    return {"region": region, "count": len(codes), "grid_codes": codes}


class TokenIn(Schema):
    name: str
    expires_in_days: Int | None = Field(
        None, description="days the token stays valid; default URBANGRID_API_TOKEN_DAYS"
    )


class TokenOut(Schema):
    id: Int
    name: str
    prefix: str
    created_at: Moment
    last_used_at: Moment | None
    revoked_at: Moment | None
    expires_at: Moment | None


class NewTokenOut(TokenOut):
    key: str


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def my_tokens(request):
    person = person_for(request.user)
    if person is None:
        return []
    return list(ApiToken.objects.filter(person=person).order_by("-created_at"))


@router.post("/tokens", response={201: NewTokenOut}, summary="Issue an API token for myself (shown once)")
def issue_token(request, body: TokenIn):
    person = person_for(request.user)
    if person is None:
        raise InvalidInput(_("Only staff with a person record can hold tokens."))
    token, key = actions.do_issue_token(request.user, person, body.name, expires_in_days=body.expires_in_days)
    return Status(201, NewTokenOut(key=key, **TokenOut.from_orm(token).model_dump()))


@router.delete("/tokens/{int:token_id}", response=TokenOut, summary="Revoke one of my tokens")
def revoke_token(request, token_id: Int):
    person = person_for(request.user)
    token = ApiToken.objects.select_related("person__unit", "person__user").filter(pk=token_id).first()
    scope = scope_for(request.user)
    visible = token is not None and (
        (person is not None and token.person_id == person.pk)
        or scope.all_city
        or token.person.unit_id in scope.unit_ids
    )
    if not visible:
        raise NotFound(_("No such token."))
    return actions.do_revoke_token(request.user, token)


# ---------------------------------------------------------------- training and resources
class CourseOut(Schema):
    id: Int
    code: str
    name: str
    hours: Float
    pass_score: Float
    required_for_grid_workers: bool


class SessionOut(Schema):
    id: Int
    course: CourseOut
    starts_at: Moment
    ends_at: Moment
    location: str
    trainer: str
    organiser_code: str
    region: str | None
    results: Int
    passed: Int

    resolve_organiser_code = related("organiser.code")
    resolve_region = related("region.code")

    # Counted by list_sessions; a session just scheduled has none.
    @staticmethod
    def resolve_results(session) -> int:
        return getattr(session, "n_records", 0)

    @staticmethod
    def resolve_passed(session) -> int:
        return getattr(session, "n_passed", 0)


class SessionIn(Schema):
    course_id: Int
    organiser_code: str
    starts_at: Moment
    ends_at: Moment
    location: str = ""
    trainer: str = ""


class TrainingResultIn(Schema):
    person_id: Int
    attended: bool = True
    score: Float | None = None
    note: str = ""


class RecordOut(Schema):
    session_id: Int
    course: str
    person_id: Int
    person_name: str
    attended: bool
    score: Float | None
    passed: bool
    date: Moment

    resolve_course = related("session.course.name")
    resolve_person_name = related("person.name")
    resolve_date = related("session.starts_at")


@router.get("/training/courses", response=list[CourseOut], summary="Training courses")
def list_courses(request):

    return list(TrainingCourse.objects.filter(is_active=True))


@router.get("/training/sessions", response=list[SessionOut], summary="Training sessions visible to me")
def list_sessions(request, limit: int = Limit(200, 1000)):

    qs = (
        TrainingSession.objects.visible_to(request.user)
        .select_related("course", "organiser", "region")
        .annotate(n_records=Count("records"), n_passed=Count("records", filter=Q(records__passed=True)))
        .order_by("-starts_at")
    )
    return list(qs[:limit])


@router.post("/training/sessions", response={201: SessionOut}, summary="Schedule a training session")
def create_session(request, body: SessionIn):

    course = TrainingCourse.objects.filter(pk=body.course_id, is_active=True).first()
    organiser = Unit.objects.visible_to(request.user).filter(code=body.organiser_code).first()
    if course is None or organiser is None:
        raise NotFound(_("No such course or unit."))
    s = actions.do_schedule_training(
        request.user,
        course=course,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        organiser=organiser,
        location=body.location,
        trainer=body.trainer,
    )
    return Status(201, s)


@router.post(
    "/training/sessions/{int:session_id}/results", response=list[RecordOut], summary="Record results"
)
def record_results(request, session_id: Int, body: list[TrainingResultIn]):

    s = (
        TrainingSession.objects.visible_to(request.user)
        .select_related("course", "organiser")
        .filter(pk=session_id)
        .first()
    )
    if s is None:
        raise NotFound(_("No such training session."))
    people = Person.objects.visible_to(request.user).in_bulk([r.person_id for r in body])
    missing = [r.person_id for r in body if r.person_id not in people]
    if missing:
        raise NotFound(_("No such person."), field="person_id", details=missing)
    actions.do_record_training(
        request.user,
        s,
        [
            {"person": people[r.person_id], "attended": r.attended, "score": r.score, "note": r.note}
            for r in body
        ],
    )
    rows = TrainingRecord.objects.filter(session=s).select_related("person", "session__course")
    return list(rows)


@router.get(
    "/people/{int:person_id}/training", response=list[RecordOut], summary="A worker's training record"
)
def person_training(request, person_id: Int):

    if not Person.objects.visible_to(request.user).filter(pk=person_id).exists():
        raise NotFound(_("No such person."))
    rows = TrainingRecord.objects.filter(person_id=person_id).select_related("person", "session__course")
    return list(rows.order_by("-session__starts_at"))


class UntrainedOut(Schema):
    count: Int
    people: list[dict]
    flagged_grids: dict[str, list[Int]]


@router.get(
    "/training/untrained", response=UntrainedOut, summary="Grid workers not fully trained, and their grids"
)
def untrained(request, region: str | None = None, course_id: Int | None = None):

    reg = None
    if region:
        reg = Region.objects.visible_to(request.user).filter(code=region).first()
        if reg is None:
            raise NotFound(_("No such region in your area."))
    course = TrainingCourse.objects.filter(pk=course_id).first() if course_id else None
    people = untrained_workers(request.user, reg, course)
    return {
        "count": people.count(),
        "people": [
            {"id": p.pk, "username": p.user.username, "name": p.name, "unit": p.unit.code}
            for p in people[:2000]
        ],
        "flagged_grids": grids_with_untrained_workers(request.user, reg, course),
    }


class EquipmentOut(Schema):
    id: Int
    unit_code: str
    holder_id: Int | None
    kind: str
    name: str
    asset_no: str
    value: Float
    issued_on: Day
    returned_on: Day | None

    resolve_unit_code = related("unit.code")


class EquipmentIn(Schema):
    unit_code: str
    kind: str
    name: str
    asset_no: str
    issued_on: Day
    holder_id: Int | None = None
    value: Float = 0
    note: str = ""


@router.get("/equipment", response=list[EquipmentOut], summary="Equipment visible to me")
def list_equipment(request, unit: str | None = None, in_use: bool = True, limit: int = Limit(1000, 5000)):

    qs = Equipment.objects.visible_to(request.user).select_related("unit")
    if unit:
        qs = qs.filter(unit__code=unit)
    if in_use:
        qs = qs.filter(returned_on__isnull=True)
    return list(qs[:limit])


@router.post("/equipment", response={201: EquipmentOut}, summary="Issue equipment to a unit or worker")
def issue_equipment(request, body: EquipmentIn):
    unit = Unit.objects.visible_to(request.user).filter(code=body.unit_code).first()
    if unit is None:
        raise NotFound(_("No such unit."))
    holder = None
    if body.holder_id:
        holder = Person.objects.visible_to(request.user).filter(pk=body.holder_id).first()
        if holder is None:
            raise NotFound(_("No such person."))
    e = actions.do_issue_equipment(
        request.user,
        unit=unit,
        kind=body.kind,
        name=body.name,
        asset_no=body.asset_no,
        issued_on=body.issued_on,
        holder=holder,
        value=body.value,
        note=body.note,
    )
    return Status(201, e)


@router.post(
    "/equipment/{int:item_id}/return", response=EquipmentOut, summary="Record the return of equipment"
)
def return_equipment(request, item_id: Int, returned_on: Day | None = None):

    e = Equipment.objects.visible_to(request.user).select_related("unit").filter(pk=item_id).first()
    if e is None:
        raise NotFound(_("No such equipment."))
    return actions.do_return_equipment(request.user, e, returned_on)


class FundIn(Schema):
    unit_code: str
    category: str
    amount: Float
    spent_on: Day
    description: str


class FundRow(Schema):
    unit_code: str
    unit_name: str
    category: str
    total: Float


@router.get("/funds", response=list[FundRow], summary="Spending per unit and category in a period")
def funds(request, start: Day | None = None, end: Day | None = None):

    return [
        {
            "unit_code": r["unit__code"],
            "unit_name": r["unit__name"],
            "category": r["category"],
            "total": Float(r["total"] or 0),
        }
        for r in funds_summary(request.user, start, end)
    ]


@router.post("/funds", response={201: dict}, summary="Record money spent by a unit")
def record_funds(request, body: FundIn):
    unit = Unit.objects.visible_to(request.user).filter(code=body.unit_code).first()
    if unit is None:
        raise NotFound(_("No such unit."))
    row = actions.do_record_funds(
        request.user,
        unit=unit,
        category=body.category,
        amount=body.amount,
        spent_on=body.spent_on,
        description=body.description,
    )
    return Status(
        201, {"id": row.pk, "unit_code": unit.code, "amount": Float(row.amount), "category": row.category}
    )
