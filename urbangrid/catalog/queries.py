"""Reads of the catalog app that several places use: responsibility and time limits."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from urbangrid.lib.errors import InvalidInput, NotFound
from urbangrid.orgs.models import Unit

from .cache import active_classes
from .models import CodeSet, ProblemClass, ResponsibilityRule

TERRITORY_KINDS = ("street_office", "town_gov")


def default_code_set() -> CodeSet | None:
    return CodeSet.objects.filter(is_default=True).first()


def class_by_code(code: str, code_set: CodeSet | None = None) -> ProblemClass:
    """A class by its key (E06001) or a code naming one class only, in the given (or default)
    code set; an ambiguous code raises InvalidInput with the choices, an unknown one NotFound.

    A class of the other code set is accepted too and translated through ``equivalent``."""

    cs = code_set or default_code_set()
    classes = active_classes()
    try:
        found = classes.resolve(code, code_set=cs.code if cs else None)
    except InvalidInput as exc:
        if exc.details:  # ambiguous
            raise
        try:
            found = classes.resolve(code)
        except InvalidInput:
            raise NotFound(
                _("Unknown problem class code: %(code)s") % {"code": code}, field="class_code"
            ) from None
        if cs and found.equivalent_id and classes.by_pk.get(found.equivalent_id) is not None:
            equivalent = classes.by_pk[found.equivalent_id]
            found = equivalent if equivalent.code_set_id == cs.pk else found
    return ProblemClass.objects.select_related("code_set").get(pk=found.pk)


def handling_limit(problem_class: ProblemClass) -> tuple[Decimal, str]:
    return problem_class.time_limit, problem_class.time_unit


def territory_unit(community=None, street=None):
    """The street office or town government of the area (属地兜底)."""

    if street is None and community is not None:
        street = community.parent
    if street is None:
        return None
    return Unit.objects.filter(region=street, kind__in=TERRITORY_KINDS, is_active=True).order_by("id").first()


def _class_ids(pc: ProblemClass) -> list[int]:
    # A rule written against either code set applies to the equivalent class of the other.
    ids = {pc.pk}
    if pc.equivalent_id:
        ids.add(pc.equivalent_id)
    ids.update(ProblemClass.objects.filter(equivalent_id=pc.pk).values_list("pk", flat=True))
    return list(ids)


def matching_rules(problem_class: ProblemClass, community=None, street=None):
    """All rules that could apply, most specific first, each with its rank (lower = stronger)."""
    if street is None and community is not None:
        street = community.parent
    district = street.parent if street is not None else None
    area_rank = {}
    for depth, region in enumerate((community, street, district)):
        if region is not None:
            area_rank[region.pk] = depth
    area_ids = list(area_rank)
    class_q = Q(problem_class_id__in=_class_ids(problem_class))
    major_q = (
        Q(problem_class__isnull=True, major_code=problem_class.major_code)
        & (Q(code_set__isnull=True) | Q(code_set_id=problem_class.code_set_id))
        & (Q(kind="") | Q(kind=problem_class.kind))
    )
    area_q = Q(region__isnull=True) | Q(region_id__in=area_ids)
    rules = list(
        ResponsibilityRule.objects.select_related("unit", "region", "problem_class")
        .filter(is_active=True)
        .filter(class_q | major_q)
        .filter(area_q)
    )

    def rank(rule: ResponsibilityRule) -> tuple[int, int, int]:
        # class+area (0) > class (1) > major+area (2) > major (3); nearer area first.
        by_class = rule.problem_class_id is not None
        has_area = rule.region_id is not None
        tier = (0 if has_area else 1) if by_class else (2 if has_area else 3)
        return (tier, area_rank.get(rule.region_id, 9), rule.pk)

    rules.sort(key=rank)
    return [(r, rank(r)[0]) for r in rules]


def responsible_unit(problem_class: ProblemClass, community=None, street=None):
    """The unit responsible for ``problem_class`` at this place.

    The most specific active ResponsibilityRule wins; otherwise the class's default department
    (``default_unit_code``); otherwise the territory (street office / town) of the area; and for a
    place without a street the lead enforcement bureau."""

    rules = matching_rules(problem_class, community, street)
    for rule, _rank in rules:
        if rule.unit.is_active:
            return rule.unit
    if problem_class.default_unit_code:
        unit = Unit.objects.filter(code=problem_class.default_unit_code, is_active=True).first()
        if unit is not None:
            return unit
    unit = territory_unit(community, street)
    if unit is not None:
        return unit
    unit = Unit.objects.filter(kind="bureau", is_active=True).order_by("id").first()
    if unit is None:
        raise NotFound(_("No responsible unit is configured."))
    return unit


def explain_responsibility(problem_class: ProblemClass, community=None, street=None) -> dict:
    """The answer of responsible_unit and the reason, for the API and the admin."""
    rules = matching_rules(problem_class, community, street)
    for rule, tier in rules:
        if rule.unit.is_active:
            reasons = {
                0: _("rule for this class in this area"),
                1: _("rule for this class"),
                2: _("rule for the major class in this area"),
                3: _("rule for the major class"),
            }
            return {"unit": rule.unit, "source": "rule", "rule_id": rule.pk, "reason": reasons[tier]}
    unit = responsible_unit(problem_class, community, street)
    if problem_class.default_unit_code and unit.code == problem_class.default_unit_code:
        return {
            "unit": unit,
            "source": "class_default",
            "rule_id": None,
            "reason": _("default department of the class"),
        }
    if unit.kind in TERRITORY_KINDS:
        return {
            "unit": unit,
            "source": "territory",
            "rule_id": None,
            "reason": _("territory fallback (属地兜底)"),
        }
    return {"unit": unit, "source": "lead_unit", "rule_id": None, "reason": _("lead unit fallback")}
