"""Who may do what with the organisation's records: named predicates on a Scope."""

from urbangrid.lib.access import Scope
from urbangrid.lib.roles import Role


def can_organise_training(scope: Scope) -> bool:
    return scope.has_role(
        Role.ADMIN, Role.UNIT_LEADER, Role.STREET_LEADER, Role.DISTRICT_LEADER, Role.CITY_LEADER
    )


def can_create_courses(scope: Scope) -> bool:
    """Training courses are the city's and districts' programmes (street leaders run sessions)."""
    return scope.has_role(Role.ADMIN, Role.DISTRICT_LEADER, Role.CITY_LEADER, Role.UNIT_LEADER)
