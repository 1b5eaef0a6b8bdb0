from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SubjectKind(models.TextChoices):
    BUSINESS = "business", _("Business")
    STALL_OWNER = "stall_owner", _("Stall owner")
    PROPERTY_COMPANY = "property_company", _("Property management company")
    INDIVIDUAL = "individual", _("Individual")


# Kinds identified by a unified social credit code (organisations) vs. a resident ID number.
ORGANISATION_KINDS = frozenset({SubjectKind.BUSINESS, SubjectKind.PROPERTY_COMPANY})


class ViolationKind(models.TextChoices):
    STREET_OCCUPATION = "street_occupation", _("Street occupation (占道经营)")
    OUTSIDE_SHOP = "outside_shop", _("Business outside the shop (店外经营)")
    UNLICENSED_STALL = "unlicensed_stall", _("Unlicensed stall (无照游商)")
    ILLEGAL_CONSTRUCTION = "illegal_construction", _("Illegal construction (违法建设)")
    ILLEGAL_ADVERTISING = "illegal_advertising", _("Illegal advertising (非法广告)")
    SANITATION = "sanitation", _("Sanitation breach (环境卫生)")
    CONSTRUCTION_SITE = "construction_site", _("Construction site management (施工管理)")
    PROPERTY_MANAGEMENT = "property_management", _("Property management failure (物业管理)")
    ILLEGAL_PARKING = "illegal_parking", _("Illegal parking (乱停乱放)")
    OBSTRUCTING_ENFORCEMENT = "obstructing", _("Obstructing enforcement (妨碍执法)")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")
    GRAVE = "grave", _("Grave")


class ViolationState(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    REVOKED = "revoked", _("Revoked")


class PenaltyKind(models.TextChoices):
    WARNING = "warning", pgettext_lazy("penalty", "Warning")
    FINE = "fine", _("Fine")
    RECTIFY = "rectify", _("Order to rectify")


class PenaltyState(models.TextChoices):
    ISSUED = "issued", _("Issued")
    FULFILLED = "fulfilled", _("Fulfilled")
    OVERDUE = "overdue", _("Not fulfilled in time")
    REVOKED = "revoked", _("Revoked")


class ListKind(models.TextChoices):
    WATCH = "watch", _("Watch list")
    DISHONEST = "dishonest", _("Dishonest list")


class ListRule(models.TextChoices):
    """Why a subject entered a list (kept on the entry)."""

    SCORE_BELOW_WATCH = "score_below_watch", _("Credit score below the watch threshold")
    REPEAT = "repeat", _("Repeated violations within the window")
    SCORE_BELOW_DISHONEST = "score_below_dishonest", _("Credit score below the dishonest threshold")
    GRAVE = "grave", _("A grave violation")
    PENALTY_UNFULFILLED = "penalty_unfulfilled", _("A penalty not fulfilled by its deadline")
    MANUAL = "manual", _("Decided by an officer")


class ExitReason(models.TextChoices):
    REPAIRED = "repaired", _("Credit repaired")
    REVOKED = "revoked", _("Entry revoked (error)")


class DecayMode(models.TextChoices):
    HALF_LIFE = "half_life", _("Half-life (exponential)")
    LINEAR = "linear", _("Linear over N months")
    NONE = "none", _("No decay")
