"""Django admin (Chinese) for regions and unit grids, with the coverage proof as an admin action.

Geometry is read-only here: boundaries change through the import and division actions, which
validate them and keep grid versions.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .actions import do_rename_grid, do_rename_region
from .coverage import check_region
from .models import GeoRevision, Region, UnitGrid


def _report_coverage(modeladmin, request, regions) -> None:
    for region in regions:
        report = check_region(region)
        area = report.area_findings
        text = _(
            "%(region)s: %(grids)s grids, %(gaps)s gaps/overlaps totalling %(area).2f m², "
            "%(unstaffed)s grids without a supervisor (%(seconds).2f s)."
        ) % {
            "region": str(region),
            "grids": report.grids,
            "gaps": len(area),
            "area": report.total_area_m2,
            "unstaffed": len(report.findings) - len(area),
            "seconds": report.seconds,
        }
        level = messages.SUCCESS if report.ok else messages.WARNING
        modeladmin.message_user(request, text, level)
        for finding in area[:10]:
            modeladmin.message_user(request, finding.describe(), messages.WARNING)


@admin.action(description=gettext_lazy("Check coverage (gaps, overlaps, supervisors)"))
def check_coverage(modeladmin, request, queryset):
    _report_coverage(modeladmin, request, queryset)


@admin.action(description=gettext_lazy("Check coverage of the grids' communities"))
def check_grid_coverage(modeladmin, request, queryset):
    communities = Region.objects.filter(pk__in=queryset.values("community_id")).order_by("code")
    _report_coverage(modeladmin, request, communities)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "level", "parent", "area_km2")
    list_filter = ("level", "kind")
    search_fields = ("code", "name")
    ordering = ("code",)
    readonly_fields = (
        "code",
        "kind",
        "parent",
        "level",
        "area_m2",
        "min_lon",
        "min_lat",
        "max_lon",
        "max_lat",
        "centroid_lon",
        "centroid_lat",
    )
    fields = ("code", "name", *readonly_fields[1:])
    actions = [check_coverage]

    def has_add_permission(self, request):
        # Regions come from the import, which validates boundaries and nesting.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):

        do_rename_region(request.user, obj, obj.name)

    @admin.display(description=gettext_lazy("area (km²)"), ordering="area_m2")
    def area_km2(self, obj):
        return f"{obj.area_m2 / 1e6:.3f}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").defer("geometry_wkb")


@admin.register(UnitGrid)
class UnitGridAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "community", "street", "area_m2_rounded", "valid_from", "valid_to")
    list_filter = ("street", ("valid_to", admin.EmptyFieldListFilter))
    search_fields = ("code", "name", "community__name")
    ordering = ("code", "-version")
    date_hierarchy = "valid_from"
    list_select_related = ("community", "street")
    readonly_fields = (
        "code",
        "version",
        "community",
        "street",
        "district",
        "area_m2",
        "valid_from",
        "valid_to",
        "min_lon",
        "min_lat",
        "max_lon",
        "max_lat",
        "centroid_lon",
        "centroid_lat",
    )
    fields = ("code", "version", "name", "note", *readonly_fields[2:])
    actions = [check_grid_coverage]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):

        do_rename_grid(request.user, obj, name=obj.name, note=obj.note)

    @admin.display(description=gettext_lazy("area (m²)"), ordering="area_m2")
    def area_m2_rounded(self, obj):
        return f"{obj.area_m2:,.0f}"

    def has_add_permission(self, request):
        # New grids come from the import or the division, which validate and version them.
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("geometry_wkb")


@admin.register(GeoRevision)
class GeoRevisionAdmin(admin.ModelAdmin):
    list_display = ("id", "value")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
