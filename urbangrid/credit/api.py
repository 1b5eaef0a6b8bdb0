"""JSON API of the credit app, mounted under /api/v1/credit/.

- GET /subjects (q, kind, list) · POST /subjects · GET /subjects/{id}
- POST /subjects/{id}/violations · POST /violations/{id}/penalties · POST /penalties/{id}/fulfil
- POST /subjects/{id}/repair · POST /subjects/{id}/evaluate · GET /subjects/{id}/score?on=YYYY-MM-DD
- GET /lists/{kind} · GET /cases/{number}/flags (repeat-offender flags for a case page)
- GET /public/{kind} (no sign-in; masked)
Identity numbers are masked in lists, and on a subject unless the caller's role needs them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from urbangrid.cases.models import Case
from urbangrid.geo.models import Region
from urbangrid.lib.bounds import Day, Int
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit, Offset
from urbangrid.lib.schemas import page_of, related

from . import actions as A
from . import queries
from .choices import ListKind
from .models import ListEntry, Penalty, Subject, Violation

router = Router(tags=["credit"])


class SubjectIn(Schema):
    kind: str
    name: str
    uscc: str = ""
    id_number: str = ""
    legal_representative: str = ""
    phone: str = ""
    address: str = ""
    region: str | None = None  # region code


class ViolationIn(Schema):
    kind: str
    severity: str = "general"
    occurred_on: Day | None = None
    description: str = ""
    case: str | None = None  # case number


class PenaltyIn(Schema):
    kind: str
    decision_number: str
    decided_on: Day | None = None
    amount: Decimal | None = None
    rectify_by: Day | None = None
    note: str = ""


class FulfilIn(Schema):
    fulfilled_on: Day | None = None


class RepairIn(Schema):
    note: str


# The Out schemas read model instances (resolve_* for what is not a column); scores are decimal
# strings. Notes are comments: a docstring would become a description in the published OpenAPI.
class SubjectRowOut(Schema):  # a list is for finding a subject: identity and phone masked for all
    id: Int
    kind: str
    name: str
    identity: str
    phone: str
    legal_representative: str
    address: str
    region: str | None
    score: str
    score_at: Day | None

    resolve_region = related("region.code")

    @staticmethod
    def resolve_identity(subject: Subject) -> str:
        return subject.masked_identity()

    @staticmethod
    def resolve_phone(subject: Subject) -> str:
        return subject.masked_phone()

    @staticmethod
    def resolve_score(subject: Subject) -> str:
        return str(subject.score)


class SubjectOut(SubjectRowOut):  # in full for the roles that need it (queries.can_see_identity)
    @staticmethod
    def resolve_identity(subject: Subject, context) -> str:
        full = queries.can_see_identity(context["request"].auth)
        return subject.identity_number if full else subject.masked_identity()

    @staticmethod
    def resolve_phone(subject: Subject, context) -> str:
        return subject.phone if queries.can_see_identity(context["request"].auth) else subject.masked_phone()


class PenaltyOut(Schema):
    id: Int
    kind: str
    decision_number: str
    decided_on: Day
    amount: str | None
    rectify_by: Day | None
    state: str

    @staticmethod
    def resolve_amount(penalty: Penalty) -> str | None:
        return str(penalty.amount) if penalty.amount is not None else None


class ViolationOut(Schema):
    id: Int
    kind: str
    severity: str
    occurred_on: Day
    state: str
    case: str | None
    repaired_on: Day | None
    penalties: list[PenaltyOut]

    resolve_case = related("case.number")

    @staticmethod
    def resolve_penalties(violation: Violation):
        return violation.penalties.all()


class ListEntryOut(Schema):
    id: Int
    subject: Int
    list: str
    rule: str
    rule_label: str
    detail: str
    entered_on: Day
    score_at_entry: str
    removed_on: Day | None
    exit_reason: str

    resolve_subject = related("subject_id")
    resolve_list = related("list_kind")
    resolve_detail = related("rule_detail")

    @staticmethod
    def resolve_rule_label(entry: ListEntry) -> str:
        return str(entry.get_rule_display())

    @staticmethod
    def resolve_score_at_entry(entry: ListEntry) -> str:
        return str(entry.score_at_entry)


class SubjectDetailOut(SubjectOut):
    violations: list[ViolationOut]
    lists: list[ListEntryOut]

    @staticmethod
    def resolve_violations(subject: Subject):
        return subject.violations.select_related("case").prefetch_related("penalties")

    @staticmethod
    def resolve_lists(subject: Subject):
        return subject.list_entries.all()


SubjectPage = page_of(SubjectRowOut, "SubjectPage")


ListEntryPage = page_of(ListEntryOut, "ListEntryPage")


class SubjectRepairOut(Schema):
    subject: Int
    removed: list[ListEntryOut]


class SubjectEvaluationOut(Schema):
    subject: Int
    score: str
    entered: list[ListEntryOut]
    repaired: list[ListEntryOut]


class PublicEntryOut(Schema):  # what anyone may see of a listed subject
    name: str
    kind: str
    uscc: str | None
    area: str | None
    rule: str
    listed_since: Day

    resolve_kind = related("subject.kind")
    resolve_area = related("subject.region.name")
    resolve_listed_since = related("entered_on")

    @staticmethod
    def resolve_name(entry: ListEntry) -> str:
        return entry.subject.public_name()

    @staticmethod
    def resolve_uscc(entry: ListEntry) -> str | None:
        return entry.subject.uscc or None


PublicListPage = page_of(PublicEntryOut, "PublicListPage")


def _get_subject(request, pk) -> Subject:
    s = Subject.objects.visible_to(request.auth).select_related("region").filter(pk=pk).first()
    if s is None:
        raise NotFound(_("Subject not found."))
    return s


@router.get("/subjects", response=SubjectPage)
def list_subjects(
    request, q: str = "", kind: str = "", list: str = "", limit: int = Limit(50, 200), offset: int = Offset()
):
    qs = Subject.objects.visible_to(request.auth).select_related("region")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(uscc=q.upper()) | Q(id_number=q.upper()))
    if kind:
        qs = qs.filter(kind=kind)
    if list in ListKind.values:
        qs = qs.filter(id__in=ListEntry.objects.active().filter(list_kind=list).values("subject_id"))
    # The page as a queryset: the parameter ``list`` hides the builtin here, and ninja reads querysets.
    return {"count": qs.count(), "results": qs.order_by("score", "name", "id")[offset : offset + limit]}


@router.post("/subjects", response={201: SubjectOut})
def create_subject(request, data: SubjectIn):

    region = None
    if data.region:
        region = Region.objects.visible_to(request.auth).filter(code=data.region).first()
        if region is None:
            raise InvalidInput(_("Unknown area."), field="region")
    payload = data.dict()
    payload["region"] = region
    s = A.do_register_subject(request.auth, **payload)
    return Status(201, s)


@router.get("/subjects/{pk}", response=SubjectDetailOut)
def get_subject(request, pk: Int):
    return _get_subject(request, pk)


@router.get("/subjects/{pk}/score")
def subject_score(request, pk: Int, on: Day | None = None):
    s = _get_subject(request, pk)
    return {"subject": s.pk, "on": (on or date.today()).isoformat(), "score": str(queries.score_of(s, on))}


@router.post("/subjects/{pk}/violations", response={201: dict})
def record_violation(request, pk: Int, data: ViolationIn):

    s = _get_subject(request, pk)
    case = None
    if data.case:
        case = Case.objects.visible_to(request.auth).filter(number=data.case).first()
        if case is None:
            raise NotFound(_("Case not found."))
    v = A.do_record_violation(
        request.auth,
        s,
        kind=data.kind,
        severity=data.severity,
        occurred_on=data.occurred_on,
        description=data.description,
        case=case,
    )
    s.refresh_from_db()
    return Status(
        201,
        {
            "id": v.pk,
            "subject": s.pk,
            "score": str(s.score),
            "lists": list(ListEntry.objects.active().filter(subject=s).values_list("list_kind", flat=True)),
        },
    )


@router.post("/violations/{pk}/penalties", response={201: dict})
def issue_penalty(request, pk: Int, data: PenaltyIn):
    v = Violation.objects.visible_to(request.auth).filter(pk=pk).first()
    if v is None:
        raise NotFound(_("Violation not found."))
    p = A.do_issue_penalty(request.auth, v, **data.dict())
    return Status(201, {"id": p.pk, "state": p.state, "decision_number": p.decision_number})


@router.post("/penalties/{pk}/fulfil")
def fulfil_penalty(request, pk: Int, data: FulfilIn):
    p = Penalty.objects.filter(pk=pk, violation__in=Violation.objects.visible_to(request.auth)).first()
    if p is None:
        raise NotFound(_("Penalty decision not found."))
    p = A.do_fulfil_penalty(request.auth, p, fulfilled_on=data.fulfilled_on)
    return {"id": p.pk, "state": p.state, "fulfilled_on": p.fulfilled_on.isoformat()}


@router.post("/subjects/{pk}/repair", response=SubjectRepairOut)
def repair(request, pk: Int, data: RepairIn):
    s = _get_subject(request, pk)
    return {"subject": s.pk, "removed": A.do_repair(request.auth, s, note=data.note)}


@router.post("/subjects/{pk}/evaluate", response=SubjectEvaluationOut)
def evaluate(request, pk: Int):
    s = _get_subject(request, pk)
    r = A.do_evaluate_subject(request.auth, s)
    return {"subject": s.pk, "score": str(r.score), "entered": r.entered, "repaired": r.repaired}


@router.get("/lists/{kind}", response=ListEntryPage)
def list_entries(
    request, kind: str, history: bool = False, limit: int = Limit(100, 500), offset: int = Offset()
):
    if kind not in ListKind.values:
        raise NotFound(_("Unknown list."))
    qs = ListEntry.objects.visible_to(request.auth).filter(list_kind=kind)
    if not history:
        qs = qs.active()
    return {"count": qs.count(), "results": list(qs.order_by("-entered_on", "-id")[offset : offset + limit])}


@router.get("/cases/{number}/flags")
def case_flags(request, number: str):

    case = Case.objects.visible_to(request.auth).filter(number=number).first()
    if case is None:
        raise NotFound(_("Case not found."))
    flags = queries.subject_flags_for_case(case)
    for f in flags:
        f["score"] = str(f["score"])
    return {"case": number, "subjects": flags}


@router.get("/public/{kind}", response=PublicListPage, auth=None)
def public_list(request, kind: str, limit: int = Limit(100, 500), offset: int = Offset()):
    if kind not in ListKind.values:
        raise NotFound(_("Unknown list."))
    qs = queries.public_list(kind)
    return {"count": qs.count(), "results": list(qs[offset : offset + limit])}
