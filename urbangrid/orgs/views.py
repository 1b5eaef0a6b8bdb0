"""Pages of the orgs app: the organisation overview, training, and one person's record.
Everything shown is filtered by the viewer's jurisdiction (visible_to)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from urbangrid.lib.access import is_admin, scope_for
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role

from . import actions
from .actions import _may_manage_unit
from .choices import EquipmentKind, FundCategory
from .forms import NewPasswordForm
from .models import Equipment, Person, RoleAssignment, TrainingCourse, TrainingRecord, TrainingSession, Unit
from .policy import can_organise_training
from .queries import (
    _active_q,
    equipment_summary,
    funds_summary,
    grids_with_untrained_workers,
    untrained_workers,
)


@login_required
def index(request):
    user = request.user
    units = (
        Unit.objects.visible_to(user)
        .filter(is_active=True)
        .select_related("region")
        .annotate(n_people=Count("people", filter=Q(people__is_active=True)))
        .order_by("level", "code")
    )
    visible_people = Person.objects.visible_to(user).filter(is_active=True)
    role_counts = (
        RoleAssignment.objects.filter(_active_q(), person__in=visible_people.values("id"))
        .values("role")
        .annotate(n=Count("person", distinct=True))
        .order_by("role")
    )
    labels = dict(Role.choices)
    kinds, cats = dict(EquipmentKind.choices), dict(FundCategory.choices)
    year_start = timezone.localdate().replace(month=1, day=1)
    context = {
        "units": units[:300],
        "unit_count": units.count(),
        "people_count": visible_people.count(),
        "roles": [{"label": labels.get(r["role"], r["role"]), "n": r["n"]} for r in role_counts],
        "untrained_count": untrained_workers(user).count(),
        "session_count": TrainingSession.objects.visible_to(user).count(),
        "equipment": [dict(e, kind_label=kinds.get(e["kind"], e["kind"])) for e in equipment_summary(user)],
        "funds": [
            dict(f, category_label=cats.get(f["category"], f["category"]))
            for f in funds_summary(user, start=year_start)
        ],
        "year_start": year_start,
    }
    context["funds_total"] = sum((f["total"] or 0 for f in context["funds"]), Decimal(0))
    return render(request, "orgs/index.html", context)


def _managed_units(user):
    scope = scope_for(user)
    qs = Unit.objects.visible_to(user).filter(is_active=True)
    if is_admin(scope):
        return qs.order_by("level", "code")

    return [u for u in qs.select_related("region").order_by("level", "code") if _may_manage_unit(scope, u)]


@login_required
def training(request):
    user = request.user
    sessions = (
        TrainingSession.objects.visible_to(user)
        .select_related("course", "organiser")
        .annotate(n_records=Count("records"), n_passed=Count("records", filter=Q(records__passed=True)))
        .order_by("-starts_at")[:200]
    )
    untrained = list(untrained_workers(user)[:500])
    flagged = grids_with_untrained_workers(user)
    grids_of: dict[int, list[str]] = {}
    for code, pids in flagged.items():
        for pid in pids:
            grids_of.setdefault(pid, []).append(code)
    context = {
        "sessions": sessions,
        "untrained": [{"person": p, "grids": grids_of.get(p.pk, [])} for p in untrained],
        "flagged_grid_count": len(flagged),
        "courses": TrainingCourse.objects.filter(is_active=True),
        "units": _managed_units(user),
        "can_schedule": can_organise_training(scope_for(user)),
        "today": timezone.localdate(),
    }
    return render(request, "orgs/training.html", context)


def _parse_local(value: str):
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(dt) if timezone.is_naive(dt) else dt


@login_required
@require_POST
def schedule_training(request):
    course = TrainingCourse.objects.filter(pk=request.POST.get("course") or 0, is_active=True).first()
    organiser = Unit.objects.visible_to(request.user).filter(pk=request.POST.get("organiser") or 0).first()
    starts_at = _parse_local(request.POST.get("starts_at", ""))
    try:
        hours = float(request.POST.get("hours") or (course.hours if course else 0))
    except ValueError:
        hours = 0
    if course is None or organiser is None or starts_at is None or hours <= 0:
        messages.error(request, _("Choose a course, an organising unit, a start time and the duration."))
        return redirect("orgs:training")
    try:
        session = actions.do_schedule_training(
            request.user,
            course=course,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            organiser=organiser,
            location=request.POST.get("location", "")[:120],
            trainer=request.POST.get("trainer", "")[:60],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("orgs:training")
    messages.success(request, _("The training session was scheduled."))
    return redirect("orgs:session", session.pk)


def _session_or_404(user, pk):
    session = (
        TrainingSession.objects.visible_to(user)
        .select_related("course", "organiser", "region")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise Http404
    return session


@login_required
def session(request, pk: int):
    s = _session_or_404(request.user, pk)
    records = (
        TrainingRecord.objects.visible_to(request.user)
        .filter(session=s)
        .select_related("person__user", "person__unit")
    )
    enrolled = set(records.values_list("person_id", flat=True))
    workers = (
        Person.objects.visible_to(request.user)
        .filter(
            is_active=True,
            id__in=RoleAssignment.objects.filter(_active_q(), role=Role.GRID_WORKER).values("person_id"),
        )
        .select_related("user")
        .order_by("user__username")
    )
    if s.region_id:
        workers = workers.filter(
            Q(roles__region__code__startswith=s.region.code) | Q(unit=s.organiser)
        ).distinct()
    context = {
        "s": s,
        "records": records.order_by("person__user__username"),
        "candidates": [w for w in workers[:1000] if w.pk not in enrolled],
    }
    return render(request, "orgs/session.html", context)


@login_required
@require_POST
def record_result(request, pk: int):
    s = _session_or_404(request.user, pk)
    person = Person.objects.visible_to(request.user).filter(pk=request.POST.get("person") or 0).first()
    if person is None:
        messages.error(request, _("Choose a person."))
        return redirect("orgs:session", s.pk)
    attended = request.POST.get("attended") == "on"
    raw = (request.POST.get("score") or "").strip()
    try:
        score = Decimal(raw) if raw else None
    except InvalidOperation:
        messages.error(request, _("A score must be a number between 0 and 100."))
        return redirect("orgs:session", s.pk)
    try:
        actions.do_record_training(
            request.user,
            s,
            [{"person": person, "attended": attended, "score": score, "note": request.POST.get("note", "")}],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The result of %(name)s was recorded.") % {"name": person.name})
    return redirect("orgs:session", s.pk)


@login_required
def person(request, pk: int):
    p = Person.objects.visible_to(request.user).select_related("user", "unit").filter(pk=pk).first()
    if p is None:
        raise Http404
    context = {
        "p": p,
        "roles": RoleAssignment.objects.filter(_active_q(), person=p).select_related("region"),
        "training": TrainingRecord.objects.filter(person=p)
        .select_related("session__course", "session__organiser")
        .order_by("-session__starts_at"),
        "equipment": Equipment.objects.filter(holder=p).order_by("-issued_on"),
        "grids": p.grid_assignments.filter(_active_q()).order_by("grid_code"),
        "is_untrained": untrained_workers(request.user).filter(pk=p.pk).exists(),
        "may_reset_password": is_admin(scope_for(request.user)),
    }
    return render(request, "orgs/person.html", context)


@login_required
def reset_password(request, pk: int):
    """An administrator sets another person's password (outside /admin/)."""
    p = Person.objects.visible_to(request.user).select_related("user").filter(pk=pk).first()
    if p is None or not is_admin(scope_for(request.user)):
        raise Http404
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_reset_password(request.user, p, form.cleaned_data["new_password1"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The password of %(name)s was reset.") % {"name": p.name})
            return redirect("orgs:person", p.pk)
    return render(
        request,
        "orgs/reset_password.html",
        {"p": p, "form": form, "rules": password_validators_help_texts()},
    )
