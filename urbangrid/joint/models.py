"""Models of the joint app: campaigns (专项整治) with targets, unit tasks and linked cases;
consultations (会商) on disputed cases with the units' views and the decision; meetings
(consultation meetings and regular 联席会议) with agenda, minutes and follow-up tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import ScopeColumns, ScopedQuerySet

from .choices import (
    AgendaReason,
    CampaignState,
    ConsultationMode,
    ConsultationState,
    ConsultationTrigger,
    FollowUpState,
    LinkSource,
    MeetingKind,
    MeetingState,
    Stance,
    TargetMetric,
    TaskState,
)


class Campaign(models.Model):
    """A special enforcement operation (专项整治): a lead unit and participating units work a set
    of areas (and problem classes) between two dates towards stated targets."""

    code = models.CharField(_("number"), max_length=20, unique=True)
    title = models.CharField(pgettext_lazy("joint", "title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    lead_unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("lead unit"), on_delete=models.PROTECT, related_name="led_campaigns"
    )
    units = models.ManyToManyField(
        "orgs.Unit", verbose_name=_("participating units"), blank=True, related_name="campaigns"
    )
    people = models.ManyToManyField(
        "orgs.Person", verbose_name=_("participating people"), blank=True, related_name="campaigns"
    )
    regions = models.ManyToManyField("geo.Region", verbose_name=_("areas"), related_name="campaigns")
    problem_classes = models.ManyToManyField(
        "catalog.ProblemClass",
        verbose_name=pgettext_lazy("joint", "problem classes"),
        blank=True,
        related_name="campaigns",
        help_text=_("empty = every class"),
    )
    start_date = models.DateField(_("start date"), db_index=True)
    end_date = models.DateField(_("end date"), db_index=True)
    state = models.CharField(
        _("state"), max_length=10, choices=CampaignState.choices, default=CampaignState.PLANNED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    summary = models.JSONField(_("final summary"), default=dict, blank=True)
    summary_note = models.TextField(_("summary remarks"), blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(
        region=("regions",), framing_region=("regions",), units=("lead_unit", "units"), distinct=True
    )

    class Meta:
        verbose_name = pgettext_lazy("joint", "campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class CampaignTarget(models.Model):
    """A target of a campaign, e.g. 300 cases closed or 120 stalls cleared."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(_("target"), max_length=80)
    metric = models.CharField(_("measured by"), max_length=16, choices=TargetMetric.choices)
    target_value = models.PositiveIntegerField(_("target value"))
    reported_value = models.PositiveIntegerField(_("reported value"), default=0)

    class Meta:
        verbose_name = _("campaign target")
        verbose_name_plural = _("campaign targets")

    def __str__(self) -> str:
        return self.name


