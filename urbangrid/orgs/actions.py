"""Writes of the orgs app: every one is a do_* action under one transaction with an audit record.

Permission rules (who may manage whom):
- admin: everything;
- district leader: units, people, grid assignments and secondments inside their district;
- street/town leader: people and grid assignments inside their street/town;
- unit leader: people of their own unit, secondments out of it, tokens of their people;
- everyone: their own API tokens and their own password; only an admin resets another's.
Bad input raises InvalidInput/NotFound before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.geo.models import UnitGrid
from urbangrid.lib.access import Scope, forget_scope, is_admin, scope_for
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.models import AuditEvent
from urbangrid.lib.roles import Role

from .auth import hash_token, new_token_key, token_expiry
from .choices import EquipmentKind, FundCategory, GridDuty, UnitKind, UnitLevel
from .models import (
    ApiToken,
    Equipment,
    FundRecord,
    GridAssignment,
    Person,
    RoleAssignment,
    Secondment,
    TrainingCourse,
    TrainingRecord,
    TrainingSession,
    Unit,
)
from .policy import can_create_courses, can_organise_training

RoleSpec = tuple[str, object]  # (role, Region | None)


# ---------------------------------------------------------------- permission helpers
def _region_within(scope: Scope, region) -> bool:
    """True when ``region`` (None = whole city) lies inside the actor's areas."""
    if scope.all_city:
        return True
    if region is None:
        return False
    return region.pk in scope.subtree_region_ids


def _leads_area(scope: Scope, region) -> bool:
    return (
        is_admin(scope) or scope.has_role(Role.DISTRICT_LEADER, Role.STREET_LEADER, Role.CITY_LEADER)
    ) and (_region_within(scope, region))


def _leads_unit(scope: Scope, unit: Unit) -> bool:
    return Role.UNIT_LEADER in scope.roles and unit.pk in scope.unit_ids


def _may_manage_unit(scope: Scope, unit: Unit) -> bool:
    if is_admin(scope) or _leads_unit(scope, unit):
        return True
    if unit.region_id is None:
        return False
    return _leads_area(scope, unit.region)


def _deny():
    raise PermissionDenied(_("You are not allowed to do this."))


def _validate_roles(roles: Iterable[RoleSpec]) -> list[RoleSpec]:
    out = []
    for role, region in roles:
        if role not in Role.values:
            raise InvalidInput(_("Unknown role: %(role)s") % {"role": role}, field="roles")
        out.append((role, region))
    return out


def _check_role_grant(scope: Scope, unit: Unit, roles: Sequence[RoleSpec]) -> None:
    if is_admin(scope):
        return
    for role, region in roles:
        if role == Role.ADMIN or role == Role.CITY_LEADER:
            _deny()
        if role in (Role.UNIT_HANDLER, Role.UNIT_LEADER) and region is None:
            # A unit role without an area acts only for the unit; the unit's manager may grant it.
            if not _may_manage_unit(scope, unit):
                _deny()
            continue
        if not _leads_area(scope, region) and not (
            _leads_unit(scope, unit) and _region_within(scope, region)
        ):
            _deny()


# ---------------------------------------------------------------- units
@transaction.atomic
def do_create_unit(
    actor,
    *,
    code: str,
    name: str,
    kind: str,
    level: str,
    region=None,
    parent: Unit | None = None,
    short_name: str = "",
    duties: str = "",
    phone: str = "",
) -> Unit:
    scope = scope_for(actor)
    if not (
        is_admin(scope)
        or (region is not None and scope.has_role(Role.DISTRICT_LEADER) and _region_within(scope, region))
    ):
        _deny()
    code = (code or "").strip()
    if not code or not (name or "").strip():
        raise InvalidInput(_("A unit needs a code and a name."), field="code")
    if kind not in UnitKind.values:
        raise InvalidInput(_("Unknown unit kind: %(kind)s") % {"kind": kind}, field="kind")
    if level not in UnitLevel.values:
        raise InvalidInput(_("Unknown unit level: %(level)s") % {"level": level}, field="level")
    if Unit.objects.filter(code=code).exists():
        raise Conflict(_("A unit with code %(code)s already exists.") % {"code": code}, field="code")
    unit = Unit.objects.create(
        code=code,
        name=name.strip(),
        kind=kind,
        level=level,
        region=region,
        parent=parent,
        short_name=short_name,
        duties=duties,
        phone=phone,
    )
    record(
        actor,
        "orgs.create_unit",
        unit,
        summary=f"{unit.code} {unit.name}",
        kind=kind,
        level=level,
        region=getattr(region, "code", None),
    )
    return unit


