"""Who may do what in joint work (campaigns, consultations, meetings): named predicates on a
Scope, for actions and views."""

from urbangrid.lib.access import Scope
from urbangrid.lib.roles import Role

_CAMPAIGN_ROLES = (
    Role.UNIT_LEADER,
    Role.STREET_LEADER,
    Role.DISTRICT_LEADER,
    Role.CITY_LEADER,
    Role.DISPATCHER,
)
_CONSULT_DECIDERS = (Role.DISPATCHER, Role.DISTRICT_LEADER, Role.CITY_LEADER)
_MEETING_HOSTS = (
    Role.DISPATCHER,
    Role.SHIFT_LEADER,
    Role.STREET_LEADER,
    Role.DISTRICT_LEADER,
    Role.CITY_LEADER,
    Role.UNIT_LEADER,
)


def can_organise_campaigns(scope: Scope) -> bool:
    return scope.has_role(*_CAMPAIGN_ROLES)


def can_lead_campaign(scope: Scope, campaign) -> bool:
    """The lead unit's leaders, or the command centre city-wide."""
    return can_organise_campaigns(scope) and (scope.all_city or campaign.lead_unit_id in scope.unit_ids)


def can_link_cases(scope: Scope) -> bool:
    return scope.has_role(*_CAMPAIGN_ROLES, Role.ENFORCEMENT_OFFICER, Role.UNIT_HANDLER)


def can_open_consultations(scope: Scope) -> bool:
    return scope.has_role(
        Role.DISPATCHER, Role.SHIFT_LEADER, Role.STREET_LEADER, Role.DISTRICT_LEADER, Role.CITY_LEADER
    )


def can_decide_consultations(scope: Scope) -> bool:
    return scope.has_role(*_CONSULT_DECIDERS)


def can_schedule_consultations(scope: Scope) -> bool:
    """Schedule or cancel a consultation's meeting (the shift leader too)."""
    return scope.has_role(*_CONSULT_DECIDERS, Role.SHIFT_LEADER)


def can_host_meetings(scope: Scope) -> bool:
    return scope.has_role(*_MEETING_HOSTS)


def can_manage_meeting(scope: Scope, meeting) -> bool:
    """The host unit's staff who may host meetings, or the command centre city-wide."""
    return can_host_meetings(scope) and (scope.all_city or meeting.host_unit_id in scope.unit_ids)
