"""The case loop as data (docs/design.md, rule 2): one ``CaseAction`` record per action.

A record says everything about its action: its label, the moves it makes (source states → target
state; ``None`` keeps the state: supervision orders, applications, escalation, evaluation), the
roles that may do it, whether it is a unit's own task, the preconditions on the case's data (each
returning a typed ``Refusal``), the fields it takes (``cases.inputs``), the ``do_*`` function of
``cases.actions`` that writes it, and how the console shows it. The transition table, the API, the
console's forms, the approvals and "my tasks" all read these records; docs/workflow.md is drawn
from them (scripts/workflow_diagram.py).

Actions that need an approval (``decide_*``) name the state reached when the application is
APPROVED; a refusal keeps the state. Anything not in the table is refused with Conflict (409)
whatever the caller, and pages and the API list what a user may do from ``allowed_actions``.

Pseudo-roles: ``system`` is the task worker (automatic escalation); ``reporter`` is the account
that reported the case (a citizen evaluating their own case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import Scope, is_admin, scope_for
from urbangrid.lib.errors import Conflict, DomainError, PermissionDenied
from urbangrid.lib.roles import Role

from . import inputs
from .choices import ApplicationKind, ApplicationState, CaseState, TaskRole, TaskState
from .models import Case, CaseTask
from .queries import active_tasks, pending_application

S = CaseState
SYSTEM = "system"
REPORTER = "reporter"

GW = Role.GRID_WORKER
OP = Role.INTAKE_OPERATOR
SL = Role.SHIFT_LEADER
DP = Role.DISPATCHER
UH = Role.UNIT_HANDLER
UL = Role.UNIT_LEADER
LEADERS = (Role.STREET_LEADER, Role.DISTRICT_LEADER, Role.CITY_LEADER)
UNIT = (UH, UL)

_OPEN_AFTER_REGISTER = (
    S.PENDING_DISPATCH,
    S.PENDING_HANDLE,
    S.HANDLING,
    S.PENDING_CHECK,
    S.CHECKING,
    S.PENDING_CLOSE,
)
_ALL_OPEN = (S.REPORTED, S.VERIFYING, S.PENDING_REGISTER, *_OPEN_AFTER_REGISTER)
_HANDLING = (S.PENDING_HANDLE, S.HANDLING)


# --- refusals --------------------------------------------------------------------------------------
class Refused(Enum):
    """Why an action cannot be done now although the table allows it. ``forbidden`` refusals say
    the action is not the user's to do (403); the others that the case's data do not allow it (409)."""

    NOT_LEAD_UNIT = (_("Only the lead unit of this case may do this."), True)
    NO_ASSIST_TASK = (_("Your unit has no open assisting task on this case."), True)
    ASSISTS_WAITING = (_("Assisting units have not reported yet: %(units)s"), False)
    NOT_ON_SPOT_CLASS = (_("This class of problem may not be fixed on the spot."), False)
    NOT_SELF_HANDLED = (_("Only an on-the-spot fix can be sent back to registration."), False)
    VERIFIED_ABSENT = (_("The verification found no such problem; reject the report instead."), False)
    CHECK_NOT_PASSED = (_("The on-site check has not passed; send the case back for rework."), False)
    NO_HANDLING_UNIT = (_("This case has no handling unit to send it back to."), False)
    ALREADY_EVALUATED = (_("Satisfaction has already been recorded."), False)
    HIGHEST_TIER = (_("The case is already at the highest tier."), False)
    APPLICATION_PENDING = (_("An application of this kind is already pending."), False)
    NO_APPLICATION = (_("There is no pending application of this kind."), False)

    def __init__(self, text, forbidden: bool):
        self.text = text
        self.forbidden = forbidden


@dataclass(frozen=True)
class Refusal:
    reason: Refused
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.reason.text) % self.params if self.params else str(self.reason.text)

    def error(self) -> DomainError:
        return (PermissionDenied if self.reason.forbidden else Conflict)(self.message)


Precondition = Callable[[object], Refusal | None]


# --- preconditions on the case's data (the docstring is the rule's line in docs/workflow.md) ------
def assists_reported(case) -> Refusal | None:
    """Every assisting unit has reported."""
    waiting = [
        t.unit.name for t in active_tasks(case) if t.role == TaskRole.ASSIST and t.state != TaskState.REPORTED
    ]
    return Refusal(Refused.ASSISTS_WAITING, {"units": "、".join(waiting)}) if waiting else None


def on_spot_class(case) -> Refusal | None:
    """The problem's class may be fixed on the spot."""
    if case.problem_class_id is None or not case.problem_class.on_spot_allowed:
        return Refusal(Refused.NOT_ON_SPOT_CLASS)
    return None


