"""Writes of the joint app: every one is a do_* action under one transaction with an audit record.

Campaigns are created by leaders and dispatchers; a unit reports on its own campaign tasks.
Consultations are opened by dispatchers/shift leaders (or for any case returned twice), the units
involved state their view, a dispatcher or leader decides, and the decision reaches the case only
through the case loop's own ``do_dispatch`` (never by writing Case rows here).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from urbangrid.cases import actions as case_actions
from urbangrid.cases.models import Case, CaseTask
from urbangrid.catalog.actions import do_set_responsibility
from urbangrid.catalog.models import ProblemClass
from urbangrid.geo.models import Region
from urbangrid.lib.access import is_admin, require, scope_for
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.roles import Role
from urbangrid.orgs.models import Person, Unit

from . import policy as P
from . import queries
from .choices import (
    AgendaReason,
    CampaignState,
    ConsultationMode,
    ConsultationState,
    ConsultationTrigger,
    FollowUpState,
    LinkSource,
    MeetingKind,
    MeetingState,
    Stance,
    TargetMetric,
    TaskState,
)
from .models import (
    AgendaItem,
    Campaign,
    CampaignCase,
    CampaignTarget,
    CampaignTask,
    Consultation,
    ConsultationUnit,
    FollowUp,
    Meeting,
)


# --- helpers -----------------------------------------------------------------------------------
def _may_not(what: str) -> str:
    return _("You may not %(what)s.") % {"what": what}


def _person(actor):

    return Person.objects.filter(user=actor).first() if getattr(actor, "pk", None) else None


def _acts_for(actor, unit_id: int) -> bool:
    scope = scope_for(actor)
    return scope.all_city and is_admin(scope) or unit_id in scope.unit_ids


def _units(actor, units, field: str):

    # Any active unit may be named as a participant (units are the city's directory); what
    # stays jurisdiction-filtered is the campaigns, cases and meetings themselves.
    ids = [getattr(u, "pk", u) for u in units or []]
    found = list(Unit.objects.filter(pk__in=ids, is_active=True))
    if len(found) != len(set(ids)):
        raise InvalidInput(_("Unknown or inactive unit."), field=field)
    return found


def _day(value, field: str, required=True) -> date | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("A date is required."), field=field)
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("Not a valid date."), field=field) from None


def _moment(value, field: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = parse_datetime(str(value or "")) if value else None
        if moment is None:
            raise InvalidInput(_("A date and time is required."), field=field)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _text(value, field: str, message) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(message, field=field)
    return value


def _notify_units(unit_ids, kind, title, body, case=None, *, now):
    """Tell the units' handlers and leaders after commit (the case loop's notification channel)."""

    def send():
        try:
            from urbangrid.cases.notify import notify
        except ImportError:  # the notification channel is optional for this app
            return
        people = list(
            Person.objects.filter(
                unit_id__in=list(unit_ids),
                is_active=True,
                roles__role__in=[Role.UNIT_HANDLER, Role.UNIT_LEADER],
            ).distinct()
        )
        if people:
            notify(people, kind, title, body, case=case, now=now)

    transaction.on_commit(send)


# --- campaigns ---------------------------------------------------------------------------------
def _next_campaign_code(start: date) -> str:
    prefix = f"ZX{start:%Y}"
    last = Campaign.objects.filter(code__startswith=prefix).aggregate(m=Max("code"))["m"]
    seq = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def _campaign_dates(start_date, end_date) -> tuple[date, date]:
    start, end = _day(start_date, "start_date"), _day(end_date, "end_date")
    if end < start:
        raise InvalidInput(_("The end date cannot be before the start date."), field="end_date")
    if (end - start).days > 366:
        raise InvalidInput(_("A campaign lasts at most one year."), field="end_date")
    return start, end


def _campaign_regions(actor, regions, lead) -> list:
    """The campaign's areas: each one the actor oversees or inside the lead unit's area (a city
    department leads anywhere in the city)."""

    region_ids = [getattr(r, "pk", r) for r in regions or []]
    if not region_ids:
        raise InvalidInput(_("Choose at least one area."), field="regions")
    found_regions = list(Region.objects.filter(pk__in=region_ids))
    visible = set(Region.objects.visible_to(actor).filter(pk__in=region_ids).values_list("id", flat=True))
    lead_area = lead.region.code if lead.region_id else ""
    if len(found_regions) != len(set(region_ids)) or any(
        r.pk not in visible and not r.code.startswith(lead_area) for r in found_regions
    ):
        raise InvalidInput(_("Unknown area."), field="regions")
    return found_regions


def _campaign_classes(problem_classes) -> list:

    class_ids = [getattr(c, "pk", c) for c in problem_classes or []]
    classes = list(ProblemClass.objects.filter(pk__in=class_ids))
    if len(classes) != len(set(class_ids)):
        raise InvalidInput(_("Unknown problem class."), field="problem_classes")
    return classes


def _campaign_people(actor, people) -> list:

    person_ids = [getattr(p, "pk", p) for p in people or []]
    persons = list(Person.objects.visible_to(actor).filter(pk__in=person_ids, is_active=True))
    if len(persons) != len(set(person_ids)):
        raise InvalidInput(_("Unknown person."), field="people")
    return persons


def _campaign_target(name, metric, value) -> CampaignTarget | None:
    """An unsaved target; None for a row without a name (a blank row of the form)."""
    name = (name or "").strip()
    if not name:
        return None
    if metric not in TargetMetric.values:
        raise InvalidInput(_("Unknown target measure."), field="targets")
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise InvalidInput(_("A target value is a whole number above zero."), field="targets")
    return CampaignTarget(name=name[:80], metric=metric, target_value=value)


@transaction.atomic
def do_create_campaign(
    actor,
    *,
    title: str,
    lead_unit,
    regions,
    start_date,
    end_date,
    description: str = "",
    units=(),
    people=(),
    problem_classes=(),
    targets=(),
    now: datetime | None = None,
) -> Campaign:
    """Create a campaign with its areas, units, classes and targets [(name, metric, value), ...]."""
    now = now or timezone.now()
    require(actor, P.can_organise_campaigns, _may_not(_("organise campaigns")))
    title = _text(title, "title", _("A title is required."))
    start, end = _campaign_dates(start_date, end_date)
    (lead,) = _units(actor, [lead_unit], "lead_unit") if lead_unit else (None,)
    if lead is None:
        raise InvalidInput(_("Choose the lead unit."), field="lead_unit")
    members = _units(actor, units, "units")
    found_regions = _campaign_regions(actor, regions, lead)
    classes = _campaign_classes(problem_classes)
    persons = _campaign_people(actor, people)
    clean_targets = [t for t in (_campaign_target(*row) for row in targets or ()) if t is not None]
    campaign = Campaign.objects.create(
        code=_next_campaign_code(start),
        title=title[:120],
        description=description.strip(),
        lead_unit=lead,
        start_date=start,
        end_date=end,
        state=CampaignState.ACTIVE if start <= timezone.localdate(now) else CampaignState.PLANNED,
        created_by=actor if getattr(actor, "pk", None) else None,
        created_at=now,
    )
    campaign.units.set([u for u in members if u.pk != lead.pk])
    campaign.regions.set(found_regions)
    campaign.problem_classes.set(classes)
    campaign.people.set(persons)
    for t in clean_targets:
        t.campaign = campaign
    CampaignTarget.objects.bulk_create(clean_targets)
    record(
        actor,
        "joint.create_campaign",
        campaign,
        summary=f"{campaign.code} {title}"[:300],
        lead=lead.code,
        units=[u.code for u in members],
        regions=[r.code for r in found_regions],
        start=start.isoformat(),
        end=end.isoformat(),
        at=now,
    )
    _notify_units(
        [lead.pk, *[u.pk for u in members]],
        "campaign",
        _("Campaign %(c)s: %(t)s") % {"c": campaign.code, "t": title},
        description[:200],
        now=now,
    )
    return campaign


def _campaign_for_lead(actor, campaign) -> Campaign:
    campaign = Campaign.objects.access(actor, campaign, _("Campaign not found."))
    scope = scope_for(actor)
    if not P.can_lead_campaign(scope, campaign):
        raise PermissionDenied(
            _("Only the lead unit's leaders or the command centre may manage this campaign.")
        )
    return campaign


def _open_campaign(campaign):
    if campaign.state in (CampaignState.ENDED, CampaignState.CANCELLED):
        raise Conflict(_("The campaign has ended."))


@transaction.atomic
def do_add_campaign_task(
    actor, campaign, *, unit, title: str, due_date, description: str = "", now: datetime | None = None
) -> CampaignTask:
    """Give a participating (or the lead) unit its part of the campaign, with a deadline."""
    now = now or timezone.now()
    campaign = _campaign_for_lead(actor, campaign)
    _open_campaign(campaign)
    title = _text(title, "title", _("A task needs a title."))
    unit_id = getattr(unit, "pk", unit)
    if unit_id != campaign.lead_unit_id and not campaign.units.filter(pk=unit_id).exists():
        raise InvalidInput(_("The unit does not take part in this campaign."), field="unit")
    due = _day(due_date, "due_date")
    if not (campaign.start_date <= due <= campaign.end_date):
        raise InvalidInput(_("The deadline must lie within the campaign's dates."), field="due_date")
    task = CampaignTask.objects.create(
        campaign=campaign, unit_id=unit_id, title=title[:120], description=description.strip(), due_date=due
    )
    record(
        actor,
        "joint.add_campaign_task",
        task,
        summary=f"{campaign.code}: {title}"[:300],
        unit=unit_id,
        due=due.isoformat(),
        at=now,
    )
    _notify_units(
        [unit_id],
        "campaign_task",
        _("Campaign task: %(t)s") % {"t": title},
        f"{campaign.title} · {due}",
        now=now,
    )
    return task


@transaction.atomic
def do_report_campaign_task(
    actor, task, *, report: str, quantity: int = 0, now: datetime | None = None
) -> CampaignTask:
    """The unit reports what it did on its campaign task (e.g. stalls cleared)."""
    now = now or timezone.now()
    task = (
        CampaignTask.objects.visible_to(actor)
        .select_for_update()
        .filter(pk=getattr(task, "pk", task))
        .first()
    )
    if task is None:
        raise NotFound(_("Task not found."))
    if not _acts_for(actor, task.unit_id):
        raise PermissionDenied(_("Only the responsible unit may report on this task."))
    _open_campaign(task.campaign)
    if task.state == TaskState.DONE:
        raise Conflict(_("The task has already been accepted as done."))
    report = _text(report, "report", _("Describe what was done."))
    try:
        quantity = int(quantity or 0)
    except (TypeError, ValueError):
        raise InvalidInput(_("The quantity is a whole number."), field="quantity") from None
    if quantity < 0:
        raise InvalidInput(_("The quantity is a whole number."), field="quantity")
    task.report, task.quantity, task.state = report, quantity, TaskState.REPORTED
    task.reported_at, task.reported_by = now, _person(actor)
    task.save(update_fields=["report", "quantity", "state", "reported_at", "reported_by"])
    record(actor, "joint.report_campaign_task", task, summary=report[:200], quantity=quantity, at=now)
    return task


@transaction.atomic
def do_accept_campaign_task(
    actor, task, *, accepted: bool = True, note: str = "", now: datetime | None = None
) -> CampaignTask:
    """The lead unit accepts a reported task as done, or sends it back for more work."""
    now = now or timezone.now()
    task = (
        CampaignTask.objects.visible_to(actor)
        .select_for_update()
        .filter(pk=getattr(task, "pk", task))
        .first()
    )
    if task is None:
        raise NotFound(_("Task not found."))
    _campaign_for_lead(actor, task.campaign)
    _open_campaign(task.campaign)
    if task.state != TaskState.REPORTED:
        raise Conflict(_("Only a reported task can be accepted or sent back."))
    task.state = TaskState.DONE if accepted else TaskState.OPEN
    task.accepted_at = now if accepted else None
    task.save(update_fields=["state", "accepted_at"])
    record(
        actor,
        "joint.accept_campaign_task" if accepted else "joint.return_campaign_task",
        task,
        summary=note[:200],
        at=now,
    )
    return task


@transaction.atomic
def do_link_case(actor, campaign, case, *, now: datetime | None = None) -> CampaignCase:
    """Link a case found during the campaign by hand (e.g. outside its areas or classes)."""

    now = now or timezone.now()
    campaign = Campaign.objects.access(actor, campaign, _("Campaign not found."))
    scope = scope_for(actor)
    if not P.can_link_cases(scope):
        raise PermissionDenied(_may_not(_("link cases to campaigns")))
    _open_campaign(campaign)
    # The campaign's units work its areas: besides their own cases they may link cases there.
    case = (
        Case.objects.filter(pk=getattr(case, "pk", case))
        .filter(Q(id__in=Case.objects.visible_to(actor).values("id")) | queries.campaign_area_q(campaign))
        .first()
    )
    if case is None:
        raise NotFound(_("Case not found."))
    if not (
        queries.day_start(campaign.start_date)
        <= case.reported_at
        < queries.day_start(campaign.end_date + timedelta(days=1))
    ):
        raise InvalidInput(_("The case was not reported during the campaign."), field="case")
    link, created = CampaignCase.objects.get_or_create(
        campaign=campaign,
        case=case,
        defaults={"source": LinkSource.MANUAL, "linked_by": actor, "linked_at": now},
    )
    if created:
        record(
            actor,
            "joint.link_case",
            campaign,
            summary=f"{campaign.code} + {case.number}",
            case=case.number,
            at=now,
        )
    return link


def _sync_links(campaign, now: datetime) -> int:
    """Materialise the automatic matches as links (kept after the campaign ends)."""

    have = CampaignCase.objects.filter(campaign=campaign).values("case_id")
    ids = list(
        Case.objects.filter(queries.campaign_auto_q(campaign))
        .exclude(state__in=queries.EXCLUDED_STATES)
        .exclude(id__in=have)
        .values_list("id", flat=True)
    )
    CampaignCase.objects.bulk_create(
        [CampaignCase(campaign=campaign, case_id=i, source=LinkSource.AUTO, linked_at=now) for i in ids],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return len(ids)


@transaction.atomic
def do_end_campaign(actor, campaign, *, note: str = "", now=None) -> Campaign:
    """End the campaign: link the matching cases for good and freeze the summary figures."""
    now = now or timezone.now()
    campaign = _campaign_for_lead(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _open_campaign(campaign)
    if timezone.localdate(now) < campaign.start_date:
        raise Conflict(_("A campaign that has not started can be cancelled, not ended."))
    added = _sync_links(campaign, now)
    campaign.summary = queries.campaign_summary(campaign, now)
    campaign.summary_note = note.strip()
    campaign.state = CampaignState.ENDED
    campaign.ended_at = now
    campaign.save(update_fields=["summary", "summary_note", "state", "ended_at"])
    figures = campaign.summary["cases"]
    record(
        actor,
        "joint.end_campaign",
        campaign,
        summary=f"{campaign.code}: {figures['found']}/{figures['closed']}",
        linked=added,
        cases=figures,
        targets_achieved=campaign.summary["targets_achieved"],
        at=now,
    )
    return campaign


def do_start_due_campaigns(now: datetime | None = None) -> int:
    """System action (periodic task): planned campaigns whose first day has come are under way.
    A campaign created ahead of its start is planned; without this it stayed planned for good."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    started = 0
    for pk in Campaign.objects.filter(state=CampaignState.PLANNED, start_date__lte=today).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            # The planned state is re-checked under the lock: its lead may have cancelled it.
            n = Campaign.objects.filter(pk=pk, state=CampaignState.PLANNED).update(state=CampaignState.ACTIVE)
            if n:
                campaign = Campaign.objects.get(pk=pk)
                record(
                    None,
                    "joint.start_campaign",
                    campaign,
                    summary=f"{campaign.code}: {campaign.start_date}",
                    at=now,
                )
                started += 1
    return started