class CampaignTask(models.Model):
    """One unit's part of a campaign, with its deadline and the unit's report."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tasks")
    unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="campaign_tasks"
    )
    title = models.CharField(_("task"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    due_date = models.DateField(_("deadline"))
    state = models.CharField(_("state"), max_length=10, choices=TaskState.choices, default=TaskState.OPEN)
    quantity = models.PositiveIntegerField(
        _("quantity reported"), default=0, help_text=_("e.g. stalls cleared")
    )
    report = models.TextField(pgettext_lazy("task", "report"), blank=True)
    reported_at = models.DateTimeField(pgettext_lazy("task", "reported at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(via="campaign")

    class Meta:
        verbose_name = _("campaign task")
        verbose_name_plural = _("campaign tasks")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return self.title


class CampaignCase(models.Model):
    """A case counted in a campaign: linked automatically (area, class and dates) or by hand."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="case_links")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="campaign_links")
    source = models.CharField(_("linked"), max_length=8, choices=LinkSource.choices)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("campaign case")
        verbose_name_plural = _("campaign cases")
        constraints = [models.UniqueConstraint(fields=["campaign", "case"], name="joint_campaign_case_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.case_id}"


class Meeting(models.Model):
    """A consultation meeting or a regular joint meeting (联席会议): when, who, minutes."""

    kind = models.CharField(_("kind"), max_length=14, choices=MeetingKind.choices)
    title = models.CharField(pgettext_lazy("joint", "title"), max_length=120)
    scheduled_at = models.DateTimeField(_("scheduled at"), db_index=True)
    location = models.CharField(_("location"), max_length=120, blank=True)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    host_unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("host unit"), on_delete=models.PROTECT, related_name="hosted_meetings"
    )
    units = models.ManyToManyField(
        "orgs.Unit", verbose_name=_("attending units"), blank=True, related_name="meetings"
    )
    attendees = models.ManyToManyField(
        "orgs.Person", verbose_name=_("attendees"), blank=True, related_name="meetings"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=MeetingState.choices, default=MeetingState.SCHEDULED
    )
    minutes = models.TextField(_("minutes"), blank=True)
    held_at = models.DateTimeField(_("held at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(
        region=("region",),
        framing_region=("region",),
        units=("host_unit", "units"),
        people=("attendees",),
        distinct=True,
    )

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-scheduled_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ConsultationQuerySet(ScopedQuerySet):
    def involving_units(self, scope, user) -> Q:
        """Consultations a unit the user acts for is asked to join."""
        if not scope.unit_ids:
            return Q(pk__in=[])
        return Q(id__in=ConsultationUnit.objects.filter(unit_id__in=scope.unit_ids).values("consultation_id"))

    def open(self):
        return self.filter(
            state__in=[ConsultationState.OPEN, ConsultationState.SCHEDULED, ConsultationState.DECIDED]
        )


class Consultation(models.Model):
    """A consultation (会商) on a case whose responsibility is disputed: the units involved state
    their view; a meeting or a written procedure decides the lead and assisting units and the
    deadline; the decision is applied to the case through the case loop's dispatch action."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="consultations"
    )
    trigger = models.CharField(_("trigger"), max_length=10, choices=ConsultationTrigger.choices)
    reason = models.TextField(_("why it is disputed"))
    mode = models.CharField(
        _("procedure"), max_length=8, choices=ConsultationMode.choices, default=ConsultationMode.WRITTEN
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ConsultationState.choices, default=ConsultationState.OPEN
    )
    views_due_at = models.DateTimeField(_("views due by"), null=True, blank=True)
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("meeting"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, editable=False)
    # The decision.
    lead_unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("decided lead unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assist_units = models.ManyToManyField(
        "orgs.Unit", verbose_name=_("decided assisting units"), blank=True, related_name="+"
    )
    deadline = models.DateTimeField(_("handling deadline"), null=True, blank=True)
    decision = models.TextField(_("decision"), blank=True)
    update_matrix = models.BooleanField(_("update the responsibility matrix"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    matrix_result = models.CharField(
        pgettext_lazy("joint", "responsibility matrix"), max_length=200, blank=True
    )
    matrix_updated = models.BooleanField(_("matrix updated"), default=False)

    objects = ConsultationQuerySet.as_manager()
    scope_columns = ScopeColumns(via="case", hook="involving_units")

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["state", "opened_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state__in=["open", "scheduled", "decided"]),
                name="joint_one_open_consultation_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_state_display()}"


class ConsultationUnit(models.Model):
    """A unit involved in a consultation and the view it stated."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="parties")
    unit = models.ForeignKey("orgs.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    stance = models.CharField(_("view"), max_length=8, choices=Stance.choices, blank=True)
    statement = models.TextField(_("statement"), blank=True)
    stated_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stated_at = models.DateTimeField(_("stated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("unit in a consultation")
        verbose_name_plural = _("units in consultations")
        constraints = [
            models.UniqueConstraint(fields=["consultation", "unit"], name="joint_consultation_unit_once")
        ]

    def __str__(self) -> str:
        return f"{self.consultation_id} · {self.unit}"


class AgendaItem(models.Model):
    """An item on a meeting's agenda, usually an overdue or disputed case, with the decision taken."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    reason = models.CharField(pgettext_lazy("joint", "reason"), max_length=14, choices=AgendaReason.choices)
    title = models.CharField(pgettext_lazy("joint", "item"), max_length=200)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agenda_items",
    )
    consultation = models.ForeignKey(
        Consultation, null=True, blank=True, on_delete=models.SET_NULL, related_name="agenda_items"
    )
    decision = models.TextField(_("decision"), blank=True)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["meeting", "position", "id"]

    def __str__(self) -> str:
        return self.title


class FollowUpQuerySet(ScopedQuerySet):
    def overdue(self, today):
        return self.exclude(state=FollowUpState.DONE).filter(due_date__lt=today)


class FollowUp(models.Model):
    """A follow-up task decided at a meeting: a unit must act by a date and reply; the host closes it."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="follow_ups")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    title = models.CharField(_("task"), max_length=200)
    unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        related_name="meeting_follow_ups",
    )
    due_date = models.DateField(_("deadline"), db_index=True)
    state = models.CharField(
        _("state"), max_length=8, choices=FollowUpState.choices, default=FollowUpState.OPEN
    )
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    replied_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()
    scope_columns = ScopeColumns(via="meeting", units=("unit",))

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return self.title
