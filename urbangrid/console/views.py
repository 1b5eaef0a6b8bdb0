"""Pages of the operator console: home, inbox, work queues, the case page and its actions,
and the hotline intake form. Map, dashboards, grid management and the mobile pages live in
map_views, dashboard_views, grid_views and mobile_views (all routed from urls.py)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from urbangrid.cases.actions import do_dispatch, do_mark_read, do_read_reporter_contact
from urbangrid.cases.choices import ApplicationKind, AttachmentStage, CaseState, Channel
from urbangrid.cases.choices import AttachmentStage as AS
from urbangrid.cases.intake import find_duplicate
from urbangrid.cases.models import Case
from urbangrid.cases.policy import can_take_hotline_reports
from urbangrid.cases.queries import get_case_for
from urbangrid.cases.workflow import ACTIONS_BY_NAME, action_label, allowed_actions, roles_of, scope_of
from urbangrid.catalog.classify import suggest_classes
from urbangrid.catalog.models import ProblemClass
from urbangrid.geo.locator import locate
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import DomainError, NotFound
from urbangrid.lib.http import redirect_back
from urbangrid.lib.roles import Role

from . import queries
from .forms import FORMS, action_item, unit_queryset
from .intake_forms import HotlineForm, class_or_none, run_intake
from .nav import home_url


def case_or_404(user, number):
    try:
        return get_case_for(user, number)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


# --- home and inbox ------------------------------------------------------------------------------
@login_required
def home(request):
    url = home_url(request.user)
    if url and url != request.path:
        return redirect(url)
    return render(request, "console/home.html", {"scope": scope_for(request.user)})


@login_required
def inbox(request):
    scope = scope_for(request.user)
    if request.method == "POST" and scope.person_id:
        do_mark_read(request.user, None)
        messages.success(request, _("All messages marked as read."))
        return redirect("console:inbox")
    return render(request, "console/inbox.html", {"items": queries.inbox(request.user)})


# --- work queues ---------------------------------------------------------------------------------
@login_required
def queues(request):
    specs = queries.queues_for(request.user)
    if not specs:
        return render(request, "console/queue.html", {"specs": [], "spec": None, "counts": {}})
    return redirect("console:queue", specs[0].key)


def _filter_options(user):

    streets = Region.objects.visible_to(user).filter(level=3).only("code", "name").order_by("code")
    classes = (
        ProblemClass.objects.filter(is_active=True, code_set__is_default=True)
        .only("code", "name", "major_name")
        .order_by("code")
    )
    return {"streets": streets, "classes": classes}


@login_required
def queue(request, key):
    spec = queries.QUEUE_BY_KEY.get(key)
    specs = queries.queues_for(request.user)
    if spec is None or spec not in specs:
        raise Http404(_("No such queue."))
    params = request.GET.dict()
    qs = queries.queue_cases(request.user, spec, params=params)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ctx = {
        "specs": specs,
        "spec": spec,
        "counts": queries.queue_counts(request.user),
        "page": page,
        "params": params,
        "now": timezone.now(),
        "sort": params.get("sort") or "due",
        "batch_dispatch": spec.key == "dispatch" and "dispatch" in _dispatch_allowed(request.user),
        "units": unit_queryset(request.user) if spec.key == "dispatch" else [],
        "application_kinds": ApplicationKind.choices if spec.application_kinds else [],
        "states": [(s, CaseState(s).label) for s in spec.states],
        **_filter_options(request.user),
    }
    query = request.GET.copy()
    query.pop("page", None)
    ctx["query"] = query.urlencode()
    query.pop("sort", None)
    ctx["query_nosort"] = query.urlencode()
    template = (
        "console/_queue_table.html"
        if request.htmx and request.htmx.target == "queue-table"
        else "console/queue.html"
    )
    return render(request, template, ctx)


def _dispatch_allowed(user):
    held = roles_of(scope_of(user))
    return {"dispatch"} if held.intersection(ACTIONS_BY_NAME["dispatch"].roles) else set()


@login_required
@require_POST
def batch_dispatch(request):
    """Dispatch several cases to one unit: each goes through do_dispatch on its own, so one
    refusal (state changed meanwhile, jurisdiction) does not stop the others."""

    numbers = request.POST.getlist("numbers")
    unit = unit_queryset(request.user).filter(pk=queries._int(request.POST.get("unit"))).first()
    reason = request.POST.get("reason", "").strip()
    if not numbers:
        messages.error(request, _("Select at least one case."))
    elif unit is None:
        messages.error(request, _("Choose the unit to dispatch to."))
    else:
        done, failed = [], []
        for number in numbers[:200]:
            try:
                case = get_case_for(request.user, number)
                with transaction.atomic():
                    do_dispatch(request.user, case, unit=unit, reason=reason or _("Batch dispatch"))
                done.append(number)
            except DomainError as exc:
                failed.append(f"{number}：{exc.message}")
        if done:
            messages.success(
                request, _("%(n)d cases dispatched to %(unit)s.") % {"n": len(done), "unit": unit.name}
            )
        for line in failed:
            messages.error(request, line)
    return redirect(reverse("console:queue", args=["dispatch"]) + "?" + request.POST.get("query", ""))


# --- case page -----------------------------------------------------------------------------------
def case_context(request, case, *, forms_override=None):
    user = request.user
    allowed = allowed_actions(case, user)
    forms_override = forms_override or {}
    action_forms = []
    for action in allowed:
        form_cls = FORMS.get(action)
        if form_cls is None:
            continue
        action_forms.append(action_item(action, forms_override.get(action) or form_cls(case=case, user=user)))
    events = label_events(case.events.select_related("actor_person", "unit").order_by("at", "id"))
    attachments = list(case.attachments.order_by("created_at", "id"))
    by_stage = {s: [a for a in attachments if a.stage == s] for s in AttachmentStage.values}
    duplicates = list(
        Case.objects.visible_to(user)
        .filter(duplicate_of=case)
        .only("number", "state", "reported_at", "description")[:50]
    )
    grid_geojson = None
    if case.grid_id:
        from shapely.geometry import mapping

        geom = case.grid.geometry
        if geom is not None:
            grid_geojson = {
                "type": "Feature",
                "geometry": mapping(geom),
                "properties": {"code": case.grid_code},
            }

    return {
        "case": case,
        "allowed": allowed,
        "action_forms": action_forms,
        "events": events,
        "by_stage": by_stage,
        "stage_labels": dict(AS.choices),
        "before_after": by_stage.get("before") or by_stage.get("after"),
        "duplicates": duplicates,
        "tasks": list(case.tasks.select_related("unit", "handler").order_by("created_at")),
        "applications": queries.pending_applications(case),
        "grid_geojson": grid_geojson,
        "now": timezone.now(),
        "reporter": do_read_reporter_contact(user, case, via="console"),
    }


EXTRA_EVENT_LABELS = {
    "report": pgettext_lazy("event", "Reported"),
    "link_report": gettext_lazy("Another report linked"),
    "warn": gettext_lazy("Deadline warning"),
    "overdue": gettext_lazy("Overdue"),
}


def label_events(events):
    """Timeline lines with translated action, role and state names (no extra queries)."""

    states = dict(CaseState.choices)
    roles = {**dict(Channel.choices), **dict(Role.choices), "system": _("system")}
    out = list(events)
    for e in out:
        spec = ACTIONS_BY_NAME.get(e.action)
        e.action_label = spec.label if spec else EXTRA_EVENT_LABELS.get(e.action, e.action)
        e.role_label = roles.get(e.role, e.role)
        e.from_label = states.get(e.from_state, e.from_state or "—")
        e.to_label = states.get(e.to_state, e.to_state or "—")
    return out


def _load_case(request, number):
    case = case_or_404(request.user, number)
    return Case.objects.select_related(
        "problem_class",
        "problem_class__code_set",
        "assigned_unit",
        "street",
        "district",
        "community",
        "grid",
        "duplicate_of",
        "follows",
        "field_worker",
        "suggested_class",
    ).get(pk=case.pk)


@login_required
def case_detail(request, number):
    case = _load_case(request, number)
    return render(request, "console/case_detail.html", case_context(request, case))


@login_required
def case_panel(request, number):
    """The map's side panel: the case, its timeline and its actions (htmx partial)."""
    case = _load_case(request, number)
    return render(request, "console/_case_panel.html", case_context(request, case))


