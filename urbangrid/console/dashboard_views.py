"""Dashboard pages (ECharts over database aggregates) and the Excel export of any table."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from urbangrid.geo.models import Region

from . import dashboard
from .views import map_settings


def _areas(user):

    return (
        Region.objects.visible_to(user)
        .filter(level__in=[2, 3, 4])
        .only("code", "name", "level")
        .order_by("code")
    )


@login_required
def dashboard_page(request):
    data = dashboard.compute(request.user, request.GET)
    return render(
        request,
        "console/dashboard.html",
        {
            "data": data,
            "areas": _areas(request.user),
            "params": request.GET.dict(),
            "query": request.GET.urlencode(),
            "charts": {
                t["key"]: {
                    "columns": [str(c) for c in t["columns"]],
                    "rows": t["rows"],
                    "title": str(t["title"]),
                }
                for t in data["tables"]
            },
            **map_settings(),
        },
    )


@login_required
def dashboard_heat(request):
    return JsonResponse({"points": dashboard.heat_points(request.user, request.GET)})


@login_required
def dashboard_export(request, key):
    data = dashboard.compute(request.user, request.GET)
    table = next((t for t in data["tables"] if t["key"] == key), None)
    if table is None:
        raise Http404(_("No such table."))
    area = data["area"].name if data["area"] else _("Whole jurisdiction")
    subtitle = _("%(area)s, %(since)s to %(until)s") % {
        "area": area,
        "since": data["since"],
        "until": data["until"],
    }
    body = dashboard.to_xlsx(table, subtitle)
    resp = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp["Content-Disposition"] = f'attachment; filename="{key}-{data["since"]}-{data["until"]}.xlsx"'
    return resp
