"""Reads of the evaluation app that several places use: the subjects of each kind (names,
areas, jurisdiction) and the open overdue cases listed in reports."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from urbangrid.cases.choices import OPEN_STATES
from urbangrid.cases.models import Case
from urbangrid.geo.models import Region, UnitGrid
from urbangrid.lib.access import scope_for
from urbangrid.orgs.models import Person, RoleAssignment, Unit

from . import indicators
from .choices import PERSON_KINDS, SubjectKind

K = SubjectKind
HANDLING_UNIT_KINDS = ("department", "brigade", "street_office", "town_gov", "utility", "community", "bureau")


@dataclass(frozen=True)
class Subject:
    """Who a result line is about."""

    kind: str
    key: str
    name: str
    region_id: int | None = None  # the area it belongs to (itself for a region)
    region_code: str = ""
    unit_id: int | None = None
    parent: str = ""  # e.g. the street of a community, the unit of a person

    def visible(self, scope) -> bool:
        if scope.all_city:
            return True
        if self.region_id is not None and self.region_id in scope.subtree_region_ids:
            return True
        if self.kind == K.UNIT and self.unit_id in scope.unit_ids:
            return True
        return self.kind in PERSON_KINDS and scope.person_id is not None and str(scope.person_id) == self.key

    def in_region(self, code: str) -> bool:
        """Inside the report area (region code prefix); city-level units belong to every district."""
        if not self.region_code:
            return len(code) <= 6 and self.kind == K.UNIT
        return self.region_code.startswith(code)


def _ids(keys) -> set[int]:
    return {int(k) for k in keys if k.isdigit()}


def _person_subjects(kind: str, extra: set[str]) -> dict[str, Subject]:
    """The current holders of a role (and the people in ``extra``), placed in the region of
    their role, else of their unit."""
    today = timezone.localdate()
    holders = RoleAssignment.objects.filter(role=kind).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )
    region_of = dict(holders.exclude(region=None).values_list("person_id", "region_id"))
    ids = set(holders.values_list("person_id", flat=True)) | _ids(extra)
    people = Person.objects.filter(id__in=ids).select_related("unit", "unit__region")
    regions = {r.id: r.code for r in Region.objects.filter(id__in=set(region_of.values()))}
    out = {}
    for p in people:
        rid = region_of.get(p.id) or p.unit.region_id
        code = regions.get(rid) or (p.unit.region.code if p.unit.region_id else "")
        out[str(p.id)] = Subject(kind, str(p.id), p.name, rid, code, p.unit_id, p.unit.name)
    return out


def _unit_subjects(kind: str, extra: set[str]) -> dict[str, Subject]:
    """The active handling units (and the units in ``extra``)."""
    units = Unit.objects.filter(
        Q(id__in=_ids(extra)) | Q(is_active=True, kind__in=HANDLING_UNIT_KINDS)
    ).select_related("region")
    return {
        str(u.id): Subject(
            kind,
            str(u.id),
            u.name,
            u.region_id,
            u.region.code if u.region_id else "",
            u.id,
            u.get_kind_display(),
        )
        for u in units
    }


def _grid_subjects(kind: str, extra: set[str]) -> dict[str, Subject]:
    """The current grids (and the codes in ``extra``), by code, each named by its latest version."""
    grids = (
        UnitGrid.objects.filter(Q(valid_to__isnull=True) | Q(code__in=extra))
        .select_related("community")
        .order_by("code", "-version")
    )
    out: dict[str, Subject] = {}
    for g in grids:
        if g.code not in out:
            out[g.code] = Subject(
                kind, g.code, g.name or g.code, g.community_id, g.community.code, None, g.community.name
            )
    return out


def _region_subjects(kind: str, extra: set[str]) -> dict[str, Subject]:
    """The regions of the kind's level (and the regions in ``extra``)."""
    level = {K.DISTRICT: 2, K.STREET: 3, K.COMMUNITY: 4}[kind]
    regions = Region.objects.filter(Q(level=level) | Q(id__in=[int(k) for k in extra if k.isdigit()]))
    return {
        str(r.id): Subject(kind, str(r.id), r.name, r.id, r.code, None, r.parent.name if r.parent_id else "")
        for r in regions.select_related("parent")
    }


def subjects(kind: str, extra_keys=()) -> dict[str, Subject]:
    """Every known subject of a kind (and those in ``extra_keys``, e.g. found in the data)."""
    extra = {str(k) for k in extra_keys}
    if kind in PERSON_KINDS:
        out = _person_subjects(kind, extra)
    elif kind == K.UNIT:
        out = _unit_subjects(kind, extra)
    elif kind == K.GRID:
        out = _grid_subjects(kind, extra)
    else:
        out = _region_subjects(kind, extra)
    for k in extra - set(out):
        out[k] = Subject(kind, k, k)
    return out


def visible_subject_filter(user):
    scope = scope_for(user)
    return lambda s: s.visible(scope)


def overdue_cases(region=None, as_of=None, user=None):
    """Open cases past their handling deadline (超期未处置), oldest deadline first."""

    as_of = as_of or timezone.now()
    qs = Case.objects.all() if user is None else Case.objects.visible_to(user)
    qs = qs.filter(state__in=OPEN_STATES, handle_due_at__lt=as_of, handled_at__isnull=True)
    if region is not None:
        col = {2: "district", 3: "street", 4: "community"}.get(region.level)
        if col:
            qs = qs.filter(**{col: region})
    return qs.select_related("assigned_unit", "street", "community", "problem_class").order_by(
        "handle_due_at"
    )


def propose_orders(
    period,
    *,
    indicator: str = "on_time_handling_rate",
    threshold: float = 0.8,
    min_due: int = 5,
    user=None,
    as_of=None,
):
    """Units whose indicator fell below the threshold in the period (enough cases to judge):
    candidates for a pattern supervision order. Returns (subject, measure) pairs, worst first."""

    ind = indicators.get(indicator)
    measures = indicators.compute(K.UNIT, period, codes=[indicator], as_of=as_of)
    subs = subjects(K.UNIT, measures.keys())
    scope = scope_for(user) if user is not None else None
    out = []
    for key, ms in measures.items():
        m = ms.get(indicator)
        if m is None or m.value is None or (m.den is not None and m.den < min_due):
            continue
        bad = m.value < threshold if ind.direction == "higher" else m.value > threshold
        if bad and (scope is None or subs[key].visible(scope)):
            out.append((subs[key], m))
    out.sort(key=lambda sm: sm[1].value if ind.direction == "higher" else -sm[1].value)
    return out
