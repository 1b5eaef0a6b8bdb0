from django.contrib import admin

from .models import (
    AccountabilityRecord,
    AdjustmentRule,
    Assessment,
    Report,
    Scheme,
    SchemeVersion,
    SchemeWeight,
    SpotCheck,
    SupervisionOrder,
    VolumeBand,
)


class WeightInline(admin.TabularInline):
    model = SchemeWeight
    extra = 0


class BandInline(admin.TabularInline):
    model = VolumeBand
    extra = 0


class AdjustmentInline(admin.TabularInline):
    model = AdjustmentRule
    extra = 0


@admin.register(Scheme)
class SchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "region")


@admin.register(SchemeVersion)
class SchemeVersionAdmin(admin.ModelAdmin):
    list_display = ("scheme", "number", "state", "valid_from")
    inlines = [WeightInline, BandInline, AdjustmentInline]

    def has_change_permission(self, request, obj=None):
        # A version that has published assessments is frozen.
        return obj is None or not obj.assessments.exists()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by actions only (audit trail); the admin just shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("version", "subject_kind", "period_label", "published_at")


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "unit", "state", "deadline")
    list_filter = ("state", "kind")


@admin.register(SpotCheck)
class SpotCheckAdmin(ReadOnlyAdmin):
    list_display = ("number", "region", "period_start", "sample_size", "state")


@admin.register(AccountabilityRecord)
class AccountabilityAdmin(ReadOnlyAdmin):
    list_display = ("decided_at", "kind", "unit", "person")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("region", "period_label", "state", "progress", "requested_at")
