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

from urbangrid.lib.bounds import Day, Int
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit, Offset

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


def _subject_out(s: Subject, full: bool) -> dict:
    return {
        "id": s.pk,
        "kind": s.kind,
        "name": s.name,
        "identity": s.identity_number if full else s.masked_identity(),
        "phone": s.phone if full else s.masked_phone(),
        "legal_representative": s.legal_representative,
        "address": s.address,
        "region": s.region.code if s.region_id else None,
        "score": str(s.score),
        "score_at": s.score_at.isoformat() if s.score_at else None,
    }


def _entry_out(e: ListEntry) -> dict:
    return {
        "id": e.pk,
        "subject": e.subject_id,
        "list": e.list_kind,
        "rule": e.rule,
        "rule_label": e.get_rule_display(),
        "detail": e.rule_detail,
        "entered_on": e.entered_on.isoformat(),
        "score_at_entry": str(e.score_at_entry),
        "removed_on": e.removed_on.isoformat() if e.removed_on else None,
        "exit_reason": e.exit_reason,
    }


def _get_subject(request, pk) -> Subject:
    s = Subject.objects.visible_to(request.auth).select_related("region").filter(pk=pk).first()
    if s is None:
        raise NotFound(_("Subject not found."))
    return s


@router.get("/subjects")
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
    rows = qs.order_by("score", "name", "id")[offset : offset + limit]
    # A list is for finding a subject: masked for everyone; the subject's own page has it in full.
    return {"count": qs.count(), "results": [_subject_out(s, full=False) for s in rows]}


@router.post("/subjects", response={201: dict})
def create_subject(request, data: SubjectIn):
    from urbangrid.geo.models import Region

    region = None
    if data.region:
        region = Region.objects.visible_to(request.auth).filter(code=data.region).first()
        if region is None:
            raise InvalidInput(_("Unknown area."), field="region")
    payload = data.dict()
    payload["region"] = region
    s = A.do_register_subject(request.auth, **payload)
    return Status(201, _subject_out(s, queries.can_see_identity(request.auth)))


@router.get("/subjects/{pk}")
def get_subject(request, pk: Int):
    s = _get_subject(request, pk)
    out = _subject_out(s, queries.can_see_identity(request.auth))
    out["violations"] = [
        {
            "id": v.pk,
            "kind": v.kind,
            "severity": v.severity,
            "occurred_on": v.occurred_on.isoformat(),
            "state": v.state,
            "case": v.case.number if v.case_id else None,
            "repaired_on": v.repaired_on.isoformat() if v.repaired_on else None,
            "penalties": [
                {
                    "id": p.pk,
                    "kind": p.kind,
                    "decision_number": p.decision_number,
                    "decided_on": p.decided_on.isoformat(),
                    "amount": str(p.amount) if p.amount is not None else None,
                    "rectify_by": p.rectify_by.isoformat() if p.rectify_by else None,
                    "state": p.state,
                }
                for p in v.penalties.all()
            ],
        }
        for v in s.violations.select_related("case").prefetch_related("penalties")
    ]
    out["lists"] = [_entry_out(e) for e in s.list_entries.all()]
    return out


@router.get("/subjects/{pk}/score")
def subject_score(request, pk: Int, on: Day | None = None):
    s = _get_subject(request, pk)
    return {"subject": s.pk, "on": (on or date.today()).isoformat(), "score": str(queries.score_of(s, on))}


@router.post("/subjects/{pk}/violations", response={201: dict})
def record_violation(request, pk: Int, data: ViolationIn):
    from urbangrid.cases.models import Case

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


@router.post("/subjects/{pk}/repair")
def repair(request, pk: Int, data: RepairIn):
    s = _get_subject(request, pk)
    entries = A.do_repair(request.auth, s, note=data.note)
    return {"subject": s.pk, "removed": [_entry_out(e) for e in entries]}


@router.post("/subjects/{pk}/evaluate")
def evaluate(request, pk: Int):
    s = _get_subject(request, pk)
    r = A.do_evaluate_subject(request.auth, s)
    return {
        "subject": s.pk,
        "score": str(r.score),
        "entered": [_entry_out(e) for e in r.entered],
        "repaired": [_entry_out(e) for e in r.repaired],
    }


@router.get("/lists/{kind}")
def list_entries(
    request, kind: str, history: bool = False, limit: int = Limit(100, 500), offset: int = Offset()
):
    if kind not in ListKind.values:
        raise NotFound(_("Unknown list."))
    qs = ListEntry.objects.visible_to(request.auth).filter(list_kind=kind)
    if not history:
        qs = qs.active()
    return {
        "count": qs.count(),
        "results": [_entry_out(e) for e in qs.order_by("-entered_on", "-id")[offset : offset + limit]],
    }


@router.get("/cases/{number}/flags")
def case_flags(request, number: str):
    from urbangrid.cases.models import Case

    case = Case.objects.visible_to(request.auth).filter(number=number).first()
    if case is None:
        raise NotFound(_("Case not found."))
    flags = queries.subject_flags_for_case(case)
    for f in flags:
        f["score"] = str(f["score"])
    return {"case": number, "subjects": flags}


@router.get("/public/{kind}", auth=None)
def public_list(request, kind: str, limit: int = Limit(100, 500), offset: int = Offset()):
    if kind not in ListKind.values:
        raise NotFound(_("Unknown list."))
    qs = queries.public_list(kind)
    return {
        "count": qs.count(),
        "results": [
            {
                "name": e.subject.public_name(),
                "kind": e.subject.kind,
                "uscc": e.subject.uscc or None,
                "area": e.subject.region.name if e.subject.region_id else None,
                "rule": e.rule,
                "listed_since": e.entered_on.isoformat(),
            }
            for e in qs[offset : offset + limit]
        ],
    }
