from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SubjectKind(models.TextChoices):
    """Who or what an indicator is computed for (考核对象)."""

    GRID_WORKER = "grid_worker", _("Grid worker")
    INTAKE_OPERATOR = "intake_operator", _("Intake operator")
    SHIFT_LEADER = "shift_leader", _("Shift leader")
    DISPATCHER = "dispatcher", _("Dispatcher")
    UNIT = "unit", _("Handling unit")
    GRID = "grid", _("Unit grid")
    COMMUNITY = "community", _("Community/village")
    STREET = "street", _("Street/town")
    DISTRICT = "district", _("District")


PERSON_KINDS = frozenset(
    {SubjectKind.GRID_WORKER, SubjectKind.INTAKE_OPERATOR, SubjectKind.SHIFT_LEADER, SubjectKind.DISPATCHER}
)
REGION_KINDS = frozenset({SubjectKind.GRID, SubjectKind.COMMUNITY, SubjectKind.STREET, SubjectKind.DISTRICT})


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class PeriodKind(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    CUSTOM = "custom", _("Custom")


class Grade(models.TextChoices):
    A = "A", _("A (excellent, ≥ 90)")
    B = "B", _("B (good, 75–90)")
    C = "C", _("C (pass, 60–75)")
    D = "D", _("D (poor, 40–60)")
    E = "E", _("E (failing, < 40)")


class SchemeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("In force")
    RETIRED = "retired", _("Retired")


class AdjustmentKind(models.TextChoices):
    """Events that add or deduct points on top of the weighted indicator score."""

    SUPERVISION_ORDER = "supervision_order", _("Supervision order received")
    LATE_REPLY = "late_reply", _("Supervision order replied late")
    ACCOUNTABILITY = "accountability", _("Accountability record")
    COMPLAINT = "complaint", _("Complaint (reporter dissatisfied)")
    SPOT_CHECK_FAILED = "spot_check_failed", _("Spot check failed")
    SELF_HANDLED = "self_handled", _("Fixed on the spot")


class OrderKind(models.TextChoices):
    CASE = "case", _("About a case")
    PATTERN = "pattern", _("About a pattern (indicator)")


class OrderState(models.TextChoices):
    ISSUED = "issued", _("Issued, awaiting reply")
    REPLIED = "replied", _("Replied")
    CLOSED = "closed", pgettext_lazy("order", "Closed")


class SpotCheckState(models.TextChoices):
    OPEN = "open", _("In progress")
    DONE = "done", _("Completed")


class SpotResult(models.TextChoices):
    PENDING = "pending", _("Not inspected yet")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed (problem back or not fixed)")


class AccountabilityKind(models.TextChoices):
    """Measures of 追责问效, from mild to severe."""

    REMINDER = "reminder", _("Reminder talk (提醒谈话)")
    CIRCULAR = "circular", _("Circulated criticism (通报批评)")
    ADMONITION = "admonition", _("Admonishment talk (诫勉谈话)")
    WRITTEN_REVIEW = "written_review", _("Written self-criticism (书面检查)")
    DISCIPLINARY = "disciplinary", _("Referred for discipline (移交纪检)")


class ReportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Building")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
