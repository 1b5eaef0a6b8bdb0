"""Browser journeys (Playwright + Chromium): create a campaign and see its summary; run a
consultation to a decision applied to the case. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import screenshot
from urbangrid.testing.world import at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, user):
    page.goto(base + "/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-12345")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def other_page(browser):
    ctx = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 768}
    )
    pg = ctx.new_page()
    errors = []
    pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, pg, errors


def test_campaign_journey(page, live_server, tx_world):
    w = tx_world
    # Cases already found in the area during the campaign's first days.
    w.case(reported_at=at(2), state="closed", handle_due_at=at(1, 18), handled_at=at(1), closed_at=at(1, 12))
    w.case(reported_at=at(1), state="handling", handle_due_at=at(0, 23), is_joint=True)
    w.case(street=w.regions["B"], reported_at=at(1))  # outside the areas
    base = live_server.url
    login(page, base, w.user("bruno"))
    page.goto(base + "/joint/")
    page.click("text=新建专项整治")
    page.fill("#id_title", "清波街道占道经营专项整治")
    page.select_option("#id_lead_unit", str(w.units["bureau"].pk))
    page.select_option("#id_units", [str(w.units["market"].pk), str(w.units["A"].pk)])
    page.select_option("#id_regions", [str(w.regions["A"].pk)])
    today = timezone.localdate()
    # First a wrong date order: the form says why and keeps the input.
    page.fill("#id_start_date", str(today))
    page.fill("#id_end_date", str(today - timedelta(days=3)))
    page.click("main button[type=submit]")
    assert page.locator(".field-error", has_text="结束日期不能早于开始日期").is_visible()
    page.fill("#id_start_date", str(today - timedelta(days=3)))
    page.fill("#id_end_date", str(today + timedelta(days=11)))
    page.fill("#id_target1_name", "结案数")
    page.select_option("#id_target1_metric", "cases_closed")
    page.fill("#id_target1_value", "1")
    page.fill("#id_target2_name", "清理占道摊点")
    page.select_option("#id_target2_metric", "reported")
    page.fill("#id_target2_value", "20")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#kpi-found").inner_text() == "2"
    assert page.locator("#kpi-closed").inner_text() == "1"
    # A task for the street office, reported by the office and accepted by the bureau.
    page.select_option("select[name=unit]", str(w.units["A"].pk))
    page.fill("form[action$='/tasks/'] input[name=title]", "清理占道摊点")
    page.fill("form[action$='/tasks/'] input[name=due_date]", str(today + timedelta(days=5)))
    page.click("text=添加任务 >> nth=-1")
    page.wait_for_load_state("networkidle")
    ctx, office, errors = other_page(page.context.browser)
    login(office, base, w.user("hank"))
    office.goto(page.url)
    office.fill("input[name=report]", "清理占道摊点 24 处")
    office.fill("input[name=quantity]", "24")
    office.click("form[action$='/report/'] button")
    office.wait_for_load_state("networkidle")
    assert office.locator(".msg-success").count() == 1, office.locator(".messages").inner_text()
    ctx.close()
    assert not errors, errors
    page.reload()
    page.click("button[name=accepted][value='1']")
    page.wait_for_load_state("networkidle")
    page.once("dialog", lambda d: d.accept())
    page.fill("input[name=note]", "占道经营明显减少")
    page.click("#end-campaign")
    page.wait_for_load_state("networkidle")
    assert "总结" in page.locator("#summary h2").inner_text()
    assert page.locator("text=2/2").first.is_visible()  # both targets achieved
    screenshot(page, "joint_campaign_summary")


def test_consultation_journey(page, live_server, tx_world):
    from urbangrid.cases.models import Case, CaseEvent, CaseTask

    w = tx_world
    case = w.case(
        state="pending_dispatch",
        return_count=2,
        assigned_unit=w.units["housing"],
        description="沿街商铺违规搭建雨棚并占道经营",
    )
    CaseTask.objects.create(case=case, unit=w.units["housing"], role="lead", state="returned")
    CaseTask.objects.create(case=case, unit=w.units["market"], role="lead", state="returned")
    base = live_server.url
    login(page, base, w.user("paul"))
    page.goto(base + "/joint/consultations/")
    page.click(f"a[href$='?case={case.number}']")
    page.fill("#id_reason", "住建局与市场监管局互相推诿，已回退两次")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "征求意见中" in page.locator("#cons-state").inner_text()
    cons_url = page.url
    for user, stance, text in [
        ("mark", "accept", "属无照经营，由我局牵头查处"),
        ("helen", "decline", "不涉及建设工程审批"),
    ]:
        ctx, pg, errors = other_page(page.context.browser)
        login(pg, base, w.user(user))
        pg.goto(cons_url)
        pg.select_option("select[name=stance]", stance)
        pg.fill("textarea[name=statement]", text)
        pg.click("form[action$='/view/'] button")
        pg.wait_for_load_state("networkidle")
        assert pg.locator(".msg-success").count() == 1, pg.locator(".messages").inner_text()
        ctx.close()
        assert not errors, errors
    page.reload()
    page.click("#decide-link")
    page.select_option("#id_lead_unit", str(w.units["market"].pk))
    page.select_option("#id_assist_units", [str(w.units["A"].pk)])
    page.fill("#id_deadline", (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_decision", "由市场监管局牵头查处，清波街道办配合清理")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#decided-lead").inner_text() == "市场监管局"
    page.click("#apply-decision")
    page.wait_for_load_state("networkidle")
    assert page.locator(".msg-success").is_visible()
    screenshot(page, "joint_consultation_applied")
    case = Case.objects.get(pk=case.pk)
    assert case.assigned_unit_id == w.units["market"].pk and case.state == "pending_handle"
    assert CaseEvent.objects.filter(case=case, action="dispatch", unit=w.units["market"]).exists()
