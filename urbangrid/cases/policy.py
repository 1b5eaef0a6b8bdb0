"""Who may see what of a case beyond its place in the workflow: named predicates on a Scope."""

from urbangrid.lib.access import Scope
from urbangrid.lib.roles import Role


def can_see_reporter_contact(scope: Scope) -> bool:
    """The desks that call reporters back see a named reporter's contact."""
    return scope.has_role(Role.INTAKE_OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER)


def can_reveal_anonymous_contact(scope: Scope) -> bool:
    """Only an intake operator may look up an anonymous reporter's contact (audited)."""
    return scope.has_role(Role.INTAKE_OPERATOR)


def can_take_hotline_reports(scope: Scope) -> bool:
    return scope.has_role(Role.INTAKE_OPERATOR, Role.SHIFT_LEADER)
