"""Writes of the portal app: every one is a do_* action under one transaction with an audit record.

Reports from every outside channel (Open311 apps, webhooks, the public form) are handed to the
one intake of the case loop, ``urbangrid.cases.intake.do_intake``: locating, duplicates,
idempotency and the case's audit trail happen there, never here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.cases.notify import notify_phone
from urbangrid.geo.models import Region
from urbangrid.lib.access import is_admin, scope_for
from urbangrid.lib.audit import record
from urbangrid.lib.errors import InvalidInput, NotFound, PermissionDenied
from urbangrid.orgs.auth import TokenExpired, token_expiry

from .models import ApiClient, MachineSource, Open311Request, PhoneVerification, WebhookDelivery

KEY_PREFIX = "ugk"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _require_admin(actor) -> None:
    if not (getattr(actor, "is_superuser", False) or is_admin(scope_for(actor))):
        raise PermissionDenied(_("Only a system administrator may manage API clients."))


@transaction.atomic
def do_create_client(
    actor,
    *,
    name: str,
    channel: str = "open311",
    scopes=None,
    owner_unit=None,
    key_days: int | None = None,
    **extra,
):
    """Register a client; returns (client, plaintext key). The key is never stored; it expires
    after ``key_days`` days (None: URBANGRID_API_TOKEN_DAYS)."""
    _require_admin(actor)
    if not name.strip():
        raise InvalidInput(_("A client needs a name."), field="name")
    expires_at = token_expiry(key_days)
    client = ApiClient(
        name=name.strip(), key_id=secrets.token_hex(6), channel=channel, owner_unit=owner_unit, **extra
    )
    if scopes is not None:
        client.scopes = list(scopes)
    client.save()
    key = _issue(client, expires_at)
    record(
        actor,
        "portal.client_created",
        client,
        summary=client.name,
        channel=channel,
        scopes=client.scopes,
        key_expires_at=expires_at.isoformat(),
    )
    return client, key


def _issue(client: ApiClient, expires_at) -> str:
    key = f"{KEY_PREFIX}_{client.key_id}_{secrets.token_urlsafe(24)}"
    client.key_hash = hash_key(key)
    client.key_issued_at = timezone.now()
    client.key_expires_at = expires_at
    client.signing_secret = secrets.token_hex(32)
    client.save(update_fields=["key_hash", "key_issued_at", "key_expires_at", "signing_secret"])
    return key


@transaction.atomic
def do_issue_key(actor, client: ApiClient, key_days: int | None = None) -> str:
    """Issue a new key (and webhook signing secret) for the client, valid for ``key_days`` days
    (None: the default); the old ones stop working. The plaintext is returned once to be shown
    to the administrator."""
    _require_admin(actor)
    expires_at = token_expiry(key_days)
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    key = _issue(client, expires_at)
    record(actor, "portal.key_issued", client, summary=client.name, key_expires_at=expires_at.isoformat())
    return key


def check_key_expiry(client: ApiClient, now=None) -> None:
    """Refuse a client whose key (and signing secret) has expired, saying when."""
    until = client.key_valid_until
    if until is not None and until <= (now or timezone.now()):
        raise TokenExpired(until)


def authenticate_key(key: str | None) -> ApiClient | None:
    """The active client owning ``key``, or None; TokenExpired (401) when the key is right but
    has expired. Constant-time hash comparison."""
    if not key:
        return None
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    client = ApiClient.objects.filter(key_id=parts[1], is_active=True).first()
    if client is None or not client.key_hash:
        return None
    if not hmac.compare_digest(client.key_hash, hash_key(key.strip())):
        return None
    now = timezone.now()
    check_key_expiry(client, now)
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


def _intake_actor(client: ApiClient):
    """Anonymous for public channels; the hotline channel is reserved to staff by the intake, so
    a hotline system reports through its service account."""
    return client.acting_user if client.channel == "hotline" else None


# --- Open311 POST ----------------------------------------------------------------------------
@dataclass
class Submission:
    """A validated Open311 POST, ready for intake."""

    service_code: str
    description: str
    lon: float | None
    lat: float | None
    address: str
    attributes: dict
    media_url: str
    photos: list
    email: str
    phone: str
    first_name: str
    last_name: str
    device_id: str
    account_id: str
    request_id: str | None
    class_kind: str | None = None


def geocode_address(text: str) -> tuple[float, float, str]:
    """A coarse, transparent geocoder for address-only reports: the community (else street/town)
    whose name the text contains, longest name first; the report is placed at a point inside it
    and the centre verifies the exact spot. Raises InvalidInput when nothing matches."""

    text = (text or "").strip()
    if text:
        rows = Region.objects.filter(level__in=(3, 4), geometry_wkb__isnull=False).values_list(
            "id", "name", "level"
        )
        matches = [(len(name), level, rid) for rid, name, level in rows if name and name in text]
        if matches:
            _len, _level, rid = max(matches)
            point = Region.objects.get(pk=rid).geometry.representative_point()
            return point.x, point.y, "cgcs2000"
    raise InvalidInput(
        _("The address could not be placed on the map. Please send lat/long or name the community."),
        field="address_string",
    )


@transaction.atomic
def do_open311_request(client: ApiClient, sub: Submission):
    """Hand an Open311 request to the intake; returns (Open311Request, IntakeResult | None).

    A retry with the same client request id returns the first Open311Request (result None)."""

    if sub.request_id:
        first = Open311Request.objects.filter(client=client, client_request_id=sub.request_id).first()
        if first is not None:
            return first, None
    name = " ".join(p for p in (sub.first_name, sub.last_name) if p)
    lon, lat, crs = sub.lon, sub.lat, "wgs84"  # GeoReport v2 coordinates are WGS-84
    if lon is None:
        lon, lat, crs = geocode_address(sub.address)
    data = IntakeData(
        channel=client.channel,
        description=sub.description,
        lon=lon,
        lat=lat,
        crs=crs,
        address=sub.address,
        class_code=sub.service_code,
        reporter_name=name,
        reporter_phone=sub.phone,
        anonymous=not (name or sub.phone or sub.email),
        photos=sub.photos,
        extra={
            "class_kind": sub.class_kind,
            "open311": {
                "client": client.key_id,
                "service_code": sub.service_code,
                "attributes": sub.attributes,
                "media_url": sub.media_url,
                "email": sub.email,
                "device_id": sub.device_id,
                "account_id": sub.account_id,
            },
        },
    )
    result = do_intake(_intake_actor(client), data, client_key=client.key_id, request_id=sub.request_id)
    try:
        with transaction.atomic():
            row = Open311Request.objects.create(
                token=secrets.token_hex(12),
                client=client,
                client_request_id=sub.request_id,
                case=result.case,
                service_code=sub.service_code,
                attributes=sub.attributes,
                media_url=sub.media_url,
                device_id=sub.device_id,
                account_id=sub.account_id,
            )
    except IntegrityError:  # a concurrent retry recorded it first
        row = Open311Request.objects.get(client=client, client_request_id=sub.request_id)
        return row, None
    return row, result


# --- signed webhooks -------------------------------------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a source sends: hex HMAC-SHA256 over ``timestamp + "." + body``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@transaction.atomic
def do_receive_machine_event(
    source: MachineSource, *, event_id: str, body: bytes, data
) -> tuple[WebhookDelivery, bool]:
    """Record the delivery (unique per source and event id) and hand the event to the intake.

    Returns (delivery, replayed). A replay of an accepted event returns the first delivery; the
    same event id with a different body is refused."""

    body_hash = hashlib.sha256(body).hexdigest()
    first = WebhookDelivery.objects.filter(source=source, event_id=event_id).first()
    if first is not None:
        if first.body_sha256 != body_hash:
            from urbangrid.lib.errors import Conflict

            raise Conflict(_("This event id was already used with a different body."))
        return first, True
    result = do_intake(
        _intake_actor(source.client),
        data,
        client_key=source.client.key_id,
        request_id=f"{source.code}:{event_id}",
    )
    delivery = WebhookDelivery.objects.create(
        source=source,
        event_id=event_id,
        body_sha256=body_hash,
        state="accepted",
        case_number=result.case.number,
        created=bool(result.created),
    )
    return delivery, False


# --- phone verification ----------------------------------------------------------------------
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _code_hash(phone: str, code: str) -> str:

    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def do_send_phone_code(phone: str, *, ip: str | None = None) -> PhoneVerification:
    """Create a one-time code for ``phone`` and send it (after commit) through the outbound
    notification backend. Earlier unused codes of the phone stop working."""

    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    PhoneVerification.objects.filter(phone=phone, verified_at__isnull=True).update(expires_at=now)
    row = PhoneVerification.objects.create(
        phone=phone,
        code_hash=_code_hash(phone, code),
        ticket=secrets.token_urlsafe(24),
        ip=ip,
        expires_at=now + CODE_TTL,
    )
    record(None, "portal.phone_code_sent", row, summary=str(row), ip=ip)
    # The outbound backend (console log or the city's SMS webhook) delivers it after commit.
    text = _("Your verification code is %(code)s, valid for 10 minutes. Do not share it.") % {"code": code}
    notify_phone(phone, "phone_code", text)
    return row


def do_verify_phone_code(phone: str, code: str) -> str:
    """Check the code; returns the ticket the report form presents. Wrong codes count (5 max)."""
    now = timezone.now()
    row = PhoneVerification.objects.filter(phone=phone, verified_at__isnull=True, expires_at__gt=now).first()
    if row is None:
        raise InvalidInput(
            _("The code has expired or was never sent. Please request a new one."), field="code"
        )
    if row.attempts >= MAX_ATTEMPTS:
        raise InvalidInput(_("Too many wrong codes. Please request a new one."), field="code")
    if not hmac.compare_digest(row.code_hash, _code_hash(phone, (code or "").strip())):
        # Counted outside any rolled-back transaction so that guessing is limited.
        PhoneVerification.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
        raise InvalidInput(_("The code is not correct."), field="code")
    with transaction.atomic():
        PhoneVerification.objects.filter(pk=row.pk).update(verified_at=now)
        record(None, "portal.phone_verified", row, summary=str(row))
    return row.ticket


def use_phone_ticket(phone: str, ticket: str) -> None:
    """Consume a verified ticket for ``phone`` (inside the report's transaction)."""
    now = timezone.now()
    used = PhoneVerification.objects.filter(
        phone=phone,
        ticket=ticket or "-",
        verified_at__isnull=False,
        used_at__isnull=True,
        verified_at__gt=now - timedelta(hours=1),
    ).update(used_at=now)
    if not used:
        raise InvalidInput(_("Please verify your phone number first (or leave it empty)."), field="phone")


@transaction.atomic
def do_portal_report(data, *, phone_ticket: str = "", request_id: str | None = None):
    """A citizen's report from the public form: the verified phone (if any) is checked, then
    the intake does the rest. ``request_id`` (one per rendered form) makes a double submit
    return the first case."""

    if data.reporter_phone:
        from urbangrid.cases.models import Report

        retry = request_id and Report.objects.filter(client_key="portal", request_id=request_id).exists()
        if not retry:
            use_phone_ticket(data.reporter_phone, phone_ticket)
    return do_intake(None, data, client_key="portal", request_id=request_id)


def get_source(code: str) -> MachineSource:
    source = MachineSource.objects.select_related("client").filter(code=code, is_active=True).first()
    if source is None:
        raise NotFound(_("Unknown source."))
    return source
