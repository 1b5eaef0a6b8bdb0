"""Pages of the catalog app: the classification dictionary with its 立结案标准, and the calendar."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from . import calendar as cal
from .choices import ClassKind
from .models import CalendarDay, CodeSet, ProblemClass


@login_required
def index(request):
    sets = list(CodeSet.objects.order_by("-is_default", "code"))
    chosen = next((s for s in sets if s.code == request.GET.get("code_set")), None) or next(
        (s for s in sets if s.is_default), sets[0] if sets else None
    )
    kind = request.GET.get("kind", "")
    q = (request.GET.get("q") or "").strip()
    classes = ProblemClass.objects.filter(code_set=chosen, is_active=True).select_related("equivalent")
    if kind in ClassKind.values:
        classes = classes.filter(kind=kind)
    if q:
        classes = classes.filter(Q(name__icontains=q) | Q(code__startswith=q) | Q(keywords__icontains=q))
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    days = CalendarDay.objects.filter(date__year=year).order_by("date")
    context = {
        "sets": sets,
        "chosen": chosen,
        "kind": kind,
        "q": q,
        "kinds": ClassKind.choices,
        "classes": classes.order_by("kind", "code"),
        "year": year,
        "days": days,
        "working_days": len(cal.working_days_in(year)) if 2000 <= year <= 2100 else 0,
    }
    return render(request, "catalog/index.html", context)
