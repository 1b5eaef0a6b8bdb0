from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassKind(models.TextChoices):
    COMPONENT = "component", _("Component (部件)")
    EVENT = "event", _("Event (事件)")
    SERVICE = "service", _("Public service request")


# Components and events share code numbers (06001 is 其他设施·健身设施 and 市容环境·私搭乱建), so a
# class is named by its kind's letter and its code inside a code set: C06001, E06001.
KIND_LETTERS = {ClassKind.COMPONENT: "C", ClassKind.EVENT: "E", ClassKind.SERVICE: "S"}
LETTER_KINDS = {v: str(k) for k, v in KIND_LETTERS.items()}


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