@transaction.atomic
def do_cancel_campaign(actor, campaign, *, reason: str, now: datetime | None = None) -> Campaign:
    now = now or timezone.now()
    campaign = _campaign_for_lead(actor, campaign)
    _open_campaign(campaign)
    reason = _text(reason, "reason", _("Give a reason."))
    campaign.state = CampaignState.CANCELLED
    campaign.summary_note = reason
    campaign.ended_at = now
    campaign.save(update_fields=["state", "summary_note", "ended_at"])
    record(actor, "joint.cancel_campaign", campaign, summary=reason[:200], at=now)
    return campaign


# --- consultation --------------------------------------------------------------------------------
def _involved_units(case) -> list[int]:
    """Units that held the case: the assigned unit and every unit task so far (returned ones too)."""

    ids = list(CaseTask.objects.filter(case=case).values_list("unit_id", flat=True).distinct())
    if case.assigned_unit_id and case.assigned_unit_id not in ids:
        ids.append(case.assigned_unit_id)
    return ids


@transaction.atomic
def do_open_consultation(
    actor,
    case,
    *,
    reason: str,
    units=(),
    mode: str = ConsultationMode.WRITTEN,
    views_due_at=None,
    now: datetime | None = None,
) -> Consultation:
    """Send a disputed case to consultation. The involved units default to every unit that held
    it; a case returned fewer than twice needs the dispatcher's flag (this call, with a reason)."""

    now = now or timezone.now()
    require(actor, P.can_open_consultations, _may_not(_("open consultations")))
    case = Case.objects.access(actor, case, _("Case not found."))
    if case.state in ("closed", "rejected", "cancelled"):
        raise Conflict(_("The case is finished; there is nothing to consult on."))
    reason = _text(reason, "reason", _("Explain why the responsibility is disputed."))
    if mode not in ConsultationMode.values:
        raise InvalidInput(_("Unknown procedure."), field="mode")
    unit_ids = [u.pk for u in _units(actor, units, "units")] if units else _involved_units(case)
    if not unit_ids:
        raise InvalidInput(_("Name the units involved."), field="units")
    due = _moment(views_due_at, "views_due_at") if views_due_at else now + timedelta(days=2)
    try:
        with transaction.atomic():
            consultation = Consultation.objects.create(
                case=case,
                trigger=ConsultationTrigger.RETURNED
                if case.return_count >= 2
                else ConsultationTrigger.FLAGGED,
                reason=reason,
                mode=mode,
                views_due_at=due,
                opened_by=actor if getattr(actor, "pk", None) else None,
                opened_at=now,
            )
    except IntegrityError:
        raise Conflict(_("The case already has an open consultation.")) from None
    ConsultationUnit.objects.bulk_create(
        ConsultationUnit(consultation=consultation, unit_id=u) for u in unit_ids
    )
    record(
        actor,
        "joint.open_consultation",
        consultation,
        summary=f"{case.number}: {reason}"[:300],
        case=case.number,
        units=unit_ids,
        trigger=consultation.trigger,
        at=now,
    )
    _notify_units(
        unit_ids,
        "consultation",
        _("Consultation on case %(n)s: state your view") % {"n": case.number},
        reason[:200],
        case=case,
        now=now,
    )
    return consultation


