"""Units, people, their roles and jurisdictions, grid assignments, secondments and device tokens."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import ScopeColumns, ScopedQuerySet
from urbangrid.lib.roles import Role

from .choices import EquipmentKind, FundCategory, GridDuty, UnitKind, UnitLevel


class Unit(models.Model):
    """A responsible unit: the bureau, a partner department, a district government, a street
    office or town, a community committee. ``region`` is the area it serves (null = whole city)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    level = models.CharField(_("level"), max_length=12, choices=UnitLevel.choices)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("area served"), null=True, blank=True, on_delete=models.PROTECT
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    duties = models.TextField(_("line of problems owned"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    # Everyone sees city-level units (they dispatch to them) and units of their own areas.
    # Everyone sees city-level units (they dispatch to them) and units of their own areas.
    scope_columns = ScopeColumns(public=Q(region__isnull=True), units=("id",), region=("region",))

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["level", "code"]
        indexes = [models.Index(fields=["kind", "region"])]

    def __str__(self) -> str:
        return self.name


class PersonQuerySet(ScopedQuerySet):
    def holding_roles_in_areas(self, scope, user) -> Q:
        """People holding a role in the user's areas (a subquery, not a join: no DISTINCT)."""
        if not scope.subtree_region_ids:
            return Q(pk__in=[])
        in_area = RoleAssignment.objects.filter(region_id__in=scope.subtree_region_ids)
        return Q(id__in=in_area.values("person_id"))


class Person(models.Model):
    """A member of staff who signs in: grid worker, operator, handler, leader..."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE)
    name = models.CharField(_("name"), max_length=60)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people")
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    employee_no = models.CharField(_("employee number"), max_length=32, blank=True)
    title = models.CharField(pgettext_lazy("job", "title"), max_length=60, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = PersonQuerySet.as_manager()
    # People of my units, people holding a role in my areas, staff of units serving my areas,
    # and myself.
    # People of my units, people holding a role in my areas, staff of units serving my areas,
    # and myself.
    scope_columns = ScopeColumns(
        units=("unit",), users=("user",), region=("unit__region",), hook="holding_roles_in_areas"
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["unit", "name"]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A role held by a person over an area (``region`` null = the whole city) for a period."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="roles"
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("jurisdiction"), null=True, blank=True, on_delete=models.PROTECT
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        indexes = [models.Index(fields=["role", "region"])]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()}"


class GridAssignment(models.Model):
    """A named person responsible for a grid (by its stable code, across versions)."""

    grid_code = models.CharField(_("grid code"), max_length=15, db_index=True)
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="grid_assignments"
    )
    duty = models.CharField(_("duty"), max_length=16, choices=GridDuty.choices)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid assignment")
        verbose_name_plural = _("grid assignments")
        indexes = [models.Index(fields=["person", "valid_to"])]

    def __str__(self) -> str:
        return f"{self.grid_code} · {self.person} · {self.get_duty_display()}"


class Secondment(models.Model):
    """A person seconded (派驻) from their unit to another for a period; while it runs they act
    for the host unit as well."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="secondments"
    )
    from_unit = models.ForeignKey(
        Unit, verbose_name=_("from unit"), on_delete=models.PROTECT, related_name="+"
    )
    to_unit = models.ForeignKey(Unit, verbose_name=_("to unit"), on_delete=models.PROTECT, related_name="+")
    start = models.DateField(_("start"))
    end = models.DateField(_("end"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("secondment")
        verbose_name_plural = _("secondments")

    def __str__(self) -> str:
        return f"{self.person}: {self.from_unit} → {self.to_unit}"


def default_token_lifetime() -> timedelta:
    """How long an API token or client key lives unless its issuer chooses (URBANGRID_API_TOKEN_DAYS)."""
    return timedelta(days=int(settings.URBANGRID.get("API_TOKEN_DAYS", 90)))


class ApiToken(models.Model):
    """A bearer token for a person's device or script; only a hash is stored. It stops working at
    ``expires_at`` (set at issue: URBANGRID_API_TOKEN_DAYS by default, or chosen per token)."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(_("name"), max_length=60)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # Set by do_issue_token; see valid_until for rows made without it.
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def valid_until(self):
        """``expires_at``, or for a row made without one the default lifetime from its creation."""
        if self.expires_at is not None:
            return self.expires_at
        return self.created_at + default_token_lifetime()


class ScopeGeneration(models.Model):
    """One row whose value changes (to a fresh random number) whenever anything a ``Scope`` is
    built from changes: people, role and grid assignments, secondments, regions, and a user's
    superuser/active flags. Database triggers set it (orgs/sql.py), so bulk writes, the admin
    and raw SQL move it too; scope_for caches scopes across requests under its value. Random,
    not a counter: a rolled-back change must never let an old value come back."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("scope generation")
        verbose_name_plural = _("scope generations")

    def __str__(self) -> str:
        return str(self.value)


# ---------------------------------------------------------------- training and resources (P4, E2)
class TrainingCourse(models.Model):
    """A course grid workers take (岗前培训, 法规培训 ...), with the score needed to pass."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=4)
    pass_score = models.DecimalField(_("pass score"), max_digits=5, decimal_places=1, default=60)
    required_for_grid_workers = models.BooleanField(_("required for grid workers"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("training course")
        verbose_name_plural = _("training courses")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class TrainingSessionQuerySet(ScopedQuerySet):
    def attended_by(self, scope, user) -> Q:
        """Sessions the user attended."""
        if not scope.person_id:
            return Q(pk__in=[])
        return Q(id__in=TrainingRecord.objects.filter(person_id=scope.person_id).values("session_id"))


class TrainingSession(models.Model):
    """One run of a course: when, where, by whom, organised by which unit for which area."""

    course = models.ForeignKey(
        TrainingCourse, verbose_name=_("course"), on_delete=models.PROTECT, related_name="sessions"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    location = models.CharField(_("location"), max_length=120, blank=True)
    trainer = models.CharField(_("trainer"), max_length=60, blank=True)
    organiser = models.ForeignKey(
        Unit, verbose_name=_("organiser"), on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = TrainingSessionQuerySet.as_manager()
    scope_columns = ScopeColumns(
        units=("organiser",), region=("organiser__region", "region"), hook="attended_by"
    )

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["organiser", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.course} {self.starts_at:%Y-%m-%d}"


class TrainingRecord(models.Model):
    """Who attended a session and with what result."""

    session = models.ForeignKey(
        TrainingSession,
        verbose_name=pgettext_lazy("training", "session"),
        on_delete=models.CASCADE,
        related_name="records",
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="training"
    )
    attended = models.BooleanField(_("attended"), default=True)
    score = models.DecimalField(
        pgettext_lazy("exam", "score"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    passed = models.BooleanField(_("passed"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(via="person")

    class Meta:
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
        constraints = [models.UniqueConstraint(fields=["session", "person"], name="training_record_once")]
        indexes = [models.Index(fields=["person", "passed"])]

    def __str__(self) -> str:
        return f"{self.person} · {self.session}"


class Equipment(models.Model):
    """A piece of equipment issued to a unit and, optionally, to a named worker."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="equipment")
    holder = models.ForeignKey(
        Person,
        verbose_name=_("holder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="equipment",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=EquipmentKind.choices)
    name = models.CharField(_("name"), max_length=100)
    asset_no = models.CharField(_("asset number"), max_length=40, unique=True)
    value = models.DecimalField(_("value (yuan)"), max_digits=12, decimal_places=2, default=0)
    issued_on = models.DateField(_("issued on"))
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(units=("unit",), region=("unit__region",), people=("holder",))

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["unit", "kind", "asset_no"]
        indexes = [models.Index(fields=["unit", "returned_on"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.asset_no}）"


class FundRecord(models.Model):
    """Money spent by a unit on grid supervision (专款专用), by category and date."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="funds")
    category = models.CharField(_("category"), max_length=12, choices=FundCategory.choices)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2)
    spent_on = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(units=("unit",), region=("unit__region",))

    class Meta:
        verbose_name = _("fund record")
        verbose_name_plural = _("fund records")
        ordering = ["-spent_on", "-id"]
        indexes = [models.Index(fields=["unit", "spent_on"])]

    def __str__(self) -> str:
        return f"{self.unit} {self.spent_on} ¥{self.amount}"
