"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/.

Every resource answers in XML (``.xml``, the spec's required format) and JSON (``.json``);
the format comes from the extension, else from ``?format=``, else XML. JSON lists are bare
arrays; errors are the spec's error list (code + description) with HTTP 400/403/404 (and 429
when a client exceeds its rate limit).

Tolerance for real clients: ``api_key`` in the query string or the body; empty parameters are
treated as absent; ``jurisdiction_id`` is accepted and ignored (one jurisdiction per deployment).

Extensions, documented in discovery:
- ``request_id`` (or the ``Idempotency-Key`` header) on POST makes a retry return the first
  service request instead of opening a second one.
- ``media`` multipart upload(s) on POST, in addition to ``media_url``.
- ``address_id`` is a 15-digit unit-grid code (the report is placed at the grid's centre).
- ``page`` / ``page_size`` on GET requests (default page size and maximum 1000).
- ``servicerequestupdates.[format]?start_date&end_date`` lists status changes for two-way sync
  (needs an API key with the ``open311:read`` scope).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from urbangrid.cases.choices import CaseState
from urbangrid.cases.models import CaseEvent
from urbangrid.catalog.cache import active_classes as cached
from urbangrid.catalog.models import ProblemClass
from urbangrid.catalog.queries import default_code_set
from urbangrid.lib import limits
from urbangrid.lib.bounds import check_moment
from urbangrid.lib.errors import DomainError, InvalidInput
from urbangrid.lib.paging import MAX_OFFSET
from urbangrid.orgs.auth import TokenExpired

from . import attributes as attr_mod
from .actions import Submission, authenticate_key, do_open311_request
from .models import Open311Request
from .queries import (
    expected_at,
    mask_text,
    open311_status,
    photos,
    public_cases,
    service_notice,
    status_notes,
)
from .ratelimit import RateLimited, hit

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00+08:00"
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000
# Child element names of XML lists (the Spark convention maps them to JSON arrays).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_request_updates": "request_update",
}


class Open311Error(Exception):
    def __init__(self, status: int, *messages: str, headers: dict | None = None) -> None:
        super().__init__(messages[0] if messages else "")
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}


# --- rendering -------------------------------------------------------------------------------
def iso(dt: datetime | None) -> str | None:
    return timezone.localtime(dt).isoformat(timespec="seconds") if dt else None


def _xml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return escape(str(value))


def _xml(tag: str, value) -> str:
    if value is None or value == "":
        return f"<{tag}/>"
    if isinstance(value, list):
        child = ITEM_TAGS.get(tag, "item")
        return f"<{tag}>" + "".join(_xml(child, v) for v in value) + f"</{tag}>"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml(k, v) for k, v in value.items()) + f"</{tag}>"
    return f"<{tag}>{_xml_value(value)}</{tag}>"


