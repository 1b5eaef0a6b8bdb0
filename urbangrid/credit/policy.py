"""Who may do what with credit records: named predicates on a Scope, for actions and views."""

from urbangrid.lib.access import Scope
from urbangrid.lib.roles import Role


def can_record_credit(scope: Scope) -> bool:
    """Register subjects, name them on cases and record violations."""
    return scope.has_role(
        Role.ENFORCEMENT_OFFICER, Role.UNIT_HANDLER, Role.UNIT_LEADER, Role.DISPATCHER, Role.SHIFT_LEADER
    )


def can_issue_penalty(scope: Scope) -> bool:
    """Issue penalty decisions, record their fulfilment and revoke violations."""
    return scope.has_role(Role.ENFORCEMENT_OFFICER, Role.UNIT_LEADER)


def can_see_identity(scope: Scope) -> bool:
    """Full identity numbers and phones: enforcement, unit leaders and administrators."""
    return scope.has_role(Role.ENFORCEMENT_OFFICER, Role.UNIT_LEADER, Role.ADMIN)


def can_approve_repair(scope: Scope) -> bool:
    return scope.has_role(Role.UNIT_LEADER, Role.DISTRICT_LEADER, Role.CITY_LEADER)
