import pytest

from urbangrid.catalog.classify import suggest_classes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "text,expected",
    [
        ("人行道上有人摆摊卖水果", {"占道经营", "无照经营游商"}),
        ("井盖丢失", {"上水井盖", "污水井盖", "雨水井盖", "电力井盖", "通信井盖", "燃气井盖"}),
        ("小区门口机动车乱停，车停在人行道上", {"机动车乱停放"}),
        ("楼下垃圾桶满了好几天没人清运，垃圾溢出来了", {"垃圾满溢"}),
        ("有人在林区上坟烧纸，很危险", {"森林防火隐患"}),
        ("这条街的路灯不亮已经一周了", {"路灯"}),
        ("电动车乱停乱放把盲道都堵了", {"非机动车乱停放"}),
        ("墙上贴满了办证小广告", {"非法小广告"}),
        ("村里有人未经批准占用耕地盖房子", {"违法占地", "违法建设"}),
        ("我们小区物业不管事，电梯坏了也没人修", {"小区物业管理缺位", "小区公共设施损坏"}),
        ("晚上工地打桩噪音太大", {"施工扰民"}),
        ("后街小巷脏乱差，到处是垃圾", {"背街小巷脏乱差"}),
        ("家里的旧沙发和床垫想预约清运", {"大件垃圾清运预约"}),
    ],
)
def test_realistic_reports(demo, text, expected):
    got = suggest_classes(text, limit=3)
    assert got, text
    assert got[0].problem_class.name in expected, [(s.problem_class.name, s.score, s.matched) for s in got]
    assert got[0].matched, "every suggestion explains itself"
    assert got[0].problem_class.code_set.is_default
    assert [s.score for s in got] == sorted((s.score for s in got), reverse=True)


def test_nothing_for_nothing(demo):
    assert suggest_classes("") == []
    assert suggest_classes("   ") == []
    assert suggest_classes("今天天气不错", limit=3) == [] or all(
        s.score < 3 for s in suggest_classes("今天天气不错")
    )


def test_legacy_code_set(demo):
    from urbangrid.catalog.models import CodeSet

    legacy = CodeSet.objects.get(is_default=False)
    got = suggest_classes("人行道上有人摆摊卖水果", limit=1, code_set=legacy)
    assert got[0].problem_class.code == "0406"
