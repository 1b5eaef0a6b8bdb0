from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TrackState(models.TextChoices):
    ACTIVE = "active", _("Patrolling")
    FINISHED = "finished", _("Finished")
    # Closed by the system after a long silence (phone died, app killed).
    ABANDONED = "abandoned", _("Closed without stop")


class CheckInMethod(models.TextChoices):
    TRACK = "track", _("Track passed within radius")
    EXPLICIT = "explicit", _("Explicit check-in")


class PlaceType(models.TextChoices):
    """The seven fields a city's safety-hazard sweep (安全隐患排查) covers."""

    ROAD_TRAFFIC = "road_traffic", _("Road traffic")
    FOREST_FIRE = "forest_fire", _("Forest fire prevention")
    HIGH_RISK = "high_risk", _("High-risk industry")
    CAMPUS = "campus", _("Campus")
    STATION_DOCK = "station_dock", _("Station or dock")
    MALL_HOTEL = "mall_hotel", _("Mall or hotel")
    PUBLIC_PLACE = "public_place", _("Public place")


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Running")
    CLOSED = "closed", pgettext_lazy("campaign", "Closed")


class InspectionOutcome(models.TextChoices):
    PASSED = "passed", _("All items passed")
    FAILED = "failed", _("Hazards found")


class Severity(models.TextChoices):
    GENERAL = "general", _("General hazard")
    MAJOR = "major", _("Major hazard")
