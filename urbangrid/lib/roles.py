"""The roles a person holds. Below every app so that geo and catalog can check them without
importing orgs (where the assignments of roles to people live)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    ENFORCEMENT_OFFICER = "enforcement_officer", _("Enforcement officer")
    INTAKE_OPERATOR = "intake_operator", _("Intake operator")
    SHIFT_LEADER = "shift_leader", _("Shift leader")
    DISPATCHER = "dispatcher", _("Dispatcher")
    UNIT_HANDLER = "unit_handler", _("Unit handler")
    UNIT_LEADER = "unit_leader", _("Unit leader")
    STREET_LEADER = "street_leader", _("Street/town leader")
    DISTRICT_LEADER = "district_leader", _("District leader")
    CITY_LEADER = "city_leader", _("City leader")
    ADMIN = "admin", _("System administrator")


# Roles that act for a handling unit rather than for an area.
UNIT_ROLES = {Role.UNIT_HANDLER, Role.UNIT_LEADER}
LEADER_ROLES = {Role.STREET_LEADER, Role.DISTRICT_LEADER, Role.CITY_LEADER}