@transaction.atomic
def do_update_unit(actor, unit: Unit, **fields) -> Unit:
    scope = scope_for(actor)
    if not (is_admin(scope) or _leads_unit(scope, unit)):
        _deny()
    allowed = {"name", "short_name", "duties", "phone", "is_active", "parent"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    before = {k: str(getattr(unit, k)) for k in fields}
    for k, v in fields.items():
        setattr(unit, k, v)
    unit.save(update_fields=list(fields))
    record(
        actor,
        "orgs.update_unit",
        unit,
        summary=unit.code,
        before=before,
        after={k: str(v) for k, v in fields.items()},
    )
    return unit


# ---------------------------------------------------------------- people
def _new_user(username: str, name: str, password_hash: str, *, superuser: bool = False):
    User = get_user_model()
    return User(
        username=username,
        first_name=name[:150],
        password=password_hash,
        is_staff=superuser,
        is_superuser=superuser,
    )


@transaction.atomic
def do_create_person(
    actor,
    *,
    username: str,
    name: str,
    unit: Unit,
    roles: Sequence[RoleSpec],
    password: str | None = None,
    phone: str = "",
    employee_no: str = "",
    title: str = "",
    superuser: bool = False,
    valid_from: date | None = None,
    password_hash: str | None = None,
) -> Person:
    """Create the account and the staff record with its roles. ``password`` None = unusable
    (the person signs in after an admin sets one)."""
    scope = scope_for(actor)
    roles = _validate_roles(roles)
    username = (username or "").strip()
    if not username or not (name or "").strip():
        raise InvalidInput(_("A person needs a username and a name."), field="username")
    if superuser and not is_admin(scope):
        _deny()
    if not (is_admin(scope) or _may_manage_unit(scope, unit)):
        _deny()
    _check_role_grant(scope, unit, roles)
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Conflict(_("The username %(u)s is taken.") % {"u": username}, field="username")
    if password is not None and password_hash is None:
        _check_new_password(password, _new_user(username, name, ""), "password")
    user = _new_user(username, name, password_hash or make_password(password), superuser=superuser)
    user.save()
    person = Person.objects.create(
        user=user, name=name.strip(), unit=unit, phone=phone, employee_no=employee_no, title=title
    )
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(person=person, role=r, region=reg, valid_from=valid_from) for r, reg in roles]
    )
    record(
        actor,
        "orgs.create_person",
        person,
        summary=f"{username} {name}",
        unit=unit.code,
        roles=_role_codes(roles),
    )
    return person


def _role_codes(roles) -> list[list]:
    """Roles as [role, region code or None], for the audit trail."""
    return [[r, getattr(reg, "code", None)] for r, reg in roles]


def _fill_missing_ids(objs, key: str, ids_by_key) -> None:
    """Backends that do not return ids from a bulk insert: look them up by a unique column."""
    if any(o.pk is None for o in objs):
        ids = ids_by_key()
        for o in objs:
            o.pk = o.id = ids[getattr(o, key)]


def _insert_users(specs, pw: str) -> list:
    User = get_user_model()
    users = User.objects.bulk_create(
        [_new_user(s["username"], s["name"], pw, superuser=s.get("superuser", False)) for s in specs]
    )
    usernames = [s["username"] for s in specs]
    _fill_missing_ids(
        users,
        "username",
        lambda: dict(User.objects.filter(username__in=usernames).values_list("username", "pk")),
    )
    return users


