"""Regions (city > district > street/town > community/village) and versioned unit grids.

Geometry is stored as WKB in the canonical CRS (CGCS2000 longitude/latitude, metre-equal to
WGS-84) with a bounding box in plain columns, so viewport queries use ordinary indexes and no
spatial database extension is needed. Areas are computed in a metric CGCS2000 Gauss-Krüger zone.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from shapely import from_wkb, to_wkb

from urbangrid.lib.access import ScopeColumns, ScopedQuerySet

from .choices import REGION_LEVEL, RegionKind
from .crs import area_m2


class GeometryColumns(models.Model):
    """Shared geometry columns: WKB plus bbox and centroid for index-friendly filtering."""

    geometry_wkb = models.BinaryField(_("geometry (WKB)"), null=True, blank=True, editable=False)
    area_m2 = models.FloatField(_("area (m²)"), default=0)
    min_lon = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lon = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    centroid_lon = models.FloatField(null=True, blank=True, editable=False)
    centroid_lat = models.FloatField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def geometry(self):
        """The shapely geometry (lon/lat), or None."""

        return from_wkb(bytes(self.geometry_wkb)) if self.geometry_wkb else None

    def set_geometry(self, geom) -> None:
        """Store geometry with its derived columns; called by actions only."""

        self.geometry_wkb = to_wkb(geom)
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = geom.bounds
        c = geom.representative_point() if geom.geom_type != "Point" else geom
        centroid = geom.centroid
        self.centroid_lon, self.centroid_lat = (
            (centroid.x, centroid.y) if not centroid.is_empty else (c.x, c.y)
        )
        self.area_m2 = area_m2(geom)


class RegionQuerySet(ScopedQuerySet):
    def areas_and_their_frame(self, scope, user) -> Q:
        """The subtrees of the user's regions and the ancestors that frame them."""
        q = Q(pk__in=[])
        for code in scope.region_codes:
            q |= Q(code__startswith=code)
        if scope.region_codes:
            q |= Q(code__in=scope.ancestor_codes)
        return q


class Region(GeometryColumns):
    """An administrative area. Codes nest: district 6 digits (GB/T 2260), street/town +3, community +3."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RegionKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), editable=False)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    objects = RegionQuerySet.as_manager()
    scope_columns = ScopeColumns(hook="areas_and_their_frame")

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def save(self, *args, **kwargs):
        self.level = REGION_LEVEL[self.kind]
        super().save(*args, **kwargs)

    def ancestors(self) -> list[Region]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class UnitGridQuerySet(ScopedQuerySet):
    def current(self):
        return self.filter(valid_to__isnull=True)

    def valid_at(self, moment):
        return self.filter(Q(valid_from__lte=moment), Q(valid_to__isnull=True) | Q(valid_to__gt=moment))


class UnitGrid(GeometryColumns):
    """One version of a unit grid (单元网格). A boundary change closes this row and opens a new one
    with the same code and version+1; cases keep the row that was valid when they were reported."""

    code = models.CharField(_("grid code"), max_length=15, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100, blank=True)
    community = models.ForeignKey(
        Region, verbose_name=_("community"), on_delete=models.PROTECT, related_name="grids"
    )
    street = models.ForeignKey(
        Region, verbose_name=_("street/town"), on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(
        Region, verbose_name=_("district"), on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = UnitGridQuerySet.as_manager()
    scope_columns = ScopeColumns(district="district", street="street", community="community")

    class Meta:
        verbose_name = _("unit grid")
        verbose_name_plural = _("unit grids")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="unitgrid_code_version_unique"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(valid_to__isnull=True), name="unitgrid_one_current_version"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "valid_to"]),
            models.Index(fields=["street", "valid_to"]),
            models.Index(fields=["min_lon", "min_lat"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class GeoRevision(models.Model):
    """A single counter bumped by every action that changes current grids; locators compare it
    to rebuild their in-memory index only when grids changed."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("geometry revision")
        verbose_name_plural = _("geometry revisions")

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def current(cls) -> int:
        row = cls.objects.filter(pk=1).values_list("value", flat=True).first()
        return row or 0

    @classmethod
    def bump(cls) -> None:
        updated = cls.objects.filter(pk=1).update(value=models.F("value") + 1)
        if not updated:
            cls.objects.get_or_create(pk=1, defaults={"value": 1})
