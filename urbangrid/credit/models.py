"""Models of the credit app: subjects, the cases that name them, violations, penalty decisions,
the configurable score rule set, list entries (watch / dishonest) and their repair.

Nothing is deleted: a revoked violation or a repaired list entry keeps its row with the reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.cases.models import Case
from urbangrid.lib.access import ScopeColumns, ScopedQuerySet

from .choices import (
    DecayMode,
    ExitReason,
    ListKind,
    ListRule,
    PenaltyKind,
    PenaltyState,
    Severity,
    SubjectKind,
    ViolationKind,
    ViolationState,
)
from .identity import mask_id_number, mask_name, mask_phone


class SubjectQuerySet(ScopedQuerySet):
    def named_on_visible_cases(self, scope, user) -> Q:
        """Subjects named on a case the user can see (staff only: a reporter sees their cases)."""
        if not scope.roles:
            return Q(pk__in=[])
        cases = Case.objects.visible_to(user)
        return Q(id__in=CaseSubject.objects.filter(case__in=cases).values("subject_id"))


class Subject(models.Model):
    """A party whose violations are recorded: a business or property company (by unified social
    credit code), a stall owner or an individual (by resident ID number). Identity numbers are
    stored in full and shown masked except to roles that need them."""

    kind = models.CharField(_("kind"), max_length=20, choices=SubjectKind.choices)
    name = models.CharField(_("name"), max_length=120)
    uscc = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True, unique=True
    )
    id_number = models.CharField(_("resident ID number"), max_length=18, null=True, blank=True, unique=True)
    legal_representative = models.CharField(
        _("legal representative / person in charge"), max_length=60, blank=True
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    registered_by_unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Cached results of the last evaluation (the source of truth is recomputed by aggregate).
    score = models.DecimalField(_("credit score"), max_digits=6, decimal_places=2, default=100)
    score_at = models.DateField(_("score computed on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = SubjectQuerySet.as_manager()
    scope_columns = ScopeColumns(
        region=("region",), units=("registered_by_unit",), hook="named_on_visible_cases"
    )

    class Meta:
        verbose_name = _("credit subject")
        verbose_name_plural = _("credit subjects")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["kind", "name"]),
            models.Index(fields=["region"]),
            models.Index(fields=["score"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def identity_number(self) -> str:
        return self.uscc or self.id_number or ""

    @property
    def is_person(self) -> bool:
        return self.kind in (SubjectKind.INDIVIDUAL, SubjectKind.STALL_OWNER)

    def public_name(self) -> str:
        """Organisations are published by name; natural persons only with the surname."""
        return mask_name(self.name) if self.is_person else self.name

    def masked_identity(self) -> str:
        if self.uscc:
            return self.uscc  # a company's credit code is public by law (GB 32100)
        return mask_id_number(self.id_number or "")

    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class CaseSubject(models.Model):
    """A case names a subject (the party responsible for the problem)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="credit_subjects")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="case_links")
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    named_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("subject named on a case")
        verbose_name_plural = _("subjects named on cases")
        constraints = [models.UniqueConstraint(fields=["case", "subject"], name="credit_case_subject_once")]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.subject_id}"


