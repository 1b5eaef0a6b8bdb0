"""Pages of the joint app: campaigns, consultations and joint meetings. Every read goes through
visible_to (outside the user's jurisdiction = 404); every write calls an action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from urbangrid.cases.models import Case
from urbangrid.cases.models import Case as CaseModel
from urbangrid.lib.access import is_admin, scope_for
from urbangrid.lib.errors import DomainError
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import Person, Unit

from . import actions as A
from . import forms as F
from . import policy as P
from . import queries
from .choices import CampaignState, ConsultationState, FollowUpState, MeetingState, TaskState
from .models import Campaign, CampaignTask, Consultation, FollowUp, Meeting


def case_url(number: str) -> str:
    try:
        return reverse("console:case_detail", args=[number])
    except NoReverseMatch:
        return ""


def _get(qs, user, pk):
    obj = qs.visible_to(user).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def _form_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _run(request, fn, ok: str, back: str):
    """Run an action for a POST button; success or the action's message is shown on ``back``."""
    try:
        fn()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)
    return redirect(back)


def _case(user, number):
    case = Case.objects.visible_to(user).filter(number=(number or "").strip()).first()
    if case is None:
        raise DomainError(_("Case not found."), field="case")
    return case


@login_required
def index(request):
    user = request.user
    scope = scope_for(user)
    today = timezone.localdate()
    campaigns = Campaign.objects.visible_to(user).filter(
        state__in=[CampaignState.PLANNED, CampaignState.ACTIVE]
    )
    consultations = Consultation.objects.visible_to(user).open().select_related("case", "lead_unit")
    follow_ups = (
        FollowUp.objects.visible_to(user).exclude(state=FollowUpState.DONE).select_related("unit", "meeting")
    )
    ctx = {
        "campaigns": campaigns.select_related("lead_unit")[:10],
        "consultations": consultations[:10],
        "candidates": list(queries.consultation_candidates(user, limit=10)),
        "meetings": Meeting.objects.visible_to(user)
        .filter(state=MeetingState.SCHEDULED)
        .select_related("host_unit")
        .order_by("scheduled_at")[:10],
        "follow_ups": follow_ups[:10],
        "my_tasks": CampaignTask.objects.visible_to(user)
        .filter(unit_id__in=scope.unit_ids)
        .exclude(state=TaskState.DONE)
        .select_related("campaign", "unit")[:10],
        "counts": {
            "campaigns": campaigns.count(),
            "consultations": consultations.count(),
            "follow_ups_overdue": follow_ups.filter(due_date__lt=today).count(),
        },
        "today": today,
        "can_campaign": P.can_organise_campaigns(scope),
        "can_consult": P.can_open_consultations(scope),
        "can_meet": P.can_host_meetings(scope),
    }
    return render(request, "joint/index.html", ctx)


# --- campaigns -----------------------------------------------------------------------------------
@login_required
def campaigns(request):
    qs = Campaign.objects.visible_to(request.user).select_related("lead_unit").order_by("-start_date", "-id")
    state = request.GET.get("state")
    if state in CampaignState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "joint/campaigns.html",
        {
            "page": page,
            "state": state,
            "states": CampaignState.choices,
            "can_campaign": P.can_organise_campaigns(scope_for(request.user)),
        },
    )


