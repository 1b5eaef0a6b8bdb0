"""Browser journey: register a subject (with a check-digit error first), record a violation and a
penalty, see the score and the list; the public page shows the masked entry."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import screenshot
from urbangrid.credit.models import ListEntry, Subject

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_credit_journey(page, live_server, tx_world):
    w = tx_world
    base = live_server.url
    page.goto(base + "/login/")
    page.fill("#id_username", "oscar")
    page.fill("#id_password", "pw-12345")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(base + "/credit/")
    page.click("text=登记信用主体 >> nth=-1")
    page.select_option("#id_kind", "stall_owner")
    page.fill("#id_name", "王小明")
    page.fill("#id_id_number", "110105194912310021")  # wrong check digit
    page.fill("#id_phone", "13812345678")
    page.select_option("#id_region", str(w.regions["A"].pk))
    page.click("main button[type=submit]")
    # expect() waits for the answer to the POST; is_visible() would look at once (flaky in CI).
    expect(page.locator(".field-error", has_text="GB 11643")).to_be_visible()
    page.fill("#id_id_number", "11010519491231002X")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#identity").inner_text() == "11010519491231002X"  # an officer sees it in full
    assert page.locator("#score").inner_text() == "100.00"
    page.click("#record-violation")
    page.select_option("#id_kind", "street_occupation")
    page.select_option("#id_severity", "grave")
    page.fill("#id_description", "在清波街占道摆摊，屡劝不改")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#score").inner_text() == "70.00"  # 100 − 30 (grave street occupation, today)
    assert page.locator("h2 .badge-red", has_text="失信名单").is_visible()
    page.click("text=作出处罚")
    page.select_option("#id_kind", "rectify")
    page.fill("#id_decision_number", "清城执罚〔2026〕18号")
    page.click("main button[type=submit]")
    # An order to rectify needs a deadline.
    expect(page.locator(".field-error", has_text="整改期限")).to_be_visible()
    page.fill("#id_rectify_by", "2099-01-01")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=清城执罚〔2026〕18号").is_visible()
    screenshot(page, "credit_subject_record")
    s = Subject.objects.get(name="王小明")
    assert ListEntry.objects.active().filter(subject=s, list_kind="dishonest", rule="grave").exists()
    page.goto(base + "/credit/public/")
    assert page.locator("td", has_text="王**").first.is_visible()
    assert "王小明" not in page.content() and "11010519491231002X" not in page.content()
    screenshot(page, "credit_public_list")
