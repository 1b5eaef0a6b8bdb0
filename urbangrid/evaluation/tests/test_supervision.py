"""Supervision orders, spot checks, accountability, reports, the command and the API."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from urbangrid.evaluation import actions, indicators
from urbangrid.evaluation.actions import sample_ids
from urbangrid.evaluation.models import AccountabilityRecord, Report, SpotCheck, SupervisionOrder
from urbangrid.evaluation.periods import Period
from urbangrid.evaluation.queries import propose_orders
from urbangrid.evaluation.scoring import evaluate, resolve_version
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.models import AuditEvent

from .world import AS_OF

OCT = Period.parse("2026-10")


def test_pattern_order_lifecycle(world):
    city, h1 = world.users["city"], world.users["h1"]
    # U1's on-time handling rate is 2/4 = 50 % < 80 %: proposed.
    proposed = propose_orders(OCT, threshold=0.8, min_due=1, as_of=AS_OF)
    assert [(s.key, m.num, m.den) for s, m in proposed] == [
        (str(world.u2.id), 0, 1),
        (str(world.u1.id), 2, 4),
    ]
    assert propose_orders(OCT, threshold=0.8, min_due=5, as_of=AS_OF) == []  # too few cases to judge
    deadline = timezone.now() + timedelta(days=3)
    with pytest.raises(PermissionDenied):
        actions.do_issue_order(h1, unit=world.u1, title="x", body="y", deadline=deadline)
    with pytest.raises(InvalidInput):
        actions.do_issue_order(
            city, unit=world.u1, title="x", body="y", deadline=timezone.now() - timedelta(hours=1)
        )
    before = SupervisionOrder.objects.count()
    with pytest.raises(InvalidInput):
        actions.do_issue_order(city, unit=world.u1, title="", body="y", deadline=deadline)
    assert SupervisionOrder.objects.count() == before  # bad input changes nothing
    o = actions.do_issue_order(
        city,
        unit=world.u1,
        title="按期处置率偏低",
        body="说明原因并整改",
        deadline=deadline,
        indicator="on_time_handling_rate",
        indicator_value=0.5,
        threshold=0.8,
        period_label="2026-10",
    )
    assert o.number.startswith("DB") and o.state == "issued" and o.kind == "pattern"
    assert AuditEvent.objects.filter(action="evaluation.order.issue", object_id=str(o.pk)).exists()
    # Only the addressed unit replies.
    with pytest.raises((PermissionDenied, NotFound)):
        actions.do_reply_order(world.users["gw1"], o, reply="...")
    with pytest.raises(Conflict):
        actions.do_close_order(city, o, satisfactory=True)
    o = actions.do_reply_order(h1, o, reply="已整改，增派人员")
    assert o.state == "replied" and not o.replied_late
    with pytest.raises(Conflict):
        actions.do_reply_order(h1, o, reply="again")
    with pytest.raises(InvalidInput):
        actions.do_close_order(city, o, satisfactory=False, note="")
    o = actions.do_close_order(city, o, satisfactory=False, note="措施不具体")
    assert o.state == "issued"
    actions.do_reply_order(h1, o, reply="补充：每日巡查")
    o = actions.do_close_order(city, o, satisfactory=True, note="同意")
    assert o.state == "closed" and o.satisfactory is True


def test_case_order_counts_on_the_case(world):
    city = world.users["city"]
    case = world.cases["C"]
    o = actions.do_issue_order(
        city,
        unit=None,
        case=case,
        title="超期督办",
        body="尽快处置",
        deadline=timezone.now() + timedelta(days=1),
    )
    assert o.unit_id == world.u1.id and o.region_id == world.s2.id and o.kind == "case"
    try:
        from urbangrid.cases.actions import do_supervise  # noqa: F401
    except ImportError:
        return
    case.refresh_from_db()
    assert case.supervision_count == 1


def test_orders_feed_deductions(world):
    city, _h1 = world.users["city"], world.users["h1"]
    o = actions.do_issue_order(
        city, unit=world.u1, title="t", body="b", deadline=timezone.now() + timedelta(days=1)
    )
    # Issued now (not in October): October's score is unchanged; the current month gets −1.
    v = resolve_version("city")
    now_period = Period.current_month()
    rows = {r.subject.key: r for r in evaluate("unit", now_period, v).rows}
    assert rows[str(world.u1.id)].adjustments.get("supervision_order", {}).get("count") == 1
    assert o.pk


def test_spot_check_sampling_is_deterministic_and_feeds_indicators(world):
    assert sample_ids([5, 3, 9, 1, 7], 3, seed=42) == sample_ids([9, 7, 5, 3, 1], 3, seed=42)
    assert sample_ids([1, 2], 5, seed=1) == [1, 2]
    city, gw1 = world.users["city"], world.users["gw1"]
    inspector = world.people["gw1"]
    with pytest.raises(PermissionDenied):
        actions.do_start_spot_check(gw1, region=world.s1, period=OCT, sample_size=2, inspector=inspector)
    with pytest.raises(InvalidInput):
        actions.do_start_spot_check(city, region=world.s1, period=OCT, sample_size=0, inspector=inspector)
    with pytest.raises(InvalidInput):  # nothing closed in the west town in October
        actions.do_start_spot_check(city, region=world.s2, period=OCT, sample_size=2, inspector=inspector)
    a = actions.do_start_spot_check(
        city, region=world.s1, period=OCT, sample_size=3, inspector=inspector, seed=7
    )
    b = actions.do_start_spot_check(
        city, region=world.s1, period=OCT, sample_size=3, inspector=inspector, seed=7
    )
    ids_a = sorted(a.items.values_list("case_id", flat=True))
    assert ids_a == sorted(b.items.values_list("case_id", flat=True))
    closed_east = {world.cases[k].pk for k in "ABEFJ"}
    assert a.population == 5 and set(ids_a) <= closed_east and len(ids_a) == 3
    items = list(a.items.order_by("id"))
    with pytest.raises((PermissionDenied, NotFound)):  # not the inspector (and outside gw2's area)
        actions.do_record_spot_result(world.users["gw2"], items[0], passed=True)
    with pytest.raises(InvalidInput):
        actions.do_record_spot_result(gw1, items[0], passed=False, note="")
    actions.do_record_spot_result(gw1, items[0], passed=False, note="垃圾复现")
    with pytest.raises(Conflict):
        actions.do_record_spot_result(gw1, items[0], passed=True)
    for it in items[1:]:
        actions.do_record_spot_result(gw1, it, passed=True)
    assert SpotCheck.objects.get(pk=a.pk).state == "done"
    # The findings feed the current month's 抽查合格率 and deductions (inspected now).
    cur = Period.current_month()
    street = indicators.compute("street", cur)[str(world.s1.id)]["spot_pass_rate"]
    assert (street.num, street.den) == (2, 3)
    failed_unit = items[0].case.assigned_unit_id
    unit_m = indicators.compute("unit", cur)[str(failed_unit)]["spot_pass_rate"]
    assert unit_m.den >= 1 and unit_m.num == unit_m.den - 1
    v = resolve_version("city")
    row = {r.subject.key: r for r in evaluate("unit", cur, v).rows}[str(failed_unit)]
    assert row.adjustments["spot_check_failed"] == {"count": 1, "points": -1.0}


def test_accountability_record(world):
    city, leader = world.users["city"], world.users["leader1"]
    o = actions.do_issue_order(
        city, unit=world.u1, title="t", body="b", deadline=timezone.now() + timedelta(days=1)
    )
    with pytest.raises(PermissionDenied):
        actions.do_record_accountability(
            world.users["h1"], kind="circular", reason="r", unit=world.u1, orders=[o]
        )
    with pytest.raises(InvalidInput):
        actions.do_record_accountability(city, kind="circular", reason="r", unit=world.u1)  # no evidence
    with pytest.raises(InvalidInput):
        actions.do_record_accountability(city, kind="nonsense", reason="r", unit=world.u1, orders=[o])
    # The east street's leader cannot act on the west town's unit.
    with pytest.raises(NotFound):
        actions.do_record_accountability(
            leader, kind="circular", reason="r", unit=world.u3, cases=[world.cases["A"]]
        )
    rec = actions.do_record_accountability(
        city, kind="circular", reason="督办后仍超期", unit=world.u1, cases=[world.cases["C"]], orders=[o]
    )
    assert list(rec.cases.all()) == [world.cases["C"]] and list(rec.orders.all()) == [o]
    assert AccountabilityRecord.objects.visible_to(leader).count() == 0
    assert AccountabilityRecord.objects.visible_to(world.users["h1"]).count() == 1


def test_report_build_xlsx_and_pdf(world, settings, tmp_path, django_capture_on_commit_callbacks):
    from openpyxl import load_workbook

    from urbangrid.evaluation import reports

    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        r = actions.do_request_report(
            world.users["city"], region=world.district, period=OCT, version=resolve_version("city")
        )
    assert r.state == "queued"
    with pytest.raises(InvalidInput):
        actions.do_request_report(
            world.users["city"], region=world.c1, period=OCT, version=resolve_version("city")
        )
    reports.build(r.pk)
    r = Report.objects.get(pk=r.pk)
    assert (r.state, r.progress) == ("done", 100)
    wb = load_workbook(r.xlsx.path)
    assert "超期案件" in wb.sheetnames or "Overdue cases" in wb.sheetnames
    street_sheet = wb[wb.sheetnames[1]]
    names = [row[2] for row in street_sheet.iter_rows(min_row=2, values_only=True)]
    assert set(names) == {"东街道", "西镇"}
    overdue = wb[wb.sheetnames[-1]]
    assert [row[0] for row in overdue.iter_rows(min_row=2, values_only=True)] == [world.cases["C"].number]
    with open(r.pdf.path, "rb") as fh:
        pdf = fh.read()
    assert pdf.startswith(b"%PDF")
    assert reports.cjk_font().encode() in pdf


def test_evaluate_command(world, tmp_path):
    out = io.StringIO()
    call_command(
        "evaluate",
        "--period",
        "2026-10",
        "--subject",
        "unit,street",
        "--format",
        "json",
        "--as-of",
        AS_OF.isoformat(),
        stdout=out,
        stderr=io.StringIO(),
    )
    doc = json.loads(out.getvalue())
    u1 = next(r for r in doc["subjects"]["unit"] if r["subject"]["key"] == str(world.u1.id))
    assert u1["indicators"]["on_time_handling_rate"] == {"num": 2, "den": 4, "value": 0.5}
    assert u1["total"] == 62.0 and u1["grade"] == "C"
    out = io.StringIO()
    call_command(
        "evaluate",
        "--period",
        "2026-10",
        "--subject",
        "street",
        "--as-of",
        AS_OF.isoformat(),
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "东街道" in text and "50.0%" in text
    path = tmp_path / "e.xlsx"
    call_command(
        "evaluate",
        "--period",
        "2026-10",
        "--scheme",
        "district",
        "--format",
        "xlsx",
        "--output",
        str(path),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    from openpyxl import load_workbook

    assert len(load_workbook(path).sheetnames) == 10  # summary + 9 subject kinds
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("evaluate", "--period", "2026-13", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command(
            "evaluate",
            "--period",
            "2026-10",
            "--subject",
            "planet",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def test_api(world, client):
    client.force_login(world.users["leader1"])
    r = client.get("/api/v1/evaluation/results", {"period": "2026-10", "kind": "street"})
    assert r.status_code == 200, r.content
    rows = r.json()["rows"]
    assert [row["subject"]["key"] for row in rows] == [str(world.s1.id)]
    assert rows[0]["indicators"]["public_report_rate"] == {"num": 2, "den": 4, "value": 0.5}
    # Drill-down outside the jurisdiction is 404 like missing.
    r = client.get(
        "/api/v1/evaluation/drill",
        {"indicator": "handling_due", "kind": "street", "key": str(world.s2.id), "period": "2026-10"},
    )
    assert r.status_code == 404
    r = client.get(
        "/api/v1/evaluation/drill",
        {
            "indicator": "on_time_handling_rate",
            "kind": "street",
            "key": str(world.s1.id),
            "period": "2026-10",
            "part": "numerator",
        },
    )
    assert r.status_code == 200 and [c["number"] for c in r.json()["cases"]] == [world.cases["A"].number]
    assert client.get("/api/v1/evaluation/results", {"period": "nope"}).status_code == 400
    assert len(client.get("/api/v1/evaluation/indicators").json()) == len(indicators.REGISTRY)
    client.force_login(world.users["city"])
    r = client.post(
        "/api/v1/evaluation/orders",
        {
            "unit": world.u1.id,
            "title": "督办",
            "body": "整改",
            "deadline": (timezone.now() + timedelta(days=2)).isoformat(),
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    oid = r.json()["id"]
    client.force_login(world.users["h1"])
    r = client.post(
        f"/api/v1/evaluation/orders/{oid}/reply", {"reply": "已整改"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["state"] == "replied"
    r = client.post(
        f"/api/v1/evaluation/orders/{oid}/close", {"satisfactory": True}, content_type="application/json"
    )
    assert r.status_code == 403


def test_pages(world, client):
    client.force_login(world.users["city"])
    for name in ["index", "schemes", "orders", "spot_checks", "accountability", "reports"]:
        r = client.get(
            f"/evaluation/{'' if name == 'index' else name.replace('_', '-') + '/'}", {"period": "2026-10"}
        )
        assert r.status_code == 200, name
    r = client.get("/evaluation/", {"period": "2026-10", "kind": "unit"})
    assert "市政管理处" in r.content.decode()
    r = client.get(
        "/evaluation/drill/",
        {"indicator": "on_time_handling_rate", "kind": "unit", "key": str(world.u1.id), "period": "2026-10"},
    )
    body = r.content.decode()
    assert all(world.cases[k].number in body for k in "ABCD") and world.cases["G"].number not in body
    r = client.get("/evaluation/export.xlsx", {"period": "2026-10", "kind": "unit"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = client.get("/evaluation/export.xlsx", {"period": "2026-10", "kind": "unit", "all": "1"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    client.force_login(world.users["leader1"])
    r = client.get(
        "/evaluation/drill/",
        {"indicator": "handling_due", "kind": "street", "key": str(world.s2.id), "period": "2026-10"},
    )
    assert r.status_code == 404
