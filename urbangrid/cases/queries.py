"""Reads of the cases app that several places use: case lookup by jurisdiction, a case's tasks and
applications, who must be told and where a case is routed."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.geo.models import Region
from urbangrid.lib.errors import NotFound
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment, Unit

from . import deps
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


# --- people to tell ------------------------------------------------------------------------------
def people_holding(roles, region_ids) -> dict[tuple[str, int | None], list]:
    """Active people by (role, region) for ``roles`` held today over ``region_ids`` or over the
    whole city (region None): one query, for callers that pick for many cases."""

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

    tier = case.tier or "street"

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
