import pytest

from urbangrid.catalog.actions import do_set_responsibility
from urbangrid.catalog.models import ProblemClass, ResponsibilityRule
from urbangrid.catalog.queries import class_by_code, handling_limit, responsible_unit
from urbangrid.lib.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.django_db


def cls(name, legacy=False):
    return ProblemClass.objects.get(code_set__is_default=not legacy, name=name)


def street_of_kind(demo, kind):
    return next(s for s in demo.streets if s.kind == kind)


def community_of(demo, street):
    return next(c for c in demo.communities if c.parent_id == street.pk)


def test_territory_fallback(demo):
    street = demo.street(1)
    community = community_of(demo, street)
    assert responsible_unit(cls("暴露垃圾"), community, None) == demo.street_unit(street)
    assert responsible_unit(cls("暴露垃圾"), None, street) == demo.street_unit(street)
    # Nowhere at all: the lead unit.
    assert responsible_unit(cls("暴露垃圾"), None, None).code == "bureau"


def test_department_lines(demo):
    street = demo.street(1)
    c = community_of(demo, street)
    assert responsible_unit(cls("机动车乱停放"), c).code == "dept_traffic"
    assert responsible_unit(cls("无证食品摊贩"), c).code == "dept_market"
    assert responsible_unit(cls("上水井盖"), c).code == "dept_water"
    assert responsible_unit(cls("违法建设"), c).code == "brigade"


def test_class_and_area_beats_class(demo):
    town = street_of_kind(demo, "town")
    urban = street_of_kind(demo, "street")
    pc = cls("违法占地")
    assert responsible_unit(pc, community_of(demo, town)) == demo.street_unit(town)
    assert responsible_unit(pc, community_of(demo, urban)).code == "dept_nr"


def test_precedence_and_nearest_area(demo):
    admin = demo.user_named("admin")
    street = demo.street(2)
    community = community_of(demo, street)
    pc = cls("暴露垃圾")
    housing, market, culture, power = (
        demo.unit(c) for c in ("dept_housing", "dept_market", "dept_culture", "dept_power")
    )
    # major (whole city) < major + area < class < class + area; community nearer than street.
    do_set_responsibility(
        admin, [{"major_code": pc.major_code, "code_set": pc.code_set, "kind": "event", "unit": power}]
    )
    assert responsible_unit(pc, community) == power
    do_set_responsibility(admin, [{"major_code": pc.major_code, "region": street, "unit": culture}])
    assert responsible_unit(pc, community) == culture
    do_set_responsibility(admin, [{"problem_class": pc, "unit": market}])
    assert responsible_unit(pc, community) == market
    do_set_responsibility(admin, [{"problem_class": pc, "region": demo.district, "unit": housing}])
    assert responsible_unit(pc, community) == housing
    do_set_responsibility(admin, [{"problem_class": pc, "region": community, "unit": power}])
    assert responsible_unit(pc, community) == power
    # The community rule does not leak into a sibling community.
    other = next(c for c in demo.communities if c.parent_id == street.pk and c.pk != community.pk)
    assert responsible_unit(pc, other) == housing
    # A deactivated rule no longer counts.
    ResponsibilityRule.objects.filter(region=community).update(is_active=False)
    assert responsible_unit(pc, community) == housing


def test_major_rule_respects_kind_and_code_set(demo):
    admin = demo.user_named("admin")
    pc = cls("暴露垃圾")  # event 06 in the new set
    component = ProblemClass.objects.filter(code_set=pc.code_set, kind="component").first()
    do_set_responsibility(
        admin,
        [
            {
                "major_code": component.major_code,
                "code_set": pc.code_set,
                "kind": "component",
                "unit": demo.unit("dept_gas"),
            }
        ],
    )
    assert responsible_unit(pc, community_of(demo, demo.street(1))) != demo.unit("dept_gas")


def test_rule_on_legacy_class_applies_to_equivalent(demo):
    admin = demo.user_named("admin")
    legacy = cls("积存垃圾渣土", legacy=True)
    do_set_responsibility(admin, [{"problem_class": legacy, "unit": demo.unit("dept_housing")}])
    assert responsible_unit(cls("积存垃圾渣土"), community_of(demo, demo.street(1))).code == "dept_housing"


def test_matrix_needs_admin_and_valid_rows(demo):
    with pytest.raises(PermissionDenied):
        do_set_responsibility(
            demo.user("dispatcher"), [{"problem_class": cls("暴露垃圾"), "unit": demo.unit("bureau")}]
        )
    before = ResponsibilityRule.objects.count()
    from urbangrid.lib.errors import InvalidInput

    with pytest.raises(InvalidInput):
        do_set_responsibility(
            demo.user_named("admin"),
            [{"problem_class": cls("暴露垃圾"), "unit": demo.unit("bureau")}, {"unit": demo.unit("bureau")}],
        )
    assert ResponsibilityRule.objects.count() == before


def test_class_lookup_and_limits(demo):
    assert class_by_code("09006").name == "占道经营"
    assert class_by_code("0406").code == "09006"  # legacy code translated to the default set
    with pytest.raises(NotFound):
        class_by_code("99999")
    amount, unit = handling_limit(cls("积存垃圾渣土"))
    assert (float(amount), unit) == (4.0, "work_days")
