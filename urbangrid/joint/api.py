"""JSON API of the joint app, mounted under /api/v1/joint/.

Campaigns: GET/POST /campaigns, GET /campaigns/{id} (with live or final summary),
POST /campaigns/{id}/tasks, /campaigns/{id}/cases, /campaigns/{id}/end, POST /tasks/{id}/report, /tasks/{id}/accept.
Consultations: GET/POST /consultations, GET /consultations/candidates, GET /consultations/{id},
POST /consultations/{id}/views, /meeting, /decide, /apply.
Meetings: GET /meetings/proposals, GET/POST /meetings, GET /meetings/{id}, POST /meetings/{id}/minutes,
/meetings/{id}/follow-ups, POST /follow-ups/{id}/reply, /follow-ups/{id}/close.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from ninja import Router, Schema, Status

from urbangrid.cases.models import Case
from urbangrid.geo.models import Region
from urbangrid.lib.bounds import Day, Int, Moment
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit, Offset
from urbangrid.lib.schemas import page_of, related
from urbangrid.orgs.models import Unit

from . import actions as A
from . import queries
from .models import Campaign, CampaignTask, Consultation, FollowUp, Meeting

router = Router(tags=["joint"])


def _get(qs, request, pk, what):
    obj = qs.visible_to(request.auth).filter(pk=pk).first()
    if obj is None:
        raise NotFound(_("%(what)s not found.") % {"what": what})
    return obj


def _units(codes):

    codes = list(codes or [])
    units = list(Unit.objects.filter(code__in=codes))
    if len(units) != len(set(codes)):
        raise InvalidInput(_("Unknown or inactive unit."), field="units")
    return units


def _unit(code):
    return _units([code])[0] if code else None


def _case(request, number):

    case = Case.objects.visible_to(request.auth).filter(number=number).first()
    if case is None:
        raise NotFound(_("Case not found."))
    return case


class TargetIn(Schema):
    name: str
    metric: str
    value: Int


class CampaignIn(Schema):
    title: str
    description: str = ""
    lead_unit: str
    units: list[str] = []
    regions: list[str]
    problem_classes: list[Int] = []
    start_date: Day
    end_date: Day
    targets: list[TargetIn] = []


class TaskIn(Schema):
    unit: str
    title: str
    due_date: Day
    description: str = ""


class TaskReportIn(Schema):
    report: str
    quantity: Int = 0


class AcceptIn(Schema):
    accepted: bool = True
    note: str = ""


class CaseRefIn(Schema):
    case: str


class CampaignNoteIn(Schema):
    note: str = ""


# The Out schemas read model instances (resolve_* for what is not a column); moments are written
# as isoformat() as this API always has. Notes are comments: a docstring would become a description
# in the published OpenAPI document.
class JointCampaignRowOut(Schema):
    id: Int
    code: str
    title: str
    state: str
    lead_unit: str
    start_date: Day
    end_date: Day

    resolve_lead_unit = related("lead_unit.code")


class JointTaskOut(Schema):
    id: Int
    unit: str
    title: str
    due_date: Day
    state: str
    quantity: Int
    report: str

    resolve_unit = related("unit.code")


class JointCampaignOut(JointCampaignRowOut):
    units: list[str]
    regions: list[str]
    summary: dict
    tasks: list[JointTaskOut]

    @staticmethod
    def resolve_units(campaign: Campaign) -> list[str]:
        return list(campaign.units.values_list("code", flat=True))

    @staticmethod
    def resolve_regions(campaign: Campaign) -> list[str]:
        return list(campaign.regions.values_list("code", flat=True))

    @staticmethod
    def resolve_summary(campaign: Campaign) -> dict:
        # An ended campaign keeps the figures it ended with; a running one is counted now.
        return campaign.summary if campaign.state == "ended" else queries.campaign_summary(campaign)

    @staticmethod
    def resolve_tasks(campaign: Campaign):
        return campaign.tasks.select_related("unit")


JointCampaignPage = page_of(JointCampaignRowOut, "JointCampaignPage")


@router.get("/campaigns", response=JointCampaignPage)
def list_campaigns(request, state: str = "", limit: int = Limit(50, 200), offset: int = Offset()):
    qs = Campaign.objects.visible_to(request.auth).select_related("lead_unit").order_by("-start_date", "-id")
    if state:
        qs = qs.filter(state=state)
    return {"count": qs.count(), "results": list(qs[offset : offset + limit])}


@router.post("/campaigns", response={201: JointCampaignOut})
def create_campaign(request, data: CampaignIn):

    regions = list(Region.objects.filter(code__in=data.regions))
    if len(regions) != len(set(data.regions)):
        raise InvalidInput(_("Unknown area."), field="regions")
    c = A.do_create_campaign(
        request.auth,
        title=data.title,
        description=data.description,
        lead_unit=_unit(data.lead_unit),
        units=_units(data.units),
        regions=regions,
        problem_classes=data.problem_classes,
        start_date=data.start_date,
        end_date=data.end_date,
        targets=[(t.name, t.metric, t.value) for t in data.targets],
    )
    return Status(201, c)


@router.get("/campaigns/{pk}", response=JointCampaignOut)
def get_campaign(request, pk: Int):
    return _get(Campaign.objects.select_related("lead_unit"), request, pk, pgettext("joint", "Campaign"))


@router.get("/campaigns/{pk}/cases")
def campaign_cases(
    request, pk: Int, joint: bool = False, limit: int = Limit(100, 500), offset: int = Offset()
):
    c = _get(Campaign.objects, request, pk, pgettext("joint", "Campaign"))
    qs = (
        queries.campaign_cases(c)
        .select_related("problem_class", "assigned_unit")
        .order_by("-reported_at", "-id")
    )
    if joint:
        qs = qs.filter(is_joint=True)
    return {
        "count": qs.count(),
        "results": [
            {
                "number": x.number,
                "state": x.state,
                "class": getattr(x.problem_class, "code", None),
                "is_joint": x.is_joint,
                "unit": getattr(x.assigned_unit, "code", None),
                "reported_at": x.reported_at.isoformat(),
            }
            for x in qs[offset : offset + limit]
        ],
    }


@router.post("/campaigns/{pk}/tasks", response={201: dict})
def add_task(request, pk: Int, data: TaskIn):
    c = _get(Campaign.objects, request, pk, pgettext("joint", "Campaign"))
    t = A.do_add_campaign_task(
        request.auth,
        c,
        unit=_unit(data.unit),
        title=data.title,
        due_date=data.due_date,
        description=data.description,
    )
    return Status(201, {"id": t.pk, "state": t.state})


@router.post("/campaigns/{pk}/cases", response={201: dict})
def link_case(request, pk: Int, data: CaseRefIn):

    c = _get(Campaign.objects, request, pk, pgettext("joint", "Campaign"))
    case = Case.objects.filter(number=data.case).first()
    if case is None:
        raise NotFound(_("Case not found."))
    link = A.do_link_case(request.auth, c, case)
    return Status(201, {"campaign": c.pk, "case": data.case, "source": link.source})


@router.post("/campaigns/{pk}/end", response=JointCampaignOut)
def end_campaign(request, pk: Int, data: CampaignNoteIn):
    c = _get(Campaign.objects, request, pk, pgettext("joint", "Campaign"))
    return A.do_end_campaign(request.auth, c, note=data.note)


@router.post("/tasks/{pk}/report")
def report_task(request, pk: Int, data: TaskReportIn):
    t = _get(CampaignTask.objects, request, pk, _("Task"))
    t = A.do_report_campaign_task(request.auth, t, report=data.report, quantity=data.quantity)
    return {"id": t.pk, "state": t.state}


@router.post("/tasks/{pk}/accept")
def accept_task(request, pk: Int, data: AcceptIn):
    t = _get(CampaignTask.objects, request, pk, _("Task"))
    t = A.do_accept_campaign_task(request.auth, t, accepted=data.accepted, note=data.note)
    return {"id": t.pk, "state": t.state}


# --- consultations -----------------------------------------------------------------------------
class ConsultationIn(Schema):
    case: str
    reason: str
    units: list[str] = []
    mode: str = "written"


class ViewIn(Schema):
    unit: str
    stance: str
    statement: str


class MeetingRefIn(Schema):
    scheduled_at: Moment
    location: str = ""


class DecisionIn(Schema):
    lead_unit: str
    assist_units: list[str] = []
    deadline: Moment
    decision: str
    minutes: str = ""
    update_matrix: bool = False


class PartyOut(Schema):
    unit: str
    stance: str
    statement: str

    resolve_unit = related("unit.code")


class ConsultationOut(Schema):
    id: Int
    case: str
    trigger: str
    mode: str
    state: str
    reason: str
    parties: list[PartyOut]
    lead_unit: str | None
    assist_units: list[str]
    deadline: str | None
    decision: str
    meeting: Int | None
    matrix: str

    resolve_case = related("case.number")
    resolve_lead_unit = related("lead_unit.code")
    resolve_meeting = related("meeting_id")
    resolve_matrix = related("matrix_result")

    @staticmethod
    def resolve_parties(consultation: Consultation):
        return consultation.parties.select_related("unit")

    @staticmethod
    def resolve_assist_units(consultation: Consultation) -> list[str]:
        return list(consultation.assist_units.values_list("code", flat=True))

    @staticmethod
    def resolve_deadline(consultation: Consultation) -> str | None:
        return consultation.deadline.isoformat() if consultation.deadline else None


ConsultationPage = page_of(ConsultationOut, "ConsultationPage")


@router.get("/consultations", response=ConsultationPage)
def list_consultations(request, state: str = "", limit: int = Limit(50, 200), offset: int = Offset()):
    qs = (
        Consultation.objects.visible_to(request.auth)
        .select_related("case", "lead_unit")
        .order_by("-opened_at", "-id")
    )
    if state:
        qs = qs.filter(state=state)
    return {"count": qs.count(), "results": list(qs[offset : offset + limit])}


@router.get("/consultations/candidates")
def candidates(request):
    return {
        "results": [
            {"number": c.number, "return_count": c.return_count, "state": c.state}
            for c in queries.consultation_candidates(request.auth)
        ]
    }


@router.post("/consultations", response={201: ConsultationOut})
def open_consultation(request, data: ConsultationIn):
    x = A.do_open_consultation(
        request.auth, _case(request, data.case), reason=data.reason, units=_units(data.units), mode=data.mode
    )
    return Status(201, x)


@router.get("/consultations/{pk}", response=ConsultationOut)
def get_consultation(request, pk: Int):
    return _get(Consultation.objects.select_related("case"), request, pk, _("Consultation"))


@router.post("/consultations/{pk}/views", response=ConsultationOut)
def state_view(request, pk: Int, data: ViewIn):
    x = _get(Consultation.objects, request, pk, _("Consultation"))
    A.do_state_view(request.auth, x, unit=_unit(data.unit), stance=data.stance, statement=data.statement)
    return Consultation.objects.get(pk=x.pk)


@router.post("/consultations/{pk}/meeting", response={201: dict})
def schedule_meeting(request, pk: Int, data: MeetingRefIn):
    x = _get(Consultation.objects, request, pk, _("Consultation"))
    m = A.do_schedule_consultation_meeting(
        request.auth, x, scheduled_at=data.scheduled_at, location=data.location
    )
    return Status(201, {"meeting": m.pk})


@router.post("/consultations/{pk}/decide", response=ConsultationOut)
def decide(request, pk: Int, data: DecisionIn):
    x = _get(Consultation.objects, request, pk, _("Consultation"))
    return A.do_decide_consultation(
        request.auth,
        x,
        lead_unit=_unit(data.lead_unit),
        assist_units=_units(data.assist_units),
        deadline=data.deadline,
        decision=data.decision,
        minutes=data.minutes,
        update_matrix=data.update_matrix,
    )


@router.post("/consultations/{pk}/apply", response=ConsultationOut)
def apply(request, pk: Int):
    x = _get(Consultation.objects, request, pk, _("Consultation"))
    return A.do_apply_consultation(request.auth, x)


# --- meetings ------------------------------------------------------------------------------------
class AgendaIn(Schema):
    reason: str
    title: str = ""
    case: str | None = None


class JointMeetingIn(Schema):
    title: str
    scheduled_at: Moment
    host_unit: str | None = None
    location: str = ""
    units: list[str] = []
    agenda: list[AgendaIn] = []


class MinutesIn(Schema):
    minutes: str
    decisions: dict[int, str] = {}


class FollowUpIn(Schema):
    title: str
    unit: str
    due_date: Day
    agenda_item: Int | None = None


class FollowUpReplyIn(Schema):
    reply: str


class AgendaItemOut(Schema):
    id: Int
    position: Int
    reason: str
    title: str
    case: str | None
    decision: str

    resolve_case = related("case.number")


class FollowUpOut(Schema):
    id: Int
    title: str
    unit: str
    due_date: Day
    state: str
    reply: str

    resolve_unit = related("unit.code")


class MeetingRowOut(Schema):
    id: Int
    kind: str
    title: str
    scheduled_at: str
    state: str

    @staticmethod
    def resolve_scheduled_at(meeting: Meeting) -> str:
        return meeting.scheduled_at.isoformat()


class MeetingOut(MeetingRowOut):
    host_unit: str
    minutes: str
    agenda: list[AgendaItemOut]
    follow_ups: list[FollowUpOut]

    resolve_host_unit = related("host_unit.code")

    @staticmethod
    def resolve_agenda(meeting: Meeting):
        return meeting.agenda.select_related("case")

    @staticmethod
    def resolve_follow_ups(meeting: Meeting):
        return meeting.follow_ups.select_related("unit")


MeetingPage = page_of(MeetingRowOut, "MeetingPage")


@router.get("/meetings/proposals")
def proposals(request):
    return {
        "results": [
            {"reason": p["reason"], "case": p["case"].number, "detail": p["detail"]}
            for p in queries.agenda_proposals(request.auth)
        ]
    }


@router.get("/meetings", response=MeetingPage)
def list_meetings(request, limit: int = Limit(50, 200), offset: int = Offset()):
    qs = Meeting.objects.visible_to(request.auth).select_related("host_unit").order_by("-scheduled_at", "-id")
    return {"count": qs.count(), "results": list(qs[offset : offset + limit])}


@router.post("/meetings", response={201: MeetingOut})
def create_meeting(request, data: JointMeetingIn):
    agenda = [(a.reason, a.title, _case(request, a.case) if a.case else None) for a in data.agenda]
    m = A.do_schedule_meeting(
        request.auth,
        title=data.title,
        scheduled_at=data.scheduled_at,
        host_unit=_unit(data.host_unit),
        location=data.location,
        units=_units(data.units),
        agenda=agenda,
    )
    return Status(201, m)


@router.get("/meetings/{pk}", response=MeetingOut)
def get_meeting(request, pk: Int):
    return _get(Meeting.objects.select_related("host_unit"), request, pk, _("Meeting"))


@router.post("/meetings/{pk}/minutes", response=MeetingOut)
def minutes(request, pk: Int, data: MinutesIn):
    m = _get(Meeting.objects, request, pk, _("Meeting"))
    return A.do_record_minutes(request.auth, m, minutes=data.minutes, decisions=data.decisions)


@router.post("/meetings/{pk}/follow-ups", response={201: dict})
def add_follow_up(request, pk: Int, data: FollowUpIn):
    m = _get(Meeting.objects, request, pk, _("Meeting"))
    f = A.do_add_follow_up(
        request.auth,
        m,
        title=data.title,
        unit=_unit(data.unit),
        due_date=data.due_date,
        agenda_item=data.agenda_item,
    )
    return Status(201, {"id": f.pk, "state": f.state})


@router.post("/follow-ups/{pk}/reply")
def reply(request, pk: Int, data: FollowUpReplyIn):
    f = _get(FollowUp.objects, request, pk, _("Follow-up task"))
    f = A.do_reply_follow_up(request.auth, f, reply=data.reply)
    return {"id": f.pk, "state": f.state}


@router.post("/follow-ups/{pk}/close")
def close(request, pk: Int, data: AcceptIn):
    f = _get(FollowUp.objects, request, pk, _("Follow-up task"))
    f = A.do_close_follow_up(request.auth, f, accepted=data.accepted, note=data.note)
    return {"id": f.pk, "state": f.state}
