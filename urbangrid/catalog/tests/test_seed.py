import pytest

from urbangrid.catalog.models import CalendarDay, CodeSet, ProblemClass
from urbangrid.catalog.seed import LEGACY, NEW, load_catalog

pytestmark = pytest.mark.django_db


def _empty_catalogue():
    from urbangrid.catalog.models import ResponsibilityRule

    ResponsibilityRule.objects.all().delete()
    ProblemClass.objects.update(equivalent=None)
    ProblemClass.objects.all().delete()
    CodeSet.objects.all().delete()
    CalendarDay.objects.all().delete()


def test_load_catalog_is_complete_and_idempotent():
    _empty_catalogue()
    first = load_catalog()
    assert first["classes"] > 0
    again = load_catalog()
    assert again == {"classes": 0, "calendar_days": 0}
    for code in (LEGACY, NEW):
        cs = CodeSet.objects.get(code=code)
        classes = ProblemClass.objects.filter(code_set=cs)
        assert classes.count() >= 60
        for pc in classes:
            assert pc.acceptance_condition and pc.closing_condition, pc
            assert pc.time_limit > 0 and pc.time_unit
            assert pc.keywords
            assert pc.equivalent is not None and pc.equivalent.code_set_id != cs.pk
            assert pc.equivalent.equivalent_id == pc.pk
            assert pc.equivalent.name == pc.name
            assert len(pc.minor_code) == cs.minor_digits
    assert CodeSet.objects.get(is_default=True).code == NEW
    assert CalendarDay.objects.filter(date__year=2027).exists()
    assert all(
        "预估" in n for n in CalendarDay.objects.filter(date__year=2027).values_list("note", flat=True)
    )


def test_update_rewrites_edits():
    load_catalog()
    pc = ProblemClass.objects.get(code_set__code=NEW, code="06010")
    pc.time_limit = 9
    pc.save()
    load_catalog()
    pc.refresh_from_db()
    assert pc.time_limit == 9  # a plain reload keeps the city's edit
    load_catalog(update=True)
    pc.refresh_from_db()
    assert pc.time_limit == 1


@pytest.mark.parametrize(
    "codeset,kind,code,name",
    [
        (LEGACY, "event", "0101", "私搭乱建"),
        (LEGACY, "event", "0110", "暴露垃圾"),
        (LEGACY, "event", "0406", "占道经营"),
        (LEGACY, "event", "0409", "机动车乱停放"),
        (LEGACY, "event", "0410", "非机动车乱停放"),
        (NEW, "event", "06010", "暴露垃圾"),
        (NEW, "event", "09006", "占道经营"),
        (NEW, "event", "09009", "机动车乱停放"),
    ],
)
def test_standard_codes(codeset, kind, code, name):
    load_catalog()
    assert ProblemClass.objects.get(code_set__code=codeset, kind=kind, code=code).name == name


def test_limits_from_the_published_standards():
    load_catalog()
    get = lambda n: ProblemClass.objects.get(code_set__code=NEW, name=n)  # noqa: E731
    assert (float(get("暴露垃圾").time_limit), get("暴露垃圾").time_unit) == (1.0, "work_days")
    assert (float(get("积存垃圾渣土").time_limit), get("积存垃圾渣土").time_unit) == (4.0, "work_days")
    assert (float(get("私搭乱建").time_limit), get("私搭乱建").time_unit) == (15.0, "work_days")
    assert (float(get("上水井盖").time_limit), get("上水井盖").time_unit) == (4.0, "hours")
    assert get("无证食品摊贩").default_unit_code == "dept_market"
    assert get("机动车乱停放").default_unit_code == "dept_traffic"
    assert get("违法占地").default_unit_code == "dept_nr"
    assert get("占道经营").on_spot_allowed and get("占道经营").tier == "grid"
    services = ProblemClass.objects.filter(code_set__code=NEW, kind="service")
    assert services.count() >= 5
    names = set(ProblemClass.objects.filter(code_set__code=NEW).values_list("name", flat=True))
    for needed in [
        "背街小巷脏乱差",
        "马路市场",
        "小区物业管理缺位",
        "路灯",
        "交通标志牌",
        "公共厕所",
        "行道树",
        "违规户外广告",
        "森林防火隐患",
        "高危行业安全隐患",
        "校园安全隐患",
        "车站码头安全隐患",
        "商场酒店安全隐患",
        "公共场所安全隐患",
        "道路交通安全隐患",
        "摩托车乱停放",
        "违法建设",
    ]:
        assert needed in names
