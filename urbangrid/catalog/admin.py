"""Chinese admin for the catalogue: code sets, classes (立结案标准), calendar per year, matrix."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from urbangrid.lib.audit import record

from .models import CalendarDay, CodeSet, ProblemClass, ResponsibilityRule


class AuditedAdmin(admin.ModelAdmin):
    """Admin edits are writes too: each save and delete leaves an audit record."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record(
            request.user,
            f"admin.{'change' if change else 'add'}",
            obj,
            summary=str(obj)[:300],
            fields=sorted(form.changed_data),
        )

    def delete_model(self, request, obj):
        record(request.user, "admin.delete", obj, summary=str(obj)[:300])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record(request.user, "admin.delete", obj, summary=str(obj)[:300])
        super().delete_queryset(request, queryset)


@admin.register(CodeSet)
class CodeSetAdmin(AuditedAdmin):
    list_display = ["code", "name", "minor_digits", "is_default", "effective_from"]
    list_editable = ["is_default"]


@admin.register(ProblemClass)
class ProblemClassAdmin(AuditedAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "major_name",
        "code_set",
        "time_limit",
        "time_unit",
        "tier",
        "default_unit_code",
        "on_spot_allowed",
        "is_active",
    ]
    list_filter = ["code_set", "kind", "major_name", "tier", "time_unit", "on_spot_allowed", "is_active"]
    search_fields = ["code", "name", "keywords"]
    list_select_related = ["code_set"]
    raw_id_fields = ["equivalent"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code_set",
                    "kind",
                    ("major_code", "major_name"),
                    ("minor_code", "code"),
                    "name",
                    "keywords",
                    "is_active",
                ]
            },
        ),
        (
            _("Registration and closing standard"),
            {
                "fields": [
                    "acceptance_condition",
                    "closing_condition",
                    ("time_limit", "time_unit"),
                    "escalate_after_overdue",
                ]
            },
        ),
        (
            _("Responsibility"),
            {"fields": ["tier", "default_unit_kind", "default_unit_code", "on_spot_allowed", "equivalent"]},
        ),
    ]


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = sorted({d.year for d in CalendarDay.objects.dates("date", "year")}, reverse=True)
        return [(str(y), str(y)) for y in years]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=int(self.value())) if self.value() else queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdmin):
    list_display = ["date", "weekday", "is_working", "note"]
    list_editable = ["is_working", "note"]
    list_filter = [YearFilter, "is_working"]
    date_hierarchy = "date"
    search_fields = ["note"]
    list_per_page = 100

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return "一二三四五六日"[obj.date.weekday()]


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(AuditedAdmin):
    list_display = [
        "__str__",
        "problem_class",
        "major_code",
        "code_set",
        "kind",
        "region",
        "unit",
        "is_active",
        "note",
    ]
    list_filter = ["is_active", "unit", "region__level", "code_set"]
    list_editable = ["unit", "is_active"]
    search_fields = [
        "problem_class__name",
        "problem_class__code",
        "major_code",
        "region__name",
        "unit__name",
        "note",
    ]
    autocomplete_fields = ["problem_class", "unit"]
    raw_id_fields = ["region"]
    list_select_related = ["problem_class", "region", "unit", "code_set"]
