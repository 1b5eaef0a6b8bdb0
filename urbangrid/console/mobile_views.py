"""The grid worker's mobile pages (an installable web app): my grid and position, my tasks,
report a problem (works offline: see static/js/mobile.js), fix on the spot, and the
verify/check forms. Reports go through urbangrid.cases.intake.do_intake with the phone's
request id, so a report retried after a network failure opens exactly one case."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from shapely.geometry import mapping

from urbangrid.cases.actions import do_self_handle
from urbangrid.cases.choices import OPEN_STATES, CaseState, Response
from urbangrid.cases.intake import DuplicateProposed, IntakeData, do_intake
from urbangrid.cases.models import Case, Report
from urbangrid.cases.workflow import allowed_actions
from urbangrid.catalog.cache import class_key, class_label
from urbangrid.catalog.classify import suggest_classes
from urbangrid.catalog.models import ProblemClass
from urbangrid.geo.models import UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import DomainError, InvalidInput

from .forms import FORMS, PhotosField, action_item
from .intake_forms import duplicate_choice
from .views import _load_case, label_events, map_settings

MOBILE_ACTIONS = ("verify", "check", "self_handle", "apply_cancel")


def _my_grids_geojson(user):

    codes = scope_for(user).grid_codes
    feats = []
    for g in UnitGrid.objects.current().filter(code__in=codes):
        if g.geometry is not None:
            feats.append({"type": "Feature", "geometry": mapping(g.geometry), "properties": {"code": g.code}})
    return {"type": "FeatureCollection", "features": feats}


def my_task_lists(user):
    scope = scope_for(user)
    visible = Case.objects.visible_to(user).select_related("problem_class")
    mine = Q(field_worker_id=scope.person_id) | Q(field_worker__isnull=True, grid_code__in=scope.grid_codes)
    verify = visible.filter(mine, state=CaseState.VERIFYING).order_by("due_at")[:50]
    check = visible.filter(mine, state=CaseState.CHECKING).order_by("due_at")[:50]
    # My reports: the cases I opened and those my reports were added to, while they are open.
    reported = Q(reporter_person_id=scope.person_id) | Q(
        pk__in=Report.objects.filter(reporter_user_id=user.pk).values("case_id")
    )
    assigned = visible.filter(
        Q(
            field_worker_id=scope.person_id,
            state__in=[CaseState.PENDING_REGISTER, CaseState.PENDING_CLOSE, CaseState.REPORTED],
        )
        | (reported & Q(state__in=OPEN_STATES))
    ).order_by("-reported_at")[:30]
    return {"verify": list(verify), "check": list(check), "assigned": list(assigned)}


@login_required
def mobile_home(request):
    return render(
        request,
        "console/mobile/home.html",
        {
            "grids_geojson": _my_grids_geojson(request.user),
            "lists": my_task_lists(request.user),
            "now": timezone.now(),
            **map_settings(),
        },
    )


class _Classes:
    @staticmethod
    def all():

        return [
            {"key": class_key(pc), "label": class_label(pc), "on_spot_allowed": pc.on_spot_allowed}
            for pc in ProblemClass.objects.filter(is_active=True, code_set__is_default=True).order_by(
                "kind", "code"
            )
        ]


@login_required
def mobile_report(request):
    return render(
        request,
        "console/mobile/report.html",
        {
            "classes": _Classes.all(),
            "responses": Response.choices,
            **map_settings(),
        },
    )


@login_required
@require_POST
def mobile_suggest(request):

    # POST: a long description in the query string overflows the server's request line (414).
    text = (request.POST.get("text") or "").strip()[:500]
    out = []
    if len(text) >= 2:
        for s in suggest_classes(text, limit=3):
            pc = s.problem_class
            out.append(
                {
                    "key": class_key(pc),
                    "code": pc.code,
                    "name": pc.name,
                    "major_name": pc.major_name,
                    "kind": pc.kind,
                    "score": round(s.score, 2),
                    "matched": s.matched,
                }
            )
    return JsonResponse({"suggestions": out})


def photo_meta(raw: str, count: int) -> list[dict]:
    """When and where each sent photo was taken (the phone reads it from EXIF before it downscales
    the photo, which drops EXIF): one {field, taken_at, lon, lat, source} per photo, checked."""

    if not raw:
        return []
    bad = InvalidInput(_("The time and place of the photos are malformed."), field="photos")
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise bad from exc
    if not isinstance(items, list) or len(items) > count:
        raise bad
    out = []
    for it in items:
        if not isinstance(it, dict):
            raise bad
        try:
            at = parse_datetime(str(it.get("taken_at") or ""))
        except ValueError as exc:
            raise bad from exc
        lon, lat = it.get("lon"), it.get("lat")
        if at is None or it.get("field") not in ("photos", "photos_after"):
            raise bad
        if lon is not None or lat is not None:
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat))
            if not ok or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise bad
        if timezone.is_naive(at):  # EXIF time is the camera's local time
            at = timezone.make_aware(at)
        out.append(
            {
                "field": it["field"],
                "taken_at": at.isoformat(),
                "lon": lon,
                "lat": lat,
                "source": "exif" if it.get("source") == "exif" else "device",
            }
        )
    return out


@login_required
@require_POST
def mobile_report_submit(request):
    """Receive one report from the phone (online, or replayed from the offline queue)."""

    p = request.POST
    request_id = (p.get("request_id") or "").strip()[:80]
    if not request_id:
        return JsonResponse({"ok": False, "error": _("The report has no request id.")}, status=400)
    try:
        lon, lat = float(p.get("lon", "")), float(p.get("lat", ""))
    except ValueError:
        return JsonResponse(
            {
                "ok": False,
                "field": "position",
                "error": _("No position: allow location access or tap the map."),
            },
            status=400,
        )
    photo_field = PhotosField(required=False)
    photos = photo_field.clean(request.FILES.getlist("photos"))
    after = photo_field.clean(request.FILES.getlist("photos_after"))
    try:
        meta = photo_meta(p.get("photo_meta", ""), len(photos) + len(after))
    except DomainError as exc:
        return JsonResponse({"ok": False, "field": exc.field, "error": exc.message}, status=exc.status)
    data = IntakeData(
        channel="grid_worker",
        description=(p.get("description") or "").strip(),
        lon=lon,
        lat=lat,
        crs=p.get("crs") or "wgs84",
        address=(p.get("address") or "").strip(),
        class_code=p.get("class_code") or None,
        photos=photos,
        extra={**duplicate_choice(p.get("duplicate_choice") or ""), **({"photo_meta": meta} if meta else {})},
    )
    try:
        result = do_intake(request.user, data, request_id=request_id)
        case = result.case
        self_handled = False
        if (
            p.get("self_handle") == "1"
            and result.created
            and "self_handle" in allowed_actions(case, request.user)
        ):
            do_self_handle(
                request.user,
                case,
                response=p.get("response") or "repair",
                note=p.get("note", ""),
                photos_before=photos,
                photos_after=after,
            )
            self_handled = True
    except DuplicateProposed as exc:
        # A question, not a refusal: the phone asks the worker whether it is the same problem
        # and sends the report again with the answer.
        return JsonResponse({"ok": False, "field": exc.field, "error": exc.message, "proposed": exc.details})
    except DomainError as exc:
        return JsonResponse({"ok": False, "field": exc.field, "error": exc.message}, status=exc.status)
    return JsonResponse(
        {
            "ok": True,
            "number": case.number,
            "created": result.created,
            "replayed": result.replayed,
            "duplicate": result.duplicate_of is not None,
            "self_handled": self_handled,
            "message": result.message,
            "url": reverse("console:mobile_case", args=[case.number]),
        }
    )


def _refused(request, status: int, code: str, message: str) -> JsonResponse:
    """Input refused before the view (urbangrid.lib.middleware), in the phone's answer format."""
    return JsonResponse({"ok": False, "error": message}, status=status)