@login_required
@require_POST
def case_action(request, number, action):
    case = _load_case(request, number)
    form_cls = FORMS.get(action)
    if form_cls is None:
        raise Http404(_("No such action."))
    panel = request.POST.get("_panel") == "1"
    next_url = request.POST.get("_next") or ""
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = ""
    form = form_cls(request.POST, request.FILES, case=case, user=request.user)
    if action not in allowed_actions(case, request.user):
        form.is_valid()
        form.add_error(
            None, _("This action is no longer possible: the case has changed or your role does not allow it.")
        )
    elif form.is_valid():
        try:
            form.run(request.user, case, action)
        except DomainError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(
                request,
                _("%(action)s: done for case %(n)s.") % {"action": action_label(action), "n": case.number},
            )
            target = next_url or reverse("console:case_detail", args=[case.number])
            if panel:
                fresh = _load_case(request, number)
                resp = render(request, "console/_case_panel.html", case_context(request, fresh))
                resp["HX-Retarget"] = "#side-panel"
                resp["HX-Reswap"] = "innerHTML"
                resp["HX-Trigger"] = "case-changed"
                return resp
            if request.htmx:
                resp = HttpResponse(status=204)
                resp["HX-Redirect"] = target
                return resp
            return redirect(target)
    item = action_item(action, form)
    if request.htmx:
        return render(
            request,
            "console/_action_form.html",
            {"item": item, "case": case, "panel": panel, "next": next_url},
        )
    ctx = case_context(request, case, forms_override={action: form})
    return render(request, "console/case_detail.html", ctx, status=400)


