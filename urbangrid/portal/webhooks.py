"""Signed webhooks for machine reports (sensor and camera platforms): POST /public/webhooks/<source>/.

Headers:
- ``X-Urbangrid-Timestamp``: Unix seconds; refused outside the source's window (default ±300 s).
- ``X-Urbangrid-Signature``: ``sha256=<hex HMAC-SHA256 of timestamp + "." + raw body>`` with the
  client's signing secret.
- ``X-Urbangrid-Event-Id`` (optional): the event id, else taken from the body via the field map.
The JSON body is read through the source's field map; the event type maps to our class code and
the coordinates are in the source's CRS. An event id is accepted once: a replay or a retry gets
the first answer (``replayed: true``) and opens nothing. Answers are JSON: 202 accepted,
400 schema errors, 401 signature/timestamp, 403 scope, 404 unknown source, 409 reused event id
with another body, 429 rate limit.
"""

from __future__ import annotations

import hmac
import json
import logging
import time

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from urbangrid.cases.intake import IntakeData
from urbangrid.lib.errors import DomainError, InvalidInput
from urbangrid.lib.middleware import json_bad_input
from urbangrid.orgs.auth import TokenExpired

from .actions import check_key_expiry, do_receive_machine_event, get_source, sign
from .ratelimit import RateLimited, hit

log = logging.getLogger("urbangrid.portal.webhooks")

DEFAULT_FIELDS = {
    "event_id": "event_id",
    "event_type": "event_type",
    "lon": "lon",
    "lat": "lat",
    "time": "time",
    "description": "description",
    "address": "address",
    "image_url": "image_url",
}


def _get(data, path: str):
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _error(status: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse(
        {"code": code, "detail": detail, **extra}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def parse_event(source, data: dict, header_event_id: str = ""):
    """Turn a source's JSON event into (event_id, IntakeData); InvalidInput on schema errors."""

    fields = {**DEFAULT_FIELDS, **(source.field_map or {})}
    event_id = header_event_id or _get(data, fields["event_id"])
    if event_id in (None, ""):
        raise InvalidInput(_("The event has no event id."), field="event_id")
    event_type = _get(data, fields["event_type"])
    if event_type in (None, ""):
        raise InvalidInput(_("The event has no event type."), field="event_type")
    mapping = source.event_types.filter(event_type=str(event_type)).first()
    if mapping is None:
        raise InvalidInput(
            _("Event type %(type)s is not mapped to a problem class for this source.") % {"type": event_type},
            field="event_type",
        )
    try:
        lon = float(_get(data, fields["lon"]))
        lat = float(_get(data, fields["lat"]))
    except (TypeError, ValueError):
        raise InvalidInput(_("The event needs numeric coordinates."), field="lon") from None
    description = _get(data, fields["description"]) or mapping.description or str(event_type)
    extra = {
        "machine": {
            "source": source.code,
            "event_id": str(event_id),
            "event_type": str(event_type),
            "time": _get(data, fields["time"]),
            "image_url": _get(data, fields["image_url"]),
        }
    }
    intake = IntakeData(
        channel=source.client.channel,
        description=f"[{source.name}] {description}",  # too long: refused by the intake's limit
        lon=lon,
        lat=lat,
        crs=source.crs,
        address=str(_get(data, fields["address"]) or ""),
        class_code=mapping.class_code,
        reporter_name=source.name[:60],
        reporter_phone="",
        anonymous=True,
        photos=[],
        extra=extra,
    )
    return str(event_id)[:80], intake


@csrf_exempt
@require_POST
def receive(request, source: str):

    try:
        src = get_source(source)
    except DomainError as exc:
        return _error(404, "not_found", exc.message)
    client = src.client
    if not client.is_active or not client.has_scope("webhook"):
        return _error(403, "forbidden", _("This client may not post webhooks."))
    stamp = request.headers.get("X-Urbangrid-Timestamp", "")
    signature = request.headers.get("X-Urbangrid-Signature", "")
    if not stamp or not signature:
        return _error(401, "unsigned", _("Signature and timestamp headers are required."))
    try:
        ts = int(stamp)
    except ValueError:
        return _error(401, "bad_timestamp", _("The timestamp must be Unix seconds."))
    if abs(time.time() - ts) > src.window_seconds:
        return _error(401, "stale", _("The timestamp is outside the allowed window."))
    body = request.body
    expected = "sha256=" + sign(client.signing_secret, stamp, body)
    if not client.signing_secret or not hmac.compare_digest(expected, signature.strip()):
        return _error(401, "bad_signature", _("The signature does not match."))
    try:
        check_key_expiry(client)  # the signing secret was issued with the key and ends with it
    except TokenExpired as exc:
        return _error(401, exc.code, exc.message)
    try:
        hit(f"client:{client.pk}:m", client.rate_per_minute, 60)
        hit(f"client:{client.pk}:d", client.rate_per_day, 86400)
    except RateLimited as exc:
        response = _error(429, exc.code, exc.message, retry_after=exc.retry_after)
        response["Retry-After"] = str(exc.retry_after)
        return response
    try:
        data = json.loads(body)
    except ValueError:
        return _error(400, "invalid", _("The body is not valid JSON."))
    if not isinstance(data, dict):
        return _error(400, "invalid", _("The body must be a JSON object."))
    try:
        event_id, intake = parse_event(src, data, request.headers.get("X-Urbangrid-Event-Id", ""))
        delivery, replayed = do_receive_machine_event(src, event_id=event_id, body=body, data=intake)
    except DomainError as exc:
        log.info("webhook %s rejected: %s", src.code, exc.message)
        return _error(
            exc.status if exc.status in (400, 404, 409) else 400, exc.code, exc.message, field=exc.field
        )
    return JsonResponse(
        {
            "event_id": delivery.event_id,
            "case_number": delivery.case_number,
            "created": delivery.created,
            "replayed": replayed,
        },
        status=200 if replayed else 202,
    )


receive.bad_input = json_bad_input  # type: ignore[attr-defined]  # see urbangrid.lib.middleware
