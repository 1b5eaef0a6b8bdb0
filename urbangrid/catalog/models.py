"""The classification dictionary (versioned code sets), the working calendar and the
responsibility matrix (class × area → unit)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import KIND_LETTERS, ClassKind, HandlingTier, TimeUnit


class CodeSet(models.Model):
    """A version of the classification standard, e.g. GB/T 30428.2-2013 or GB/T 47678.5."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    minor_digits = models.PositiveSmallIntegerField(_("digits of a minor code"), default=2)
    is_default = models.BooleanField(_("default for intake"), default=False)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)

    class Meta:
        verbose_name = _("code set")
        verbose_name_plural = _("code sets")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_codeset"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProblemClass(models.Model):
    """A minor class (小类) with its 立结案标准: acceptance and closing conditions, handling time
    limit and the kind of unit that normally handles it."""

    code_set = models.ForeignKey(
        CodeSet, verbose_name=_("code set"), on_delete=models.PROTECT, related_name="classes"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ClassKind.choices)
    major_code = models.CharField(_("major class code"), max_length=2)
    major_name = models.CharField(_("major class"), max_length=40)
    minor_code = models.CharField(_("minor class code"), max_length=3)
    code = models.CharField(_("full code"), max_length=8, help_text=_("major + minor, e.g. 0406 or 09006"))
    name = models.CharField(_("name"), max_length=60)
    keywords = models.CharField(_("keywords"), max_length=300, blank=True, help_text=_("comma separated"))
    acceptance_condition = models.TextField(_("acceptance condition"), blank=True)
    closing_condition = models.TextField(_("closing condition"), blank=True)
    time_limit = models.DecimalField(_("handling time limit"), max_digits=6, decimal_places=1, default=1)
    time_unit = models.CharField(
        _("time unit"), max_length=12, choices=TimeUnit.choices, default=TimeUnit.WORK_DAYS
    )
    tier = models.CharField(
        _("handling tier"), max_length=10, choices=HandlingTier.choices, default=HandlingTier.STREET
    )
    default_unit_kind = models.CharField(_("default responsible unit kind"), max_length=20, blank=True)
    default_unit_code = models.CharField(
        _("default responsible unit code"),
        max_length=32,
        blank=True,
        help_text=_("a city-level department that owns this line, if any"),
    )
    on_spot_allowed = models.BooleanField(_("may be fixed on the spot"), default=False)
    escalate_after_overdue = models.BooleanField(_("escalate when overdue"), default=True)
    equivalent = models.ForeignKey(
        "self",
        verbose_name=_("equivalent in the other code set"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("problem class")
        verbose_name_plural = _("problem classes")
        ordering = ["code_set", "code"]
        indexes = [models.Index(fields=["code_set", "kind", "major_code"])]
        constraints = [models.UniqueConstraint(fields=["code_set", "kind", "code"], name="class_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def key(self) -> str:
        """The class's identifier inside its code set (see choices.KIND_LETTERS)."""
        return KIND_LETTERS.get(self.kind, "") + self.code


class CalendarDay(models.Model):
    """An exception to the weekly pattern: a public holiday on a weekday, or a make-up working
    day on a weekend (调休). Days not listed follow Monday–Friday working."""

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_working else '休'} {self.note}"


class ResponsibilityRule(models.Model):
    """Responsibility matrix entry: problems of ``problem_class`` (or its whole major class when
    ``problem_class`` is empty) inside ``region`` (or anywhere when empty) go to ``unit``.
    The most specific rule wins; with none, the territory (street office/town) is responsible."""

    problem_class = models.ForeignKey(
        ProblemClass, verbose_name=_("problem class"), null=True, blank=True, on_delete=models.CASCADE
    )
    major_code = models.CharField(_("major class code"), max_length=2, blank=True)
    # A major code means different things per code set and kind (01 公用设施 vs 01 市容环境).
    code_set = models.ForeignKey(
        CodeSet,
        verbose_name=_("code set"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("for a major-class rule: the code set its major code belongs to"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ClassKind.choices, blank=True)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("area"), null=True, blank=True, on_delete=models.CASCADE
    )
    unit = models.ForeignKey("orgs.Unit", verbose_name=_("responsible unit"), on_delete=models.PROTECT)
    note = models.CharField(_("note"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("responsibility rule")
        verbose_name_plural = _("responsibility matrix")
        indexes = [
            models.Index(fields=["problem_class", "region"]),
            models.Index(fields=["major_code", "region"]),
        ]

    def __str__(self) -> str:
        return f"{self.problem_class or self.major_code} @ {self.region or '*'} → {self.unit}"

    def clean(self):

        if self.problem_class_id is None and not self.major_code:
            raise ValidationError(_("Choose a problem class or a major class code."))
