"""Who may do what in supervision and evaluation: named predicates on a Scope, for actions and
views."""

from urbangrid.lib.access import Scope
from urbangrid.lib.roles import UNIT_ROLES, Role


def can_supervise(scope: Scope) -> bool:
    """Issue and close supervision orders, start spot checks, request reports: the centre and
    the leaders."""
    return scope.has_role(
        Role.SHIFT_LEADER,
        Role.DISPATCHER,
        Role.STREET_LEADER,
        Role.DISTRICT_LEADER,
        Role.CITY_LEADER,
        Role.ADMIN,
    )


def can_reply_order(scope: Scope, order) -> bool:
    """The unit the order addresses (its unit roles), or an administrator."""
    return scope.has_role(*UNIT_ROLES) and order.unit_id in scope.unit_ids or scope.has_role(Role.ADMIN)


def can_record_spot_result(scope: Scope, spot_check) -> bool:
    """The spot check's appointed inspector, or whoever may supervise."""
    return spot_check.inspector_id == scope.person_id or can_supervise(scope)


def can_hold_accountable(scope: Scope) -> bool:
    return scope.has_role(Role.STREET_LEADER, Role.DISTRICT_LEADER, Role.CITY_LEADER, Role.ADMIN)


def can_manage_schemes(scope: Scope) -> bool:
    return scope.has_role(Role.CITY_LEADER, Role.DISTRICT_LEADER, Role.ADMIN)


def can_publish(scope: Scope) -> bool:
    return scope.has_role(Role.DISTRICT_LEADER, Role.CITY_LEADER, Role.ADMIN)
