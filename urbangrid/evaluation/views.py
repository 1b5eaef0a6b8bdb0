"""Pages of the evaluation app: indicators and rankings with drill-down, published assessments,
supervision orders, spot checks, accountability records and monthly reports."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from urbangrid.cases.models import Case
from urbangrid.geo.models import Region
from urbangrid.lib.access import scope_for
from urbangrid.lib.errors import DomainError
from urbangrid.lib.http import redirect_back
from urbangrid.orgs.models import Person, Unit

from . import actions, indicators
from . import policy as P
from .choices import AccountabilityKind, OrderState, SubjectKind
from .models import (
    AccountabilityRecord,
    Assessment,
    Report,
    Scheme,
    SchemeVersion,
    SpotCheck,
    SpotCheckItem,
    SupervisionOrder,
)
from .periods import Period
from .queries import propose_orders, subjects
from .reports import fmt_value, rankings_workbook
from .scoring import evaluate, evaluate_many, resolve_version

K = SubjectKind
PAGE_KINDS = [
    K.UNIT,
    K.STREET,
    K.COMMUNITY,
    K.GRID,
    K.DISTRICT,
    K.GRID_WORKER,
    K.INTAKE_OPERATOR,
    K.SHIFT_LEADER,
    K.DISPATCHER,
]


def case_url(number: str) -> str | None:
    try:
        return reverse("console:case_detail", args=[number])
    except NoReverseMatch:
        return None


def _period(request) -> Period:
    text = request.GET.get("period") or request.POST.get("period")
    return Period.parse(text) if text else Period.last_month()


def _ctx_params(request):
    period = _period(request)
    kind = request.GET.get("kind") or K.UNIT
    if kind not in K.values:
        kind = K.UNIT
    version = resolve_version(request.GET.get("scheme") or None)
    return period, kind, version


def _domain(request, exc: DomainError):
    messages.error(request, exc.message)


@login_required
def index(request):
    try:
        period, kind, version = _ctx_params(request)
    except DomainError as exc:
        _domain(request, exc)
        return redirect("evaluation:index")
    ev = evaluate(kind, period, version).visible(request.user)
    show_all = request.GET.get("all") == "1"
    hidden = 0
    rows = []
    for r in ev.rows:
        if not show_all and r.total is None and not any(m.num or m.den for m in r.measures.values()):
            hidden += 1  # nothing at all in the period: listed only on request
            continue
        rows.append(
            {
                "row": r,
                "cells": [
                    {
                        "code": c,
                        "text": fmt_value(c, r.measures.get(c)),
                        "title": _measure_title(r.measures.get(c)),
                        "weight": ev.weights.get(c),
                    }
                    for c in ev.codes
                ],
            }
        )
    chart = {
        "names": [r.subject.name for r in ev.rows if r.total is not None][:30],
        "totals": [round(r.total, 2) for r in ev.rows if r.total is not None][:30],
    }
    return render(
        request,
        "evaluation/index.html",
        {
            "period": period,
            "kind": kind,
            "version": version,
            "ev": ev,
            "rows": rows,
            "indicators": [indicators.REGISTRY[c] for c in ev.codes],
            "kinds": [(k, K(k).label) for k in PAGE_KINDS],
            "schemes": SchemeVersion.objects.filter(state="active").select_related("scheme"),
            "chart": chart,
            "hidden": hidden,
            "show_all": show_all,
            "prev": period.previous(),
            "can_publish": P.can_publish(scope_for(request.user)),
        },
    )


def _measure_title(m) -> str:
    if m is None or m.den is None:
        return ""
    return f"{m.num} / {m.den}"


@login_required
def export(request):
    try:
        period, kind, version = _ctx_params(request)
    except DomainError as exc:
        _domain(request, exc)
        return redirect("evaluation:index")
    kinds = [kind] if request.GET.get("all") != "1" else [K.UNIT, K.STREET, K.COMMUNITY, K.GRID_WORKER]
    evals = [ev.visible(request.user) for ev in evaluate_many(kinds, period, version)]
    data = rankings_workbook(evals, f"{version.scheme.name} · {period.label}")
    resp = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp["Content-Disposition"] = f'attachment; filename="evaluation-{kind}-{period.label}.xlsx"'
    return resp


@login_required
def drill(request):
    try:
        period = _period(request)
        code, kind, key = (
            request.GET.get("indicator", ""),
            request.GET.get("kind", ""),
            request.GET.get("key", ""),
        )
        ind = indicators.get(code)
        part = request.GET.get("part", "denominator")
        subject = _subject_or_404(request.user, kind, key)
        qs = indicators.drill_cases(code, kind, key, period, part, user=request.user)
    except DomainError as exc:
        _domain(request, exc)
        return redirect("evaluation:index")
    cases = list(qs.select_related("assigned_unit", "street", "problem_class").order_by("reported_at")[:1000])
    for c in cases:
        c.link = case_url(c.number)
    return render(
        request,
        "evaluation/drill.html",
        {
            "ind": ind,
            "kind": kind,
            "subject": subject,
            "period": period,
            "part": part,
            "cases": cases,
            "count": qs.count(),
            "key": key,
        },
    )


def _subject_or_404(user, kind, key):

    if kind not in K.values:
        raise Http404
    subs = subjects(kind, [key])
    s = subs.get(str(key))
    if s is None or not s.visible(scope_for(user)):
        raise Http404
    return s


# ------------------------------------------------------------------------ assessments
@login_required
def schemes(request):
    items = Scheme.objects.prefetch_related("versions__weights", "versions__adjustments", "versions__bands")
    return render(
        request,
        "evaluation/schemes.html",
        {
            "schemes": items,
            "registry": indicators.REGISTRY,
            "assessments": Assessment.objects.visible_to(request.user).select_related("version__scheme")[
                :100
            ],
            "kinds": dict(K.choices),
        },
    )


@login_required
@require_POST
def publish(request):
    try:
        period = _period(request)
        version = resolve_version(request.POST.get("scheme") or None)
        a = actions.do_publish(request.user, version, request.POST.get("kind", ""), period)
    except DomainError as exc:
        _domain(request, exc)
        return redirect_back(request, "evaluation:index")
    messages.success(request, _("Published: %(a)s") % {"a": a.period_label})
    return redirect("evaluation:assessment", pk=a.pk)


@login_required
def assessment(request, pk: int):
    a = Assessment.objects.visible_to(request.user).select_related("version__scheme").filter(pk=pk).first()
    if a is None:
        raise Http404
    results = a.results.visible_to(request.user).order_by("rank", "subject_name")
    codes = [i.code for i in indicators.REGISTRY.values() if a.subject_kind in i.kinds]
    rows = [{"r": r, "cells": [_frozen(r.values.get(c), c) for c in codes]} for r in results]
    return render(
        request,
        "evaluation/assessment.html",
        {
            "a": a,
            "rows": rows,
            "ranked": a.results.exclude(rank=None).count(),
            "indicators": [indicators.REGISTRY[c] for c in codes],
            "kind_label": K(a.subject_kind).label,
        },
    )


def _frozen(v, code):
    if not v:
        return fmt_value(code, None)
    return fmt_value(code, v.get("value")) if v.get("value") is not None else "—"


# --------------------------------------------------------------------- supervision orders
@login_required
def orders(request):

    qs = SupervisionOrder.objects.visible_to(request.user).select_related("unit", "case")
    state = request.GET.get("state")
    if state in OrderState.values:
        qs = qs.filter(state=state)
    proposals = []
    scope = scope_for(request.user)
    can_issue = P.can_supervise(scope)
    period = _period(request)
    threshold = _float(request.GET.get("threshold"), 0.8)
    if can_issue:
        proposals = propose_orders(period, threshold=threshold, user=request.user)
    return render(
        request,
        "evaluation/orders.html",
        {
            "orders": qs[:200],
            "proposals": proposals,
            "period": period,
            "threshold": threshold,
            "can_issue": can_issue,
            "states": OrderState.choices,
            "now": timezone.now(),
            "default_deadline": timezone.localtime(actions.default_deadline()).strftime("%Y-%m-%dT%H:%M"),
        },
    )


def _float(text, default):
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def _dt(text):
    if not text:
        return None
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        return None
    return timezone.make_aware(d) if timezone.is_naive(d) else d


@login_required
@require_POST
def order_issue(request):

    p = request.POST
    try:
        case = None
        if p.get("case"):
            case = Case.objects.visible_to(request.user).filter(number=p["case"].strip()).first()
            if case is None:
                raise actions.NotFound(_("Case not found."))
        unit = Unit.objects.filter(pk=p.get("unit")).first() if p.get("unit", "").isdigit() else None
        order = actions.do_issue_order(
            request.user,
            unit=unit,
            case=case,
            title=p.get("title", ""),
            body=p.get("body", ""),
            deadline=_dt(p.get("deadline")),
            indicator=p.get("indicator", ""),
            indicator_value=_float(p.get("indicator_value"), None),
            threshold=_float(p.get("threshold"), None),
            period_label=p.get("period", ""),
        )
    except DomainError as exc:
        _domain(request, exc)
        return redirect("evaluation:orders")
    messages.success(request, _("Supervision order %(n)s issued.") % {"n": order.number})
    return redirect("evaluation:order", pk=order.pk)


@login_required
def order(request, pk: int):
    o = (
        SupervisionOrder.objects.visible_to(request.user)
        .select_related("unit", "case", "issued_by__person")
        .filter(pk=pk)
        .first()
    )
    if o is None:
        raise Http404
    scope = scope_for(request.user)
    return render(
        request,
        "evaluation/order.html",
        {
            "o": o,
            "case_link": case_url(o.case.number) if o.case_id else None,
            "can_reply": o.state == OrderState.ISSUED and o.unit_id in scope.unit_ids,
            "can_close": o.state == OrderState.REPLIED and P.can_supervise(scope),
            "ind": indicators.REGISTRY.get(o.indicator),
        },
    )


@login_required
@require_POST
def order_act(request, pk: int, what: str):
    try:
        if what == "reply":
            actions.do_reply_order(request.user, pk, reply=request.POST.get("reply", ""))
        elif what == "close":
            actions.do_close_order(
                request.user,
                pk,
                satisfactory=request.POST.get("accept") == "1",
                note=request.POST.get("note", ""),
            )
        else:
            raise Http404
        messages.success(request, _("Saved."))
    except DomainError as exc:
        _domain(request, exc)
    return redirect("evaluation:order", pk=pk)


# ----------------------------------------------------------------------------- spot checks
@login_required
def spot_checks(request):

    scope = scope_for(request.user)
    can_start = P.can_supervise(scope)
    return render(
        request,
        "evaluation/spot_checks.html",
        {
            "checks": SpotCheck.objects.visible_to(request.user).select_related("region", "inspector")[:200],
            "can_start": can_start,
            "regions": Region.objects.visible_to(request.user)
            .filter(level__in=(2, 3, 4))
            .order_by("code")[:500]
            if can_start
            else [],
            "inspectors": Person.objects.visible_to(request.user)
            .filter(roles__role="grid_worker")
            .distinct()[:500]
            if can_start
            else [],
            "period": Period.last_month(),
        },
    )


@login_required
@require_POST
def spot_check_start(request):

    p = request.POST
    try:
        region = Region.objects.visible_to(request.user).filter(pk=p.get("region") or 0).first()
        inspector = Person.objects.filter(pk=p.get("inspector") or 0).first()
        if region is None or inspector is None:
            raise actions.InvalidInput(_("Choose the area and the inspector."))
        seed = int(p["seed"]) if p.get("seed", "").isdigit() else None
        check = actions.do_start_spot_check(
            request.user,
            region=region,
            period=_period(request),
            sample_size=int(p.get("sample_size") or 0),
            inspector=inspector,
            seed=seed,
            note=p.get("note", ""),
        )
    except (DomainError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("evaluation:spot_checks")
    return redirect("evaluation:spot_check", pk=check.pk)


@login_required
def spot_check(request, pk: int):
    check = (
        SpotCheck.objects.visible_to(request.user).select_related("region", "inspector").filter(pk=pk).first()
    )
    if check is None:
        raise Http404
    items = list(check.items.select_related("case", "case__assigned_unit"))
    for it in items:
        it.link = case_url(it.case.number)
    scope = scope_for(request.user)
    return render(
        request,
        "evaluation/spot_check.html",
        {
            "check": check,
            "items": items,
            "can_record": P.can_record_spot_result(scope, check),
        },
    )


@login_required
@require_POST
def spot_item_result(request, pk: int):
    item = SpotCheckItem.objects.filter(pk=pk).first()
    if item is None:
        raise Http404
    try:
        actions.do_record_spot_result(
            request.user, item, passed=request.POST.get("passed") == "1", note=request.POST.get("note", "")
        )
    except DomainError as exc:
        _domain(request, exc)
    return redirect("evaluation:spot_check", pk=item.spot_check_id)


# ------------------------------------------------------------------------ accountability
@login_required
def accountability(request):

    scope = scope_for(request.user)
    can_record = P.can_hold_accountable(scope)
    return render(
        request,
        "evaluation/accountability.html",
        {
            "records": AccountabilityRecord.objects.visible_to(request.user)
            .select_related("unit", "person")
            .prefetch_related("cases", "orders")[:200],
            "kinds": AccountabilityKind.choices,
            "can_record": can_record,
            "units": Unit.objects.visible_to(request.user).filter(is_active=True)[:500] if can_record else [],
        },
    )


@login_required
@require_POST
def accountability_record(request):

    p = request.POST
    try:
        numbers = [n.strip() for n in p.get("cases", "").replace("，", ",").split(",") if n.strip()]
        onums = [n.strip() for n in p.get("orders", "").replace("，", ",").split(",") if n.strip()]
        cases = list(Case.objects.visible_to(request.user).filter(number__in=numbers))
        orders_ = list(SupervisionOrder.objects.visible_to(request.user).filter(number__in=onums))
        if len(cases) != len(set(numbers)) or len(orders_) != len(set(onums)):
            raise actions.NotFound(_("Some evidence was not found."))
        unit = Unit.objects.filter(pk=p.get("unit") or 0).first()
        actions.do_record_accountability(
            request.user,
            kind=p.get("kind", ""),
            reason=p.get("reason", ""),
            unit=unit,
            cases=cases,
            orders=orders_,
        )
        messages.success(request, _("Saved."))
    except DomainError as exc:
        _domain(request, exc)
    return redirect("evaluation:accountability")


# -------------------------------------------------------------------------------- reports
@login_required
def reports(request):

    scope = scope_for(request.user)
    can_request = P.can_supervise(scope)
    regions = Region.objects.visible_to(request.user).filter(level__in=(2, 3))
    if not scope.all_city:
        regions = regions.filter(id__in=scope.subtree_region_ids)
    return render(
        request,
        "evaluation/reports.html",
        {
            "reports": Report.objects.visible_to(request.user).select_related("region", "version__scheme")[
                :100
            ],
            "regions": regions if can_request else [],
            "can_request": can_request,
            "period": Period.last_month(),
            "schemes": SchemeVersion.objects.filter(state="active").select_related("scheme"),
        },
    )


@login_required
@require_POST
def report_request(request):

    try:
        region = Region.objects.visible_to(request.user).filter(pk=request.POST.get("region") or 0).first()
        if region is None:
            raise actions.NotFound(_("Area not found."))
        version = resolve_version(request.POST.get("scheme") or None)
        actions.do_request_report(request.user, region=region, period=_period(request), version=version)
    except DomainError as exc:
        _domain(request, exc)
    return redirect("evaluation:reports")


@login_required
def report_status(request, pk: int):
    r = Report.objects.visible_to(request.user).filter(pk=pk).first()
    if r is None:
        raise Http404
    return render(request, "evaluation/_report_row.html", {"r": r})


@login_required
def report_file(request, pk: int, fmt: str):
    r = Report.objects.visible_to(request.user).filter(pk=pk).first()
    f = getattr(r, fmt, None) if r is not None and fmt in ("xlsx", "pdf") else None
    if not f:
        raise Http404
    return FileResponse(f.open("rb"), as_attachment=True, filename=f"{r.region.code}-{r.period_label}.{fmt}")
