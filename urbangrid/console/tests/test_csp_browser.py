"""The Content-Security-Policy in real Chromium: the platform's own pages run under it without a
violation (every browser test checks that through the page fixtures), and a script injected into
a page, as a cross-site script would be, does not run."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_injected_script_is_refused_and_the_map_speaks_chinese(live_server, browser):
    # An own context: this test expects one violation, which the page fixture would fail on.
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(live_server.url + "/public/")
    page.wait_for_selector(".leaflet-control-zoom-in")
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "放大"
    assert page.get_attribute(".leaflet-control-zoom-out", "title") == "缩小"
    assert errors == []
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.injected = true';
                   document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected === undefined")
    assert any("Content Security Policy" in e for e in errors), errors
    context.close()
