"""The default assessment schemes seeded by migration 0002 (the weights of docs/domain.md).

``city`` follows the formulas of the standard's implementation; ``district`` is a district's
own variant (more weight on timeliness, heavier deductions) to show that several schemes live
side by side. Kept as plain data so the migration and the tests read the same numbers.
"""

from datetime import date

K_GW, K_IO, K_SL, K_DP, K_UNIT = "grid_worker", "intake_operator", "shift_leader", "dispatcher", "unit"
REGION_KINDS = ("grid", "community", "street", "district")

CITY_WEIGHTS = {
    K_GW: {
        "valid_report_rate": 40,
        "missed_report_rate": 20,
        "on_time_verify_rate": 20,
        "on_time_check_rate": 20,
    },
    K_IO: {"intake_volume": 25, "on_time_verify_dispatch_rate": 40, "on_time_check_dispatch_rate": 35},
    K_SL: {"on_time_register_rate": 25, "accurate_register_rate": 40, "on_time_close_rate": 35},
    K_DP: {"dispatched": 20, "on_time_dispatch_rate": 40, "accurate_dispatch_rate": 40},
    K_UNIT: {"closing_rate": 30, "on_time_handling_rate": 30, "rework_rate": 30, "handled": 10},
    **{k: {"public_report_rate": 20, "closing_rate": 40, "on_time_closing_rate": 40} for k in REGION_KINDS},
}

DISTRICT_WEIGHTS = {
    **CITY_WEIGHTS,
    K_UNIT: {"closing_rate": 20, "on_time_handling_rate": 40, "rework_rate": 20, "spot_pass_rate": 20},
    **{
        k: {"public_report_rate": 20, "on_time_closing_rate": 50, "closing_rate": 20, "rework_rate": 10}
        for k in REGION_KINDS
    },
}

# Volume score tables (count ≥ min → score); monthly numbers.
CITY_BANDS = {
    K_IO: {"intake_volume": [(600, 100), (400, 90), (200, 75), (100, 60), (1, 40)]},
}

# (subject kind, event, points per event, cap)
CITY_ADJUSTMENTS = [
    (K_UNIT, "supervision_order", -1, 10),
    (K_UNIT, "late_reply", -2, 10),
    (K_UNIT, "accountability", -3, 15),
    (K_UNIT, "complaint", -0.5, 10),
    (K_UNIT, "spot_check_failed", -1, 10),
    (K_GW, "accountability", -3, 15),
    (K_GW, "self_handled", 0.2, 5),
    ("street", "complaint", -0.5, 10),
    ("street", "spot_check_failed", -1, 10),
]
DISTRICT_ADJUSTMENTS = [
    (K_UNIT, "supervision_order", -2, 20),
    (K_UNIT, "late_reply", -3, 15),
    (K_UNIT, "accountability", -5, 20),
    (K_UNIT, "spot_check_failed", -2, 20),
    ("street", "spot_check_failed", -2, 20),
    ("community", "spot_check_failed", -2, 20),
]

CITY_DESCRIPTION = (
    "市级考核办法：监督员、受理员、值班长、派遣员、专业部门与区域的指标权重、加扣分与数量评分。"
)

SCHEMES = [
    {
        "code": "city",
        "name": "市级网格化综合监管考核办法",
        "description": CITY_DESCRIPTION,
        "weights": CITY_WEIGHTS,
        "bands": CITY_BANDS,
        "adjustments": CITY_ADJUSTMENTS,
    },
    {
        "code": "district",
        "name": "区级网格化综合监管考核细则",
        "description": "区级细则：更重按期处置与抽查合格，督办与追责扣分更重。",
        "weights": DISTRICT_WEIGHTS,
        "bands": CITY_BANDS,
        "adjustments": DISTRICT_ADJUSTMENTS,
    },
]


def seed(apps=None):
    """Create the default schemes (idempotent). ``apps`` is the migration state registry."""

    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Scheme = apps.get_model("evaluation", "Scheme")
    SchemeVersion = apps.get_model("evaluation", "SchemeVersion")
    SchemeWeight = apps.get_model("evaluation", "SchemeWeight")
    VolumeBand = apps.get_model("evaluation", "VolumeBand")
    AdjustmentRule = apps.get_model("evaluation", "AdjustmentRule")
    for spec in SCHEMES:
        scheme, created = Scheme.objects.get_or_create(
            code=spec["code"], defaults={"name": spec["name"], "description": spec["description"]}
        )
        if not created and scheme.versions.exists():
            continue
        v = SchemeVersion.objects.create(
            scheme=scheme, number=1, state="active", valid_from=date(2026, 1, 1), note="默认版本"
        )
        SchemeWeight.objects.bulk_create(
            SchemeWeight(version=v, subject_kind=kind, indicator=code, weight=w)
            for kind, ws in spec["weights"].items()
            for code, w in ws.items()
        )
        VolumeBand.objects.bulk_create(
            VolumeBand(version=v, subject_kind=kind, indicator=code, min_value=lo, score=s)
            for kind, per in spec["bands"].items()
            for code, rows in per.items()
            for lo, s in rows
        )
        AdjustmentRule.objects.bulk_create(
            AdjustmentRule(version=v, subject_kind=kind, kind=ev, points=pts, cap=cap)
            for kind, ev, pts, cap in spec["adjustments"]
        )
