import pytest
from django.conf import settings as dj_settings

from conftest import screenshot
from urbangrid.orgs.models import TrainingRecord


def _login(page, live_server, demo, username):
    from django.test import Client

    client = Client()
    client.force_login(demo.user_named(username))
    cookie = client.cookies[dj_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": dj_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_training_page_schedule_and_record(page, live_server, demo):
    _login(page, live_server, demo, "street1_chief")
    page.goto(f"{live_server.url}/orgs/training/")
    assert page.locator("#untrained").is_visible()
    assert "未完成培训" in page.locator("#untrained h3").inner_text()
    page.select_option("#schedule-form select[name=course]", label="GW-01 网格员岗前培训")
    page.fill("#schedule-form input[name=starts_at]", "2026-11-20T09:00")
    page.fill("#schedule-form input[name=location]", "东关街道会议室")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_url("**/orgs/training/*/")
    assert "已安排" in page.locator(".messages").inner_text()
    worker_option = page.locator("#record-form select[name=person] option").first
    worker_name = worker_option.inner_text().split("（")[0]
    page.fill("#record-form input[name=score]", "92")
    page.click("#record-form button[type=submit]")
    page.wait_for_selector("#records")
    row = page.locator("#records tbody tr", has_text=worker_name)
    assert "合格" in row.inner_text()
    screenshot(page, "orgs_training_session")
    assert TrainingRecord.objects.filter(person__name=worker_name, score=92, passed=True).exists()
    page.goto(f"{live_server.url}/orgs/")
    assert page.locator("#units").is_visible()
    screenshot(page, "orgs_index")