def render(fmt: str, root: str, body, status: int = 200, headers: dict | None = None) -> HttpResponse:
    """``body`` is a list (rendered as <root><item/>…</root> / a bare JSON array) or a dict."""
    if fmt == "json":
        text = json.dumps(body, ensure_ascii=False)
    else:
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + _xml(root, body)
    response = HttpResponse(text, content_type=FORMATS[fmt], status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    response["Access-Control-Allow-Origin"] = "*"  # public read API for browser-based apps
    return response


def render_errors(fmt: str, status: int, messages: list[str], headers: dict | None = None) -> HttpResponse:
    return render(fmt, "errors", [{"code": status, "description": m} for m in messages], status, headers)


# --- parameters ------------------------------------------------------------------------------
def pick_format(request, fmt: str | None) -> str:
    fmt = (fmt or request.GET.get("format") or "xml").lower().lstrip(".")
    if fmt not in FORMATS:
        raise Open311Error(400, _("Unsupported format %(format)s: use xml or json.") % {"format": fmt})
    return fmt


def params(request) -> dict[str, list[str]]:
    """Query and body parameters merged (body wins), empty values dropped (spec: an empty
    parameter is the same as a missing one). A JSON object body is accepted too."""
    merged: dict[str, list[str]] = {}
    sources = [request.GET]
    if request.method == "POST":
        if (request.content_type or "").startswith("application/json"):
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                raise Open311Error(400, _("The JSON body is not valid.")) from None
            if not isinstance(data, dict):
                raise Open311Error(400, _("The JSON body must be an object."))
            sources.append({k: v if isinstance(v, list) else [v] for k, v in data.items()})
        else:
            sources.append(request.POST)
    for src in sources:
        for key in src:
            values = src.getlist(key) if hasattr(src, "getlist") else src[key]
            values = ["" if v is None else str(v) for v in values]
            values = [v for v in values if v.strip() != ""]
            if values:
                merged[key] = values
    return merged


def one(p: dict, name: str) -> str:
    values = p.get(name)
    return values[-1].strip() if values else ""


def csv(p: dict, name: str) -> list[str]:
    out: list[str] = []
    for v in p.get(name, []):
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def parse_when(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value.replace(" ", "+") if value.count(" ") == 1 and "T" in value else value)
    except ValueError:
        moment = None
    if moment is None:
        day = parse_date(value) if len(value) == 10 else None
        if day is None:
            raise Open311Error(
                400, _("%(name)s must be a W3C date and time, e.g. 2010-01-01T00:00:00Z") % {"name": name}
            )
        moment = datetime(day.year, day.month, day.day)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        return check_moment(moment)
    except ValueError as exc:
        raise Open311Error(400, f"{name}：{exc}") from None


def date_range(p: dict) -> tuple[datetime, datetime]:
    """start_date/end_date with the spec's defaults: the most recent 90 days, never more."""
    start = parse_when(one(p, "start_date"), "start_date")
    end = parse_when(one(p, "end_date"), "end_date")
    now = timezone.now()
    if start is None and end is None:
        end, start = now, now - MAX_SPAN
    elif start is None:
        start = end - MAX_SPAN
    elif end is None:
        end = min(now, start + MAX_SPAN) if start < now else start + MAX_SPAN
    if end < start:
        raise Open311Error(400, _("end_date is before start_date."))
    if end - start > MAX_SPAN:
        raise Open311Error(400, _("The date range may not span more than 90 days."))
    return start, end


def paging(p: dict) -> tuple[int, int]:
    try:
        page = int(one(p, "page") or 1)
        size = int(one(p, "page_size") or MAX_PAGE_SIZE)
    except ValueError:
        raise Open311Error(400, _("page and page_size must be whole numbers.")) from None
    if page < 1 or size < 1:
        raise Open311Error(400, _("page and page_size must be positive."))
    if (page - 1) * min(size, MAX_PAGE_SIZE) > MAX_OFFSET:
        raise Open311Error(400, _("page is too large: narrow the date range instead."))
    return page, min(size, MAX_PAGE_SIZE)


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def require_client(request, p: dict, scope: str):

    key = one(p, "api_key") or request.headers.get("X-Api-Key", "")
    if not key:
        raise Open311Error(403, _("api_key was not provided."))
    try:
        client = authenticate_key(key)
    except TokenExpired as exc:
        raise Open311Error(401, exc.message) from None
    if client is None:
        raise Open311Error(403, _("api_key is not valid."))
    if not client.has_scope(scope):
        raise Open311Error(403, _("This api_key may not use %(scope)s.") % {"scope": scope})
    limit_client(client)
    return client


def limit_client(client) -> None:
    hit(f"client:{client.pk}:m", client.rate_per_minute, 60)
    hit(f"client:{client.pk}:d", client.rate_per_day, 86400)


def limit_anonymous_read(request) -> None:
    hit(f"o311ip:{client_ip(request)}", 120, 60)


# --- view wrapper ----------------------------------------------------------------------------
def bad_input(request, status: int, code: str, message: str) -> HttpResponse:
    """Input refused before the view (NUL characters, oversized bodies), in Open311's format."""
    try:
        fmt = pick_format(request, request.resolver_match.kwargs.get("fmt"))
    except Open311Error:
        fmt = "xml"
    return render_errors(fmt, status, [message])


def endpoint(root: str, methods=("GET",)):
    def wrap(fn):
        @csrf_exempt
        def view(request, fmt=None, **kwargs):
            fmt_name = "xml"
            try:
                fmt_name = pick_format(request, fmt)
                if request.method not in methods:
                    response = render_errors(
                        fmt_name, 405, [_("Method %(m)s is not allowed here.") % {"m": request.method}]
                    )
                    response["Allow"] = ", ".join(methods)
                    return response
                body, status, headers = fn(request, fmt_name, **kwargs)
                return render(fmt_name, root, body, status, headers)
            except Open311Error as exc:
                return render_errors(fmt_name, exc.status, exc.messages, exc.headers)
            except RateLimited as exc:
                return render_errors(fmt_name, 429, [exc.message], {"Retry-After": str(exc.retry_after)})
            except DomainError as exc:
                status = exc.status if exc.status in (400, 403, 404) else 400
                return render_errors(fmt_name, status, [exc.message])

        view.__name__ = fn.__name__
        view.bad_input = bad_input  # type: ignore[attr-defined]  # see urbangrid.lib.middleware
        return view

    return wrap


# --- resources -------------------------------------------------------------------------------
def active_classes():

    return (
        ProblemClass.objects.filter(code_set__is_default=True, is_active=True)
        .prefetch_related("open311_attributes")
        .order_by("code")
    )


def find_class(code: str):
    """The service a service_code names: its key (E06001), or a code that names one service only
    (older clients); a code shared by a component and an event is refused with the choices."""

    cs = default_code_set()
    try:
        found = cached().resolve(code, code_set=cs.code if cs else None)
    except InvalidInput as exc:
        if exc.details:
            raise Open311Error(400, exc.message) from None
        found = None
    # The cache may lag a class switched off moments ago: the database has the last word.
    cls = active_classes().filter(pk=found.pk).first() if found is not None else None
    if cls is None:
        raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": code})
    return cls


def _listed_class(code: str):
    """A service_code filter of GET requests: an unknown code matches nothing."""
    try:
        return find_class(code).pk
    except Open311Error as exc:
        if exc.status == 404:
            return None
        raise


@endpoint("discovery")
def discovery(request, fmt):
    base = request.build_absolute_uri("/open311/v2/")
    city = settings.URBANGRID.get("CITY_NAME", "")
    body = {
        "changeset": CHANGESET,
        "contact": _("%(city)s urban supervision and command centre") % {"city": city},
        "key_service": _(
            "API keys are issued by the supervision and command centre (admin: API clients). "
            "POST accepts request_id for idempotent retries and multipart media uploads."
        ),
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(f.split(";")[0] for f in FORMATS.values()),
            }
        ],
    }
    return body, 200, None


