"""JSON API of the evaluation app, mounted under /api/v1/evaluation/. The numbers are the
same as the pages' and the ``evaluate`` command's (one engine)."""

from __future__ import annotations

from django.utils import timezone
from ninja import Router, Schema, Status

from urbangrid.cases.models import Case
from urbangrid.geo.models import Region
from urbangrid.lib.access import scope_for
from urbangrid.lib.bounds import Float, Int, Moment
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit
from urbangrid.orgs.models import Person, Unit

from . import actions, indicators
from .choices import SubjectKind
from .models import Assessment, Report, SpotCheckItem, SupervisionOrder
from .periods import Period
from .queries import propose_orders, subjects
from .scoring import evaluate, resolve_version

router = Router(tags=["evaluation"])


class IndicatorOut(Schema):
    code: str
    name: str
    kinds: list[str]
    direction: str
    rate: bool
    description: str


@router.get("/indicators", response=list[IndicatorOut])
def list_indicators(request):
    """The indicator registry: every indicator defined once, with the subject kinds it applies to."""
    return [
        IndicatorOut(
            code=i.code,
            name=str(i.name),
            kinds=sorted(i.kinds),
            direction=i.direction,
            rate=i.is_rate,
            description=str(i.description),
        )
        for i in indicators.REGISTRY.values()
    ]


def _kind(kind: str) -> str:
    if kind not in SubjectKind.values:
        raise InvalidInput(f"unknown subject kind {kind}", field="kind")
    return kind


@router.get("/results")
def results(request, period: str, kind: str = "unit", scheme: str = ""):
    """Indicator values, scores, grades, ranks and rank change for every visible subject of a kind.
    Ranks are places among all ``ranked_among`` ranked subjects, not only the visible ones."""
    p = Period.parse(period)
    version = resolve_version(scheme or None)
    ev = evaluate(_kind(kind), p, version).visible(request.auth)
    return {
        "period": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "kind": kind,
        "scheme": version.scheme.code,
        "version": version.number,
        "weights": ev.weights,
        "ranked_among": ev.ranked,
        "rows": [r.as_dict() for r in ev.rows],
    }


@router.get("/drill")
def drill(
    request,
    indicator: str,
    kind: str,
    key: str,
    period: str,
    part: str = "denominator",
    limit: int = Limit(500, 5000),
):
    """The cases behind a number (numerator or denominator), jurisdiction-filtered."""

    p = Period.parse(period)
    s = subjects(_kind(kind), [key]).get(key)
    if s is None or not s.visible(scope_for(request.auth)):
        raise NotFound("subject not found")
    qs = indicators.drill_cases(indicator, kind, key, p, part, user=request.auth).order_by("reported_at")
    return {
        "count": qs.count(),
        "cases": [
            {
                "number": c.number,
                "state": c.state,
                "reported_at": c.reported_at,
                "handle_due_at": c.handle_due_at,
                "handled_at": c.handled_at,
                "closed_at": c.closed_at,
            }
            for c in qs[:limit]
        ],
    }


class OrderIn(Schema):
    unit: Int | None = None
    case: str | None = None
    title: str
    body: str
    deadline: Moment
    indicator: str = ""
    indicator_value: Float | None = None
    threshold: Float | None = None
    period: str = ""


class OrderOut(Schema):
    id: Int
    number: str
    kind: str
    state: str
    unit: Int
    case: str | None
    title: str
    deadline: Moment
    reply: str
    replied_at: Moment | None
    closed_at: Moment | None

    @staticmethod
    def resolve_unit(o):
        return o.unit_id

    @staticmethod
    def resolve_case(o):
        return o.case.number if o.case_id else None


@router.get("/orders", response=list[OrderOut])
def list_orders(request, state: str = ""):
    qs = SupervisionOrder.objects.visible_to(request.auth).select_related("case")
    if state:
        qs = qs.filter(state=state)
    return list(qs[:500])


@router.post("/orders", response={201: OrderOut})
def issue_order(request, data: OrderIn):

    case = None
    if data.case:
        case = Case.objects.visible_to(request.auth).filter(number=data.case).first()
        if case is None:
            raise NotFound("case not found")
    unit = Unit.objects.filter(pk=data.unit).first() if data.unit else None
    if data.unit and unit is None:
        raise NotFound("unit not found")
    deadline = data.deadline if timezone.is_aware(data.deadline) else timezone.make_aware(data.deadline)
    o = actions.do_issue_order(
        request.auth,
        unit=unit,
        case=case,
        title=data.title,
        body=data.body,
        deadline=deadline,
        indicator=data.indicator,
        indicator_value=data.indicator_value,
        threshold=data.threshold,
        period_label=data.period,
    )
    return Status(201, o)


