"""The case loop as data (docs/design.md, rule 2): one table of allowed transitions.

``TRANSITIONS[(state, action)] = Transition(roles, to_state)``. ``to_state`` None means the action
keeps the state (supervision orders, applications, escalation, evaluation). Actions that need an
approval (``decide_*``) name the state reached when the application is APPROVED; a refusal keeps
the state. Anything not in the table is refused with Conflict (409) whatever the caller, and pages
and the API list what a user may do from ``allowed_actions(case, user)``.

Pseudo-roles: ``system`` is the task worker (automatic escalation); ``reporter`` is the account
that reported the case (a citizen evaluating their own case).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import scope_for
from urbangrid.lib.roles import Role

from .choices import CaseState as S

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


@dataclass(frozen=True)
class Transition:
    roles: tuple[str, ...]
    to_state: str | None


# Human names of the actions (Chinese through the catalogue).
ACTION_LABELS = {
    "request_verify": _("Request verification"),
    "verify": _("Verify on site"),
    "register": pgettext_lazy("case action", "Register"),
    "reject": _("Reject (not registered)"),
    "dispatch": _("Dispatch"),
    "accept": pgettext_lazy("case action", "Accept"),
    "report_back": _("Report back"),
    "assist_report": _("Assisting unit reports"),
    "request_check": _("Request on-site check"),
    "check": _("Check on site"),
    "close": pgettext_lazy("case action", "Close"),
    "rework": _("Send back for rework"),
    "evaluate": _("Record satisfaction"),
    "apply_return": _("Apply for return"),
    "decide_return": _("Decide on return"),
    "apply_postpone": _("Apply for postponement"),
    "decide_postpone": _("Decide on postponement"),
    "apply_shelve": _("Apply for shelving"),
    "decide_shelve": _("Decide on shelving"),
    "resume": _("Resume shelved case"),
    "apply_cancel": _("Apply for cancellation"),
    "decide_cancel": _("Decide on cancellation"),
    "cancel": pgettext_lazy("case action", "Cancel"),
    "supervise": _("Issue supervision order"),
    "self_handle": _("Fixed on the spot"),
    "escalate": _("Escalate"),
}

# Timeline lines that are not transitions.
EVENT_LABELS = {
    **ACTION_LABELS,
    "report": _("Reported"),
    "link_report": _("Further report linked"),
    "photo": _("Photo added"),
}

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


def _build() -> dict[tuple[str, str], Transition]:
    t: dict[tuple[str, str], Transition] = {}

    def add(states, action, roles, to):
        for state in states if isinstance(states, tuple) else (states,):
            key = (str(state), action)
            assert key not in t, key
            t[key] = Transition(tuple(str(r) for r in roles), str(to) if to is not None else None)

    # Intake → verification → registration.
    add(S.REPORTED, "request_verify", (OP, SL), S.VERIFYING)
    add(S.PENDING_REGISTER, "request_verify", (OP, SL), S.VERIFYING)  # a second look before registering
    add(S.VERIFYING, "verify", (GW,), S.PENDING_REGISTER)
    add((S.REPORTED, S.PENDING_REGISTER), "self_handle", (GW,), S.PENDING_CLOSE)
    add(S.PENDING_REGISTER, "register", (SL,), S.PENDING_DISPATCH)
    # The shift leader's audit of an on-the-spot fix: refused → registered for a unit to handle.
    add(S.PENDING_CLOSE, "register", (SL,), S.PENDING_DISPATCH)
    add((S.REPORTED, S.VERIFYING, S.PENDING_REGISTER), "reject", (SL,), S.REJECTED)
    # Dispatch → handling (lead and assisting units).
    add(S.PENDING_DISPATCH, "dispatch", (DP,), S.PENDING_HANDLE)
    add(S.PENDING_HANDLE, "accept", UNIT, S.HANDLING)
    add(S.HANDLING, "report_back", UNIT, S.PENDING_CHECK)
    add(_HANDLING, "assist_report", UNIT, None)
    add(_HANDLING, "apply_return", UNIT, None)
    add(_HANDLING, "decide_return", (DP,), S.PENDING_DISPATCH)
    add(S.HANDLING, "apply_postpone", UNIT, None)
    add(S.HANDLING, "decide_postpone", (DP,), None)
    add(S.HANDLING, "apply_shelve", UNIT, None)
    add(S.HANDLING, "decide_shelve", (DP,), S.SHELVED)
    add(S.SHELVED, "resume", (DP,), S.HANDLING)
    # Check → close or rework.
    add(S.PENDING_CHECK, "request_check", (OP, SL), S.CHECKING)
    add(S.CHECKING, "check", (GW,), S.PENDING_CLOSE)
    add(S.PENDING_CLOSE, "close", (SL,), S.CLOSED)
    add(S.PENDING_CLOSE, "rework", (SL, DP), S.HANDLING)
    add(S.CLOSED, "evaluate", (OP, SL, REPORTER), None)
    # Cancellation (作废): applied for by anyone in the loop, decided by the shift leader, or done
    # by the shift leader directly with a reason.
    add((*_ALL_OPEN, S.SHELVED), "apply_cancel", (OP, DP, GW, *UNIT), None)
    add((*_ALL_OPEN, S.SHELVED), "decide_cancel", (SL,), S.CANCELLED)
    add((*_ALL_OPEN, S.SHELVED), "cancel", (SL,), S.CANCELLED)
    # Supervision orders and escalation keep the state.
    add((*_OPEN_AFTER_REGISTER, S.SHELVED), "supervise", (SL, DP, *LEADERS), None)
    add((S.PENDING_DISPATCH, *_HANDLING), "escalate", (SL, DP, *LEADERS, SYSTEM), None)
    return t


TRANSITIONS: dict[tuple[str, str], Transition] = _build()
ACTIONS: tuple[str, ...] = tuple(ACTION_LABELS)
assert {a for _, a in TRANSITIONS} == set(ACTIONS)

# Actions that a unit performs on its own task; the unit must hold a task on the case.
UNIT_TASK_ACTIONS = frozenset(
    {"accept", "report_back", "assist_report", "apply_return", "apply_postpone", "apply_shelve"}
)
# Actions a unit may perform only as the lead unit.
LEAD_ONLY_ACTIONS = frozenset({"accept", "report_back", "apply_return", "apply_postpone", "apply_shelve"})


def transition(state: str, action: str) -> Transition | None:
    return TRANSITIONS.get((str(state), action))


def actions_from(state: str) -> list[str]:
    return [a for (s, a) in TRANSITIONS if s == str(state)]


def roles_of(user, case=None) -> set[str]:
    """The workflow roles the user holds (real roles plus the ``reporter`` pseudo-role)."""
    if user is None:
        return {SYSTEM}
    scope = scope_for(user)
    roles = set(scope.roles)
    if Role.ADMIN in roles:
        roles |= {r for tr in TRANSITIONS.values() for r in tr.roles if r not in (SYSTEM, REPORTER)}
    if case is not None and case.reporter_user_id and case.reporter_user_id == getattr(user, "pk", None):
        roles.add(REPORTER)
    return roles


def acting_role(user, case, action: str) -> str | None:
    """The role under which ``user`` may do ``action`` now, or None (state or role refuses it)."""
    tr = transition(case.state, action)
    if tr is None:
        return None
    held = roles_of(user, case)
    for role in tr.roles:
        if role in held:
            return role
    return None


def allowed_actions(case, user) -> list[str]:
    """Actions the user may do on the case now: the table, the user's roles, their units' tasks and
    the preconditions that depend on the case's data (pending applications, on-spot classes)."""
    from .queries import action_preconditions

    held = roles_of(user, case)
    out = []
    for action in actions_from(case.state):
        tr = TRANSITIONS[(str(case.state), action)]
        if not held.intersection(tr.roles):
            continue
        if action_preconditions(case, user, action) is None:
            out.append(action)
    return out