@endpoint("services")
def services(request, fmt):
    limit_anonymous_read(request)
    out = []
    for cls in active_classes():
        attrs = attr_mod.attributes_for(cls, list(cls.open311_attributes.all()))
        out.append(
            {
                "service_code": cls.key,
                "service_name": cls.name,
                "description": cls.acceptance_condition or cls.name,
                "metadata": bool(attrs),
                "type": "realtime",
                "keywords": ", ".join(
                    k.strip() for k in (cls.keywords or "").replace("，", ",").split(",") if k.strip()
                ),
                "group": cls.major_name,
            }
        )
    return out, 200, None


@endpoint("service_definition")
def service_definition(request, fmt, code):
    limit_anonymous_read(request)
    cls = find_class(code)
    attrs = attr_mod.attributes_for(cls, list(cls.open311_attributes.all()))
    return {"service_code": cls.key, "attributes": [a.as_dict() for a in attrs]}, 200, None


def serialize_case(request, case, media_urls: dict) -> dict:

    pics = photos(case, "report")
    media = request.build_absolute_uri(pics[0].file.url) if pics else media_urls.get(case.id, "")
    cls = case.problem_class
    return {
        "service_request_id": case.number,
        "status": open311_status(case.state),
        "status_notes": status_notes(case),
        "service_name": cls.name if cls else "",
        "service_code": cls.key if cls else "",
        "description": mask_text(case.description),
        "agency_responsible": case.assigned_unit.name if case.assigned_unit_id else "",
        "service_notice": service_notice(cls),
        "requested_datetime": iso(case.reported_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(expected_at(case)),
        "address": mask_text(case.address),
        "address_id": case.grid_code,
        "zipcode": "",
        "lat": round(case.lat, 6) if case.lat is not None else "",
        "long": round(case.lon, 6) if case.lon is not None else "",
        "media_url": media,
    }


def _media_urls(cases) -> dict:

    ids = [c.id for c in cases]
    rows = (
        Open311Request.objects.filter(case_id__in=ids)
        .exclude(media_url="")
        .values_list("case_id", "media_url")
    )
    return dict(rows)


@csrf_exempt
def requests_view(request, fmt=None):
    """GET lists service requests, POST creates one (same URL, as the spec has it)."""
    if request.method == "POST":
        return post_request(request, fmt=fmt)
    return get_requests(request, fmt=fmt)


requests_view.bad_input = bad_input  # type: ignore[attr-defined]


@endpoint("service_requests")
def get_requests(request, fmt):

    p = params(request)
    limit_anonymous_read(request)
    qs = public_cases()
    ids = csv(p, "service_request_id")
    if ids:  # overrides every other argument
        cases = list(qs.filter(number__in=ids[:MAX_PAGE_SIZE]).order_by("-reported_at", "-id"))
    else:
        start, end = date_range(p)
        qs = qs.filter(reported_at__gte=start, reported_at__lte=end)
        codes = csv(p, "service_code")
        if codes:
            qs = qs.filter(problem_class__in=[_listed_class(c) for c in codes])
        statuses = {s.lower() for s in csv(p, "status")}
        bad = statuses - {"open", "closed"}
        if bad:
            raise Open311Error(400, _("status must be open or closed."))
        from urbangrid.cases.choices import FINAL_STATES

        if statuses == {"open"}:
            qs = qs.exclude(state__in=FINAL_STATES)
        elif statuses == {"closed"}:
            qs = qs.filter(state__in=FINAL_STATES)
        page, size = paging(p)
        cases = list(qs.order_by("-reported_at", "-id")[(page - 1) * size : page * size])
    media = _media_urls(cases)
    return [serialize_case(request, c, media) for c in cases], 200, None


@endpoint("service_requests", methods=("GET",))
def get_request(request, fmt, request_id):

    limit_anonymous_read(request)
    case = public_cases().filter(number=request_id).first()
    if case is None:
        raise Open311Error(404, _("service_request_id %(id)s was not found.") % {"id": request_id})
    return [serialize_case(request, case, _media_urls([case]))], 200, None


@endpoint("service_requests", methods=("GET",))
def token_view(request, fmt, token):

    limit_anonymous_read(request)
    row = Open311Request.objects.select_related("case").filter(token=token).first()
    if row is None:
        raise Open311Error(404, _("token %(token)s was not found.") % {"token": token})
    return [{"service_request_id": row.case.number, "token": row.token}], 200, None


def _attribute_values(p: dict) -> dict[str, list[str]]:
    """attribute[code]=v and attribute[code][]=v1&attribute[code][]=v2 → {code: [values]}."""
    out: dict[str, list[str]] = {}
    for key, values in p.items():
        if not key.startswith("attribute[") or "]" not in key:
            continue
        code = key[len("attribute[") : key.index("]")]
        out.setdefault(code, []).extend(values)
    return out


def _float(p: dict, name: str) -> float | None:
    raw = one(p, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, _("%(name)s must be a decimal number.") % {"name": name}) from None
    if not math.isfinite(value):
        raise Open311Error(400, _("%(name)s must be a decimal number.") % {"name": name})
    return value


@endpoint("service_requests", methods=("POST",))
def post_request(request, fmt):

    p = params(request)
    client = require_client(request, p, "open311:post")
    code = one(p, "service_code")
    if not code:
        raise Open311Error(400, _("service_code was not provided."))
    cls = find_class(code)
    lat, lon = _float(p, "lat"), _float(p, "long")
    address = one(p, "address_string")
    limits.check_length(address, limits.ADDRESS_MAX, field="address_string", label="address_string")
    address_id = one(p, "address_id")
    if (lat is None) != (lon is None):
        raise Open311Error(400, _("lat and long must be given together."))
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Open311Error(400, _("lat/long are out of range."))
    if lat is None and address_id:
        from urbangrid.geo.models import UnitGrid

        grid = UnitGrid.objects.current().filter(code=address_id).first()
        if grid is None:
            raise Open311Error(404, _("address_id %(id)s was not found.") % {"id": address_id})
        lon, lat = grid.centroid_lon, grid.centroid_lat
    if lat is None and not address:
        raise Open311Error(400, _("A location is required: lat and long, address_string or address_id."))
    description = one(p, "description")
    for name, limit in (
        ("description", limits.DESCRIPTION_MAX),
        ("email", limits.EMAIL_MAX),
        ("phone", limits.PHONE_MAX),
        ("first_name", limits.NAME_MAX // 2),  # the two names join into the reporter's name
        ("last_name", limits.NAME_MAX // 2),
        ("device_id", limits.IDENTIFIER_MAX),
        ("account_id", limits.IDENTIFIER_MAX),
        ("media_url", limits.URL_MAX),
    ):
        limits.check_length(one(p, name), limit, field=name, label=name)
    values, errors = attr_mod.validate(
        attr_mod.attributes_for(cls, list(cls.open311_attributes.all())), _attribute_values(p)
    )
    if errors:
        raise Open311Error(400, *errors)
    media_url = one(p, "media_url")
    if media_url and not media_url.lower().startswith(("http://", "https://")):
        raise Open311Error(400, _("media_url must be an http(s) URL."))
    request_id = (one(p, "request_id") or request.headers.get("Idempotency-Key", "")).strip()[:80] or None
    sub = Submission(
        service_code=cls.key,
        description=description,
        lon=lon,
        lat=lat,
        address=address,
        attributes=values,
        media_url=media_url,
        photos=request.FILES.getlist("media"),
        email=one(p, "email"),
        phone=one(p, "phone"),
        first_name=one(p, "first_name"),
        last_name=one(p, "last_name"),
        device_id=one(p, "device_id"),
        account_id=one(p, "account_id"),
        request_id=request_id,
        class_kind=cls.kind,
    )
    row, result = do_open311_request(client, sub)
    notice = service_notice(cls)
    if result is not None and not result.created:
        notice = (
            _("Already reported: your report was added to request %(number)s. ") % {"number": row.case.number}
            + notice
        )
    body = [
        {
            "service_request_id": row.case.number,
            "service_notice": notice,
            "account_id": row.account_id or None,
        }
    ]
    return body, 200, {"X-Open311-Token": row.token}


@endpoint("service_request_updates")
def updates(request, fmt):

    p = params(request)
    require_client(request, p, "open311:read")
    start, end = date_range(p)
    page, size = paging(p)
    events = (
        CaseEvent.objects.filter(at__gte=start, at__lte=end)
        .exclude(to_state="")
        .select_related("case")
        .order_by("at", "id")[(page - 1) * size : page * size]
    )
    out = []
    for e in events:
        label = CaseState(e.to_state).label if e.to_state in CaseState.values else e.to_state
        out.append(
            {
                "update_id": str(e.id),
                "service_request_id": e.case.number,
                "status": open311_status(e.to_state),
                "external_status_code": e.to_state,
                "updated_datetime": iso(e.at),
                "description": str(label),
                "media_url": "",
            }
        )
    return out, 200, None
