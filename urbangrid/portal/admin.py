"""Admin of the integration intake: API clients (a key is issued by an action and shown once),
machine sources with their event-type mapping, Open311 service attributes, and read-only logs."""

from django.contrib import admin, messages
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from urbangrid.lib.errors import DomainError

from .actions import do_create_client, do_issue_key
from .models import (
    ApiClient,
    MachineEventType,
    MachineSource,
    Open311Request,
    PhoneVerification,
    ServiceAttribute,
    WebhookDelivery,
)


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "key_id",
        "channel",
        "scopes",
        "rate_per_minute",
        "rate_per_day",
        "is_active",
        "owner_unit",
        "last_used_at",
    )
    list_filter = ("channel", "is_active")
    search_fields = ("name", "key_id", "contact")
    readonly_fields = ("key_id", "key_issued_at", "key_expires_at", "last_used_at", "created_at")
    actions = ["issue_key"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return

        fields = {
            f: getattr(obj, f) for f in ("rate_per_minute", "rate_per_day", "is_active", "contact", "note")
        }
        try:
            client, key = do_create_client(
                request.user,
                name=obj.name,
                channel=obj.channel,
                scopes=obj.scopes,
                owner_unit=obj.owner_unit,
                **fields,
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = client.pk
        self._show_key(request, client, key)

    def _show_key(self, request, client, key):
        self.message_user(
            request,
            format_html(
                "{}<br><code>{}</code><br>{}<br><code>{}</code><br>{}",
                gettext("API key of %(name)s (shown only this once, copy it now):") % {"name": client.name},
                key,
                gettext("Webhook signing secret:"),
                client.signing_secret,
                gettext("Both stop working at %(when)s.")
                % {"when": date_format(localtime(client.key_expires_at), "Y-m-d H:i")},
            ),
            messages.WARNING,
        )

    @admin.action(description=_("Issue a new key (the old one stops working)"))
    def issue_key(self, request, queryset):

        for client in queryset:
            try:
                key = do_issue_key(request.user, client)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            client.refresh_from_db()
            self._show_key(request, client, key)


class EventTypeInline(admin.TabularInline):
    model = MachineEventType
    extra = 1


@admin.register(MachineSource)
class MachineSourceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "client", "crs", "window_seconds", "is_active")
    inlines = [EventTypeInline]


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
    list_display = ("problem_class", "code", "datatype", "required", "order", "description")
    list_filter = ("datatype", "required")
    search_fields = ("code", "description", "problem_class__name", "problem_class__code")
    autocomplete_fields = ()
    raw_id_fields = ("problem_class",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "source", "event_id", "state", "case_number", "created")
    list_filter = ("source", "state")
    search_fields = ("event_id", "case_number")


@admin.register(Open311Request)
class Open311RequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "client", "service_code", "case", "token")
    list_filter = ("client",)
    search_fields = ("token", "client_request_id")
    exclude = ("device_id", "account_id")


@admin.register(PhoneVerification)
class PhoneVerificationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "created_at", "verified_at", "used_at", "attempts")
    exclude = ("code_hash", "ticket", "phone")
