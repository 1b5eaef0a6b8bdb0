"""Pages of the public portal (no account): report a problem, follow it, statistics and the
publicity page; plus the small JSON endpoints the report page uses (boundaries, nearby open
problems, class suggestions, phone codes). Everything here shows public data only."""

from __future__ import annotations

import hmac
import re
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from shapely import from_wkb, simplify
from shapely.geometry import mapping

from urbangrid.cases.intake import IntakeData
from urbangrid.cases.models import Case
from urbangrid.catalog.choices import TimeUnit
from urbangrid.catalog.models import ProblemClass
from urbangrid.geo.models import GeoRevision, Region, UnitGrid
from urbangrid.lib import limits
from urbangrid.lib.errors import DomainError, InvalidInput
from urbangrid.orgs.models import GridAssignment, Unit

from . import queries
from .actions import do_portal_report, do_send_phone_code, do_verify_phone_code, geocode_address
from .ratelimit import RateLimited, hit

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
MIN_FILL_SECONDS = 3
MAX_PHOTOS = 3
FORM_SALT = "portal.report.form"


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _json_error(exc: DomainError, status: int | None = None) -> JsonResponse:
    body = exc.as_dict()
    response = JsonResponse(body, status=status or exc.status, json_dumps_params={"ensure_ascii": False})
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _classes():

    return list(
        ProblemClass.objects.filter(code_set__is_default=True, is_active=True).order_by(
            "kind", "major_code", "code"
        )
    )


def _map_config() -> dict:
    conf = settings.URBANGRID
    return {"tileUrl": conf.get("MAP_TILE_URL", ""), "regionsUrl": reverse("portal:regions")}


def _form_context(request, values=None, errors=None):
    groups: dict[str, list] = {}
    for c in _classes():
        # Components and events both have a 市容环境 major class: the kind tells them apart.
        groups.setdefault(f"{c.major_name}（{c.get_kind_display()}）", []).append(c)
    return {
        "groups": groups,
        "values": values or {},
        "errors": errors or {},
        "started": signing.dumps(time.time(), salt=FORM_SALT),
        "request_id": (values or {}).get("request_id") or uuid.uuid4().hex,
        "map_config": _map_config(),
        "max_photos": MAX_PHOTOS,
        "limits": limits,
        "texts": {
            "picked": _("Position picked:"),
            "unclassified": _("Being classified"),
            "metres": _(" m"),
            "verifyFirst": _("Please verify your phone number first (or leave it empty)."),
        },
    }


def index(request):
    """The report page (the portal's home)."""
    if request.method == "POST":
        return _submit(request)
    return render(request, "portal/report.html", _form_context(request))


def _form_values(post) -> dict:
    values = {
        k: post.get(k, "").strip()
        for k in ("description", "class_code", "lon", "lat", "address", "phone", "request_id")
    }
    values["phone_ticket"] = post.get("phone_ticket", "")
    return values


def _check_not_abuse(request, errors: dict) -> None:
    """Abuse protection without captcha: honeypot, minimum fill time, per-IP limits."""
    post = request.POST
    if post.get("website"):
        errors["form"] = _("The form could not be accepted.")
    try:
        started = float(signing.loads(post.get("started", ""), salt=FORM_SALT, max_age=6 * 3600))
        if time.time() - started < MIN_FILL_SECONDS:
            errors["form"] = _("The form was submitted too quickly. Please check it and submit again.")
    except (signing.BadSignature, TypeError, ValueError):
        errors["form"] = _("The form has expired. Please submit it again.")
    try:
        hit(f"portal:report:ip:{client_ip(request)}", 10, 3600)
        hit(f"portal:report:ipday:{client_ip(request)}", 30, 86400)
    except RateLimited as exc:
        errors["form"] = exc.message


def _check_texts(values: dict, errors: dict) -> None:
    if len(values["description"]) < 5:
        errors["description"] = _("Please describe the problem (at least 5 characters).")
    for name, limit, label, shown_at in (
        ("description", limits.DESCRIPTION_MAX, _("The description"), "description"),
        ("address", limits.ADDRESS_MAX, _("The address"), "location"),
    ):
        try:
            limits.check_length(values[name], limit, field=name, label=label)
        except InvalidInput as exc:
            errors[shown_at] = exc.message


def _map_position(values: dict, errors: dict) -> tuple[float | None, float | None]:
    """The position picked on the map, if any; without one the address must say where."""
    lon = lat = None
    if values["lon"] or values["lat"]:
        try:
            lon, lat = float(values["lon"]), float(values["lat"])
        except ValueError:
            errors["location"] = _("The map position is not valid. Please pick it again.")
    if lon is None and len(values["address"]) < 4 and "location" not in errors:
        errors["location"] = _("Please pick the place on the map or type its address.")
    return lon, lat