class ReplyIn(Schema):
    reply: str


class CloseIn(Schema):
    satisfactory: bool
    note: str = ""


@router.post("/orders/{order_id}/reply", response=OrderOut)
def reply_order(request, order_id: Int, data: ReplyIn):
    return actions.do_reply_order(request.auth, order_id, reply=data.reply)


@router.post("/orders/{order_id}/close", response=OrderOut)
def close_order(request, order_id: Int, data: CloseIn):
    return actions.do_close_order(request.auth, order_id, satisfactory=data.satisfactory, note=data.note)


@router.get("/proposals")
def proposals(
    request, period: str, indicator: str = "on_time_handling_rate", threshold: Float = 0.8, min_due: Int = 5
):
    """Units whose indicator fell below the threshold: candidates for a supervision order."""

    return [
        {"unit": Int(s.key), "name": s.name, "num": m.num, "den": m.den, "value": m.value}
        for s, m in propose_orders(
            Period.parse(period), indicator=indicator, threshold=threshold, min_due=min_due, user=request.auth
        )
    ]


class SpotIn(Schema):
    region: str  # region code
    period: str
    sample_size: Int
    inspector: Int
    seed: Int | None = None


@router.post("/spot-checks", response={201: dict})
def start_spot_check(request, data: SpotIn):

    region = Region.objects.visible_to(request.auth).filter(code=data.region).first()
    inspector = Person.objects.filter(pk=data.inspector).first()
    if region is None or inspector is None:
        raise NotFound("region or inspector not found")
    c = actions.do_start_spot_check(
        request.auth,
        region=region,
        period=Period.parse(data.period),
        sample_size=data.sample_size,
        inspector=inspector,
        seed=data.seed,
    )
    return Status(
        201,
        {
            "id": c.id,
            "number": c.number,
            "population": c.population,
            "seed": c.seed,
            "items": [{"id": i.id, "case": i.case.number} for i in c.items.select_related("case")],
        },
    )


class SpotResultIn(Schema):
    passed: bool
    note: str = ""


@router.post("/spot-items/{item_id}/result")
def spot_result(request, item_id: Int, data: SpotResultIn):
    item = SpotCheckItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NotFound("item not found")
    item = actions.do_record_spot_result(request.auth, item, passed=data.passed, note=data.note)
    return {"id": item.id, "result": item.result}


class PublishIn(Schema):
    period: str
    kind: str
    scheme: str = ""
    note: str = ""


@router.post("/assessments", response={201: dict})
def publish(request, data: PublishIn):
    a = actions.do_publish(
        request.auth,
        resolve_version(data.scheme or None),
        _kind(data.kind),
        Period.parse(data.period),
        note=data.note,
    )
    return Status(
        201, {"id": a.id, "period": a.period_label, "kind": a.subject_kind, "rows": a.results.count()}
    )


@router.get("/assessments/{assessment_id}")
def get_assessment(request, assessment_id: Int):
    a = Assessment.objects.visible_to(request.auth).filter(pk=assessment_id).first()
    if a is None:
        raise NotFound("assessment not found")
    return {
        "id": a.id,
        "period": a.period_label,
        "kind": a.subject_kind,
        "scheme": a.version.scheme.code,
        "version": a.version.number,
        "published_at": a.published_at,
        "rows": [
            {
                "key": r.subject_key,
                "name": r.subject_name,
                "total": r.total and float(r.total),
                "grade": r.grade,
                "rank": r.rank,
                "values": r.values,
            }
            for r in a.results.visible_to(request.auth).order_by("rank")
        ],
    }


class ReportIn(Schema):
    region: str
    period: str
    scheme: str = ""


class ReportOut(Schema):
    id: Int
    state: str
    progress: Int
    message: str
    xlsx: bool  # whether the file is built yet
    pdf: bool

    @staticmethod
    def resolve_xlsx(report: Report) -> bool:
        return bool(report.xlsx)

    @staticmethod
    def resolve_pdf(report: Report) -> bool:
        return bool(report.pdf)


@router.post("/reports", response={202: ReportOut})
def request_report(request, data: ReportIn):

    region = Region.objects.visible_to(request.auth).filter(code=data.region).first()
    if region is None:
        raise NotFound("region not found")
    r = actions.do_request_report(
        request.auth,
        region=region,
        period=Period.parse(data.period),
        version=resolve_version(data.scheme or None),
    )
    return Status(202, r)


@router.get("/reports/{report_id}", response=ReportOut)
def report_status(request, report_id: Int):
    r = Report.objects.visible_to(request.auth).filter(pk=report_id).first()
    if r is None:
        raise NotFound("report not found")
    return r