def _insert_people(users, specs) -> list[Person]:
    people = Person.objects.bulk_create(
        [
            Person(
                user=u,
                name=s["name"],
                unit=s["unit"],
                phone=s.get("phone", ""),
                employee_no=s.get("employee_no", ""),
                title=s.get("title", ""),
            )
            for u, s in zip(users, specs, strict=True)
        ]
    )
    _fill_missing_ids(
        people, "user_id", lambda: dict(Person.objects.filter(user__in=users).values_list("user_id", "pk"))
    )
    return people


def _audit_new_people(actor, people, specs) -> None:
    """One audit record per person, as do_create_person writes, in one insert."""

    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor if getattr(actor, "pk", None) else None,
                action="orgs.create_person",
                object_type="orgs.person",
                object_id=str(p.pk),
                summary=f"{s['username']} {s['name']}"[:300],
                payload={"unit": s["unit"].code, "roles": _role_codes(s["roles"]), "bulk": True},
            )
            for p, s in zip(people, specs, strict=True)
        ]
    )


@transaction.atomic
def do_create_people_bulk(
    actor, specs: Sequence[dict], *, password: str | None = None, password_hash: str | None = None
) -> list[Person]:
    """Create many people at once (onboarding a roster, the demo city): one password hash for
    the batch, bulk inserts, one audit record per person. Each spec has the keyword arguments of
    do_create_person except ``password``."""
    scope = scope_for(actor)
    User = get_user_model()
    usernames = [s["username"] for s in specs]
    if len(set(usernames)) != len(usernames):
        raise InvalidInput(_("The roster repeats a username."), field="username")
    taken = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise Conflict(_("The username %(u)s is taken.") % {"u": sorted(taken)[0]}, field="username")
    for s in specs:
        s["roles"] = _validate_roles(s.get("roles", ()))
        if not s.get("name"):
            raise InvalidInput(_("A person needs a username and a name."), field="name")
        if s.get("superuser") and not is_admin(scope):
            _deny()
        if not (is_admin(scope) or _may_manage_unit(scope, s["unit"])):
            _deny()
        _check_role_grant(scope, s["unit"], s["roles"])
    if password is not None and password_hash is None:
        _check_new_password(password, None, "password")
    pw = password_hash or make_password(password)
    users = _insert_users(specs, pw)
    people = _insert_people(users, specs)
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(person=p, role=r, region=reg, valid_from=s.get("valid_from"))
            for p, s in zip(people, specs, strict=True)
            for r, reg in s["roles"]
        ]
    )
    _audit_new_people(actor, people, specs)
    return people


def _roles_on(person: Person, day) -> list[RoleAssignment]:
    return [
        a
        for a in RoleAssignment.objects.filter(person=person).select_related("region")
        if (a.valid_from is None or a.valid_from <= day) and (a.valid_to is None or a.valid_to >= day)
    ]


def _end_roles(assignments, today) -> None:
    """Roles dropped end yesterday; one that started today vanishes (it never applied)."""
    for a in assignments:
        if a.valid_from == today:
            a.delete()
        else:
            a.valid_to = today - timedelta(days=1)
            a.save(update_fields=["valid_to"])


