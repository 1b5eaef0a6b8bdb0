"""Reads of the console: header facts, deadline display, work queues, map cases and dashboard
aggregates. Every list starts from ``Case.objects.visible_to(user)`` (DESIGN rule 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from urbangrid.cases.choices import ApplicationKind, ApplicationState, CaseState, TaskState
from urbangrid.cases.filters import QueueFilter
from urbangrid.cases.models import Application, Case, CaseTask, Notification
from urbangrid.cases.workflow import APPROVER_OF
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import InvalidInput
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import Person


# --- header ----------------------------------------------------------------------------------------
@dataclass
class HeaderInfo:
    name: str
    unit: str
    area: str
    roles: list[str]
    inbox: int


def header_info(user) -> HeaderInfo:

    scope = scope_for(user)
    person = (
        Person.objects.filter(pk=scope.person_id)
        .select_related("unit")
        .prefetch_related("roles__region")
        .first()
        if scope.person_id
        else None
    )
    if person is None:
        return HeaderInfo(
            user.get_full_name() or user.username,
            "",
            _("Whole city") if scope.all_city else "",
            [str(Role(r).label) for r in sorted(scope.roles) if r in Role.values],
            0,
        )
    areas, roles = [], []
    for ra in person.roles.all():
        label = str(Role(ra.role).label) if ra.role in Role.values else ra.role
        if label not in roles:
            roles.append(label)
        name = ra.region.name if ra.region else _("Whole city")
        if name not in areas:
            areas.append(name)
    inbox = Notification.objects.filter(recipient_id=person.pk, read_at__isnull=True).count()
    return HeaderInfo(
        person.name, person.unit.short_name or person.unit.name, "、".join(areas[:3]), roles, inbox
    )


# --- deadlines -------------------------------------------------------------------------------------
def deadline_status(case, now: datetime) -> str:
    """normal / warning / overdue for the case's current step ('' when it has no deadline)."""
    if case.due_at is None or case.state not in OPEN_STATE_SET:
        return ""
    if case.due_at <= now:
        return "overdue"
    if case.warn_at is not None and case.warn_at <= now:
        return "warning"
    return "normal"


def humanize_delta(seconds: float) -> str:
    seconds = abs(int(seconds))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return _("%(d)dd %(h)dh") % {"d": days, "h": hours}
    if hours:
        return _("%(h)dh %(m)dm") % {"h": hours, "m": minutes}
    return _("%(m)dm") % {"m": minutes}


def remaining_text(case, now: datetime) -> str:
    if case.due_at is None or case.state not in OPEN_STATE_SET:
        return "—"
    delta = (case.due_at - now).total_seconds()
    if delta < 0:
        return _("overdue by %(t)s") % {"t": humanize_delta(delta)}
    return _("%(t)s left") % {"t": humanize_delta(delta)}


OPEN_STATE_SET = {
    str(s)
    for s in (
        CaseState.REPORTED,
        CaseState.VERIFYING,
        CaseState.PENDING_REGISTER,
        CaseState.PENDING_DISPATCH,
        CaseState.PENDING_HANDLE,
        CaseState.HANDLING,
        CaseState.PENDING_CHECK,
        CaseState.CHECKING,
        CaseState.PENDING_CLOSE,
    )
}


# --- work queues -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueSpec:
    key: str
    label: str
    states: tuple[str, ...]
    roles: tuple[str, ...]
    # Approvals list cases with a pending application of these kinds instead of states.
    application_kinds: tuple[str, ...] = ()


