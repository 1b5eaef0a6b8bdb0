from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class UnitKind(models.TextChoices):
    BUREAU = "bureau", _("Urban management enforcement bureau")
    CENTER = "center", _("Supervision and command centre")
    DEPARTMENT = "department", _("Partner department")
    DISTRICT_GOV = "district_gov", _("District government")
    BRIGADE = "brigade", _("Enforcement brigade")
    STREET_OFFICE = "street_office", _("Street office")
    TOWN_GOV = "town_gov", _("Town government")
    COMMUNITY = "community", _("Community/village committee")
    UTILITY = "utility", _("Utility company")


class UnitLevel(models.TextChoices):
    CITY = "city", pgettext_lazy("level", "City")
    DISTRICT = "district", pgettext_lazy("level", "District")
    STREET = "street", pgettext_lazy("level", "Street/town")
    COMMUNITY = "community", pgettext_lazy("level", "Community/village")


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


class GridDuty(models.TextChoices):
    SUPERVISOR = "supervisor", _("Comprehensive supervisor")
    ENFORCEMENT = "enforcement", _("Enforcement officer")


class EquipmentKind(models.TextChoices):
    DEVICE = "device", _("Handheld device")
    RECORDER = "recorder", _("Body-worn camera")
    VEHICLE = "vehicle", _("Vehicle")
    EBIKE = "ebike", _("Patrol e-bike")
    OTHER = "other", _("Other equipment")


class FundCategory(models.TextChoices):
    EQUIPMENT = "equipment", _("Equipment purchase")
    STAFF = "staff", _("Staff pay")
    TRAINING = "training", _("Training")
    OPERATIONS = "operations", _("Operations")
    OTHER = "other", _("Other")