@transaction.atomic
def do_update_roles(actor, person: Person, roles: Sequence[RoleSpec]) -> Person:
    """Make the person's current roles exactly ``roles``: roles dropped end yesterday (or vanish
    when they started today), new ones start today; unchanged ones are kept with their history."""
    scope = scope_for(actor)
    roles = _validate_roles(roles)
    today = timezone.localdate()
    current = _roles_on(person, today)
    wanted = {(r, getattr(reg, "pk", None)): (r, reg) for r, reg in roles}
    have = {(a.role, a.region_id): a for a in current}
    removed = [a for key, a in have.items() if key not in wanted]
    added = [spec for key, spec in wanted.items() if key not in have]
    if not (is_admin(scope) or _may_manage_unit(scope, person.unit)):
        _deny()
    _check_role_grant(scope, person.unit, added + [(a.role, a.region) for a in removed])
    if person.user_id == getattr(actor, "pk", None) and any(a.role == Role.ADMIN for a in removed):
        raise InvalidInput(_("You cannot remove your own administrator role."))
    _end_roles(removed, today)
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(person=person, role=r, region=reg, valid_from=today) for r, reg in added]
    )
    record(
        actor,
        "orgs.update_roles",
        person,
        summary=person.name,
        added=_role_codes(added),
        removed=[[a.role, getattr(a.region, "code", None)] for a in removed],
    )
    forget_scope(person.user)
    return person


@transaction.atomic
def do_deactivate_person(actor, person: Person, reason: str = "") -> Person:
    scope = scope_for(actor)
    if not (is_admin(scope) or _may_manage_unit(scope, person.unit)):
        _deny()
    if person.user_id == getattr(actor, "pk", None):
        raise InvalidInput(_("You cannot deactivate yourself."))
    today = timezone.localdate()
    person.is_active = False
    person.save(update_fields=["is_active"])
    GridAssignment.objects.filter(person=person, valid_to__isnull=True).update(
        valid_to=today - timedelta(days=1)
    )
    ApiToken.objects.filter(person=person, revoked_at__isnull=True).update(revoked_at=timezone.now())
    record(actor, "orgs.deactivate_person", person, summary=person.name, reason=reason)
    return person


# ---------------------------------------------------------------- grids
def _current_grid(grid_code: str):

    grid = (
        UnitGrid.objects.select_related("community", "street")
        .filter(code=grid_code, valid_to__isnull=True)
        .first()
    )
    if grid is None:
        raise NotFound(_("No current grid has the code %(code)s.") % {"code": grid_code}, field="grid_code")
    return grid


def _may_assign(scope: Scope, grid) -> bool:
    if is_admin(scope):
        return True
    if scope.has_role(Role.DISTRICT_LEADER, Role.STREET_LEADER, Role.UNIT_LEADER, Role.CITY_LEADER):
        return scope.all_city or bool(
            {grid.community_id, grid.street_id, grid.district_id} & scope.subtree_region_ids
        )
    return False


@transaction.atomic
def do_assign_grid(
    actor, grid_code: str, person: Person, duty: str, valid_from: date | None = None
) -> GridAssignment:
    scope = scope_for(actor)
    if duty not in GridDuty.values:
        raise InvalidInput(_("Unknown grid duty: %(duty)s") % {"duty": duty}, field="duty")
    grid = _current_grid(grid_code)
    if not _may_assign(scope, grid):
        _deny()
    if not person.is_active:
        raise InvalidInput(_("%(name)s is not active.") % {"name": person.name}, field="person")
    valid_from = valid_from or timezone.localdate()
    if GridAssignment.objects.filter(
        grid_code=grid_code, person=person, duty=duty, valid_to__isnull=True
    ).exists():
        raise Conflict(_("%(name)s is already assigned to this grid with this duty.") % {"name": person.name})
    row = GridAssignment.objects.create(grid_code=grid_code, person=person, duty=duty, valid_from=valid_from)
    record(
        actor,
        "orgs.assign_grid",
        row,
        summary=f"{grid_code} {person.name} {duty}",
        grid=grid_code,
        person=person.pk,
        duty=duty,
    )
    return row


