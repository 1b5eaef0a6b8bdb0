"""Read-mostly admin views; writes go through the actions (pages and API)."""

from django.contrib import admin
from django.utils import timezone

from .models import CreditRuleSet, ListEntry, Penalty, Subject, Violation


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "score", "region")
    list_filter = ("kind",)
    search_fields = ("name", "uscc")
    exclude = ("id_number",)  # identity numbers stay out of the admin

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()  # the actions stamp their own moment; an admin edit stamps now
        super().save_model(request, obj, form, change)


for model in (CreditRuleSet, Violation, Penalty, ListEntry):
    admin.site.register(model, list_display=("__str__",))