def _checked_phone(values: dict, errors: dict) -> str:
    """The optional mobile number, without spaces; each number may report a few times a day."""
    phone = values["phone"].replace(" ", "")
    if not phone:
        return phone
    if not PHONE_RE.match(phone):
        errors["phone"] = _("Please enter an 11-digit mobile number, or leave it empty.")
        return phone
    try:
        hit(f"portal:report:phone:{phone}", 5, 86400)
    except RateLimited as exc:
        errors["phone"] = exc.message
    return phone


def _geocoded(address: str, errors: dict):
    """(lon, lat, crs) of a typed address, or Nones with the error."""

    try:
        return geocode_address(address)
    except DomainError:
        errors["location"] = _("We could not find this address. Please pick the place on the map.")
        return None, None, "wgs84"


# Errors on these fields are shown beside them; any other beside the whole form.
_FIELD_ERRORS = ("phone", "description", "photos", "class_code")


def _thank(request, result) -> None:
    number = result.case.number
    if result.created:
        message = _("Thank you. Your report was received as case %(number)s.") % {"number": number}
    else:
        message = _(
            "Thank you. The problem was already reported; your report was added to case %(number)s."
        ) % {"number": number}
    messages.success(request, message)


def _file_report(request, data, values: dict, errors: dict):
    """Files the checked report; the case's page, or None with the refusal in ``errors``."""

    try:
        result = do_portal_report(
            data, phone_ticket=values["phone_ticket"], request_id=values["request_id"] or None
        )
    except DomainError as exc:
        errors[exc.field if exc.field in _FIELD_ERRORS else "form"] = exc.message
        return None
    _thank(request, result)
    return redirect("portal:case", token=result.case.public_token)


def _submit(request):

    values = _form_values(request.POST)
    errors: dict[str, str] = {}
    _check_not_abuse(request, errors)
    _check_texts(values, errors)
    lon, lat = _map_position(values, errors)
    phone = _checked_phone(values, errors)
    photos = request.FILES.getlist("photos")
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = _("At most %(n)d photos.") % {"n": MAX_PHOTOS}
    crs = "wgs84"
    if not errors and lon is None:
        lon, lat, crs = _geocoded(values["address"], errors)
    if not errors:
        data = IntakeData(
            channel="citizen_web",
            description=values["description"],
            lon=lon,
            lat=lat,
            crs=crs,
            address=values["address"],
            class_code=values["class_code"] or None,
            reporter_name="",
            reporter_phone=phone,
            anonymous=not phone,
            photos=photos,
            extra={"portal": {"ip": client_ip(request)}},
        )
        page = _file_report(request, data, values, errors)
        if page is not None:
            return page
    # 200 like any re-displayed form: the page itself loaded fine, the errors are in it.
    context = _form_context(request, values, errors)
    return render(request, "portal/report.html", context)


def _case_page(request, case, *, via_token: bool):
    case = queries.public_cases().get(pk=case.pk)
    context = {
        "case": case,
        "description": queries.mask_text(case.description),
        "address": queries.mask_text(case.address),
        "timeline": queries.public_timeline(case),
        "status": queries.open311_status(case.state),
        "state_label": queries.status_notes(case),
        "expected": queries.expected_at(case),
        "before": queries.photos(case, "report") + queries.photos(case, "before"),
        "after": queries.photos(case, "after"),
        "via_token": via_token,
        "follow_url": request.build_absolute_uri(reverse("portal:case", args=[case.public_token]))
        if via_token
        else "",
    }
    return render(request, "portal/case.html", context)


def case_by_token(request, token: str):

    case = Case.objects.filter(public_token=token).first()
    if case is None:
        raise Http404
    return _case_page(request, case, via_token=True)


def follow(request):
    """Follow progress by case number and the last four digits of the reporter's phone (case
    numbers are sequential: a number alone would let anyone walk through every report). Without
    a phone, the link given at reporting is the way to follow."""

    number = (request.GET.get("number") or "").strip()
    phone4 = (request.GET.get("phone4") or "").strip()
    context = {"number": number, "phone4": phone4}
    if number or phone4:
        try:
            hit(f"portal:follow:ip:{client_ip(request)}", 60, 60)
            # Ten tries an hour per number make guessing four digits useless.
            hit(f"portal:follow:number:{number[:40]}", 10, 3600)
        except RateLimited as exc:
            context["error"] = exc.message
            return render(request, "portal/follow.html", context, status=429)
        case = Case.objects.filter(number=number).only("id", "reporter_phone").first()
        if case is not None and _phone_ends_with(case.reporter_phone, phone4):
            return _case_page(request, case, via_token=False)
        # The same answer whether the number or the digits are wrong: nothing to enumerate.
        context["error"] = _(
            "No case matches this number and these phone digits. A report made without a phone "
            "number can be followed only with the link given when it was made."
        )
        return render(request, "portal/follow.html", context, status=404)
    return render(request, "portal/follow.html", context)


def _phone_ends_with(phone: str, last4: str) -> bool:
    digits = "".join(c for c in phone or "" if c.isdigit())
    return len(digits) >= 4 and len(last4) == 4 and hmac.compare_digest(digits[-4:], last4)


