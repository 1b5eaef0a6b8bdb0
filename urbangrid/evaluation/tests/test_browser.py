"""The evaluation page in a real browser: rankings table, ECharts chart, drill-down link."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import screenshot

from .world import build_world


@pytest.fixture
def tworld(transactional_db, as_of):
    return build_world()


def _login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.browser
def test_evaluation_page(tworld, live_server, page):
    _login(page, live_server, tworld.users["city"])
    page.goto(f"{live_server.url}/evaluation/?period=2026-10&kind=unit&scheme=city")
    table = page.locator("#ranking")
    table.wait_for()
    assert "市政管理处" in table.inner_text()
    assert "50.0%" in table.inner_text()  # U1 on-time handling 2/4
    page.wait_for_selector("#score-chart canvas")
    screenshot(page, "evaluation-index")
    page.locator("#ranking a[href*='on_time_handling_rate']").first.click()
    page.locator("#drill-cases").wait_for()
    assert page.locator("#drill-cases tbody tr").count() in (1, 4)
    screenshot(page, "evaluation-drill")