def registrable(case) -> Refusal | None:
    """From pending-close only an on-the-spot fix; never a report verified as absent."""
    if case.state == CaseState.PENDING_CLOSE and not case.self_handled:
        return Refusal(Refused.NOT_SELF_HANDLED)
    if case.verify_result is False:
        return Refusal(Refused.VERIFIED_ABSENT)
    return None


def check_passed(case) -> Refusal | None:
    """The on-site check passed (or an on-the-spot fix awaits its audit)."""
    if not (case.check_passed or (case.self_handled and case.check_passed is None)):
        return Refusal(Refused.CHECK_NOT_PASSED)
    return None


def has_handling_unit(case) -> Refusal | None:
    """A unit handled the case (not an on-the-spot fix)."""
    return Refusal(Refused.NO_HANDLING_UNIT) if case.self_handled or case.assigned_unit_id is None else None


def not_evaluated(case) -> Refusal | None:
    """Satisfaction not yet recorded."""
    return Refusal(Refused.ALREADY_EVALUATED) if case.satisfaction is not None else None


def below_city_tier(case) -> Refusal | None:
    """The case is below the city tier."""
    return Refusal(Refused.HIGHEST_TIER) if case.tier == "city" else None


def no_pending_application(kind: str) -> Precondition:
    def check(case) -> Refusal | None:
        """No application of this kind is pending."""
        return Refusal(Refused.APPLICATION_PENDING) if pending_application(case, kind) is not None else None

    return check


def a_pending_application(kind: str) -> Precondition:
    def check(case) -> Refusal | None:
        """An application of this kind is pending."""
        return Refusal(Refused.NO_APPLICATION) if pending_application(case, kind) is None else None

    return check


# --- the records -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseAction:
    name: str
    label: str
    sources: tuple[str, ...]  # the states it may be done from
    target: str | None  # the state it leads to; None keeps the state
    roles: tuple[str, ...]
    input: type[inputs.ActionInput]
    handler: str  # the do_* function of cases.actions
    preconditions: tuple[Precondition, ...] = ()
    # A unit's own task: "lead" (the lead unit only) or "assist" (an open assisting task).
    unit_task: str | None = None
    applies_for: str | None = None  # the application kind an apply_* action files
    decides: str | None = None  # the application kind a decide_* action decides
    danger: bool = False  # the console marks the button as destructive
    multipart: bool = False  # the form uploads photos

    @property
    def handler_args(self) -> dict:
        kind = self.applies_for or self.decides
        return {"kind": kind} if kind else {}


def _action(name, label, sources, target, roles, input, handler=None, **flags) -> CaseAction:
    sources = tuple(str(s) for s in (sources if isinstance(sources, tuple) else (sources,)))
    target = str(target) if target is not None else None
    roles = tuple(str(r) for r in roles)
    return CaseAction(name, label, sources, target, roles, input, handler or f"do_{name}", **flags)


_APPLY_LABELS = {
    ApplicationKind.RETURN: (_("Apply for return"), _("Decide on return")),
    ApplicationKind.POSTPONE: (_("Apply for postponement"), _("Decide on postponement")),
    ApplicationKind.SHELVE: (_("Apply for shelving"), _("Decide on shelving")),
    ApplicationKind.CANCEL: (_("Apply for cancellation"), _("Decide on cancellation")),
}


def _application(kind, sources, roles, approver, approved_to=None) -> list[CaseAction]:
    """The pair apply_<kind> (a unit or a loop member asks) and decide_<kind> (the approver)."""
    apply_label, decide_label = _APPLY_LABELS[kind]
    unit_task = "lead" if set(roles) <= set(UNIT) else None
    danger = kind == ApplicationKind.CANCEL
    return [
        _action(
            f"apply_{kind}", apply_label, sources, None, roles, inputs.ApplyIn, "do_apply",
            preconditions=(no_pending_application(kind),), unit_task=unit_task, applies_for=kind, danger=danger,
        ),
        _action(
            f"decide_{kind}", decide_label, sources, approved_to, (approver,), inputs.DecideIn, "do_decide",
            preconditions=(a_pending_application(kind),), decides=kind, danger=danger,
        ),
    ]  # fmt: skip


