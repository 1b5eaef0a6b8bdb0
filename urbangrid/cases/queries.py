"""Reads of the cases app that several places use: case lookup by jurisdiction, action
preconditions, who must be told, what a user must do now, and the filtered case list."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import NotFound
from urbangrid.lib.roles import Role

from .choices import ApplicationState, AttachmentStage, CaseState, TaskRole, TaskState
from .models import Application, Case, CaseTask

ACTIVE_TASK_STATES = (TaskState.PENDING, TaskState.ACCEPTED, TaskState.REPORTED)
TIER_RANK = {"grid": 0, "community": 0, "street": 1, "district": 2, "city": 3}
TIER_ORDER = ["grid", "street", "district", "city"]
# Region rows carry their boundary (WKB, often large): never load it with a case.
REGION_GEOMETRY = ("geometry_wkb",)
# Who sees a reporter's name and phone (actions.do_read_reporter_contact): those who verify and
# dispatch reports; an anonymous reporter's only those who call reporters back.
# The photos the public may see: those of a closed case. A report photo of an open case is
# unchecked and may show the reporter or their doorstep.
PUBLIC_PHOTO_STAGES = (AttachmentStage.REPORT, AttachmentStage.BEFORE, AttachmentStage.AFTER)


def public_photo(stage: str, case_state: str) -> bool:
    return stage in PUBLIC_PHOTO_STAGES and case_state == CaseState.CLOSED


def with_regions(qs, *names):
    """select_related of region FKs without their geometry columns."""
    return qs.select_related(*names).defer(*(f"{n}__{col}" for n in names for col in REGION_GEOMETRY))


def get_case_for(user, number: str) -> Case:
    """The case by number if the user may see it; missing and outside jurisdiction are both 404."""
    qs = with_regions(Case.objects.visible_to(user), "street", "district", "community")
    case = qs.select_related("problem_class", "assigned_unit").filter(number=number).first()
    if case is None:
        raise NotFound(_("No such case."))
    return case


def active_tasks(case) -> list[CaseTask]:
    cache = getattr(case, "_active_tasks", None)
    if cache is None:
        cache = list(case.tasks.filter(state__in=ACTIVE_TASK_STATES).select_related("unit"))
        case._active_tasks = cache
    return cache


def lead_task(case) -> CaseTask | None:
    return next((t for t in active_tasks(case) if t.role == TaskRole.LEAD), None)


def pending_application(case, kind: str) -> Application | None:
    return case.applications.filter(kind=kind, state=ApplicationState.PENDING).first()


def action_preconditions(case, user, action: str) -> str | None:
    """Why the action cannot be done now from the case's data (None = it can). The transition
    table and the roles are checked separately; this covers units' tasks, applications etc."""
    from .workflow import LEAD_ONLY_ACTIONS, UNIT_TASK_ACTIONS

    scope = scope_for(user) if user is not None else None
    is_admin = scope is not None and Role.ADMIN in scope.roles
    if action in UNIT_TASK_ACTIONS and not is_admin:
        units = scope.unit_ids if scope else frozenset()
        tasks = [t for t in active_tasks(case) if t.unit_id in units]
        if action in LEAD_ONLY_ACTIONS:
            if not any(t.role == TaskRole.LEAD for t in tasks):
                return _("Only the lead unit of this case may do this.")
        elif not any(t.role == TaskRole.ASSIST and t.state != TaskState.REPORTED for t in tasks):
            return _("Your unit has no open assisting task on this case.")
    if action == "report_back":
        waiting = [
            t.unit.name
            for t in active_tasks(case)
            if t.role == TaskRole.ASSIST and t.state != TaskState.REPORTED
        ]
        if waiting:
            return _("Assisting units have not reported yet: %(units)s") % {"units": "、".join(waiting)}
    if action == "self_handle" and (case.problem_class_id is None or not case.problem_class.on_spot_allowed):
        return _("This class of problem may not be fixed on the spot.")
    if action == "register":
        if case.state == CaseState.PENDING_CLOSE and not case.self_handled:
            return _("Only an on-the-spot fix can be sent back to registration.")
        if case.verify_result is False:
            return _("The verification found no such problem; reject the report instead.")
    if action == "close" and not (case.check_passed or (case.self_handled and case.check_passed is None)):
        return _("The on-site check has not passed; send the case back for rework.")
    if action == "rework" and (case.self_handled or case.assigned_unit_id is None):
        return _("This case has no handling unit to send it back to.")
    if action == "evaluate" and case.satisfaction is not None:
        return _("Satisfaction has already been recorded.")
    if action == "escalate" and case.tier == "city":
        return _("The case is already at the highest tier.")
    if action.startswith("apply_") and pending_application(case, action.removeprefix("apply_")) is not None:
        return _("An application of this kind is already pending.")
    if action.startswith("decide_") and pending_application(case, action.removeprefix("decide_")) is None:
        return _("There is no pending application of this kind.")
    return None


# --- people to tell ------------------------------------------------------------------------------
def people_holding(roles, region_ids) -> dict[tuple[str, int | None], list]:
    """Active people by (role, region) for ``roles`` held today over ``region_ids`` or over the
    whole city (region None): one query, for callers that pick for many cases."""
    from django.utils import timezone

    from urbangrid.orgs.models import RoleAssignment

    today = timezone.localdate()
    rows = (
        RoleAssignment.objects.filter(role__in=roles, person__is_active=True)
        .filter(Q(region__isnull=True) | Q(region_id__in=region_ids))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("person")
        .order_by("person_id")
    )
    out: dict[tuple[str, int | None], list] = {}
    for ra in rows:
        out.setdefault((ra.role, ra.region_id), []).append(ra.person)
    return out


