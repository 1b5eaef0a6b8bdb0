"""Pages of the credit app: subjects with their record, score and lists; the lists; the rules;
and the public dishonest list (no sign-in, masked). Identity numbers are masked in every list
and shown in full only on a subject's own page, to roles that need them (queries.can_see_identity)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from urbangrid.lib.access import is_admin, scope_for
from urbangrid.lib.errors import DomainError

from . import actions as A
from . import forms as F
from . import queries
from .choices import ListKind, Severity, SubjectKind, ViolationKind
from .models import ListEntry, Penalty, Subject, Violation
from .policy import can_approve_repair, can_issue_penalty, can_record_credit


def case_url(number: str) -> str:
    try:
        return reverse("console:case_detail", args=[number])
    except NoReverseMatch:
        return ""


def _subject(user, pk) -> Subject:
    s = Subject.objects.visible_to(user).filter(pk=pk).select_related("region", "registered_by_unit").first()
    if s is None:
        raise Http404
    return s


def _form_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def index(request):
    user = request.user
    subjects = Subject.objects.visible_to(user)
    q = (request.GET.get("q") or "").strip()
    kind = request.GET.get("kind") or ""
    listed = request.GET.get("list") or ""
    qs = subjects.select_related("region")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(uscc=q.upper()) | Q(id_number=q.upper()))
    if kind in SubjectKind.values:
        qs = qs.filter(kind=kind)
    if listed in ListKind.values:
        qs = qs.filter(id__in=ListEntry.objects.active().filter(list_kind=listed).values("subject_id"))
    qs = qs.annotate(n_violations=Count("violations", filter=Q(violations__state="confirmed"))).order_by(
        "score", "name"
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    on_list = dict(
        ListEntry.objects.active()
        .filter(subject__in=subjects)
        .values("list_kind")
        .annotate(n=Count("id"))
        .values_list("list_kind", "n")
    )
    scope = scope_for(user)
    return render(
        request,
        "credit/index.html",
        {
            "page": page,
            "q": q,
            "kind": kind,
            "listed": listed,
            "kinds": SubjectKind.choices,
            "lists": ListKind.choices,
            "counts": {
                "subjects": subjects.count(),
                "watch": on_list.get("watch", 0),
                "dishonest": on_list.get("dishonest", 0),
                "violations_30d": Violation.objects.visible_to(user)
                .filter(
                    state="confirmed", occurred_on__gte=timezone.localdate() - timezone.timedelta(days=30)
                )
                .count(),
            },
            "can_record": can_record_credit(scope),
            "recent": Violation.objects.visible_to(user)
            .select_related("subject", "case")
            .order_by("-created_at")[:10],
        },
    )


@login_required
def subject_new(request):
    form = F.SubjectForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            s = A.do_register_subject(request.user, **d)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Subject registered."))
            return redirect("credit:subject", pk=s.pk)
    return render(request, "credit/subject_new.html", {"form": form})


@login_required
def subject_detail(request, pk):
    s = _subject(request.user, pk)
    scope = scope_for(request.user)
    rules = queries.active_rule_set()
    today = timezone.localdate()
    violations = list(
        s.violations.select_related("case", "unit")
        .prefetch_related("penalties")
        .order_by("-occurred_on", "-id")
    )
    for v in violations:
        v.case_link = case_url(v.case.number) if v.case_id else ""
    entries = s.list_entries.select_related("rule_set").order_by("-entered_on", "-id")
    return render(
        request,
        "credit/subject_detail.html",
        {
            "s": s,
            "violations": violations,
            "entries": entries,
            "rules": rules,
            "live_score": queries.score_of(s, today, rules),
            "repair": queries.repair_check(s, today, rules)
            if any(e.removed_on is None for e in entries)
            else None,
            "show_identity": queries.can_see_identity(request.user),
            "can_record": can_record_credit(scope),
            "can_penalise": can_issue_penalty(scope),
            "can_repair": can_approve_repair(scope),
            "violation_form": F.ViolationForm(initial={"occurred_on": today}),
            "penalty_form": F.PenaltyForm(initial={"decided_on": today}),
            "repair_form": F.RepairForm(),
            "cases": s.case_links.select_related("case").order_by("-named_at")[:20],
            "today": today,
        },
    )


@login_required
def violation_new(request, pk):
    s = _subject(request.user, pk)
    form = F.ViolationForm(
        request.POST or None,
        initial={"occurred_on": timezone.localdate(), "case": request.GET.get("case", "")},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case = None
            if d["case"]:
                from urbangrid.cases.models import Case

                case = Case.objects.visible_to(request.user).filter(number=d["case"].strip()).first()
                if case is None:
                    raise DomainError(_("Case not found."), field="case")
            A.do_record_violation(
                request.user,
                s,
                kind=d["kind"],
                severity=d["severity"],
                occurred_on=d["occurred_on"],
                description=d["description"],
                case=case,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Violation recorded; score and lists re-evaluated."))
            return redirect("credit:subject", pk=s.pk)
    return render(
        request,
        "credit/form_page.html",
        {"form": form, "s": s, "title": _("Record a violation"), "button": _("Record violation")},
    )


@login_required
def penalty_new(request, pk):
    v = Violation.objects.visible_to(request.user).filter(pk=pk).select_related("subject").first()
    if v is None:
        raise Http404
    form = F.PenaltyForm(request.POST or None, initial={"decided_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            A.do_issue_penalty(request.user, v, **d)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Penalty decision issued."))
            return redirect("credit:subject", pk=v.subject_id)
    return render(
        request,
        "credit/form_page.html",
        {
            "form": form,
            "s": v.subject,
            "violation": v,
            "title": _("Issue a penalty decision"),
            "button": _("Issue decision"),
        },
    )


@login_required
@require_POST
def penalty_fulfil(request, pk):
    p = (
        Penalty.objects.filter(pk=pk, violation__in=Violation.objects.visible_to(request.user))
        .select_related("violation")
        .first()
    )
    if p is None:
        raise Http404
    try:
        A.do_fulfil_penalty(request.user, p, fulfilled_on=request.POST.get("fulfilled_on") or None)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Fulfilment recorded."))
    return redirect("credit:subject", pk=p.violation.subject_id)


@login_required
@require_POST
def subject_repair(request, pk):
    s = _subject(request.user, pk)
    try:
        A.do_repair(request.user, s, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Credit repaired: the subject left the lists; the record is kept."))
    return redirect("credit:subject", pk=s.pk)


@login_required
@require_POST
def subject_evaluate(request, pk):
    s = _subject(request.user, pk)
    try:
        result = A.do_evaluate_subject(request.user, s)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Score recomputed: %(s)s.") % {"s": result.score})
    return redirect("credit:subject", pk=s.pk)


@login_required
def lists(request):
    kind = request.GET.get("kind") or ListKind.DISHONEST
    if kind not in ListKind.values:
        kind = ListKind.DISHONEST
    history = request.GET.get("history") == "1"
    qs = (
        ListEntry.objects.visible_to(request.user)
        .filter(list_kind=kind)
        .select_related("subject", "subject__region", "rule_set")
    )
    if not history:
        qs = qs.active()
    page = Paginator(qs.order_by("-entered_on", "-id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "credit/lists.html",
        {
            "page": page,
            "kind": kind,
            "lists": ListKind.choices,
            "history": history,
        },
    )


@login_required
def rules(request):
    current = queries.active_rule_set()
    admin = is_admin(scope_for(request.user))
    fields = list(F.RulesForm.base_fields)
    form = F.RulesForm(request.POST or None, initial={f: getattr(current, f) for f in fields})
    points = {(p.kind, p.severity): p.points for p in current.points.all()}
    if request.method == "POST":
        if not admin:
            raise Http404
        new_points = {}
        for k in ViolationKind.values:
            for sev in Severity.values:
                raw = request.POST.get(f"p_{k}_{sev}")
                if raw not in (None, ""):
                    try:
                        new_points[(k, sev)] = Decimal(raw)
                    except Exception:
                        form.add_error(None, _("Points must be numbers."))
        if form.is_valid():
            try:
                A.do_update_rules(request.user, points=new_points, **form.cleaned_data)
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("A new version of the credit rules is active."))
                return redirect("credit:rules")
    table = [
        (label, [(f"p_{k}_{sev}", points.get((k, sev), "")) for sev in Severity.values])
        for k, label in ViolationKind.choices
    ]
    return render(
        request,
        "credit/rules.html",
        {
            "form": form,
            "current": current,
            "is_admin": admin,
            "table": table,
            "severities": Severity.choices,
        },
    )


def public_list(request):
    """The published dishonest list (失信名单公示): no sign-in, natural persons masked, no ID numbers."""
    kind = request.GET.get("kind") or ListKind.DISHONEST
    if kind not in ListKind.values:
        kind = ListKind.DISHONEST
    page = Paginator(queries.public_list(kind), 50).get_page(request.GET.get("page"))
    return render(request, "credit/public_list.html", {"page": page, "kind": kind, "lists": ListKind.choices})
