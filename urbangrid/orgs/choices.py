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