def pick_over(holding, role: str, case) -> list:
    """From ``people_holding``: who holds ``role`` over the case's community, street, district or city."""
    seen, out = set(), []
    for region in (case.community_id, case.street_id, case.district_id, None):
        for p in holding.get((role, region), ()):
            if p.pk not in seen:
                seen.add(p.pk)
                out.append(p)
    return out[:50]


def people_with_role_over(role: str, case) -> list:
    """Active people holding ``role`` over the case's community, street, district or the whole city."""
    regions = [r for r in (case.community_id, case.street_id, case.district_id) if r]
    return pick_over(people_holding([role], regions), role, case)


def handlers_of_units(unit_ids) -> dict[int, list]:
    """Active handlers and leaders of each unit (at most 50 each), in one query."""
    from urbangrid.orgs.models import Person

    out: dict[int, list] = {}
    qs = Person.objects.filter(
        is_active=True, unit_id__in=unit_ids, roles__role__in=[Role.UNIT_HANDLER, Role.UNIT_LEADER]
    )
    for p in qs.distinct().order_by("pk"):
        people = out.setdefault(p.unit_id, [])
        if len(people) < 50:
            people.append(p)
    return out


def unit_handlers(unit_id) -> list:
    return handlers_of_units([unit_id]).get(unit_id, []) if unit_id else []


def grid_worker_for(case):
    """The comprehensive supervisor assigned to the case's grid today, if any."""
    from django.utils import timezone

    from urbangrid.orgs.models import GridAssignment

    if not case.grid_code:
        return None
    today = timezone.localdate()
    ga = (
        GridAssignment.objects.filter(grid_code=case.grid_code, duty="supervisor", valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("person")
        .first()
    )
    return ga.person if ga else None


# --- routing -----------------------------------------------------------------------------------
def unit_rank(unit) -> int:
    return TIER_RANK.get(unit.level, 1) if unit is not None else -1


def suggest_unit(case):
    """The unit to dispatch to: the responsibility matrix's unit when it is at or above the case's
    tier (小事不出网格、大事不出镇办), else the next unit up (district brigade/government, the
    class's city department, the bureau)."""
    from urbangrid.orgs.models import Unit

    from . import deps

    tier = case.tier or "street"
    from urbangrid.geo.models import Region

    regions = Region.objects.defer(*REGION_GEOMETRY).in_bulk(
        [r for r in (case.community_id, case.street_id) if r]
    )
    base = deps.responsible_unit(
        case.problem_class, regions.get(case.community_id), regions.get(case.street_id)
    )
    if base is not None and unit_rank(base) >= TIER_RANK[tier]:
        return base
    pc = case.problem_class
    if pc is not None and pc.default_unit_code:
        u = Unit.objects.filter(code=pc.default_unit_code, is_active=True).first()
        if u is not None and unit_rank(u) >= TIER_RANK[tier]:
            return u
    if tier == "district" and case.district_id:
        for kind in ("brigade", "district_gov"):
            u = Unit.objects.filter(region_id=case.district_id, kind=kind, is_active=True).first()
            if u is not None:
                return u
    if tier in ("district", "city"):
        u = Unit.objects.filter(kind="bureau", is_active=True).first()
        if u is not None:
            return u
    return base


# --- my tasks ----------------------------------------------------------------------------------
def my_tasks(user):
    """What the user must do now, by role: a dict role → queryset of visible cases."""
    scope = scope_for(user)
    visible = Case.objects.visible_to(user)
    out = {}
    if scope.has_role(Role.GRID_WORKER):
        q = Q(state__in=[CaseState.VERIFYING, CaseState.CHECKING])
        mine = Q(field_worker_id=scope.person_id) | Q(field_worker__isnull=True)
        out[Role.GRID_WORKER] = visible.filter(q & mine)
    if scope.has_role(Role.INTAKE_OPERATOR):
        out[Role.INTAKE_OPERATOR] = visible.filter(state__in=[CaseState.REPORTED, CaseState.PENDING_CHECK])
    if scope.has_role(Role.SHIFT_LEADER):
        out[Role.SHIFT_LEADER] = visible.filter(
            Q(state__in=[CaseState.PENDING_REGISTER, CaseState.PENDING_CLOSE])
            | Q(applications__state=ApplicationState.PENDING, applications__kind="cancel")
        ).distinct()
    if scope.has_role(Role.DISPATCHER):
        out[Role.DISPATCHER] = visible.filter(
            Q(state=CaseState.PENDING_DISPATCH)
            | Q(
                applications__state=ApplicationState.PENDING,
                applications__kind__in=["return", "postpone", "shelve"],
            )
        ).distinct()
    if scope.has_role(Role.UNIT_HANDLER, Role.UNIT_LEADER):
        out[Role.UNIT_HANDLER] = Case.objects.filter(
            id__in=CaseTask.objects.filter(
                unit_id__in=scope.unit_ids, state__in=[TaskState.PENDING, TaskState.ACCEPTED]
            ).values("case_id"),
            state__in=[CaseState.PENDING_HANDLE, CaseState.HANDLING],
        )
    return out