def _consultation(actor, consultation, *, lock=False) -> Consultation:
    qs = Consultation.objects.visible_to(actor)
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.filter(pk=getattr(consultation, "pk", consultation)).select_related("case").first()
    if found is None:
        raise NotFound(_("Consultation not found."))
    return found


@transaction.atomic
def do_state_view(
    actor, consultation, *, unit, stance: str, statement: str, now: datetime | None = None
) -> ConsultationUnit:
    """An involved unit states whether it accepts, would assist, or declines, and why."""
    now = now or timezone.now()
    consultation = _consultation(actor, consultation)
    if consultation.state not in (ConsultationState.OPEN, ConsultationState.SCHEDULED):
        raise Conflict(_("The consultation no longer takes views."))
    unit_id = getattr(unit, "pk", unit)
    party = (
        ConsultationUnit.objects.select_for_update()
        .filter(consultation=consultation, unit_id=unit_id)
        .first()
    )
    if party is None:
        raise InvalidInput(_("The unit is not involved in this consultation."), field="unit")
    if not _acts_for(actor, unit_id) or not scope_for(actor).has_role(
        Role.UNIT_HANDLER, Role.UNIT_LEADER, Role.ADMIN
    ):
        raise PermissionDenied(_("Only the unit itself may state its view."))
    if stance not in Stance.values:
        raise InvalidInput(_("Choose a view."), field="stance")
    party.stance = stance
    party.statement = _text(statement, "statement", _("Give the grounds for the view."))
    party.stated_by, party.stated_at = _person(actor), now
    party.save(update_fields=["stance", "statement", "stated_by", "stated_at"])
    record(
        actor,
        "joint.state_view",
        consultation,
        summary=f"{party.unit_id}: {stance}",
        unit=unit_id,
        stance=stance,
        at=now,
    )
    return party


