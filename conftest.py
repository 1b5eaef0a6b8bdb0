"""Project-wide pytest fixtures: the real browser (Playwright driving Debian's Chromium).

Domain fixtures (the small demo city, personas) live in urbangrid/conftest.py.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM) or IN_CI:
        return
    skip = pytest.mark.skip(reason=f"SKIPPED browser test: Chromium not found at {CHROMIUM} (CI installs it)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if not os.path.exists(CHROMIUM) and not IN_CI:
        terminalreporter.write_line(
            f"NOTE: browser tests were skipped: no Chromium at {CHROMIUM}", yellow=True
        )


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is required in CI and is missing at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, **context_args):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context_args)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    return context, page


@pytest.fixture
def page(browser):
    """A desktop page (1366×768). Fails the test if the page logged a console error."""
    context, pg = _page(browser, viewport={"width": 1366, "height": 768})
    yield pg
    errors = list(pg.console_errors)
    context.close()
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def mobile_page(browser):
    """A phone page (390×844, touch) for the grid worker's pages."""
    context, pg = _page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield pg
    errors = list(pg.console_errors)
    context.close()
    assert not errors, f"console errors: {errors}"


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ (ignored by git) for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(page, expression: str, timeout: float = 30000) -> None:
    """page.wait_for_function under the platform's Content-Security-Policy: Playwright compiles that
    predicate with eval inside the page, which the policy refuses (and logs as a console error),
    while page.evaluate runs through DevTools, outside the policy."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} ms waiting for: {expression}")
        page.wait_for_timeout(100)
