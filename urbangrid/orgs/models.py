"""Units, people, their roles and jurisdictions, grid assignments, secondments and device tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import GridDuty, Role, UnitKind, UnitLevel


class UnitQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .jurisdiction import scope_for

        scope = scope_for(user)
        if scope.all_city:
            return self
        if not scope.is_authenticated:
            return self.none()
        # Everyone sees city-level units (they dispatch to them) and units of their own areas.
        return self.filter(
            Q(region__isnull=True) | Q(id__in=scope.unit_ids) | scope.area_q(region="region_id")
        )


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

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["level", "code"]
        indexes = [models.Index(fields=["kind", "region"])]

    def __str__(self) -> str:
        return self.name


class PersonQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .jurisdiction import scope_for

        scope = scope_for(user)
        if scope.all_city:
            return self
        if not scope.is_authenticated:
            return self.none()
        # People of my units, people holding a role in my areas, staff of units serving my areas,
        # and myself. Subqueries (not joins) so no DISTINCT is needed.
        in_area = RoleAssignment.objects.filter(scope.area_q(region="region_id")).values("person_id")
        q = Q(unit_id__in=scope.unit_ids) | Q(id__in=in_area) | Q(user_id=scope.user_id)
        if scope.subtree_region_ids:
            q |= Q(unit__region_id__in=scope.subtree_region_ids)
        return self.filter(q)


class Person(models.Model):
    """A member of staff who signs in: grid worker, operator, handler, leader..."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE)
    name = models.CharField(_("name"), max_length=60)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people")
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    employee_no = models.CharField(_("employee number"), max_length=32, blank=True)
    title = models.CharField(_("title"), max_length=60, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = PersonQuerySet.as_manager()

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


class ApiToken(models.Model):
    """A bearer token for a person's device or script; only a hash is stored."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(_("name"), max_length=60)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