@transaction.atomic
def do_schedule_consultation_meeting(
    actor,
    consultation,
    *,
    scheduled_at,
    location: str = "",
    attendees=(),
    host_unit=None,
    now: datetime | None = None,
) -> Meeting:
    """Decide the consultation in a meeting: schedule it with the involved units and attendees."""

    now = now or timezone.now()
    require(actor, P.can_schedule_consultations, _may_not(_("schedule consultation meetings")))
    consultation = _consultation(actor, consultation, lock=True)
    if consultation.state not in (ConsultationState.OPEN, ConsultationState.SCHEDULED):
        raise Conflict(_("The consultation is already decided."))
    when = _moment(scheduled_at, "scheduled_at")
    person = _person(actor)
    host = _units(actor, [host_unit], "host_unit")[0] if host_unit else (person.unit if person else None)
    if host is None:
        raise InvalidInput(_("Choose the host unit."), field="host_unit")
    people = list(
        Person.objects.visible_to(actor).filter(pk__in=[getattr(p, "pk", p) for p in attendees or []])
    )
    case = consultation.case
    meeting = Meeting.objects.create(
        kind=MeetingKind.CONSULTATION,
        title=_("Consultation on case %(n)s") % {"n": case.number},
        scheduled_at=when,
        location=location.strip()[:120],
        region=case.street or case.district,
        host_unit=host,
        created_by=actor if getattr(actor, "pk", None) else None,
        created_at=now,
    )
    meeting.units.set(list(consultation.parties.values_list("unit_id", flat=True)))
    meeting.attendees.set(people)
    AgendaItem.objects.create(
        meeting=meeting,
        position=1,
        reason=AgendaReason.CONSULTATION,
        title=f"{case.number} {consultation.reason[:150]}",
        case=case,
        consultation=consultation,
    )
    consultation.meeting, consultation.mode, consultation.state = (
        meeting,
        ConsultationMode.MEETING,
        ConsultationState.SCHEDULED,
    )
    consultation.save(update_fields=["meeting", "mode", "state"])
    record(
        actor,
        "joint.schedule_consultation_meeting",
        consultation,
        summary=f"{case.number} @ {when:%Y-%m-%d %H:%M}",
        meeting=meeting.pk,
        at=now,
    )
    _notify_units(
        list(consultation.parties.values_list("unit_id", flat=True)),
        "meeting",
        _("Consultation meeting on case %(n)s") % {"n": case.number},
        f"{timezone.localtime(when):%Y-%m-%d %H:%M} {location}",
        case=case,
        now=now,
    )
    return meeting