ACTIONS: tuple[CaseAction, ...] = (
    # Intake → verification → registration (a second look possible before registering).
    _action(
        "request_verify", _("Request verification"),
        (S.REPORTED, S.PENDING_REGISTER), S.VERIFYING, (OP, SL), inputs.FieldWorkerIn,
    ),
    _action("verify", _("Verify on site"), S.VERIFYING, S.PENDING_REGISTER, (GW,), inputs.VerifyIn, multipart=True),
    _action(
        "self_handle", _("Fixed on the spot"), (S.REPORTED, S.PENDING_REGISTER), S.PENDING_CLOSE, (GW,),
        inputs.SelfHandleIn, preconditions=(on_spot_class,), multipart=True,
    ),
    _action(
        "register", pgettext_lazy("case action", "Register"),
        # From pending-close: the shift leader's audit refused an on-the-spot fix; a unit handles it.
        (S.PENDING_REGISTER, S.PENDING_CLOSE), S.PENDING_DISPATCH, (SL,), inputs.RegisterIn,
        preconditions=(registrable,),
    ),
    _action(
        "reject", _("Reject (not registered)"),
        (S.REPORTED, S.VERIFYING, S.PENDING_REGISTER), S.REJECTED, (SL,), inputs.ReasonIn, danger=True,
    ),
    # Dispatch → handling (lead and assisting units).
    _action("dispatch", _("Dispatch"), S.PENDING_DISPATCH, S.PENDING_HANDLE, (DP,), inputs.DispatchIn),
    _action(
        "accept", pgettext_lazy("case action", "Accept"), S.PENDING_HANDLE, S.HANDLING, UNIT,
        inputs.NoteIn, unit_task="lead",
    ),
    _action(
        "report_back", _("Report back"), S.HANDLING, S.PENDING_CHECK, UNIT, inputs.ReportBackIn,
        preconditions=(assists_reported,), unit_task="lead", multipart=True,
    ),
    _action(
        "assist_report", _("Assisting unit reports"), _HANDLING, None, UNIT, inputs.AssistReportIn,
        unit_task="assist",
    ),
    # Applications the dispatcher decides: return, postponement, shelving.
    *_application(ApplicationKind.RETURN, _HANDLING, UNIT, DP, S.PENDING_DISPATCH),
    *_application(ApplicationKind.POSTPONE, S.HANDLING, UNIT, DP),
    *_application(ApplicationKind.SHELVE, S.HANDLING, UNIT, DP, S.SHELVED),
    _action("resume", _("Resume shelved case"), S.SHELVED, S.HANDLING, (DP,), inputs.ReasonIn),
    # Check → close or rework.
    _action(
        "request_check", _("Request on-site check"), S.PENDING_CHECK, S.CHECKING, (OP, SL),
        inputs.FieldWorkerIn,
    ),
    _action("check", _("Check on site"), S.CHECKING, S.PENDING_CLOSE, (GW,), inputs.CheckIn, multipart=True),
    _action(
        "close", pgettext_lazy("case action", "Close"), S.PENDING_CLOSE, S.CLOSED, (SL,), inputs.NoteIn,
        preconditions=(check_passed,),
    ),
    _action(
        "rework", _("Send back for rework"), S.PENDING_CLOSE, S.HANDLING, (SL, DP), inputs.ReasonIn,
        preconditions=(has_handling_unit,), danger=True,
    ),
    _action(
        "evaluate", _("Record satisfaction"), S.CLOSED, None, (OP, SL, REPORTER), inputs.EvaluateIn,
        preconditions=(not_evaluated,),
    ),
    # A cancellation (作废) applied for by anyone in the loop is decided by the shift leader.
    *_application(ApplicationKind.CANCEL, (*_ALL_OPEN, S.SHELVED), (OP, DP, GW, *UNIT), SL, S.CANCELLED),
    # The shift leader cancels directly, with a reason.
    _action(
        "cancel", pgettext_lazy("case action", "Cancel"), (*_ALL_OPEN, S.SHELVED), S.CANCELLED, (SL,),
        inputs.ReasonIn, danger=True,
    ),
    # Supervision orders and escalation keep the state.
    _action(
        "supervise", _("Issue supervision order"), (*_OPEN_AFTER_REGISTER, S.SHELVED), None,
        (SL, DP, *LEADERS), inputs.SuperviseIn,
    ),
    _action(
        "escalate", _("Escalate"), (S.PENDING_DISPATCH, *_HANDLING), None, (SL, DP, *LEADERS, SYSTEM),
        inputs.ReasonIn, preconditions=(below_city_tier,),
    ),
)  # fmt: skip
ACTIONS_BY_NAME: dict[str, CaseAction] = {a.name: a for a in ACTIONS}


# --- derived tables --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transition:
    roles: tuple[str, ...]
    to_state: str | None


def _transitions() -> dict[tuple[str, str], Transition]:
    table: dict[tuple[str, str], Transition] = {}
    for spec in ACTIONS:
        for state in spec.sources:
            assert (state, spec.name) not in table, (state, spec.name)
            table[(state, spec.name)] = Transition(spec.roles, spec.target)
    return table


# TRANSITIONS[(state, action)] = Transition(roles, to_state)
TRANSITIONS: dict[tuple[str, str], Transition] = _transitions()
# Who decides each kind of application (the approver of its decide_* record).
APPROVER_OF: dict[str, str] = {a.decides: a.roles[0] for a in ACTIONS if a.decides}

