from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseState(models.TextChoices):
    REPORTED = "reported", _("Reported")  # 上报, awaiting acceptance or verification
    VERIFYING = "verifying", _("Awaiting verification")  # 待核实
    PENDING_REGISTER = "pending_register", _("Awaiting registration")  # 待立案
    PENDING_DISPATCH = "pending_dispatch", _("Awaiting dispatch")  # 待派遣
    PENDING_HANDLE = "pending_handle", _("Dispatched, awaiting acceptance")  # 已派遣 待签收
    HANDLING = "handling", _("Being handled")  # 处置中
    PENDING_CHECK = "pending_check", _("Awaiting on-site check")  # 待核查
    CHECKING = "checking", _("Being checked")  # 核查中
    PENDING_CLOSE = "pending_close", _("Awaiting closing")  # 待结案
    CLOSED = "closed", _("Closed")  # 结案
    SHELVED = "shelved", _("Shelved")  # 挂账
    REJECTED = "rejected", _("Not registered")  # 不予立案
    CANCELLED = "cancelled", pgettext_lazy("case", "Cancelled")  # 作废


OPEN_STATES = frozenset(
    {
        CaseState.REPORTED,
        CaseState.VERIFYING,
        CaseState.PENDING_REGISTER,
        CaseState.PENDING_DISPATCH,
        CaseState.PENDING_HANDLE,
        CaseState.HANDLING,
        CaseState.PENDING_CHECK,
        CaseState.CHECKING,
        CaseState.PENDING_CLOSE,
    }
)
FINAL_STATES = frozenset({CaseState.CLOSED, CaseState.REJECTED, CaseState.CANCELLED})


class Channel(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker patrol")
    CITIZEN_WEB = "citizen_web", _("Citizen (web portal)")
    HOTLINE = "hotline", _("Hotline")
    MESSAGING = "messaging", _("Messaging app")
    OPEN311 = "open311", _("Open311 client")
    MACHINE = "machine", _("Sensor/camera")
    STAFF = "staff", _("Staff")
    INSPECTION = "inspection", _("Inspection/sweep")


# Channels whose reports need a field verification before registration.
NEEDS_VERIFICATION = frozenset(
    {Channel.CITIZEN_WEB, Channel.HOTLINE, Channel.MESSAGING, Channel.OPEN311, Channel.MACHINE}
)


class Response(models.TextChoices):
    """Graded response (C2)."""

    STOP = "stop", _("Stop (制止)")
    PERSUADE = "persuade", _("Persuade (劝导)")
    PENALISE = "penalise", _("Penalise (处罚)")
    CRACK_DOWN = "crack_down", _("Crack down (打击)")
    REPAIR = "repair", _("Repair/clean up")
    SERVICE = "service", _("Service provided")


class Tier(models.TextChoices):
    GRID = "grid", _("Grid")
    STREET = "street", pgettext_lazy("level", "Street/town")
    DISTRICT = "district", pgettext_lazy("level", "District")
    CITY = "city", pgettext_lazy("level", "City")


class DeadlineStep(models.TextChoices):
    """Which step the case's current deadline belongs to."""

    VERIFY = "verify", _("Verification")
    REGISTER = "register", _("Registration")
    DISPATCH = "dispatch", _("Dispatch")
    ACCEPT = "accept", _("Acceptance")
    HANDLE = "handle", _("Handling")
    CHECK = "check", _("On-site check")
    CLOSE = "close", _("Closing")


class TaskRole(models.TextChoices):
    LEAD = "lead", _("Lead unit")
    ASSIST = "assist", _("Assisting unit")


class TaskState(models.TextChoices):
    PENDING = "pending", _("Awaiting acceptance")
    ACCEPTED = "accepted", _("Accepted")
    REPORTED = "reported", _("Reported back")
    RETURNED = "returned", _("Returned")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ApplicationKind(models.TextChoices):
    POSTPONE = "postpone", _("Postponement (延期)")
    RETURN = "return", _("Return (回退)")
    SHELVE = "shelve", _("Shelving (挂账)")
    CANCEL = "cancel", _("Cancellation (作废)")


class ApplicationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class AttachmentStage(models.TextChoices):
    REPORT = "report", _("Report")
    VERIFY = "verify", _("Verification")
    BEFORE = "before", _("Before handling")
    AFTER = "after", _("After handling")
    CHECK = "check", _("On-site check")