@transaction.atomic
def do_decide_consultation(
    actor,
    consultation,
    *,
    lead_unit,
    assist_units=(),
    deadline,
    decision: str,
    update_matrix: bool = False,
    minutes: str = "",
    now: datetime | None = None,
) -> Consultation:
    """Record the decision: the responsible lead unit, assisting units and the handling deadline.
    A meeting's minutes are recorded with it. The case changes only when the decision is applied."""
    now = now or timezone.now()
    require(actor, P.can_decide_consultations, _may_not(_("decide consultations")))
    consultation = _consultation(actor, consultation, lock=True)
    if consultation.state not in (ConsultationState.OPEN, ConsultationState.SCHEDULED):
        raise Conflict(_("The consultation is already decided."))
    lead = _units(actor, [lead_unit], "lead_unit")[0] if lead_unit else None
    if lead is None:
        raise InvalidInput(_("Choose the responsible lead unit."), field="lead_unit")
    assists = _units(actor, assist_units, "assist_units")
    if any(u.pk == lead.pk for u in assists):
        raise InvalidInput(_("The lead unit cannot also assist."), field="assist_units")
    due = _moment(deadline, "deadline")
    if due <= now:
        raise InvalidInput(_("The deadline must be in the future."), field="deadline")
    decision = _text(decision, "decision", _("Write down the decision and its grounds."))
    if consultation.mode == ConsultationMode.MEETING and consultation.meeting_id:
        meeting = Meeting.objects.select_for_update().get(pk=consultation.meeting_id)
        minutes = _text(minutes or meeting.minutes, "minutes", _("A meeting's decision needs its minutes."))
        meeting.minutes, meeting.state, meeting.held_at = (
            minutes,
            MeetingState.HELD,
            meeting.held_at or now,
        )
        meeting.save(update_fields=["minutes", "state", "held_at"])
        AgendaItem.objects.filter(meeting=meeting, consultation=consultation).update(decision=decision)
    consultation.lead_unit, consultation.deadline, consultation.decision = lead, due, decision
    consultation.update_matrix = bool(update_matrix)
    consultation.decided_by, consultation.decided_at = actor, now
    consultation.state = ConsultationState.DECIDED
    consultation.save(
        update_fields=[
            "lead_unit",
            "deadline",
            "decision",
            "update_matrix",
            "decided_by",
            "decided_at",
            "state",
        ]
    )
    consultation.assist_units.set(assists)
    record(
        actor,
        "joint.decide_consultation",
        consultation,
        summary=f"{consultation.case.number} → {lead.name}"[:300],
        lead=lead.code,
        assists=[u.code for u in assists],
        deadline=due.isoformat(),
        update_matrix=bool(update_matrix),
        at=now,
    )
    return consultation