# Timeline lines: the actions plus the events that are not transitions.
EVENT_LABELS = {
    **{a.name: a.label for a in ACTIONS},
    "report": _("Reported"),
    "link_report": _("Further report linked"),
    "photo": _("Photo added"),
}


def transition(state: str, action: str) -> Transition | None:
    return TRANSITIONS.get((str(state), action))


def action_label(action: str) -> str:
    spec = ACTIONS_BY_NAME.get(action)
    return str(spec.label) if spec else action


# --- who may do what now ---------------------------------------------------------------------------
def scope_of(user) -> Scope | None:
    """The user's scope; None for the task worker (``system``)."""
    return scope_for(user) if user is not None else None


def roles_of(scope: Scope | None, case=None) -> set[str]:
    """The workflow roles held (real roles plus the ``reporter`` pseudo-role on one's own report)."""
    if scope is None:
        return {SYSTEM}
    roles = set(scope.roles)
    if Role.ADMIN in roles:
        roles |= {r for a in ACTIONS for r in a.roles if r not in (SYSTEM, REPORTER)}
    if case is not None and case.reporter_user_id and case.reporter_user_id == scope.user_id:
        roles.add(REPORTER)
    return roles


def acting_role(scope: Scope | None, case, action: str) -> str | None:
    """The role under which the user may do ``action`` now, or None (state or role refuses it)."""
    tr = transition(case.state, action)
    if tr is None:
        return None
    held = roles_of(scope, case)
    return next((role for role in tr.roles if role in held), None)


def _unit_refusal(spec: CaseAction, case, scope: Scope | None) -> Refusal | None:
    """A unit's own task needs the user's unit to hold it (an administrator acts for any unit)."""
    if spec.unit_task is None or (scope is not None and is_admin(scope)):
        return None
    units = scope.unit_ids if scope else frozenset()
    tasks = [t for t in active_tasks(case) if t.unit_id in units]
    if spec.unit_task == "lead":
        return None if any(t.role == TaskRole.LEAD for t in tasks) else Refusal(Refused.NOT_LEAD_UNIT)
    if any(t.role == TaskRole.ASSIST and t.state != TaskState.REPORTED for t in tasks):
        return None
    return Refusal(Refused.NO_ASSIST_TASK)


def refusal(spec: CaseAction, case, scope: Scope | None) -> Refusal | None:
    """Why the action cannot be done now from the case's data (None = it can). The transition
    table and the roles are checked separately (``acting_role``)."""
    why = _unit_refusal(spec, case, scope)
    for check in spec.preconditions:
        why = why or check(case)
    return why


def allowed_actions(case, user) -> list[str]:
    """Actions the user may do on the case now: the table, the user's roles, their units' tasks and
    the preconditions on the case's data (pending applications, on-spot classes)."""
    scope = scope_of(user)
    held = roles_of(scope, case)
    out = []
    for (state, action), tr in TRANSITIONS.items():
        if (
            state == str(case.state)
            and held.intersection(tr.roles)
            and refusal(ACTIONS_BY_NAME[action], case, scope) is None
        ):
            out.append(action)
    return out


# --- my tasks ----------------------------------------------------------------------------------
def kinds_decided_by(role: str) -> list[str]:
    return [kind for kind, approver in APPROVER_OF.items() if approver == role]


def my_tasks(user):
    """What the user must do now, by role: a dict role → queryset of visible cases."""
    scope = scope_for(user)
    visible = Case.objects.visible_to(user)
    out = {}
    if scope.has_role(GW):
        mine = Q(field_worker_id=scope.person_id) | Q(field_worker__isnull=True)
        out[GW] = visible.filter(Q(state__in=[S.VERIFYING, S.CHECKING]) & mine)
    if scope.has_role(OP):
        out[OP] = visible.filter(state__in=[S.REPORTED, S.PENDING_CHECK])
    if scope.has_role(SL):
        out[SL] = visible.filter(
            Q(state__in=[S.PENDING_REGISTER, S.PENDING_CLOSE]) | _deciding(SL)
        ).distinct()
    if scope.has_role(DP):
        out[DP] = visible.filter(Q(state=S.PENDING_DISPATCH) | _deciding(DP)).distinct()
    if scope.has_role(*UNIT):
        out[UH] = Case.objects.filter(
            id__in=CaseTask.objects.filter(
                unit_id__in=scope.unit_ids, state__in=[TaskState.PENDING, TaskState.ACCEPTED]
            ).values("case_id"),
            state__in=_HANDLING,
        )
    return out


def _deciding(role: str) -> Q:
    """Cases with a pending application that ``role`` decides."""
    return Q(applications__state=ApplicationState.PENDING, applications__kind__in=kinds_decided_by(role))