class CreditRuleSet(models.Model):
    """The configurable scoring and listing rules. Exactly one is active.

    Score on day D = clamp(base_score − Σ points(kind, severity) × decay(age) × repair_factor, 0, base)
    over confirmed violations that occurred on or before D, where age = D − occurred_on in days and
      half_life: decay = 0.5 ** (age / half_life_days)
      linear:    decay = max(0, 1 − age / (linear_months × 30))
      none:      decay = 1
    and repair_factor = repaired_weight for violations repaired on or before D, else 1.
    """

    name = models.CharField(_("name"), max_length=80)
    is_active = models.BooleanField(pgettext_lazy("credit", "active"), default=False)
    base_score = models.PositiveSmallIntegerField(_("base score"), default=100)
    decay_mode = models.CharField(
        _("decay"), max_length=10, choices=DecayMode.choices, default=DecayMode.HALF_LIFE
    )
    half_life_days = models.PositiveIntegerField(_("half-life (days)"), default=365)
    linear_months = models.PositiveIntegerField(_("linear decay period (months)"), default=24)
    repaired_weight = models.DecimalField(
        _("weight of repaired violations"),
        max_digits=3,
        decimal_places=2,
        default=0,
        help_text=_("0 = a repair restores the score fully, 1 = the repair does not change the score"),
    )
    watch_threshold = models.PositiveSmallIntegerField(_("watch list below score"), default=80)
    dishonest_threshold = models.PositiveSmallIntegerField(_("dishonest list below score"), default=60)
    repeat_count = models.PositiveSmallIntegerField(_("repeat offender: violations"), default=2)
    repeat_window_days = models.PositiveIntegerField(_("repeat offender: within days"), default=365)
    grave_to_dishonest = models.BooleanField(
        _("a grave violation puts the subject on the dishonest list"), default=True
    )
    repair_clean_days = models.PositiveIntegerField(_("clean period before repair (days)"), default=180)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("credit rule set")
        verbose_name_plural = _("credit rule sets")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="credit_one_active_ruleset"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RulePoints(models.Model):
    """Points deducted for one violation of a kind and severity under a rule set."""

    rule_set = models.ForeignKey(CreditRuleSet, on_delete=models.CASCADE, related_name="points")
    kind = models.CharField(_("violation kind"), max_length=24, choices=ViolationKind.choices)
    severity = models.CharField(pgettext_lazy("credit", "severity"), max_length=10, choices=Severity.choices)
    points = models.DecimalField(pgettext_lazy("credit", "points"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("points per violation")
        verbose_name_plural = _("points per violation")
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "kind", "severity"], name="credit_points_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.severity}: {self.points}"


class Violation(models.Model):
    """A confirmed violation by a subject, usually found through a case."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="violations"
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="violations",
    )
    kind = models.CharField(_("violation kind"), max_length=24, choices=ViolationKind.choices)
    severity = models.CharField(
        pgettext_lazy("credit", "severity"), max_length=10, choices=Severity.choices, default=Severity.GENERAL
    )
    occurred_on = models.DateField(_("occurred on"))
    # occurred_on as a day number (date.toordinal) so that age arithmetic is portable SQL.
    occurred_day = models.IntegerField(editable=False)
    description = models.TextField(_("description"), blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=ViolationState.choices, default=ViolationState.CONFIRMED
    )
    repaired_on = models.DateField(_("repaired on"), null=True, blank=True)
    repaired_day = models.IntegerField(null=True, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("recording unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoke_reason = models.CharField(_("reason for revocation"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(via="subject")

    class Meta:
        verbose_name = _("violation")
        verbose_name_plural = _("violations")
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["subject", "state", "occurred_day"]),
            models.Index(fields=["occurred_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.get_kind_display()} {self.occurred_on}"


class Penalty(models.Model):
    """A penalty decision (行政处罚决定) on a violation: warning, fine, or order to rectify."""

    violation = models.ForeignKey(
        Violation, verbose_name=_("violation"), on_delete=models.PROTECT, related_name="penalties"
    )
    kind = models.CharField(_("penalty"), max_length=10, choices=PenaltyKind.choices)
    decision_number = models.CharField(_("decision number"), max_length=60, unique=True)
    decided_on = models.DateField(_("decided on"))
    amount = models.DecimalField(_("fine (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True)
    rectify_by = models.DateField(_("rectify by"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=PenaltyState.choices, default=PenaltyState.ISSUED
    )
    fulfilled_on = models.DateField(_("fulfilled on"), null=True, blank=True)
    issued_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "orgs.Unit",
        verbose_name=_("deciding unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("penalty decision")
        verbose_name_plural = _("penalty decisions")
        ordering = ["-decided_on", "-id"]
        indexes = [models.Index(fields=["state", "rectify_by"])]

    def __str__(self) -> str:
        return self.decision_number


class ListEntryQuerySet(ScopedQuerySet):
    def active(self):
        return self.filter(removed_on__isnull=True)


class ListEntry(models.Model):
    """A subject's stay on the watch or dishonest list: the rule that put it there and when, and
    when and why it left (the row is kept after repair)."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="list_entries"
    )
    list_kind = models.CharField(_("list"), max_length=10, choices=ListKind.choices)
    rule = models.CharField(_("rule"), max_length=24, choices=ListRule.choices)
    rule_detail = models.CharField(_("rule detail"), max_length=200, blank=True)
    rule_set = models.ForeignKey(
        CreditRuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_on = models.DateField(_("entered on"))
    score_at_entry = models.DecimalField(_("score at entry"), max_digits=6, decimal_places=2)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published = models.BooleanField(_("published"), default=True)
    removed_on = models.DateField(_("removed on"), null=True, blank=True)
    exit_reason = models.CharField(
        _("reason for removal"), max_length=10, choices=ExitReason.choices, blank=True
    )
    exit_note = models.CharField(_("note"), max_length=200, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ListEntryQuerySet.as_manager()
    scope_columns = ScopeColumns(via="subject")

    class Meta:
        verbose_name = _("list entry")
        verbose_name_plural = _("list entries")
        ordering = ["-entered_on", "-id"]
        indexes = [models.Index(fields=["list_kind", "removed_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "list_kind"],
                condition=Q(removed_on__isnull=True),
                name="credit_one_active_entry_per_list",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.get_list_kind_display()} {self.entered_on}"