def _matrix_update(actor, consultation, now: datetime) -> str:
    """Ask the catalog engineer's action to record the decided unit in the responsibility matrix
    for this class and street; without that action the request is recorded for a catalog editor."""
    case = consultation.case
    if case.problem_class_id is None:
        return _("no class on the case: the matrix was not changed")
    if not is_admin(scope_for(actor)):
        # The matrix is city-wide master data that only administrators change (catalog rule).
        return _("requested: %(cls)s in %(area)s → %(unit)s (awaiting an administrator)") % {
            "cls": case.problem_class.code,
            "area": getattr(case.street, "name", "-"),
            "unit": consultation.lead_unit.name,
        }

    do_set_responsibility(
        actor,
        [
            {
                "problem_class": case.problem_class,
                "region": case.street,
                "unit": consultation.lead_unit,
                "note": (_("Consultation decision on case %(n)s") % {"n": case.number})[:200],
            }
        ],
        now=now,
    )
    consultation.matrix_updated = True
    return _("matrix updated: %(cls)s in %(area)s → %(unit)s") % {
        "cls": case.problem_class.code,
        "area": getattr(case.street, "name", "-"),
        "unit": consultation.lead_unit.name,
    }


@transaction.atomic
def do_update_matrix_from_consultation(actor, consultation, *, now: datetime | None = None) -> Consultation:
    """An administrator enters an applied consultation's decision in the responsibility matrix
    (class × street → decided lead unit) through the catalog's own action."""
    now = now or timezone.now()
    require(actor, is_admin, _("Only a system administrator may change the responsibility matrix."))
    consultation = _consultation(actor, consultation, lock=True)
    if consultation.state != ConsultationState.APPLIED or not consultation.update_matrix:
        raise Conflict(_("This consultation did not ask for a change of the responsibility matrix."))
    if consultation.matrix_updated:
        raise Conflict(_("The responsibility matrix was already updated."))
    consultation.matrix_result = _matrix_update(actor, consultation, now)[:200]
    consultation.save(update_fields=["matrix_result", "matrix_updated"])
    record(actor, "joint.update_matrix", consultation, summary=consultation.matrix_result, at=now)
    return consultation


@transaction.atomic
def do_apply_consultation(actor, consultation, *, now: datetime | None = None) -> Consultation:
    """Apply the decision to the case through the case loop's dispatch action (lead + assisting
    units; each assisting task gets the decided deadline), and update the matrix if decided."""

    now = now or timezone.now()
    consultation = _consultation(actor, consultation, lock=True)
    if consultation.state != ConsultationState.DECIDED:
        raise Conflict(_("Only a decided consultation can be applied."))
    case = Case.objects.get(pk=consultation.case_id)
    if case.state != "pending_dispatch":
        raise Conflict(
            _(
                "The case must be awaiting dispatch to apply the decision (approve the unit's return first); it is “%(s)s”."
            )
            % {"s": case.get_state_display()}
        )
    assists = [
        {"unit": u, "instruction": consultation.decision[:500], "due_at": consultation.deadline}
        for u in consultation.assist_units.all()
    ]
    deadline = timezone.localtime(consultation.deadline)
    case_actions.do_dispatch(
        actor,
        case,
        unit=consultation.lead_unit,
        reason=_("Consultation decision #%(id)s") % {"id": consultation.pk},
        instruction=(
            _("Consultation decision (deadline %(d)s): %(text)s")
            % {"d": f"{deadline:%Y-%m-%d %H:%M}", "text": consultation.decision}
        )[:1000],
        assists=assists,
        expected_version=case.version,
        now=now,
    )
    if consultation.update_matrix:
        consultation.matrix_result = _matrix_update(actor, consultation, now)[:200]
    consultation.state = ConsultationState.APPLIED
    consultation.applied_by, consultation.applied_at = actor, now
    consultation.save(update_fields=["state", "applied_by", "applied_at", "matrix_result", "matrix_updated"])
    record(
        actor,
        "joint.apply_consultation",
        consultation,
        summary=f"{case.number} → {consultation.lead_unit.name}"[:300],
        matrix=consultation.matrix_result,
        at=now,
    )
    return consultation


