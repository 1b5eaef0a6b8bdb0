"""Models of the evaluation app: assessment schemes and their versions, published (frozen)
assessments, supervision orders (督查督办), spot checks (不定期督查), accountability records
(追责问效) and generated reports.

Indicator values themselves are never stored except inside a published assessment: they are
computed on demand by aggregate queries (see ``indicators.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import ScopeColumns, ScopedQuerySet

from .choices import (
    AccountabilityKind,
    AdjustmentKind,
    OrderKind,
    OrderState,
    PeriodKind,
    ReportState,
    SchemeState,
    SpotCheckState,
    SpotResult,
    SubjectKind,
)


class Scheme(models.Model):
    """An assessment scheme (考核办法), e.g. the city's or a district's. Its rules live in versions."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("issued for area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty = the whole city"),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def current_version(self) -> SchemeVersion | None:
        return self.versions.filter(state=SchemeState.ACTIVE).order_by("-number").first()


class SchemeVersion(models.Model):
    """One version of a scheme's rules. Published assessments point at a version, so changing
    rules (and recomputing a published period) always means a new version."""

    scheme = models.ForeignKey(
        Scheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=10, choices=SchemeState.choices, default=SchemeState.DRAFT
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("scheme version")
        verbose_name_plural = _("scheme versions")
        ordering = ["scheme", "-number"]
        constraints = [models.UniqueConstraint(fields=["scheme", "number"], name="scheme_version_once")]

    def __str__(self) -> str:
        return f"{self.scheme.name} v{self.number}"


class SchemeWeight(models.Model):
    """The weight (in percent) of one indicator in the composite score of one subject kind."""

    version = models.ForeignKey(SchemeVersion, on_delete=models.CASCADE, related_name="weights")
    subject_kind = models.CharField(_("subject kind"), max_length=20, choices=SubjectKind.choices)
    indicator = models.CharField(_("indicator"), max_length=40)
    weight = models.DecimalField(_("weight (%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("indicator weight")
        verbose_name_plural = _("indicator weights")
        ordering = ["subject_kind", "-weight", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["version", "subject_kind", "indicator"], name="weight_once")
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind}/{self.indicator}: {self.weight}%"


class VolumeBand(models.Model):
    """A line of a volume score table: a count of at least ``min_value`` scores ``score`` points.
    Without bands for an indicator, its volume score is relative to the best peer (best = 100)."""

    version = models.ForeignKey(SchemeVersion, on_delete=models.CASCADE, related_name="bands")
    subject_kind = models.CharField(_("subject kind"), max_length=20, choices=SubjectKind.choices)
    indicator = models.CharField(_("indicator"), max_length=40)
    min_value = models.PositiveIntegerField(_("at least"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("volume score band")
        verbose_name_plural = _("volume score bands")
        ordering = ["subject_kind", "indicator", "-min_value"]

    def __str__(self) -> str:
        return f"{self.indicator} ≥ {self.min_value}: {self.score}"


class AdjustmentRule(models.Model):
    """Points added (bonus, positive) or deducted (negative) per event, with an optional cap on
    the total of this rule for one subject and period."""

    version = models.ForeignKey(SchemeVersion, on_delete=models.CASCADE, related_name="adjustments")
    subject_kind = models.CharField(_("subject kind"), max_length=20, choices=SubjectKind.choices)
    kind = models.CharField(_("event"), max_length=24, choices=AdjustmentKind.choices)
    points = models.DecimalField(_("points per event"), max_digits=5, decimal_places=2)
    cap = models.DecimalField(_("cap (absolute)"), max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("deduction/bonus rule")
        verbose_name_plural = _("deduction/bonus rules")
        constraints = [
            models.UniqueConstraint(fields=["version", "subject_kind", "kind"], name="adjustment_once")
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind}/{self.kind}: {self.points}"


class Assessment(models.Model):
    """A published assessment: the scheme version's results for one period and subject kind,
    frozen at publication. Immutable; a recomputation needs a new scheme version."""

    version = models.ForeignKey(
        SchemeVersion, verbose_name=_("scheme version"), on_delete=models.PROTECT, related_name="assessments"
    )
    subject_kind = models.CharField(_("subject kind"), max_length=20, choices=SubjectKind.choices)
    period_kind = models.CharField(_("period kind"), max_length=10, choices=PeriodKind.choices)
    period_label = models.CharField(_("period"), max_length=40)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (exclusive)"))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    # Published assessments are public inside the administration; their rows are filtered
    # by jurisdiction separately (AssessmentResult).
    scope_columns = ScopeColumns(everyone=True)

    class Meta:
        verbose_name = _("published assessment")
        verbose_name_plural = _("published assessments")
        ordering = ["-period_start", "subject_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "subject_kind", "period_start", "period_end"], name="assessment_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} · {self.period_label} · {self.subject_kind}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("published assessments are immutable")
        super().save(*args, **kwargs)


class AssessmentResult(models.Model):
    """One subject's frozen line in a published assessment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="results")
    subject_key = models.CharField(pgettext_lazy("evaluation", "subject"), max_length=40)
    subject_name = models.CharField(_("name"), max_length=120)
    # The area the subject belongs to, for jurisdiction filtering of the frozen rows.
    region = models.ForeignKey(
        "geo.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey("orgs.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    values = models.JSONField(_("indicator values"), default=dict)
    base_score = models.DecimalField(_("indicator score"), max_digits=6, decimal_places=2, null=True)
    adjustment = models.DecimalField(_("deductions and bonuses"), max_digits=6, decimal_places=2, default=0)
    adjustments = models.JSONField(default=dict)
    total = models.DecimalField(_("total score"), max_digits=6, decimal_places=2, null=True)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(region=("region",), units=("unit",))

    class Meta:
        verbose_name = _("assessment result")
        verbose_name_plural = _("assessment results")
        ordering = ["assessment", "rank", "subject_key"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "subject_key"], name="assessment_result_once")
        ]

    def __str__(self) -> str:
        return f"{self.subject_name}: {self.total} {self.grade}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("published assessment results are immutable")
        super().save(*args, **kwargs)


class SupervisionOrder(models.Model):
    """A supervision order (督查督办) to a unit about a slow case or about a pattern seen in an
    indicator, with a deadline and a required written reply."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=OrderKind.choices)
    state = models.CharField(_("state"), max_length=10, choices=OrderState.choices, default=OrderState.ISSUED)
    unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="supervision_orders"
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervision_orders",
    )
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    indicator = models.CharField(_("indicator"), max_length=40, blank=True)
    indicator_value = models.FloatField(_("indicator value"), null=True, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    period_label = models.CharField(_("period"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("requirements"))
    deadline = models.DateTimeField(_("reply deadline"), db_index=True)
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+"
    )
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_note = models.TextField(_("closing note"), blank=True)
    satisfactory = models.BooleanField(_("reply accepted"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(region=("region",), units=("unit",), users=("issued_by",))

    class Meta:
        verbose_name = _("supervision order")
        verbose_name_plural = _("supervision orders")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["unit", "issued_at"]), models.Index(fields=["state", "deadline"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def replied_late(self) -> bool:
        return self.replied_at is not None and self.replied_at > self.deadline


class SpotCheck(models.Model):
    """An unannounced spot check (不定期督查): a reproducible random sample of cases closed in an
    area and period, re-inspected on site by a grid worker."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField(_("closed from"))
    period_end = models.DateField(_("closed before"))
    sample_size = models.PositiveIntegerField(_("sample size"))
    seed = models.BigIntegerField(_("random seed"))
    population = models.PositiveIntegerField(_("closed cases in the area and period"), default=0)
    inspector = models.ForeignKey(
        "orgs.Person",
        verbose_name=pgettext_lazy("spot check", "inspector"),
        on_delete=models.PROTECT,
        related_name="spot_checks",
    )
    state = models.CharField(
        _("state"), max_length=8, choices=SpotCheckState.choices, default=SpotCheckState.OPEN
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(region=("region",), people=("inspector",))

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class SpotCheckItem(models.Model):
    """One sampled case of a spot check and the inspector's finding."""

    spot_check = models.ForeignKey(SpotCheck, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="spot_check_items")
    result = models.CharField(
        _("result"), max_length=8, choices=SpotResult.choices, default=SpotResult.PENDING
    )
    note = models.TextField(_("finding"), blank=True)
    inspected_at = models.DateTimeField(
        pgettext_lazy("spot check", "inspected at"), null=True, blank=True, db_index=True
    )
    inspected_by = models.ForeignKey(
        "orgs.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("spot check item")
        verbose_name_plural = _("spot check items")
        ordering = ["spot_check", "id"]
        constraints = [models.UniqueConstraint(fields=["spot_check", "case"], name="spot_item_once")]

    def __str__(self) -> str:
        return f"{self.spot_check_id}/{self.case_id}: {self.result}"


class AccountabilityRecord(models.Model):
    """An accountability record (追责问效) against a unit and/or a person, with its evidence:
    the cases and supervision orders it rests on."""

    unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        "orgs.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region = models.ForeignKey(
        "geo.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("measure"), max_length=16, choices=AccountabilityKind.choices)
    reason = models.TextField(_("reason"))
    decided_at = models.DateTimeField(_("decided at"), db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cases = models.ManyToManyField(
        "cases.Case", verbose_name=_("evidence: cases"), blank=True, related_name="+"
    )
    orders = models.ManyToManyField(
        SupervisionOrder,
        verbose_name=_("evidence: supervision orders"),
        blank=True,
        related_name="accountability",
    )

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(region=("region",), units=("unit",), people=("person",))

    class Meta:
        verbose_name = _("accountability record")
        verbose_name_plural = _("accountability records")
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.unit or self.person}"


class Report(models.Model):
    """A monthly assessment report for a district or street, built by the worker (queue
    "reports") as Excel and PDF; ``progress`` is updated while it builds."""

    region = models.ForeignKey(
        "geo.Region", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.ForeignKey(SchemeVersion, verbose_name=_("scheme version"), on_delete=models.PROTECT)
    period_label = models.CharField(_("period"), max_length=40)
    state = models.CharField(
        _("state"), max_length=8, choices=ReportState.choices, default=ReportState.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.CharField(_("status"), max_length=200, blank=True)
    xlsx = models.FileField(_("Excel file"), upload_to="evaluation/reports/", blank=True)
    pdf = models.FileField(_("PDF file"), upload_to="evaluation/reports/", blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(region=("region",))

    class Meta:
        verbose_name = _("assessment report")
        verbose_name_plural = _("assessment reports")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.region} {self.period_label}"


class NumberSequence(models.Model):
    """Per-prefix yearly counter behind order and spot-check numbers, advanced under a row lock."""

    key = models.CharField(max_length=16, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.last}"
