"""Chinese admin for the organisation: units, people with their roles and grid assignments,
secondments and API tokens (only the prefix is ever shown)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from urbangrid.catalog.admin import AuditedAdmin

from .models import ApiToken, GridAssignment, Person, RoleAssignment, Secondment, Unit


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ["code", "name", "kind", "level", "region", "parent", "phone", "is_active"]
    list_filter = ["kind", "level", "is_active"]
    search_fields = ["code", "name", "short_name"]
    list_select_related = ["region", "parent"]
    raw_id_fields = ["region", "parent"]


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    raw_id_fields = ["region"]


class GridAssignmentInline(admin.TabularInline):
    model = GridAssignment
    extra = 0


class SecondmentInline(admin.TabularInline):
    model = Secondment
    extra = 0
    fk_name = "person"
    raw_id_fields = ["from_unit", "to_unit"]


class TokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "expires_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        # Tokens are issued through the API/action so the plaintext is shown exactly once.
        return False


@admin.register(Person)
class PersonAdmin(AuditedAdmin):
    list_display = ["name", "username", "unit", "title", "phone", "role_list", "is_active"]
    list_filter = ["is_active", "unit__kind", "roles__role"]
    search_fields = ["name", "user__username", "phone", "employee_no", "unit__name"]
    list_select_related = ["user", "unit"]
    raw_id_fields = ["user", "unit"]
    inlines = [RoleInline, GridAssignmentInline, SecondmentInline, TokenInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description=_("username"), ordering="user__username")
    def username(self, obj):
        return obj.user.username

    @admin.display(description=_("roles"))
    def role_list(self, obj):
        return "、".join(sorted({str(r.get_role_display()) for r in obj.roles.all()}))


@admin.register(GridAssignment)
class GridAssignmentAdmin(AuditedAdmin):
    list_display = ["grid_code", "person", "duty", "valid_from", "valid_to"]
    list_filter = ["duty", "valid_to"]
    search_fields = ["grid_code", "person__name", "person__user__username"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]


@admin.register(Secondment)
class SecondmentAdmin(AuditedAdmin):
    list_display = ["person", "from_unit", "to_unit", "start", "end", "reason"]
    list_filter = ["to_unit", "from_unit"]
    search_fields = ["person__name", "reason"]
    raw_id_fields = ["person", "from_unit", "to_unit"]
    list_select_related = ["person", "from_unit", "to_unit"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "person",
        "prefix_display",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "person__name", "prefix"]
    fields = ["person", "name", "prefix_display", "created_at", "last_used_at", "expires_at", "revoked_at"]
    # The expiry is set at issue (a token's cached lookup does not watch later edits of it).
    readonly_fields = ["person", "name", "prefix_display", "created_at", "last_used_at", "expires_at"]
    list_select_related = ["person"]

    @admin.display(description=_("token prefix"))
    def prefix_display(self, obj):
        return f"{obj.prefix}…"

    def has_add_permission(self, request):
        return False


from .models import Equipment, FundRecord, TrainingCourse, TrainingRecord, TrainingSession  # noqa: E402


@admin.register(TrainingCourse)
class TrainingCourseAdmin(AuditedAdmin):
    list_display = ["code", "name", "hours", "pass_score", "required_for_grid_workers", "is_active"]
    search_fields = ["code", "name"]


class TrainingRecordInline(admin.TabularInline):
    """Read-only here: results go through do_record_training, which decides pass/fail."""

    model = TrainingRecord
    extra = 0
    fields = readonly_fields = ["person", "attended", "score", "passed", "note"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TrainingSession)
class TrainingSessionAdmin(AuditedAdmin):
    list_display = ["course", "starts_at", "organiser", "region", "location", "trainer"]
    list_filter = ["course", "organiser__kind"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["organiser", "region"]
    list_select_related = ["course", "organiser", "region"]
    inlines = [TrainingRecordInline]


@admin.register(Equipment)
class EquipmentAdmin(AuditedAdmin):
    list_display = ["asset_no", "name", "kind", "unit", "holder", "value", "issued_on", "returned_on"]
    list_filter = ["kind", "returned_on"]
    search_fields = ["asset_no", "name", "unit__name", "holder__name"]
    raw_id_fields = ["unit", "holder"]
    list_select_related = ["unit", "holder"]


@admin.register(FundRecord)
class FundRecordAdmin(AuditedAdmin):
    list_display = ["spent_on", "unit", "category", "amount", "description", "recorded_by"]
    list_filter = ["category"]
    date_hierarchy = "spent_on"
    search_fields = ["unit__name", "description"]
    raw_id_fields = ["unit"]
    readonly_fields = ["recorded_by"]
    list_select_related = ["unit", "recorded_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