@login_required
def case_photo(request, number, pk):
    """A case photo, served only to people who may see the case (photos can show people)."""

    case = case_or_404(request.user, number)
    att = case.attachments.filter(pk=pk).first()
    if att is None:
        raise Http404(_("No such photo."))
    try:
        fh = att.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404(_("No such photo.")) from exc
    resp = FileResponse(fh, content_type=att.content_type or "image/jpeg")
    resp["Cache-Control"] = "private, max-age=86400"
    return resp


@login_required
def case_search(request):
    """Jump to a case by number from the header search box."""
    number = (request.GET.get("n") or "").strip()
    if number:
        case = Case.objects.visible_to(request.user).filter(number=number).only("number").first()
        if case is not None:
            return redirect("console:case_detail", case.number)
        messages.error(request, _("No case %(n)s in your jurisdiction.") % {"n": number})
    return redirect_back(request, "console:home")


# --- hotline intake ------------------------------------------------------------------------------
@login_required
def intake(request):

    scope = scope_for(request.user)
    if not can_take_hotline_reports(scope):
        raise Http404(_("Only intake operators take hotline reports."))
    place_error = None
    if request.method == "POST":
        form = HotlineForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = run_intake(request.user, form.cleaned_data)
            except DomainError as exc:
                if exc.field in ("lon", "lat", "crs"):
                    # The point lives in hidden fields: say it beside the map, and drop the
                    # refused point so that no marker is left standing on it.
                    place_error = exc.message
                    form.data = form.data.copy()
                    form.data.pop("lon", None)
                    form.data.pop("lat", None)
                else:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, result.message)
                return redirect("console:case_detail", result.case.number)
    else:
        form = HotlineForm(initial={"request_id": uuid.uuid4().hex})
    return render(
        request, "console/intake.html", {"form": form, "place_error": place_error, **map_settings()}
    )


@login_required
def intake_suggest(request):
    """Live class suggestion from the description (catalog classifier)."""

    text = (request.POST.get("description") or request.GET.get("description") or "").strip()
    suggestions = suggest_classes(text, limit=5) if len(text) >= 2 else []
    return render(request, "console/_suggestions.html", {"suggestions": suggestions, "text": text})


@login_required
def intake_places(request):
    """Address search over the platform's own gazetteer: region names, grid codes, and the
    addresses of earlier cases (each with a known position)."""

    q = (request.GET.get("address") or "").strip()
    places = []
    if len(q) >= 2:
        for r in Region.objects.visible_to(request.user).filter(
            name__icontains=q, centroid_lon__isnull=False
        )[:5]:
            places.append(
                {"label": f"{r.name}（{r.get_kind_display()}）", "lon": r.centroid_lon, "lat": r.centroid_lat}
            )
        if q.isdigit():
            for g in UnitGrid.objects.visible_to(request.user).current().filter(code__startswith=q)[:5]:
                places.append(
                    {"label": _("Grid %(c)s") % {"c": g.code}, "lon": g.centroid_lon, "lat": g.centroid_lat}
                )
        seen = set()
        for c in (
            Case.objects.visible_to(request.user)
            .filter(address__icontains=q, lon__isnull=False)
            .order_by("-reported_at")
            .values("address", "lon", "lat")[:30]
        ):
            if c["address"] in seen:
                continue
            seen.add(c["address"])
            places.append({"label": c["address"], "lon": c["lon"], "lat": c["lat"]})
            if len(seen) >= 8:
                break
    return render(request, "console/_places.html", {"places": places, "q": q})


@login_required
def intake_check(request):
    """Where the picked point lies and whether a likely duplicate exists (before saving)."""

    data = request.POST if request.method == "POST" else request.GET
    try:
        lon, lat = float(data.get("lon", "")), float(data.get("lat", ""))
    except ValueError:
        return render(request, "console/_intake_check.html", {"no_point": True})
    loc = locate(lon, lat, "wgs84")
    names = {}
    if loc is not None:
        names = dict(
            Region.objects.filter(pk__in=[loc.community_id, loc.street_id, loc.district_id]).values_list(
                "pk", "name"
            )
        )
    pc = class_or_none(data.get("class_code") or "")
    dup, dist = (None, None)
    if pc is not None and loc is not None:
        from urbangrid.geo.crs import to_canonical

        clon, clat = to_canonical(lon, lat, "wgs84")
        dup, dist = find_duplicate(pc, clon, clat, timezone.now())
        if dup is not None and not Case.objects.visible_to(request.user).filter(pk=dup.pk).exists():
            dup = None
    return render(
        request,
        "console/_intake_check.html",
        {
            "loc": loc,
            "names": names,
            "dup": dup,
            "dist": dist,
            "pc": pc,
            "lon": lon,
            "lat": lat,
        },
    )


def map_settings() -> dict:

    cfg = settings.URBANGRID
    return {"map_tiles": cfg.get("MAP_TILE_URL", ""), "map_tile_crs": cfg.get("MAP_TILE_CRS", "wgs84")}
