"""Models of the portal app: API clients of the integration intake (Open311 apps, hotline and
messaging systems, sensor and camera platforms), Open311 service attributes, machine sources
with their event schemas, webhook deliveries (replay protection), rate counters and the
one-time codes that verify a citizen's phone number."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import AttributeDatatype, ClientChannel, DeliveryState, Scope


def default_scopes() -> list[str]:
    return [Scope.OPEN311_POST, Scope.OPEN311_READ]


class ApiClient(models.Model):
    """A third-party system allowed to submit reports: an Open311 app, the hotline system, a
    messaging-app bot, a sensor or camera platform. Its API key is ``ugk_<key_id>_<secret>``;
    only a SHA-256 hash of the whole key is stored and the plaintext is shown once when issued.
    ``key_id`` is stable across re-issued keys and is the intake's ``client_key`` (idempotency
    scope). ``signing_secret`` signs webhooks (HMAC needs the secret itself on both sides)."""

    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(_("key id"), max_length=24, unique=True)
    key_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    key_issued_at = models.DateTimeField(_("key issued"), null=True, blank=True, editable=False)
    key_expires_at = models.DateTimeField(_("key expires"), null=True, blank=True, editable=False)
    signing_secret = models.CharField(_("webhook signing secret"), max_length=64, blank=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=default_scopes, blank=True)
    channel = models.CharField(
        _("reports count as"), max_length=16, choices=ClientChannel.choices, default=ClientChannel.OPEN311
    )
    rate_per_minute = models.PositiveIntegerField(_("requests per minute"), default=60)
    rate_per_day = models.PositiveIntegerField(_("requests per day"), default=5000)
    is_active = models.BooleanField(_("active"), default=True)
    owner_unit = models.ForeignKey(
        "orgs.Unit", verbose_name=_("owner unit"), null=True, blank=True, on_delete=models.PROTECT
    )
    # Channels the intake reserves for staff (the hotline) need a service account that holds
    # the intake operator role; reports are recorded as entered by it.
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("needed for the hotline channel: an account with the intake operator role"),
    )
    contact = models.CharField(_("contact"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def key_valid_until(self):
        """When the key (and its signing secret) stop working; None before a key is issued."""
        if self.key_expires_at is not None:
            return self.key_expires_at
        if self.key_issued_at is not None:
            from urbangrid.orgs.models import default_token_lifetime

            return self.key_issued_at + default_token_lifetime()
        return None


class ServiceAttribute(models.Model):
    """An Open311 service-definition attribute of one problem class (e.g. the plate number of
    an illegally parked car). Classes without rows use the built-in defaults of attributes.py."""

    problem_class = models.ForeignKey(
        "catalog.ProblemClass",
        verbose_name=_("problem class"),
        on_delete=models.CASCADE,
        related_name="open311_attributes",
    )
    code = models.CharField(_("code"), max_length=40)
    datatype = models.CharField(_("data type"), max_length=16, choices=AttributeDatatype.choices)
    required = models.BooleanField(_("required"), default=False)
    variable = models.BooleanField(_("variable"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    description = models.CharField(_("question"), max_length=200)
    datatype_description = models.CharField(_("data type description"), max_length=200, blank=True)
    values = models.JSONField(
        _("values"),
        default=list,
        blank=True,
        help_text=_('list of {"key": ..., "name": ...} for value lists'),
    )

    class Meta:
        verbose_name = _("Open311 service attribute")
        verbose_name_plural = _("Open311 service attributes")
        ordering = ["problem_class", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["problem_class", "code"], name="portal_attribute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.problem_class_id}:{self.code}"


class Open311Request(models.Model):
    """One accepted Open311 POST: the client, its token, the attributes it sent and the case."""

    token = models.CharField(_("token"), max_length=32, unique=True)
    client = models.ForeignKey(ApiClient, verbose_name=_("API client"), on_delete=models.PROTECT)
    client_request_id = models.CharField(_("client request id"), max_length=80, null=True, blank=True)
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="+")
    service_code = models.CharField(_("service code"), max_length=8)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    device_id = models.CharField(_("device id"), max_length=80, blank=True)
    account_id = models.CharField(_("account id"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "client_request_id"],
                condition=Q(client_request_id__isnull=False),
                name="portal_open311_idempotency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.token} → {self.case_id}"


class MachineSource(models.Model):
    """A sensor or camera platform posting signed webhooks to /public/webhooks/<code>/.

    ``field_map`` names where each of our fields sits in the source's JSON (dotted paths), so a
    new platform is configured, not coded: event_id, event_type, lon, lat, time, description,
    address, image_url. Coordinates arrive in ``crs`` (camera platforms often send GCJ-02)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    client = models.ForeignKey(
        ApiClient,
        verbose_name=_("API client (signing secret)"),
        on_delete=models.PROTECT,
        related_name="sources",
    )
    crs = models.CharField(_("coordinate system"), max_length=12, default="wgs84")
    field_map = models.JSONField(_("field map"), default=dict, blank=True)
    window_seconds = models.PositiveIntegerField(_("timestamp window (s)"), default=300)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("machine source")
        verbose_name_plural = _("machine sources")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class MachineEventType(models.Model):
    """Maps one event type of a machine source to our problem class code."""

    source = models.ForeignKey(MachineSource, on_delete=models.CASCADE, related_name="event_types")
    event_type = models.CharField(_("event type"), max_length=60)
    class_code = models.CharField(_("class code"), max_length=8)
    description = models.CharField(
        _("description template"),
        max_length=200,
        blank=True,
        help_text=_("used when the event carries no text"),
    )

    class Meta:
        verbose_name = _("machine event type")
        verbose_name_plural = _("machine event types")
        constraints = [
            models.UniqueConstraint(fields=["source", "event_type"], name="portal_event_type_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_type} → {self.class_code}"


class WebhookDelivery(models.Model):
    """A received webhook event, unique per (source, event id): a replayed or retried delivery
    finds this row and gets the first answer instead of a second case."""

    source = models.ForeignKey(MachineSource, on_delete=models.PROTECT, related_name="deliveries")
    event_id = models.CharField(_("event id"), max_length=80)
    body_sha256 = models.CharField(max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices)
    case_number = models.CharField(_("case number"), max_length=20, blank=True)
    created = models.BooleanField(_("opened a case"), default=False)
    error = models.CharField(_("error"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="portal_delivery_once")]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_id}"


class RateCounter(models.Model):
    """Requests counted per key (client, IP, phone) and fixed window; shared by all processes."""

    key = models.CharField(max_length=120)
    window = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("rate counter")
        verbose_name_plural = _("rate counters")
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="portal_rate_unique")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window}={self.count}"


class PhoneVerification(models.Model):
    """A one-time code sent to a citizen's phone; only a hash of the code is kept. A verified
    code yields a ticket the report form presents once."""

    phone = models.CharField(pgettext_lazy("mobile", "phone"), max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    ticket = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("phone verification")
        verbose_name_plural = _("phone verifications")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]}"
