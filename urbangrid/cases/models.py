"""The case loop's records: cases, their immutable events, intake reports, unit tasks,
applications for approval, attachments and notifications.

Cases are written only by the actions in ``actions.py``; every action appends a CaseEvent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import ScopeColumns, ScopedQuerySet

from .choices import (
    OPEN_STATES,
    ApplicationKind,
    ApplicationState,
    AttachmentStage,
    CaseState,
    Channel,
    DeadlineStep,
    Response,
    TaskRole,
    TaskState,
    Tier,
)


class CaseQuerySet(ScopedQuerySet):
    def with_tasks_of_units(self, scope, user) -> Q:
        """Cases a unit the user acts for co-handles (a task of its own, not the main assignment)."""
        if not scope.unit_ids:
            return Q(pk__in=[])
        return Q(id__in=CaseTask.objects.filter(unit_id__in=scope.unit_ids).values("case_id"))

    def open(self):

        return self.filter(state__in=OPEN_STATES)


class Case(models.Model):
    """A problem in the city from its first report to its evaluation."""

    # Every index of this table is paid by each intake: index what some query filters on, and
    # nothing twice (a foreign key that leads a composite index needs no index of its own).
    city_code = models.CharField(_("city"), max_length=6)
    number = models.CharField(_("case number"), max_length=20, unique=True)
    state = models.CharField(_("state"), max_length=20, choices=CaseState.choices, default=CaseState.REPORTED)
    version = models.PositiveIntegerField(default=1, help_text="optimistic concurrency counter")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)

    problem_class = models.ForeignKey(
        "catalog.ProblemClass",
        verbose_name=_("problem class"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
    )
    suggested_class = models.ForeignKey(
        "catalog.ProblemClass",
        verbose_name=_("suggested class"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.TextField(pgettext_lazy("case", "description"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)

    # Location: canonical CGCS2000 lon/lat plus what the client sent.
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    input_crs = models.CharField(_("input CRS"), max_length=12, blank=True)
    input_lon = models.FloatField(null=True, blank=True)
    input_lat = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey(
        "geo.UnitGrid", verbose_name=_("unit grid"), null=True, blank=True, on_delete=models.PROTECT
    )
    grid_code = models.CharField(_("grid code"), max_length=15, blank=True)
    community = models.ForeignKey(
        "geo.Region",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    street = models.ForeignKey(
        "geo.Region",
        verbose_name=_("street/town"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    district = models.ForeignKey(
        "geo.Region",
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    # Reporter: contact details are shown only to roles that need them.
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reporter_person = models.ForeignKey(
        "orgs.Person",
        verbose_name=_("reporting staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(_("reporter name"), max_length=60, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=20, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    public_token = models.CharField(_("follow-up token"), max_length=32, unique=True)
    report_count = models.PositiveIntegerField(_("reports"), default=1)

    # Responsibility.
    tier = models.CharField(_("handling tier"), max_length=10, choices=Tier.choices, default=Tier.STREET)
    assigned_unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("handling unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    field_worker = models.ForeignKey(
        "orgs.Person",
        verbose_name=_("field worker for verification/check"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="field_cases",
    )
    response = models.CharField(_("response taken"), max_length=12, choices=Response.choices, blank=True)
    # The classification suggestion made at intake and why (matched keywords), kept for review.
    suggestion = models.JSONField(_("class suggestion"), default=dict, blank=True)
    verify_result = models.BooleanField(_("verified as real"), null=True, blank=True)
    check_passed = models.BooleanField(_("on-site check passed"), null=True, blank=True)
    self_handled = models.BooleanField(_("fixed on the spot"), default=False)
    is_joint = models.BooleanField(_("joint case"), default=False)

    # The current step's deadline (rule 4): swept by the worker, exactly once per step.
    deadline_step = models.CharField(
        _("deadline step"), max_length=10, choices=DeadlineStep.choices, blank=True
    )
    warn_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("marked overdue"), null=True, blank=True)
    handle_due_at = models.DateTimeField(_("handling deadline"), null=True, blank=True)

    # Stage times (for on-time indicators) and stage actors.
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    verify_requested_at = models.DateTimeField(null=True, blank=True)
    verify_due_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    register_due_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True, db_index=True)
    dispatch_due_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(_("reported back at"), null=True, blank=True)
    check_requested_at = models.DateTimeField(null=True, blank=True)
    check_due_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    verified_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatched_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Counters of an established city system's case record (docs/domain.md).
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)
    return_count = models.PositiveSmallIntegerField(_("returns"), default=0)
    postpone_count = models.PositiveSmallIntegerField(_("postponements"), default=0)
    shelve_count = models.PositiveSmallIntegerField(_("shelvings"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    supervision_count = models.PositiveSmallIntegerField(
        pgettext_lazy("count", "supervision orders"), default=0
    )
    satisfaction = models.PositiveSmallIntegerField(_("reporter satisfaction"), null=True, blank=True)

    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    # A report of the same problem at the place of a case closed meanwhile opens a new case
    # (a closed case is never reopened by a report): this points back at the closed one.
    follows = models.ForeignKey(
        "self",
        verbose_name=_("follows the closed case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followed_by",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CaseQuerySet.as_manager()
    scope_columns = ScopeColumns(
        district="district",
        street="street",
        community="community",
        grid_code="grid_code",
        units=("assigned_unit",),
        users=("reporter_user",),
        hook="with_tasks_of_units",
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["state", "reported_at"]),
            models.Index(fields=["street", "state", "reported_at"]),
            models.Index(fields=["district", "state", "reported_at"]),
            models.Index(fields=["assigned_unit", "state"]),
            models.Index(fields=["problem_class", "reported_at"]),
            # The command map's and the portal's boxes over open cases.
            models.Index(fields=["lon", "lat"]),
            # The duplicate search: a few grids' last days.
            models.Index(fields=["grid_code", "reported_at"], name="case_grid_recent_idx"),
            models.Index(fields=["district", "reported_at", "id"], name="case_district_keyset"),
            models.Index(fields=["street", "reported_at", "id"], name="case_street_keyset"),
            # The sweeper's two claims: partial indexes over open deadlines only.
            models.Index(fields=["warn_at"], name="case_warn_pending", condition=Q(warned_at__isnull=True)),
            models.Index(fields=["due_at"], name="case_due_pending", condition=Q(overdue_at__isnull=True)),
            # Step deadlines and stage times bound the evaluation's period filters (on-time rates).
            *[
                models.Index(fields=[column], name=f"case_{column}_idx")
                for column in (
                    "verify_due_at",
                    "register_due_at",
                    "dispatch_due_at",
                    "handle_due_at",
                    "check_due_at",
                    "dispatched_at",
                    "checked_at",
                )
            ],
            # The evaluation joins a month's CaseEvents to their cases for these two times only:
            # an index-only lookup per event instead of a heap visit (or a scan of every case).
            models.Index(fields=["id", "reported_at", "handled_at"], name="case_event_join_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class CaseEvent(models.Model):
    """An immutable line of the case's timeline: who did what, in which role, from and to which state."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_person = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(_("role"), max_length=24, blank=True)
    action = models.CharField(_("action"), max_length=32)
    from_state = models.CharField(_("from state"), max_length=20, blank=True)
    to_state = models.CharField(_("to state"), max_length=20, blank=True)
    unit = models.ForeignKey("orgs.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}→{self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("case events are immutable")
        super().save(*args, **kwargs)


class Report(models.Model):
    """One intake submission. The first opens a case; a duplicate is linked to the existing case.
    (client_key, request_id) makes intake idempotent."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reports")
    client_key = models.CharField(max_length=64, default="", blank=True)
    request_id = models.CharField(_("client request id"), max_length=80, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    opened_case = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_name = models.CharField(max_length=60, blank=True)
    reporter_phone = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("intake report")
        verbose_name_plural = _("intake reports")
        constraints = [
            models.UniqueConstraint(
                fields=["client_key", "request_id"],
                condition=Q(request_id__isnull=False),
                name="report_idempotency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.pk}"


class CaseTask(models.Model):
    """A unit's part of a case: the lead unit, or an assisting unit in a joint case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="tasks"
    )
    role = models.CharField(_("role"), max_length=8, choices=TaskRole.choices, default=TaskRole.LEAD)
    state = models.CharField(_("state"), max_length=10, choices=TaskState.choices, default=TaskState.PENDING)
    instruction = models.TextField(_("instruction"), blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    report = models.TextField(_("report"), blank=True)
    handler = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("unit task")
        verbose_name_plural = _("unit tasks")
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.unit} · {self.get_role_display()}"