@transaction.atomic
def do_cancel_consultation(actor, consultation, *, reason: str, now: datetime | None = None) -> Consultation:
    now = now or timezone.now()
    require(actor, P.can_schedule_consultations, _may_not(_("cancel consultations")))
    consultation = _consultation(actor, consultation, lock=True)
    if consultation.state not in queries.open_consultation_states():
        raise Conflict(_("The consultation is already closed."))
    reason = _text(reason, "reason", _("Give a reason."))
    consultation.state = ConsultationState.CANCELLED
    consultation.decision = reason
    consultation.save(update_fields=["state", "decision"])
    record(actor, "joint.cancel_consultation", consultation, summary=reason[:200], at=now)
    return consultation


# --- joint meetings --------------------------------------------------------------------------------
@transaction.atomic
def do_schedule_meeting(
    actor,
    *,
    title: str,
    scheduled_at,
    host_unit=None,
    location: str = "",
    region=None,
    units=(),
    attendees=(),
    agenda=(),
    now: datetime | None = None,
) -> Meeting:
    """Schedule a regular joint meeting (联席会议) with agenda items [(reason, title, case|None), ...]."""

    now = now or timezone.now()
    require(actor, P.can_host_meetings, _may_not(_("schedule joint meetings")))
    title = _text(title, "title", _("A title is required."))
    when = _moment(scheduled_at, "scheduled_at")
    person = _person(actor)
    host = _units(actor, [host_unit], "host_unit")[0] if host_unit else (person.unit if person else None)
    if host is None:
        raise InvalidInput(_("Choose the host unit."), field="host_unit")
    if (
        region is not None
        and not Region.objects.visible_to(actor).filter(pk=getattr(region, "pk", region)).exists()
    ):
        raise InvalidInput(_("Unknown area."), field="region")
    members = _units(actor, units, "units")
    people = list(
        Person.objects.visible_to(actor).filter(pk__in=[getattr(p, "pk", p) for p in attendees or []])
    )
    items = []
    for i, (reason, item_title, case) in enumerate(agenda or (), 1):
        if reason not in AgendaReason.values:
            raise InvalidInput(_("Unknown agenda reason."), field="agenda")
        if case is not None:
            case = Case.objects.access(actor, case, _("Case not found."))
        items.append(
            AgendaItem(
                position=i, reason=reason, title=(item_title or getattr(case, "number", ""))[:200], case=case
            )
        )
    meeting = Meeting.objects.create(
        kind=MeetingKind.JOINT,
        title=title[:120],
        scheduled_at=when,
        location=location.strip()[:120],
        region_id=getattr(region, "pk", region),
        host_unit=host,
        created_by=actor if getattr(actor, "pk", None) else None,
        created_at=now,
    )
    meeting.units.set(members)
    meeting.attendees.set(people)
    for item in items:
        item.meeting = meeting
    AgendaItem.objects.bulk_create(items)
    record(
        actor,
        "joint.schedule_meeting",
        meeting,
        summary=title[:200],
        agenda=len(items),
        units=[u.code for u in members],
        at=now,
    )
    _notify_units(
        [u.pk for u in members],
        "meeting",
        _("Joint meeting: %(t)s") % {"t": title},
        f"{timezone.localtime(when):%Y-%m-%d %H:%M} {location}",
        now=now,
    )
    return meeting


def _meeting_for_host(actor, meeting, *, lock=False) -> Meeting:
    qs = Meeting.objects.visible_to(actor)
    found = qs.filter(pk=getattr(meeting, "pk", meeting)).first()
    if found is None:
        raise NotFound(_("Meeting not found."))
    scope = scope_for(actor)
    if not P.can_manage_meeting(scope, found):
        raise PermissionDenied(_("Only the host unit may manage this meeting."))
    if lock:
        found = Meeting.objects.select_for_update().get(pk=found.pk)
    return found


@transaction.atomic
def do_add_agenda_item(
    actor, meeting, *, reason: str, title: str = "", case=None, now: datetime | None = None
) -> AgendaItem:

    now = now or timezone.now()
    meeting = _meeting_for_host(actor, meeting)
    if meeting.state != MeetingState.SCHEDULED:
        raise Conflict(_("The meeting has already been held."))
    if reason not in AgendaReason.values:
        raise InvalidInput(_("Unknown agenda reason."), field="reason")
    if case is not None:
        case = Case.objects.access(actor, case, _("Case not found."))
        if meeting.agenda.filter(case=case).exists():
            raise Conflict(_("The case is already on the agenda."))
    title = (title or "").strip() or (f"{case.number} {case.description[:80]}" if case else "")
    title = _text(title, "title", _("An agenda item needs a title."))
    position = (meeting.agenda.aggregate(m=Max("position"))["m"] or 0) + 1
    item = AgendaItem.objects.create(
        meeting=meeting, position=position, reason=reason, title=title[:200], case=case
    )
    record(
        actor,
        "joint.add_agenda_item",
        meeting,
        summary=title[:200],
        case=getattr(case, "number", None),
        at=now,
    )
    return item


