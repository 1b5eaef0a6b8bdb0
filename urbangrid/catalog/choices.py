from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassKind(models.TextChoices):
    COMPONENT = "component", _("Component (部件)")
    EVENT = "event", _("Event (事件)")
    SERVICE = "service", _("Public service request")


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("Calendar hours")
    WORK_HOURS = "work_hours", _("Working hours")
    WORK_DAYS = "work_days", _("Working days")
    DAYS = "days", _("Calendar days")


class HandlingTier(models.TextChoices):
    """Where a class is normally closed: 小事不出网格、大事不出镇办."""

    GRID = "grid", _("Grid (on the spot)")
    STREET = "street", _("Street/town")
    DISTRICT = "district", _("District department")
    CITY = "city", _("City department")
