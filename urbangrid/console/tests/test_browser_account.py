"""Browser tests of the account: changing one's password from the header menu, and the admin's
sign-in form under the same lockout as the console's."""

from __future__ import annotations

import pytest

from conftest import screenshot
from urbangrid.console.tests.test_browser import PASSWORD, Session

pytestmark = [pytest.mark.browser]


def test_change_password_from_the_header_menu(browser, live_server, demo):
    username = demo.person("dispatcher").user.username
    s = Session(browser, live_server.url)
    p = s.login(username)
    p.click("header >> text=修改密码")
    p.wait_for_load_state("networkidle")
    p.fill("#id_old_password", PASSWORD)
    p.fill("#id_new_password1", "12345678")
    p.fill("#id_new_password2", "12345678")
    p.click("main button[type=submit]")
    p.wait_for_load_state("networkidle")
    assert "密码只包含数字" in p.content()
    screenshot(p, "password-change-refused")
    p.fill("#id_old_password", PASSWORD)
    p.fill("#id_new_password1", "Blue-river-77")
    p.fill("#id_new_password2", "Blue-river-77")
    p.click("main button[type=submit]")
    p.wait_for_load_state("networkidle")
    assert "你的密码已修改" in p.content()
    p.click("header >> text=退出")
    p.wait_for_load_state("networkidle")
    p.fill("#id_username", username)
    p.fill("#id_password", "Blue-river-77")
    p.click("button[type=submit]")
    p.wait_for_load_state("networkidle")
    assert "/login/" not in p.url
    s.close()


def test_admin_login_lockout_in_browser(browser, live_server, demo):
    s = Session(browser, live_server.url)
    # Django's admin pages link no icon, so Chromium asks for /favicon.ico: not what is tested.
    s.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    p = s.page
    for _i in range(5):
        p.goto(live_server.url + "/admin/login/")
        p.fill("#id_username", "admin")
        p.fill("#id_password", "wrong-password")
        p.click("input[type=submit]")
        p.wait_for_load_state("networkidle")
    p.fill("#id_username", "admin")
    p.fill("#id_password", PASSWORD)
    p.click("input[type=submit]")
    p.wait_for_load_state("networkidle")
    assert "锁定" in p.content()
    assert "/admin/login/" in p.url
    screenshot(p, "admin-login-locked")
    s.close()