@transaction.atomic
def do_assign_grids_bulk(
    actor, rows: Sequence[tuple[str, Person, str]], valid_from: date | None = None
) -> int:
    """Assign many (grid code, person, duty) at once; all rows are checked before any is written."""

    scope = scope_for(actor)
    codes = {code for code, _p, _d in rows}
    grids = {g.code: g for g in UnitGrid.objects.filter(code__in=codes, valid_to__isnull=True)}
    for code, person, duty in rows:
        if duty not in GridDuty.values:
            raise InvalidInput(_("Unknown grid duty: %(duty)s") % {"duty": duty}, field="duty")
        if code not in grids:
            raise NotFound(_("No current grid has the code %(code)s.") % {"code": code}, field="grid_code")
        if not _may_assign(scope, grids[code]):
            _deny()
        if not person.is_active:
            raise InvalidInput(_("%(name)s is not active.") % {"name": person.name}, field="person")
    valid_from = valid_from or timezone.localdate()
    existing = set(
        GridAssignment.objects.filter(grid_code__in=codes, valid_to__isnull=True).values_list(
            "grid_code", "person_id", "duty"
        )
    )
    fresh = [
        GridAssignment(grid_code=c, person=p, duty=d, valid_from=valid_from)
        for c, p, d in dict.fromkeys(rows)
        if (c, p.pk, d) not in existing
    ]
    GridAssignment.objects.bulk_create(fresh)
    record(
        actor,
        "orgs.assign_grids_bulk",
        None,
        summary=f"{len(fresh)} grid assignments",
        count=len(fresh),
        rows=[[a.grid_code, a.person_id, a.duty] for a in fresh][:5000],
    )
    return len(fresh)


@transaction.atomic
def do_end_grid_assignment(actor, assignment: GridAssignment, valid_to: date | None = None) -> GridAssignment:
    scope = scope_for(actor)

    grid = UnitGrid.objects.filter(code=assignment.grid_code).order_by("-version").first()
    if grid is None or not _may_assign(scope, grid):
        _deny()
    if assignment.valid_to is not None:
        raise Conflict(_("This assignment has already ended."))
    # valid_to is the last day (inclusive); ending "now" means it stopped counting yesterday.
    explicit = valid_to is not None
    valid_to = valid_to or timezone.localdate() - timedelta(days=1)
    if valid_to < assignment.valid_from:
        if explicit:
            raise InvalidInput(_("The end date is before the start date."), field="valid_to")
        # Started today and ended today: it never counted; the audit trail keeps the history.
        record(
            actor,
            "orgs.end_grid_assignment",
            assignment,
            summary=str(assignment),
            removed=True,
            valid_from=str(assignment.valid_from),
        )
        assignment.delete()
        assignment.valid_to = assignment.valid_from
        return assignment
    assignment.valid_to = valid_to
    assignment.save(update_fields=["valid_to"])
    record(actor, "orgs.end_grid_assignment", assignment, summary=str(assignment), valid_to=str(valid_to))
    return assignment


# ---------------------------------------------------------------- secondments
@transaction.atomic
def do_second(
    actor, person: Person, to_unit: Unit, start: date, end: date | None = None, reason: str = ""
) -> Secondment:
    """Second (派驻) a person to another unit for a period; they act for both while it runs."""
    scope = scope_for(actor)
    if not (
        is_admin(scope)
        or _leads_unit(scope, person.unit)
        or (
            scope.has_role(Role.DISTRICT_LEADER)
            and to_unit.region_id
            and _region_within(scope, to_unit.region)
        )
    ):
        _deny()
    if to_unit.pk == person.unit_id:
        raise InvalidInput(_("A person cannot be seconded to their own unit."), field="to_unit")
    if start is None:
        raise InvalidInput(_("A secondment needs a start date."), field="start")
    if end is not None and end < start:
        raise InvalidInput(_("The end date is before the start date."), field="end")
    overlapping = Secondment.objects.filter(
        person=person, to_unit=to_unit, start__lte=end or date.max
    ).exclude(end__lt=start)
    if overlapping.exists():
        raise Conflict(
            _("%(name)s is already seconded to %(unit)s in this period.")
            % {"name": person.name, "unit": to_unit.name}
        )
    row = Secondment.objects.create(
        person=person, from_unit=person.unit, to_unit=to_unit, start=start, end=end, reason=reason
    )
    record(
        actor,
        "orgs.second",
        row,
        summary=str(row),
        to_unit=to_unit.code,
        start=str(start),
        end=str(end) if end else None,
        reason=reason,
    )
    forget_scope(person.user)
    return row