def stats(request):
    start, end = queries.month_bounds()
    context = {
        "month": timezone.localtime(start),
        "totals": queries.month_stats(start, end),
        "streets": queries.by_street(start, end),
        "recent": queries.recent_closed_with_photos(),
    }
    return render(request, "portal/stats.html", context)


def publicity(request):
    """M1 publicity: methods (channels, grids, standards), measures and results from the data."""

    start, end = queries.month_bounds()
    year_start = timezone.localtime(start).replace(month=1)
    series = queries.monthly_series(12)
    peak = max([r["received"] for r in series] + [1])
    today = timezone.localdate()
    context = {
        "series": series,
        "peak": peak,
        "classes": queries.classes_handled(year_start, end),
        "year": year_start.year,
        "grids": UnitGrid.objects.current().count(),
        "communities": Region.objects.filter(level=4).count(),
        "streets": Region.objects.filter(level=3).count(),
        "supervisors": GridAssignment.objects.filter(valid_from__lte=today)
        .exclude(valid_to__lt=today)
        .values("person_id")
        .distinct()
        .count(),
        "units": Unit.objects.filter(is_active=True).count(),
        "standards": ProblemClass.objects.filter(code_set__is_default=True, is_active=True)
        .order_by("major_code", "code")
        .values("code", "name", "time_limit", "time_unit", "major_name")[:200],
    }

    units = dict(TimeUnit.choices)
    for s in context["standards"]:
        s["time_unit_label"] = units.get(s["time_unit"], s["time_unit"])
        s["time_limit"] = f"{s['time_limit'].normalize():f}"
    return render(request, "portal/publicity.html", context)


# --- JSON used by the report page ------------------------------------------------------------
@require_GET
def regions(request):
    """Street/town and community boundaries (public, simplified), cached per geometry revision."""

    key = f"portal:regions:{GeoRevision.current()}:{Region.objects.count()}"
    data = cache.get(key)
    if data is None:
        features = []
        rows = Region.objects.filter(level__in=(3, 4), geometry_wkb__isnull=False).values_list(
            "code", "name", "level", "geometry_wkb"
        )
        for code, name, level, wkb in rows:
            geom = simplify(from_wkb(bytes(wkb)), 0.00005 if level == 4 else 0.0001, preserve_topology=True)
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": name, "level": level},
                    "geometry": mapping(geom),
                }
            )
        data = {"type": "FeatureCollection", "features": features}
        cache.set(key, data, 3600)
    return JsonResponse(data)


@require_GET
def nearby(request):
    try:
        lon, lat = float(request.GET["lon"]), float(request.GET["lat"])
    except (KeyError, ValueError):
        return _json_error(InvalidInput(_("lon and lat are required numbers.")))
    try:
        hit(f"portal:nearby:ip:{client_ip(request)}", 120, 60)
    except RateLimited as exc:
        return _json_error(exc)
    return JsonResponse({"cases": queries.nearby_open(lon, lat)}, json_dumps_params={"ensure_ascii": False})


@require_POST
def suggest(request):
    # POST: a long description in the query string overflows the server's request line (414).
    text = (request.POST.get("text") or "").strip()[:500]
    if len(text) < 2:
        return JsonResponse({"suggestions": []})
    try:
        from urbangrid.catalog.classify import suggest_classes
    except ImportError:
        return JsonResponse({"suggestions": []})
    out = [
        {
            "code": s.problem_class.code,
            "key": s.problem_class.key,
            "name": s.problem_class.name,
            "score": round(float(s.score), 3),
            "matched": list(s.matched),
        }
        for s in suggest_classes(text, limit=3)
    ]
    return JsonResponse({"suggestions": out}, json_dumps_params={"ensure_ascii": False})


@require_POST
def phone_code(request):

    phone = (request.POST.get("phone") or "").replace(" ", "")
    if not PHONE_RE.match(phone):
        return _json_error(InvalidInput(_("Please enter an 11-digit mobile number."), field="phone"))
    try:
        hit(
            f"portal:code:phone:{phone}",
            1,
            60,
            message=_("A code was just sent. Please wait a minute before asking again."),
        )
        hit(f"portal:code:phoneday:{phone}", 5, 86400, message=_("Too many codes for this number today."))
        hit(f"portal:code:ip:{client_ip(request)}", 10, 3600)
    except RateLimited as exc:
        return _json_error(exc)
    do_send_phone_code(phone, ip=client_ip(request))
    return JsonResponse({"sent": True, "detail": _("The code was sent. It is valid for 10 minutes.")})


@require_POST
def phone_verify(request):

    phone = (request.POST.get("phone") or "").replace(" ", "")
    try:
        hit(f"portal:verify:ip:{client_ip(request)}", 30, 3600)
        ticket = do_verify_phone_code(phone, request.POST.get("code", ""))
    except DomainError as exc:
        return _json_error(exc)
    return JsonResponse({"verified": True, "ticket": ticket, "detail": _("Your number is verified.")})