R = Role
QUEUES = [
    QueueSpec(
        "intake", gettext_lazy("New reports"), (CaseState.REPORTED,), (R.INTAKE_OPERATOR, R.SHIFT_LEADER)
    ),
    QueueSpec(
        "verify",
        gettext_lazy("Awaiting verification"),
        (CaseState.VERIFYING,),
        (R.INTAKE_OPERATOR, R.SHIFT_LEADER, R.GRID_WORKER),
    ),
    QueueSpec(
        "register",
        gettext_lazy("Awaiting registration"),
        (CaseState.PENDING_REGISTER,),
        (R.SHIFT_LEADER, R.INTAKE_OPERATOR),
    ),
    QueueSpec(
        "dispatch",
        gettext_lazy("Awaiting dispatch"),
        (CaseState.PENDING_DISPATCH,),
        (R.DISPATCHER, R.SHIFT_LEADER),
    ),
    QueueSpec(
        "handle",
        gettext_lazy("Awaiting handling"),
        (CaseState.PENDING_HANDLE, CaseState.HANDLING),
        (R.UNIT_HANDLER, R.UNIT_LEADER, R.DISPATCHER),
    ),
    QueueSpec(
        "check",
        gettext_lazy("Awaiting check"),
        (CaseState.PENDING_CHECK, CaseState.CHECKING),
        (R.INTAKE_OPERATOR, R.SHIFT_LEADER, R.GRID_WORKER),
    ),
    QueueSpec("close", gettext_lazy("Awaiting closing"), (CaseState.PENDING_CLOSE,), (R.SHIFT_LEADER,)),
    QueueSpec(
        "approvals",
        gettext_lazy("Approvals"),
        (),
        (R.DISPATCHER, R.SHIFT_LEADER),
        application_kinds=tuple(ApplicationKind.values),
    ),
]
QUEUE_BY_KEY = {q.key: q for q in QUEUES}
SORTS = {
    "due": ("due_at", "id"),
    "-due": ("-due_at", "-id"),
    "reported": ("reported_at", "id"),
    "-reported": ("-reported_at", "-id"),
    "number": ("number",),
    "-number": ("-number",),
}


def queues_for(user) -> list[QueueSpec]:
    scope = scope_for(user)
    admin = R.ADMIN in scope.roles
    return [q for q in QUEUES if admin or scope.roles.intersection(q.roles)]


def queue_cases(user, spec: QueueSpec, *, params=None):
    """The queue's cases, filtered and sorted; one query with the related rows joined (no N+1)."""
    params = params or {}
    scope = scope_for(user)
    qs = Case.objects.visible_to(user)
    if spec.application_kinds:
        kinds = set(spec.application_kinds)
        if R.ADMIN not in scope.roles:
            # Each approver sees the applications its decide_* records give it.
            kinds &= {str(kind) for kind, approver in APPROVER_OF.items() if approver in scope.roles}
        if params.get("kind") in kinds:
            kinds = {params["kind"]}
        qs = qs.filter(
            id__in=Application.objects.filter(state=ApplicationState.PENDING, kind__in=kinds).values(
                "case_id"
            )
        )
    else:
        qs = qs.filter(state__in=spec.states)
    if (
        spec.key == "handle"
        and scope.roles.intersection({R.UNIT_HANDLER, R.UNIT_LEADER})
        and not (scope.roles.intersection({R.DISPATCHER, R.ADMIN}))
    ):
        qs = qs.filter(
            id__in=CaseTask.objects.filter(
                unit_id__in=scope.unit_ids, state__in=[TaskState.PENDING, TaskState.ACCEPTED]
            ).values("case_id")
        )
    if spec.key in ("verify", "check") and scope.roles == {R.GRID_WORKER}:
        qs = qs.filter(Q(field_worker_id=scope.person_id) | Q(field_worker__isnull=True))
    qs = apply_filters(qs, params)
    sort = SORTS.get(params.get("sort") or "due", SORTS["due"])
    return qs.select_related("problem_class", "street", "community", "assigned_unit").order_by(*sort)


def apply_filters(qs, params):
    """The console forms' filters (``QueueFilter``), shared by queues and map; a value that no form
    offers (an unknown state, a hand-edited address) lists nothing."""
    filters = QueueFilter.from_params(params)
    if filters is None:
        return qs.none()
    try:
        return filters.filter(qs)
    except InvalidInput:
        return qs.none()


def queue_counts(user) -> dict[str, int]:
    return {q.key: queue_cases(user, q).count() for q in queues_for(user)}


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# --- inbox -------------------------------------------------------------------------------------------
def inbox(user, limit=100):
    scope = scope_for(user)
    if not scope.person_id:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=scope.person_id).select_related("case")[:limit]


def pending_applications(case):
    return list(case.applications.filter(state=ApplicationState.PENDING).select_related("applicant", "unit"))


__all__ = [
    "HeaderInfo",
    "header_info",
    "deadline_status",
    "remaining_text",
    "QUEUES",
    "QUEUE_BY_KEY",
    "queues_for",
    "queue_cases",
    "apply_filters",
    "queue_counts",
    "inbox",
    "pending_applications",
    "Count",
]
