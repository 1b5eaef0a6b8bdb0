"""JSON API of the orgs app, mounted under /api/v1/orgs/. Every list goes through visible_to."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema

from urbangrid.lib.errors import InvalidInput, NotFound

from . import actions
from .choices import GridDuty, Role
from .jurisdiction import scope_for
from .models import ApiToken, GridAssignment, Person, RoleAssignment, Unit
from .queries import _active_q, grids_without_supervisor, person_for

router = Router(tags=["orgs"])


class RegionRef(Schema):
    code: str
    name: str
    kind: str
    level: int


class UnitOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    level: str
    region: RegionRef | None
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
    region: RegionRef | None
    valid_from: date | None
    valid_to: date | None


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


def _role_out(a: RoleAssignment) -> dict:
    return {"role": a.role, "label": str(a.get_role_display()), "region": a.region,
            "valid_from": a.valid_from, "valid_to": a.valid_to}


@router.get("/me", response=MeOut, summary="Who am I: roles, unit, area, grids")
def me(request):
    user = request.user
    scope = scope_for(user)
    person = person_for(user)
    details = []
    if person is not None:
        details = [
            _role_out(a)
            for a in RoleAssignment.objects.filter(_active_q(), person=person).select_related("region").order_by("role")
        ]
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
    id: int
    username: str
    name: str
    unit_code: str
    unit_name: str
    title: str
    phone: str
    is_active: bool
    roles: list[RoleOut]


class PeoplePage(Schema):
    count: int
    items: list[PersonOut]


def _person_out(p: Person, today) -> dict:
    roles = [
        _role_out(a) for a in p.roles.all()
        if (a.valid_from is None or a.valid_from <= today) and (a.valid_to is None or a.valid_to >= today)
    ]
    return {"id": p.pk, "username": p.user.username, "name": p.name, "unit_code": p.unit.code,
            "unit_name": p.unit.name, "title": p.title, "phone": p.phone, "is_active": p.is_active, "roles": roles}


@router.get("/people", response=PeoplePage, summary="People visible to me")
def list_people(
    request, role: str | None = None, unit: str | None = None, region: str | None = None,
    q: str | None = None, limit: int = 100, offset: int = 0,
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
    limit = max(1, min(limit, 500))
    page = qs.select_related("user", "unit").prefetch_related("roles__region").order_by("unit__code", "user__username")
    today = timezone.localdate()
    return {"count": qs.count(), "items": [_person_out(p, today) for p in page[offset : offset + limit]]}


@router.get("/people/{int:person_id}", response=PersonOut, summary="One person")
def get_person(request, person_id: int):
    p = (Person.objects.visible_to(request.user).select_related("user", "unit")
         .prefetch_related("roles__region").filter(pk=person_id).first())
    if p is None:
        raise NotFound(_("No such person."))
    return _person_out(p, timezone.localdate())


class AssignmentOut(Schema):
    id: int
    grid_code: str
    person_id: int
    person_name: str
    username: str
    duty: str
    duty_label: str
    valid_from: date
    valid_to: date | None


def _assignments_visible(user):
    from urbangrid.geo.models import UnitGrid

    scope = scope_for(user)
    qs = GridAssignment.objects.select_related("person__user")
    if scope.all_city:
        return qs
    grids = UnitGrid.objects.visible_to(user).values("code")
    return qs.filter(Q(grid_code__in=grids) | Q(person_id=scope.person_id))


@router.get("/grid-assignments", response=list[AssignmentOut], summary="Who is named for which grid")
def list_assignments(request, grid_code: str | None = None, person_id: int | None = None,
                     duty: str | None = None, current: bool = True, limit: int = 1000, offset: int = 0):
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
    limit = max(1, min(limit, 5000))
    return [
        {"id": a.pk, "grid_code": a.grid_code, "person_id": a.person_id, "person_name": a.person.name,
         "username": a.person.user.username, "duty": a.duty, "duty_label": str(a.get_duty_display()),
         "valid_from": a.valid_from, "valid_to": a.valid_to}
        for a in qs.order_by("grid_code", "duty", "person_id")[offset : offset + limit]
    ]


class GapsOut(Schema):
    region: str | None
    count: int
    grid_codes: list[str]


@router.get("/grid-gaps", response=GapsOut, summary="Current grids with no named supervisor")
def grid_gaps(request, region: str | None = None):
    from urbangrid.geo.models import Region, UnitGrid

    scope = scope_for(request.user)
    reg = None
    if region:
        reg = Region.objects.visible_to(request.user).filter(code=region).first()
        if reg is None:
            raise NotFound(_("No such region in your area."))
    codes = grids_without_supervisor(reg)
    if not scope.all_city:
        visible = set(UnitGrid.objects.visible_to(request.user).filter(code__in=codes).values_list("code", flat=True))
        codes = [c for c in codes if c in visible]
    return {"region": region, "count": len(codes), "grid_codes": codes}


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


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
    token, key = actions.do_issue_token(request.user, person, body.name)
    return 201, {"id": token.pk, "name": token.name, "prefix": token.prefix, "created_at": token.created_at,
                 "last_used_at": None, "revoked_at": None, "key": key}


@router.delete("/tokens/{int:token_id}", response=TokenOut, summary="Revoke one of my tokens")
def revoke_token(request, token_id: int):
    person = person_for(request.user)
    token = ApiToken.objects.select_related("person__unit", "person__user").filter(pk=token_id).first()
    scope = scope_for(request.user)
    visible = token is not None and (
        (person is not None and token.person_id == person.pk) or scope.all_city or token.person.unit_id in scope.unit_ids
    )
    if not visible:
        raise NotFound(_("No such token."))
    return actions.do_revoke_token(request.user, token)