@transaction.atomic
def do_record_minutes(
    actor, meeting, *, minutes: str, decisions: dict | None = None, held_at=None, now: datetime | None = None
) -> Meeting:
    """Record the minutes and each agenda item's decision; the meeting is then held."""
    now = now or timezone.now()
    meeting = _meeting_for_host(actor, meeting, lock=True)
    if meeting.state == MeetingState.CANCELLED:
        raise Conflict(_("The meeting was cancelled."))
    minutes = _text(minutes, "minutes", _("The minutes are required."))
    items = {i.pk: i for i in meeting.agenda.all()}
    for item_id, text in (decisions or {}).items():
        item = items.get(int(item_id))
        if item is None:
            raise InvalidInput(_("Unknown agenda item."), field="decisions")
        item.decision = (text or "").strip()
    AgendaItem.objects.bulk_update(list(items.values()), ["decision"])
    meeting.minutes, meeting.state = minutes, MeetingState.HELD
    meeting.held_at = _moment(held_at, "held_at") if held_at else (meeting.held_at or now)
    meeting.save(update_fields=["minutes", "state", "held_at"])
    record(
        actor,
        "joint.record_minutes",
        meeting,
        summary=meeting.title[:200],
        decisions=len(decisions or {}),
        at=now,
    )
    return meeting


@transaction.atomic
def do_add_follow_up(
    actor, meeting, *, title: str, unit, due_date, agenda_item=None, now: datetime | None = None
) -> FollowUp:
    """A follow-up task decided at the meeting: a unit acts by a date and replies."""
    now = now or timezone.now()
    meeting = _meeting_for_host(actor, meeting)
    if meeting.state == MeetingState.CANCELLED:
        raise Conflict(_("The meeting was cancelled."))
    title = _text(title, "title", _("A follow-up task needs a title."))
    (unit_obj,) = _units(actor, [unit], "unit") if unit else (None,)
    if unit_obj is None:
        raise InvalidInput(_("Choose the responsible unit."), field="unit")
    due = _day(due_date, "due_date")
    if due < timezone.localdate(meeting.scheduled_at):
        raise InvalidInput(_("The deadline cannot be before the meeting."), field="due_date")
    item = None
    if agenda_item:
        item = meeting.agenda.filter(pk=getattr(agenda_item, "pk", agenda_item)).first()
        if item is None:
            raise InvalidInput(_("Unknown agenda item."), field="agenda_item")
    follow = FollowUp.objects.create(
        meeting=meeting, agenda_item=item, title=title[:200], unit=unit_obj, due_date=due
    )
    record(
        actor,
        "joint.add_follow_up",
        follow,
        summary=title[:200],
        unit=unit_obj.code,
        due=due.isoformat(),
        at=now,
    )
    _notify_units(
        [unit_obj.pk],
        "follow_up",
        _("Meeting follow-up: %(t)s") % {"t": title},
        f"{meeting.title} · {due}",
        now=now,
    )
    return follow


@transaction.atomic
def do_reply_follow_up(actor, follow_up, *, reply: str, now: datetime | None = None) -> FollowUp:
    """The responsible unit replies on what it did."""
    now = now or timezone.now()
    follow = (
        FollowUp.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .filter(pk=getattr(follow_up, "pk", follow_up))
        .first()
    )
    if follow is None:
        raise NotFound(_("Follow-up task not found."))
    if not _acts_for(actor, follow.unit_id):
        raise PermissionDenied(_("Only the responsible unit may reply."))
    if follow.state == FollowUpState.DONE:
        raise Conflict(_("The task is already completed."))
    follow.reply = _text(reply, "reply", _("The reply is required."))
    follow.state, follow.replied_at, follow.replied_by = FollowUpState.REPLIED, now, _person(actor)
    follow.save(update_fields=["reply", "state", "replied_at", "replied_by"])
    record(actor, "joint.reply_follow_up", follow, summary=follow.reply[:200], at=now)
    return follow


@transaction.atomic
def do_close_follow_up(
    actor, follow_up, *, accepted: bool = True, note: str = "", now: datetime | None = None
) -> FollowUp:
    """The host accepts the reply (completed) or reopens the task."""
    now = now or timezone.now()
    follow = FollowUp.objects.visible_to(actor).filter(pk=getattr(follow_up, "pk", follow_up)).first()
    if follow is None:
        raise NotFound(_("Follow-up task not found."))
    _meeting_for_host(actor, follow.meeting)
    if follow.state != FollowUpState.REPLIED:
        raise Conflict(_("Only a replied task can be completed or reopened."))
    follow.state = FollowUpState.DONE if accepted else FollowUpState.OPEN
    follow.closed_at = now if accepted else None
    follow.save(update_fields=["state", "closed_at"])
    record(
        actor,
        "joint.close_follow_up" if accepted else "joint.reopen_follow_up",
        follow,
        summary=note[:200],
        at=now,
    )
    return follow