@transaction.atomic
def do_end_secondment(actor, secondment: Secondment, end: date | None = None) -> Secondment:
    scope = scope_for(actor)
    if not (
        is_admin(scope) or _leads_unit(scope, secondment.from_unit) or _leads_unit(scope, secondment.to_unit)
    ):
        _deny()
    end = end or timezone.localdate()
    if end < secondment.start:
        raise InvalidInput(_("The end date is before the start date."), field="end")
    if secondment.end is not None and secondment.end < end:
        raise Conflict(_("This secondment has already ended."))
    secondment.end = end
    secondment.save(update_fields=["end"])
    record(actor, "orgs.end_secondment", secondment, summary=str(secondment), end=str(end))
    return secondment


# ---------------------------------------------------------------- passwords
def _check_new_password(password: str, user, field: str) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), as one clear error."""
    if not password:
        raise InvalidInput(_("Enter the new password."), field=field)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field=field) from None


@transaction.atomic
def do_change_password(actor, *, old_password: str, new_password: str):
    """A signed-in person changes their own password (the old one proves it is them)."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_usable_password():
        _deny()
    if not actor.check_password(old_password or ""):
        raise InvalidInput(_("The current password is wrong."), field="old_password")
    _check_new_password(new_password, actor, "new_password")
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    record(actor, "orgs.change_password", actor, summary=actor.get_username())
    return actor