@login_required
def campaign_new(request):
    form = F.CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = A.do_create_campaign(
                request.user,
                title=d["title"],
                description=d["description"],
                lead_unit=d["lead_unit"],
                units=d["units"],
                regions=d["regions"],
                problem_classes=d["problem_classes"],
                start_date=d["start_date"],
                end_date=d["end_date"],
                targets=form.targets(),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Campaign %(c)s created.") % {"c": c.code})
            return redirect("joint:campaign", pk=c.pk)
    return render(request, "joint/campaign_new.html", {"form": form})


@login_required
def campaign_detail(request, pk):
    c = _get(Campaign.objects.select_related("lead_unit"), request.user, pk)
    live = c.state != CampaignState.ENDED
    summary = queries.campaign_summary(c) if live else c.summary
    cases = (
        queries.campaign_cases(c)
        .select_related("problem_class", "street", "assigned_unit")
        .order_by("-reported_at")
    )
    only_joint = request.GET.get("joint") == "1"
    if only_joint:
        cases = cases.filter(is_joint=True)
    page = Paginator(cases, 25).get_page(request.GET.get("page"))
    for case in page:
        case.url = case_url(case.number)
    scope = scope_for(request.user)
    is_lead = P.can_lead_campaign(scope, c)
    manual_ids = set(c.case_links.filter(source="manual").values_list("case_id", flat=True))
    return render(
        request,
        "joint/campaign_detail.html",
        {
            "c": c,
            "summary": summary,
            "page": page,
            "only_joint": only_joint,
            "manual_ids": manual_ids,
            "tasks": c.tasks.select_related("unit", "reported_by"),
            "is_lead": is_lead,
            "open": live and c.state != CampaignState.CANCELLED,
            "my_units": scope.unit_ids,
            "task_form": F.TaskForm(campaign=c),
            "report_form": F.TaskReportForm(),
            "link_form": F.CaseNumberForm(),
            "units": c.units.all(),
            "regions": c.regions.all(),
            "classes": c.problem_classes.all(),
            "people": c.people.select_related("unit"),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def campaign_task_add(request, pk):
    c = _get(Campaign.objects, request.user, pk)
    form = F.TaskForm(request.POST, campaign=c)
    back = reverse("joint:campaign", args=[c.pk])
    if not form.is_valid():
        messages.error(
            request,
            "; ".join(
                f"{form.fields[k].label}: {' '.join(v)}" if k in form.fields else " ".join(v)
                for k, v in form.errors.items()
            ),
        )
        return redirect(back)
    d = form.cleaned_data
    return _run(
        request,
        lambda: A.do_add_campaign_task(
            request.user, c, unit=d["unit"], title=d["title"], due_date=d["due_date"]
        ),
        _("Task added."),
        back,
    )


@login_required
@require_POST
def campaign_task_report(request, pk):
    task = _get(CampaignTask.objects.select_related("campaign"), request.user, pk)
    form = F.TaskReportForm(request.POST)
    back = reverse("joint:campaign", args=[task.campaign_id])
    if not form.is_valid():
        messages.error(request, _("Describe what was done."))
        return redirect(back)
    d = form.cleaned_data
    return _run(
        request,
        lambda: A.do_report_campaign_task(
            request.user, task, report=d["report"], quantity=d["quantity"] or 0
        ),
        _("Report submitted."),
        back,
    )


@login_required
@require_POST
def campaign_task_accept(request, pk):
    task = _get(CampaignTask.objects, request.user, pk)
    accepted = request.POST.get("accepted", "1") == "1"
    return _run(
        request,
        lambda: A.do_accept_campaign_task(request.user, task, accepted=accepted),
        _("Task accepted as done.") if accepted else _("Task sent back."),
        reverse("joint:campaign", args=[task.campaign_id]),
    )


@login_required
@require_POST
def campaign_link(request, pk):
    c = _get(Campaign.objects, request.user, pk)
    number = request.POST.get("case", "")

    def link():
        case = CaseModel.objects.filter(number=number.strip()).first()
        if case is None:
            raise DomainError(_("Case not found."))
        A.do_link_case(request.user, c, case)

    return _run(request, link, _("Case linked."), reverse("joint:campaign", args=[c.pk]))


@login_required
@require_POST
def campaign_end(request, pk):
    c = _get(Campaign.objects, request.user, pk)
    return _run(
        request,
        lambda: A.do_end_campaign(request.user, c, note=request.POST.get("note", "")),
        _("The campaign has ended; its summary is frozen."),
        reverse("joint:campaign", args=[c.pk]),
    )


# --- consultations ---------------------------------------------------------------------------------
@login_required
def consultations(request):
    qs = (
        Consultation.objects.visible_to(request.user)
        .select_related("case", "lead_unit")
        .order_by("-opened_at")
    )
    state = request.GET.get("state")
    if state in ConsultationState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "joint/consultations.html",
        {
            "page": page,
            "state": state,
            "states": ConsultationState.choices,
            "candidates": queries.consultation_candidates(request.user, limit=30),
            "can_consult": P.can_open_consultations(scope_for(request.user)),
        },
    )


@login_required
def consultation_new(request):
    form = F.ConsultationForm(request.POST or None, initial={"case": request.GET.get("case", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            cons = A.do_open_consultation(
                request.user,
                _case(request.user, d["case"]),
                reason=d["reason"],
                units=d["units"],
                mode=d["mode"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Consultation opened; the units have been asked for their views."))
            return redirect("joint:consultation", pk=cons.pk)
    return render(request, "joint/consultation_new.html", {"form": form})


@login_required
def consultation_detail(request, pk):
    cons = _get(
        Consultation.objects.select_related(
            "case", "lead_unit", "meeting", "case__problem_class", "case__street", "case__assigned_unit"
        ),
        request.user,
        pk,
    )
    scope = scope_for(request.user)
    parties = list(cons.parties.select_related("unit", "stated_by"))
    my_parties = [p.unit for p in parties if p.unit_id in scope.unit_ids]

    lead_default = next((p.unit_id for p in parties if p.stance == "accept"), None)
    return render(
        request,
        "joint/consultation_detail.html",
        {
            "cons": cons,
            "parties": parties,
            "case_link": case_url(cons.case.number),
            "view_form": F.ViewForm(units=Unit.objects.filter(pk__in=[u.pk for u in my_parties]))
            if my_parties
            else None,
            "schedule_form": F.ScheduleForm(),
            "decision_form": F.DecisionForm(initial={"lead_unit": lead_default}),
            "can_decide": P.can_decide_consultations(scope),
            "can_apply": scope.has_role(Role.DISPATCHER),
            "is_admin": is_admin(scope),
            "assists": cons.assist_units.all(),
            "open": cons.state in (ConsultationState.OPEN, ConsultationState.SCHEDULED),
        },
    )


@login_required
@require_POST
def consultation_view(request, pk):
    cons = _get(Consultation.objects, request.user, pk)
    back = reverse("joint:consultation", args=[cons.pk])
    form = F.ViewForm(request.POST)

    form.fields["unit"].queryset = Unit.objects.filter(pk__in=cons.parties.values("unit_id"))
    if not form.is_valid():
        messages.error(request, _("Choose a view and give the grounds."))
        return redirect(back)
    d = form.cleaned_data
    return _run(
        request,
        lambda: A.do_state_view(
            request.user, cons, unit=d["unit"], stance=d["stance"], statement=d["statement"]
        ),
        _("Your unit's view is recorded."),
        back,
    )


@login_required
@require_POST
def consultation_schedule(request, pk):
    cons = _get(Consultation.objects, request.user, pk)
    back = reverse("joint:consultation", args=[cons.pk])
    form = F.ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the meeting's date and time."))
        return redirect(back)
    d = form.cleaned_data
    return _run(
        request,
        lambda: A.do_schedule_consultation_meeting(
            request.user, cons, scheduled_at=d["scheduled_at"], location=d["location"]
        ),
        _("Consultation meeting scheduled."),
        back,
    )


@login_required
def consultation_decide(request, pk):
    cons = _get(Consultation.objects.select_related("case"), request.user, pk)
    form = F.DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            A.do_decide_consultation(
                request.user,
                cons,
                lead_unit=d["lead_unit"],
                assist_units=d["assist_units"],
                deadline=d["deadline"],
                decision=d["decision"],
                minutes=d["minutes"],
                update_matrix=d["update_matrix"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Decision recorded. Apply it to the case to dispatch."))
            return redirect("joint:consultation", pk=cons.pk)
    return render(request, "joint/consultation_decide.html", {"cons": cons, "form": form})


@login_required
@require_POST
def consultation_apply(request, pk):
    cons = _get(Consultation.objects, request.user, pk)
    return _run(
        request,
        lambda: A.do_apply_consultation(request.user, cons),
        _("The decision was applied: the case is dispatched to the decided units."),
        reverse("joint:consultation", args=[cons.pk]),
    )


@login_required
@require_POST
def consultation_matrix(request, pk):
    cons = _get(Consultation.objects, request.user, pk)
    return _run(
        request,
        lambda: A.do_update_matrix_from_consultation(request.user, cons),
        _("The responsibility matrix was updated."),
        reverse("joint:consultation", args=[cons.pk]),
    )


# --- meetings ----------------------------------------------------------------------------------------
@login_required
def meetings(request):
    qs = Meeting.objects.visible_to(request.user).select_related("host_unit").order_by("-scheduled_at")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    overdue = (
        FollowUp.objects.visible_to(request.user)
        .overdue(timezone.localdate())
        .select_related("unit", "meeting")[:30]
    )
    return render(
        request,
        "joint/meetings.html",
        {"page": page, "overdue": overdue, "can_meet": P.can_host_meetings(scope_for(request.user))},
    )


@login_required
def meeting_new(request):
    proposals = queries.agenda_proposals(request.user)

    me = Person.objects.filter(user=request.user).first()
    form = F.MeetingForm(request.POST or None, initial={"host_unit": getattr(me, "unit_id", None)})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        chosen = set(request.POST.getlist("propose"))
        agenda = [(p["reason"], "", p["case"]) for p in proposals if str(p["case"].pk) in chosen]
        try:
            m = A.do_schedule_meeting(
                request.user,
                title=d["title"],
                scheduled_at=d["scheduled_at"],
                location=d["location"],
                host_unit=d["host_unit"],
                units=d["units"],
                agenda=agenda,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Meeting scheduled with %(n)s agenda items.") % {"n": len(agenda)})
            return redirect("joint:meeting", pk=m.pk)
    return render(request, "joint/meeting_new.html", {"form": form, "proposals": proposals})


@login_required
def meeting_detail(request, pk):
    m = _get(Meeting.objects.select_related("host_unit", "region"), request.user, pk)
    scope = scope_for(request.user)
    return render(
        request,
        "joint/meeting_detail.html",
        {
            "m": m,
            "agenda": m.agenda.select_related("case", "consultation"),
            "follow_ups": m.follow_ups.select_related("unit", "agenda_item", "replied_by"),
            "is_host": P.can_manage_meeting(scope, m),
            "my_units": scope.unit_ids,
            "minutes_form": F.MinutesForm(initial={"minutes": m.minutes}),
            "follow_form": F.FollowUpForm(),
            "agenda_form": F.AgendaForm(),
            "reply_form": F.ReplyForm(),
            "today": timezone.localdate(),
            "units": m.units.all(),
            "attendees": m.attendees.all(),
        },
    )


@login_required
@require_POST
def meeting_agenda(request, pk):
    m = _get(Meeting.objects, request.user, pk)
    form = F.AgendaForm(request.POST)
    back = reverse("joint:meeting", args=[m.pk])
    if not form.is_valid():
        messages.error(request, _("Unknown agenda reason."))
        return redirect(back)
    d = form.cleaned_data

    def add():
        case = _case(request.user, d["case"]) if d["case"] else None
        A.do_add_agenda_item(request.user, m, reason=d["reason"], title=d["title"], case=case)

    return _run(request, add, _("Agenda item added."), back)


@login_required
@require_POST
def meeting_minutes(request, pk):
    m = _get(Meeting.objects, request.user, pk)
    decisions = {k.split("_", 1)[1]: v for k, v in request.POST.items() if k.startswith("decision_")}
    return _run(
        request,
        lambda: A.do_record_minutes(
            request.user, m, minutes=request.POST.get("minutes", ""), decisions=decisions
        ),
        _("Minutes recorded."),
        reverse("joint:meeting", args=[m.pk]),
    )


@login_required
@require_POST
def meeting_follow_up(request, pk):
    m = _get(Meeting.objects, request.user, pk)
    form = F.FollowUpForm(request.POST)
    back = reverse("joint:meeting", args=[m.pk])
    if not form.is_valid():
        messages.error(request, _("Give the task, the responsible unit and the deadline."))
        return redirect(back)
    d = form.cleaned_data
    return _run(
        request,
        lambda: A.do_add_follow_up(
            request.user,
            m,
            title=d["title"],
            unit=d["unit"],
            due_date=d["due_date"],
            agenda_item=request.POST.get("agenda_item") or None,
        ),
        _("Follow-up task added."),
        back,
    )


@login_required
@require_POST
def follow_up_reply(request, pk):
    f = _get(FollowUp.objects, request.user, pk)
    return _run(
        request,
        lambda: A.do_reply_follow_up(request.user, f, reply=request.POST.get("reply", "")),
        _("Reply sent."),
        request.POST.get("next") or reverse("joint:meeting", args=[f.meeting_id]),
    )


@login_required
@require_POST
def follow_up_close(request, pk):
    f = _get(FollowUp.objects, request.user, pk)
    accepted = request.POST.get("accepted", "1") == "1"
    return _run(
        request,
        lambda: A.do_close_follow_up(request.user, f, accepted=accepted),
        _("Task completed.") if accepted else _("Task reopened."),
        reverse("joint:meeting", args=[f.meeting_id]),
    )
