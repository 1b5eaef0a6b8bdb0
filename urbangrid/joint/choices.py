from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CampaignState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Under way")
    ENDED = "ended", pgettext_lazy("joint", "Ended")
    CANCELLED = "cancelled", _("Cancelled")


class TargetMetric(models.TextChoices):
    """What a campaign target counts: measured from linked cases, or reported by the units."""

    CASES_FOUND = "cases_found", _("Cases found")
    CASES_CLOSED = "cases_closed", _("Cases closed")
    CASES_ON_TIME = "cases_on_time", _("Cases closed on time")
    REPORTED = "reported", _("Reported quantity (e.g. stalls cleared)")


MEASURED_METRICS = frozenset(
    {TargetMetric.CASES_FOUND, TargetMetric.CASES_CLOSED, TargetMetric.CASES_ON_TIME}
)


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    REPORTED = "reported", pgettext_lazy("task", "Reported")
    DONE = "done", _("Accepted as done")


class LinkSource(models.TextChoices):
    AUTO = "auto", _("Automatic (area, class and dates)")
    MANUAL = "manual", _("Linked by hand")


class ConsultationTrigger(models.TextChoices):
    RETURNED = "returned", _("Returned twice or more")
    FLAGGED = "flagged", _("Flagged by a dispatcher")


class ConsultationMode(models.TextChoices):
    MEETING = "meeting", _("Meeting")
    WRITTEN = "written", _("Written consultation")


class ConsultationState(models.TextChoices):
    OPEN = "open", _("Collecting views")
    SCHEDULED = "scheduled", _("Meeting scheduled")
    DECIDED = "decided", _("Decided")
    APPLIED = "applied", _("Applied to the case")
    CANCELLED = "cancelled", _("Cancelled")


class Stance(models.TextChoices):
    ACCEPT = "accept", _("Accepts responsibility")
    ASSIST = "assist", _("Will assist")
    DECLINE = "decline", _("Declines: not our responsibility")


class MeetingKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation meeting (会商)")
    JOINT = "joint", _("Regular joint meeting (联席会议)")


class MeetingState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class AgendaReason(models.TextChoices):
    OVERDUE = "overdue", _("Overdue case")
    DISPUTED = "disputed", _("Disputed responsibility")
    CONSULTATION = "consultation", _("Consultation")
    OTHER = "other", _("Other business")


class FollowUpState(models.TextChoices):
    OPEN = "open", _("Open")
    REPLIED = "replied", _("Replied")
    DONE = "done", _("Completed")