class Application(models.Model):
    """An application awaiting approval: postponement, return, shelving or cancellation."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="applications")
    kind = models.CharField(_("kind"), max_length=10, choices=ApplicationKind.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=ApplicationState.choices, default=ApplicationState.PENDING
    )
    applicant = models.ForeignKey("orgs.Person", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("orgs.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    extra_hours = models.PositiveIntegerField(_("extension requested (working hours)"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [models.Index(fields=["kind", "state"])]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"], condition=Q(state="pending"), name="one_pending_application_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()} {self.get_state_display()}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"cases/{instance.sha256[:2]}/{instance.sha256}.{instance.extension}"


class Attachment(models.Model):
    """A verified image attached to a case at a stage. Content-addressed so retries add nothing."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    stage = models.CharField(_("stage"), max_length=10, choices=AttachmentStage.choices)
    report = models.ForeignKey(
        "Report", null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    extension = models.CharField(max_length=8)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(fields=["case", "stage", "sha256"], name="attachment_once_per_stage")
        ]
        # A photo is asked for by its file name, which is its content hash (cases.views.media).
        indexes = [models.Index(fields=["sha256"], name="attachment_sha256")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage} {self.sha256[:8]}"


class Notification(models.Model):
    """An in-app inbox line, also sent through the outbound channel after commit (with retries)."""

    # A staff member's inbox line; or, with no recipient, an outbound-only message to a citizen's phone.
    recipient = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    to_phone = models.CharField(_("phone"), max_length=20, blank=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    # When the outbound channel should (re)try; null once sent or given up.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(
                fields=["next_attempt_at"], name="notification_outbox", condition=Q(sent_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CaseNumberSequence(models.Model):
    """Per-day counter behind case numbers (YYYYMMDD + 6 digits), advanced by the database's
    numbering trigger (cases/sql.py, cases/numbering.py)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"
