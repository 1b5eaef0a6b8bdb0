"""Seed checklists of the safety-hazard sweep (安全隐患排查), one per place type.

Items follow the usual headings of Chinese sweep forms (消防、用电、交通、应急、管理制度). Each
item names the catalogue class a failure opens (legacy 2+2 codes of catalog.seed; the
catalogue translates them to the GB/T 47678 set). Loaded by migration 0002 and idempotent.
"""

from __future__ import annotations

# (code, item text, basis, severity, class code)
CHECKLISTS: dict[str, list[tuple[str, str, str, str, str]]] = {
    "road_traffic": [
        (
            "RT01",
            "交通信号灯、标志标线是否齐全清晰、无遮挡",
            "《道路交通安全法》第二十五条",
            "general",
            "0508",
        ),
        ("RT02", "急弯、陡坡、临水临崖路段是否设置护栏和警示标志", "《公路安全保护条例》", "major", "0508"),
        ("RT03", "学校、医院周边是否设置减速带和人行横道", "《道路交通安全法》", "general", "0508"),
        ("RT04", "道路是否存在坑槽、塌陷、井盖缺失等影响通行的病害", "《城市道路管理条例》", "major", "0508"),
        ("RT05", "路口视线是否被树木、广告牌、违章建筑遮挡", "《道路交通安全法实施条例》", "general", "0508"),
        ("RT06", "施工路段是否设置围挡、警示灯和交通引导", "《城市道路管理条例》第三十五条", "major", "0508"),
        (
            "RT07",
            "是否存在摩托车、电动车与机动车混行、逆行等秩序乱象",
            "《道路交通安全法》",
            "general",
            "0508",
        ),
    ],
    "forest_fire": [
        ("FF01", "林区入口是否设置防火警示牌和检查登记点", "《森林防火条例》第二十三条", "general", "0509"),
        (
            "FF02",
            "林缘、坟地周边是否存在野外用火、焚烧秸秆、上坟烧纸",
            "《森林防火条例》第二十五条",
            "major",
            "0509",
        ),
        ("FF03", "防火隔离带是否清理，枯枝落叶等可燃物是否堆积", "《森林防火条例》", "major", "0509"),
        ("FF04", "扑火工具、储水设施是否齐全可用", "《森林防火条例》第二十一条", "general", "0509"),
        ("FF05", "护林员是否在岗巡护、巡护记录是否完整", "《森林防火条例》", "general", "0509"),
        ("FF06", "林区内电力线路、通信设施下方是否清除可燃物", "《森林防火条例》", "general", "0509"),
    ],
    "high_risk": [
        (
            "HR01",
            "危险化学品储存是否分类分区、限量存放并有专人管理",
            "《危险化学品安全管理条例》第二十四条",
            "major",
            "0510",
        ),
        ("HR02", "安全生产许可证、危化品经营许可证是否有效", "《安全生产许可证条例》", "major", "0510"),
        (
            "HR03",
            "可燃气体报警、防雷防静电设施是否完好并定期检测",
            "《安全生产法》第三十六条",
            "major",
            "0510",
        ),
        ("HR04", "特种作业人员是否持证上岗", "《安全生产法》第三十条", "general", "0510"),
        (
            "HR05",
            "是否制定应急预案并按期演练，应急物资是否齐全",
            "《生产安全事故应急条例》",
            "general",
            "0510",
        ),
        ("HR06", "消防车通道、安全出口是否畅通", "《消防法》第二十八条", "major", "0515"),
        ("HR07", "动火、受限空间等危险作业是否履行审批手续", "《安全生产法》第四十三条", "major", "0510"),
    ],
    "campus": [
        ("CA01", "校门口是否设置防冲撞设施并有保安值守", "《中小学幼儿园安全管理办法》", "major", "0511"),
        ("CA02", "教学楼、宿舍疏散通道和安全出口是否畅通，应急照明是否完好", "《消防法》", "major", "0515"),
        ("CA03", "消防器材是否配备齐全并在有效期内", "《消防法》第十六条", "general", "0511"),
        (
            "CA04",
            "食堂是否持证经营、食品留样和晨检制度是否落实",
            "《学校食品安全与营养健康管理规定》",
            "major",
            "0511",
        ),
        ("CA05", "校园周边200米内是否存在无证摊贩、网吧等", "《未成年人保护法》", "general", "0511"),
        ("CA06", "校车是否按规定年检并配备随车照管人员", "《校车安全管理条例》", "major", "0511"),
        ("CA07", "体育器材、围墙、护栏是否牢固无松动", "《中小学幼儿园安全管理办法》", "general", "0511"),
    ],
    "station_dock": [
        ("SD01", "进站安检设备是否正常运行，安检人员是否在岗", "《反恐怖主义法》第三十一条", "major", "0512"),
        ("SD02", "候车（船）区疏散通道、安全出口是否畅通", "《消防法》第二十八条", "major", "0515"),
        ("SD03", "渡船是否超载，救生衣、救生圈配备是否足额", "《内河交通安全管理条例》", "major", "0512"),
        ("SD04", "消防器材、应急照明和疏散指示是否完好", "《消防法》", "general", "0512"),
        ("SD05", "站前广场是否存在非法营运、拉客揽客", "《道路运输条例》", "general", "0512"),
        ("SD06", "码头护栏、系缆设施是否完好，临水区域是否设置警示", "《港口法》", "general", "0512"),
    ],
    "mall_hotel": [
        ("MH01", "安全出口、疏散通道是否锁闭或堆放杂物", "《消防法》第二十八条", "major", "0515"),
        ("MH02", "灭火器、消火栓是否完好有效，自动喷淋系统是否正常", "《消防法》第十六条", "major", "0513"),
        ("MH03", "应急照明和疏散指示标志是否完好", "《建筑设计防火规范》", "general", "0513"),
        ("MH04", "电气线路是否私拉乱接，是否使用大功率违规电器", "《消防法》第二十七条", "major", "0513"),
        ("MH05", "消防控制室是否24小时双人值班并持证上岗", "《消防控制室通用技术要求》", "general", "0513"),
        ("MH06", "酒店是否落实旅客实名登记制度", "《旅馆业治安管理办法》第六条", "general", "0513"),
        ("MH07", "厨房燃气管道是否有泄漏报警和紧急切断装置", "《城镇燃气管理条例》", "major", "0513"),
    ],
    "public_place": [
        (
            "PP01",
            "人员密集场所是否制定大客流应急预案和限流措施",
            "《大型群众性活动安全管理条例》",
            "major",
            "0514",
        ),
        ("PP02", "护栏、台阶、游乐设施是否牢固，有无松动破损", "《特种设备安全法》", "general", "0514"),
        ("PP03", "临水区域是否设置警示标志和救生设施", "《公共场所卫生管理条例》", "general", "0514"),
        ("PP04", "消防车通道是否被占用或堵塞", "《消防法》第二十八条", "major", "0515"),
        ("PP05", "户外广告牌、雨棚是否存在坠落隐患", "《城市市容和环境卫生管理条例》", "major", "0514"),
        ("PP06", "公共场所电气设施、景观照明是否存在漏电隐患", "《消防法》", "major", "0514"),
    ],
}


def load_checklists(model=None) -> int:
    """Create or update every seed item; returns the number of items. ``model`` lets a data
    migration pass its historical ChecklistItem."""
    if model is None:
        from .models import ChecklistItem as model
    count = 0
    for place_type, items in CHECKLISTS.items():
        for order, (code, text, basis, severity, class_code) in enumerate(items, start=1):
            model.objects.update_or_create(
                code=code,
                defaults=dict(
                    place_type=place_type,
                    text=text,
                    basis=basis,
                    severity=severity,
                    class_code=class_code,
                    order=order,
                ),
            )
            count += 1
    return count