@transaction.atomic
def do_reset_password(actor, person: Person, new_password: str) -> Person:
    """An administrator sets another person's password (forgotten, or a new account). The
    person's sessions end, as with every password change."""
    if not is_admin(scope_for(actor)):
        _deny()
    user = person.user
    _check_new_password(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record(actor, "orgs.reset_password", person, summary=f"{person.name} ({user.get_username()})")
    return person


# ---------------------------------------------------------------- tokens
@transaction.atomic
def do_issue_token(
    actor, person: Person, name: str, *, expires_in_days: int | None = None, now=None
) -> tuple[ApiToken, str]:
    """A bearer token for a device or script, valid for ``expires_in_days`` days (None: the
    default lifetime). The plaintext is returned once and never stored."""
    scope = scope_for(actor)
    own = person.user_id == getattr(actor, "pk", None)
    if not (own or is_admin(scope) or _leads_unit(scope, person.unit)):
        _deny()
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the token a name (e.g. the device)."), field="name")
    if not person.is_active:
        raise InvalidInput(_("%(name)s is not active.") % {"name": person.name}, field="person")
    expires_at = token_expiry(expires_in_days, now)
    key = new_token_key()
    try:
        token = ApiToken.objects.create(
            person=person, name=name[:60], prefix=key[:8], key_hash=hash_token(key), expires_at=expires_at
        )
    except IntegrityError as exc:  # pragma: no cover - 240 random bits
        raise Conflict(_("Please try again.")) from exc
    record(
        actor,
        "orgs.issue_token",
        token,
        summary=f"{person.name}: {token.name}",
        prefix=token.prefix,
        expires_at=expires_at.isoformat(),
    )
    return token, key


@transaction.atomic
def do_revoke_token(actor, token: ApiToken) -> ApiToken:
    scope = scope_for(actor)
    own = token.person.user_id == getattr(actor, "pk", None)
    if not (own or is_admin(scope) or _leads_unit(scope, token.person.unit)):
        _deny()
    if token.revoked_at is not None:
        raise Conflict(_("This token is already revoked."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        actor, "orgs.revoke_token", token, summary=f"{token.person.name}: {token.name}", prefix=token.prefix
    )
    return token


# ---------------------------------------------------------------- training and resources (P4, E2)
@transaction.atomic
def do_create_course(
    actor,
    *,
    code: str,
    name: str,
    hours=4,
    pass_score=60,
    description: str = "",
    required_for_grid_workers: bool = True,
):

    if not can_create_courses(scope_for(actor)):
        _deny()
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise InvalidInput(_("A course needs a code and a name."), field="code")
    if float(pass_score) < 0 or float(pass_score) > 100 or float(hours) <= 0:
        raise InvalidInput(
            _("Hours must be positive and the pass score between 0 and 100."), field="pass_score"
        )
    if TrainingCourse.objects.filter(code=code).exists():
        raise Conflict(_("A course with code %(code)s already exists.") % {"code": code}, field="code")
    course = TrainingCourse.objects.create(
        code=code,
        name=name,
        hours=hours,
        pass_score=pass_score,
        description=description,
        required_for_grid_workers=required_for_grid_workers,
    )
    record(actor, "orgs.create_course", course, summary=name, code=code)
    return course


@transaction.atomic
def do_schedule_training(
    actor, *, course, starts_at, ends_at, organiser: Unit, location: str = "", trainer: str = "", region=None
):

    scope = scope_for(actor)
    if not (can_organise_training(scope) and _may_manage_unit(scope, organiser)):
        _deny()
    if region is not None and not _region_within(scope, region) and not is_admin(scope):
        _deny()
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise InvalidInput(_("The session must end after it starts."), field="ends_at")
    if not course.is_active:
        raise InvalidInput(_("This course is no longer offered."), field="course")
    session = TrainingSession.objects.create(
        course=course,
        starts_at=starts_at,
        ends_at=ends_at,
        organiser=organiser,
        location=location,
        trainer=trainer,
        region=region or organiser.region,
    )
    record(actor, "orgs.schedule_training", session, summary=str(session), organiser=organiser.code)
    return session


def _training_score(r: dict, attended: bool):
    """The score as a Decimal from 0 to 100, None when not given."""
    score = r.get("score")
    if score in (None, ""):
        score = None
    else:
        try:
            score = Decimal(str(score))
        except InvalidOperation as exc:
            raise InvalidInput(_("A score must be a number between 0 and 100."), field="score") from exc
        if not Decimal(0) <= score <= Decimal(100):
            raise InvalidInput(_("A score must be a number between 0 and 100."), field="score")
    if not attended and score is not None:
        raise InvalidInput(_("Someone who did not attend has no score."), field="score")
    return score


def _training_result(r: dict, visible: set, pass_score) -> tuple:
    """One checked result: (person, attended, score, passed, note)."""
    person = r["person"]
    if person.pk not in visible:
        raise NotFound(_("No such person."), field="person")
    attended = bool(r.get("attended", True))
    score = _training_score(r, attended)
    passed = attended and score is not None and score >= pass_score
    return person, attended, score, passed, (r.get("note") or "")[:200]


def _save_training_records(session, clean) -> None:
    """One record per person of the session: new ones inserted, existing ones updated."""

    existing = {r.person_id: r for r in TrainingRecord.objects.filter(session=session)}
    fresh, changed = [], []
    for person, attended, score, passed, note in clean:
        row = existing.get(person.pk)
        if row is None:
            row = TrainingRecord(session=session, person=person)
            existing[person.pk] = row
            fresh.append(row)
        elif row not in changed:
            changed.append(row)
        row.attended, row.score, row.passed, row.note = attended, score, passed, note
    TrainingRecord.objects.bulk_create(fresh)
    TrainingRecord.objects.bulk_update(changed, ["attended", "score", "passed", "note"])


@transaction.atomic
def do_record_training(actor, session, results: Sequence[dict]) -> int:
    """Record attendance and scores: each result has person, attended, score (or None), note.
    Passing is decided here from the course's pass score; a repeated person updates the row."""
    scope = scope_for(actor)
    if not (is_admin(scope) or (can_organise_training(scope) and _may_manage_unit(scope, session.organiser))):
        _deny()
    visible = set(
        Person.objects.visible_to(actor)
        .filter(pk__in=[r["person"].pk for r in results])
        .values_list("pk", flat=True)
    )
    clean = [_training_result(r, visible, session.course.pass_score) for r in results]
    _save_training_records(session, clean)
    record(
        actor,
        "orgs.record_training",
        session,
        summary=f"{session}: {len(clean)}",
        results=[[p.pk, a, str(s) if s is not None else None, ok] for p, a, s, ok, _n in clean],
    )
    return len(clean)


def _check_unit_manager(actor, unit: Unit) -> None:
    scope = scope_for(actor)
    if not (is_admin(scope) or _may_manage_unit(scope, unit)):
        _deny()


@transaction.atomic
def do_issue_equipment(
    actor,
    *,
    unit: Unit,
    kind: str,
    name: str,
    asset_no: str,
    issued_on: date,
    holder: Person | None = None,
    value=0,
    note: str = "",
):

    _check_unit_manager(actor, unit)
    if kind not in EquipmentKind.values:
        raise InvalidInput(_("Unknown equipment kind: %(kind)s") % {"kind": kind}, field="kind")
    asset_no, name = (asset_no or "").strip(), (name or "").strip()
    if not asset_no or not name:
        raise InvalidInput(_("Equipment needs a name and an asset number."), field="asset_no")
    if Decimal(str(value)) < 0:
        raise InvalidInput(_("The value cannot be negative."), field="value")
    if (
        holder is not None
        and holder.unit_id != unit.pk
        and not Secondment.objects.filter(person=holder, to_unit=unit).exists()
    ):
        raise InvalidInput(_("The holder must belong to (or be seconded to) the unit."), field="holder")
    if Equipment.objects.filter(asset_no=asset_no).exists():
        raise Conflict(_("Asset number %(no)s is already registered.") % {"no": asset_no}, field="asset_no")
    item = Equipment.objects.create(
        unit=unit,
        holder=holder,
        kind=kind,
        name=name,
        asset_no=asset_no,
        issued_on=issued_on,
        value=value,
        note=note,
    )
    record(
        actor,
        "orgs.issue_equipment",
        item,
        summary=str(item),
        unit=unit.code,
        holder=getattr(holder, "pk", None),
        value=str(value),
    )
    return item


@transaction.atomic
def do_return_equipment(actor, item, returned_on: date | None = None):
    _check_unit_manager(actor, item.unit)
    if item.returned_on is not None:
        raise Conflict(_("This equipment has already been returned."))
    returned_on = returned_on or timezone.localdate()
    if returned_on < item.issued_on:
        raise InvalidInput(_("The return date is before the issue date."), field="returned_on")
    item.returned_on = returned_on
    item.save(update_fields=["returned_on"])
    record(actor, "orgs.return_equipment", item, summary=str(item), returned_on=str(returned_on))
    return item


@transaction.atomic
def do_record_funds(actor, *, unit: Unit, category: str, amount, spent_on: date, description: str):

    _check_unit_manager(actor, unit)
    if category not in FundCategory.values:
        raise InvalidInput(_("Unknown fund category: %(c)s") % {"c": category}, field="category")
    try:
        amount = Decimal(str(amount))
    except InvalidOperation as exc:
        raise InvalidInput(_("The amount must be a positive number."), field="amount") from exc
    if amount <= 0:
        raise InvalidInput(_("The amount must be a positive number."), field="amount")
    if not (description or "").strip():
        raise InvalidInput(_("Say what the money was spent on."), field="description")
    row = FundRecord.objects.create(
        unit=unit,
        category=category,
        amount=amount,
        spent_on=spent_on,
        description=description.strip()[:200],
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        actor,
        "orgs.record_funds",
        row,
        summary=str(row),
        unit=unit.code,
        amount=str(amount),
        category=category,
    )
    return row
