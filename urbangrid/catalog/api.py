"""JSON API of the catalog app, mounted under /api/v1/catalog/.

Master data readable by every signed-in user: code sets, classes with their 立结案标准, class
suggestion for a text, the working calendar and deadline arithmetic, responsibility lookup."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from urbangrid.geo.models import Region
from urbangrid.lib.bounds import Day, Float, Int, Moment
from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.lib.paging import Limit, Offset

from . import calendar as cal
from .cache import active_classes
from .choices import ClassKind, TimeUnit
from .classify import suggest_classes
from .models import CalendarDay, CodeSet, ProblemClass
from .queries import explain_responsibility, matching_rules

router = Router(tags=["catalog"])


class CodeSetOut(Schema):
    id: Int
    code: str
    name: str
    minor_digits: Int
    is_default: bool
    effective_from: Day | None
    classes: Int = Field(0, alias="n_classes")


class ClassBrief(Schema):
    id: Int
    code_set: str = Field(..., alias="code_set.code")
    kind: str
    code: str
    key: str  # kind letter + code (E06001): components and events share code numbers
    major_code: str
    major_name: str
    name: str
    time_limit: Decimal
    time_unit: str
    tier: str
    on_spot_allowed: bool


class ClassOut(ClassBrief):
    keywords: list[str]
    acceptance_condition: str
    closing_condition: str
    time_limit_display: str
    tier_display: str
    default_unit_kind: str
    default_unit_code: str
    escalate_after_overdue: bool
    equivalent: ClassBrief | None = None
    is_active: bool

    @staticmethod
    def resolve_keywords(obj):
        return [k for k in obj.keywords.split(",") if k.strip()]

    @staticmethod
    def resolve_time_limit_display(obj):
        return f"{obj.time_limit.normalize():f} {obj.get_time_unit_display()}"

    @staticmethod
    def resolve_tier_display(obj):
        return str(obj.get_tier_display())


class ClassPage(Schema):
    count: Int
    items: list[ClassBrief]


@router.get("/codesets", response=list[CodeSetOut], summary="Code sets (classification standards)")
def list_codesets(request):

    return list(CodeSet.objects.annotate(n_classes=Count("classes")).order_by("-is_default", "code"))


def _classes_qs(code_set: str | None):
    qs = ProblemClass.objects.select_related("code_set").filter(is_active=True)
    return qs.filter(code_set__code=code_set) if code_set else qs.filter(code_set__is_default=True)


@router.get("/classes", response=ClassPage, summary="Problem classes (filter by code set, kind, major, text)")
def list_classes(
    request,
    code_set: str | None = None,
    kind: str | None = None,
    major: str | None = None,
    q: str | None = None,
    limit: int = Limit(200, 500),
    offset: int = Offset(),
):
    if kind and kind not in ClassKind.values:
        raise InvalidInput(_("Unknown class kind: %(kind)s") % {"kind": kind}, field="kind")
    qs = _classes_qs(code_set)
    if kind:
        qs = qs.filter(kind=kind)
    if major:
        qs = qs.filter(major_code=major)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__startswith=q) | Q(keywords__icontains=q))
    return {"count": qs.count(), "items": list(qs.order_by("kind", "code")[offset : offset + limit])}


@router.get("/classes/{int:class_id}", response=ClassOut, summary="One class with its 立结案标准")
def get_class(request, class_id: Int):
    return get_object_or_404(
        ProblemClass.objects.select_related("code_set", "equivalent__code_set"), pk=class_id
    )


@router.get(
    "/classes/by-code/{code}",
    response=ClassOut,
    summary="A class by key (E06001) or by a code that names one class (either code set)",
)
def get_class_by_code(request, code: str, code_set: str | None = None, kind: str | None = None):

    try:
        found = active_classes().resolve(code, kind or None, code_set or None)
    except InvalidInput as exc:
        if exc.details:  # a code shared by a component and an event: the choices are listed
            raise
        raise NotFound(_("Unknown problem class code: %(code)s") % {"code": code}, field="code") from None
    return ProblemClass.objects.select_related("code_set", "equivalent__code_set").get(pk=found.pk)


class SuggestIn(Schema):
    text: str
    limit: Int = 3
    code_set: str | None = None


class SuggestionOut(Schema):
    problem_class: ClassBrief
    score: Float
    matched: list[str]


def _suggest(text: str, limit: int, code_set: str | None):
    if not text or not text.strip():
        raise InvalidInput(_("Describe the problem first."), field="text")
    cs = None
    if code_set:
        cs = CodeSet.objects.filter(code=code_set).first()
        if cs is None:
            raise InvalidInput(_("Unknown code set: %(code)s") % {"code": code_set}, field="code_set")
    return [
        {"problem_class": s.problem_class, "score": s.score, "matched": s.matched}
        for s in suggest_classes(text[:2000], limit=max(1, min(limit, 10)), code_set=cs)
    ]


@router.post("/suggest", response=list[SuggestionOut], summary="Suggest classes for a description")
def suggest(request, body: SuggestIn):
    return _suggest(body.text, body.limit, body.code_set)


@router.get("/suggest", response=list[SuggestionOut], summary="Suggest classes for a description (GET)")
def suggest_get(request, text: str, limit: Int = 3, code_set: str | None = None):
    return _suggest(text, limit, code_set)


class DayOut(Schema):
    date: Day
    is_working: bool
    note: str


class CalendarOut(Schema):
    year: Int
    exceptions: list[DayOut]
    working_days: Int
    holidays_on_weekdays: Int
    makeup_working_days: Int
    work_hours_per_day: Float


@router.get("/calendar/{int:year}", response=CalendarOut, summary="The working calendar of a year")
def calendar_year(request, year: Int):
    if not 2000 <= year <= 2100:
        raise InvalidInput(_("Choose a year between 2000 and 2100."), field="year")
    rows = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    return {
        "year": year,
        "exceptions": rows,
        "working_days": len(cal.working_days_in(year)),
        "holidays_on_weekdays": sum(1 for r in rows if not r.is_working and r.date.weekday() < 5),
        "makeup_working_days": sum(1 for r in rows if r.is_working and r.date.weekday() >= 5),
        "work_hours_per_day": cal.hours_per_working_day(),
    }


class DeadlineOut(Schema):
    start: Moment
    amount: Float
    unit: str
    deadline: Moment
    working_hours: Float


@router.get("/calendar/deadline", response=DeadlineOut, summary="Add a time limit to a moment")
def deadline(request, amount: Float, unit: str, start: Moment | None = None):
    if unit not in TimeUnit.values:
        raise InvalidInput(_("Unknown time unit: %(unit)s") % {"unit": unit}, field="unit")
    if amount < 0 or amount > 10000:
        raise InvalidInput(_("The amount must be between 0 and 10000."), field="amount")
    start = start or timezone.now()
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    due = cal.add_working_time(start, amount, unit)
    return {
        "start": timezone.localtime(start),
        "amount": amount,
        "unit": unit,
        "deadline": due,
        "working_hours": round(cal.working_hours_between(start, due), 4),
    }


class UnitRef(Schema):
    id: Int
    code: str
    name: str
    kind: str


class RuleOut(Schema):
    id: Int
    problem_class: str | None
    major_code: str
    region: str | None
    unit: UnitRef
    note: str


class ResponsibilityOut(Schema):
    problem_class: ClassBrief
    unit: UnitRef
    source: str
    reason: str
    rule_id: Int | None
    candidates: list[RuleOut]


@router.get(
    "/responsibility", response=ResponsibilityOut, summary="Who is responsible for a class at a place"
)
def responsibility(request, class_id: Int, community: str | None = None, street: str | None = None):

    pc = get_object_or_404(ProblemClass.objects.select_related("code_set"), pk=class_id)
    regions = Region.objects.visible_to(request.user)
    comm = st = None
    if community:
        comm = regions.filter(code=community, level=4).select_related("parent__parent").first()
        if comm is None:
            raise NotFound(_("No such community in your area."), field="community")
    if street:
        st = regions.filter(code=street, level=3).select_related("parent").first()
        if st is None:
            raise NotFound(_("No such street/town in your area."), field="street")
    answer = explain_responsibility(pc, comm, st)
    candidates = [
        {
            "id": r.pk,
            "problem_class": getattr(r.problem_class, "code", None),
            "major_code": r.major_code,
            "region": getattr(r.region, "code", None),
            "unit": r.unit,
            "note": r.note,
        }
        for r, _tier in matching_rules(pc, comm, st)
    ]
    return {
        "problem_class": pc,
        "unit": answer["unit"],
        "source": answer["source"],
        "reason": str(answer["reason"]),
        "rule_id": answer["rule_id"],
        "candidates": candidates,
    }
