"""Who may do what on patrol: named predicates on a Scope, for actions, views and templates."""

from urbangrid.lib.access import Scope
from urbangrid.lib.roles import Role

# Street leaders and the supervision/command centre plan patrols and sweeps for their area.
_PLANNERS = (
    Role.STREET_LEADER,
    Role.DISTRICT_LEADER,
    Role.CITY_LEADER,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.ADMIN,
)
_PATROLLERS = (Role.GRID_WORKER, Role.ENFORCEMENT_OFFICER)


def can_plan_patrols(scope: Scope) -> bool:
    """Plan patrols and checkpoints, open and manage sweep campaigns."""
    return scope.has_role(*_PLANNERS)


def can_patrol(scope: Scope) -> bool:
    return scope.has_role(*_PATROLLERS)


def can_register_places(scope: Scope) -> bool:
    return scope.has_role(*_PLANNERS, *_PATROLLERS, Role.INTAKE_OPERATOR)


def can_inspect(scope: Scope) -> bool:
    """The same roles the case intake accepts on the "inspection" channel."""
    return scope.has_role(Role.GRID_WORKER, Role.ENFORCEMENT_OFFICER, Role.SHIFT_LEADER, Role.INTAKE_OPERATOR)