mobile_report_submit.bad_input = _refused  # type: ignore[attr-defined]


@login_required
def mobile_case(request, number):
    case = _load_case(request, number)
    allowed = [a for a in allowed_actions(case, request.user) if a in MOBILE_ACTIONS]
    forms = [action_item(a, FORMS[a](case=case, user=request.user)) for a in allowed]
    photos = list(case.attachments.order_by("created_at"))
    return render(
        request,
        "console/mobile/case.html",
        {
            "case": case,
            "action_forms": forms,
            "photos": photos,
            "now": timezone.now(),
            "events": label_events(case.events.select_related("actor_person", "unit").order_by("at", "id")),
            "point": json.dumps([case.lon, case.lat]) if case.lon is not None else "null",
            **map_settings(),
        },
    )


@never_cache
def manifest(request):
    body = {
        "name": _("Grid supervision · field"),
        "short_name": _("Grid field"),
        "start_url": reverse("console:mobile_home"),
        "scope": reverse("console:mobile_home"),
        "display": "standalone",
        "background_color": "#f4f6f9",
        "theme_color": "#1f5fae",
        "lang": "zh-CN",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    return HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/manifest+json")


SHELL = [
    "css/app.css",
    "js/mobile.js",
    "js/offline-queue.js",
    "js/crs.js",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
    "img/icon-192.png",
]


@never_cache
def service_worker(request):
    """The service worker, served under /m/ so that its scope covers the mobile pages."""

    assets = [static(p) for p in SHELL]
    pages = [reverse("console:mobile_home"), reverse("console:mobile_report")]
    version = getattr(settings, "URBANGRID_ASSET_VERSION", "1")
    body = render_to_string(
        "console/mobile/sw.js", {"assets": json.dumps(assets), "pages": json.dumps(pages), "version": version}
    )
    resp = HttpResponse(body, content_type="application/javascript")
    resp["Service-Worker-Allowed"] = reverse("console:mobile_home")
    return resp


@login_required
def mobile_redirect(request):
    return redirect("console:mobile_home")


__all__ = [
    "mobile_home",
    "mobile_report",
    "mobile_report_submit",
    "mobile_case",
    "manifest",
    "service_worker",
    "Http404",
]
