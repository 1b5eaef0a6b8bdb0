from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Scope(models.TextChoices):
    OPEN311_POST = "open311:post", _("Open311: submit requests")
    OPEN311_READ = "open311:read", _("Open311: read updates (sync)")
    WEBHOOK = "webhook", _("Signed webhook (machine reports)")


class ClientChannel(models.TextChoices):
    """The intake channel a client's reports count as (values of cases.choices.Channel)."""

    OPEN311 = "open311", _("Open311 client")
    MESSAGING = "messaging", _("Messaging app")
    HOTLINE = "hotline", _("Hotline")
    MACHINE = "machine", _("Sensor/camera")
    CITIZEN_WEB = "citizen_web", _("Citizen (web portal)")


class AttributeDatatype(models.TextChoices):
    """The datatypes of the Open311 GeoReport v2 service definition."""

    STRING = "string", _("Text (one line)")
    NUMBER = "number", pgettext_lazy("data type", "Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Text (several lines)")
    SINGLEVALUELIST = "singlevaluelist", _("One value from a list")
    MULTIVALUELIST = "multivaluelist", _("Several values from a list")


class DeliveryState(models.TextChoices):
    ACCEPTED = "accepted", pgettext_lazy("delivery", "Accepted")
    REJECTED = "rejected", _("Rejected")
