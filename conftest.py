"""Project-wide pytest fixtures: the test clock and the real browser (Playwright driving Debian's
Chromium).

The clock: no test sees the real date or time. Every test starts at the same instant, the test
clock, and time then runs on from there (time-machine, ``tick=True``), so a test behaves the same
on any day at any hour. ``URBANGRID_TEST_CLOCK`` chooses the instant: one of ``TEST_CLOCKS`` by
name or an ISO 8601 time with its offset; ``scripts/test.sh`` runs the date-sensitive tests
(marked ``clock``) once under each named clock. The browser pages get the same clock.

Domain fixtures (the small demo city, personas) live in urbangrid/conftest.py.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
import time_machine

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


# Local times (Asia/Shanghai, no daylight saving) where date arithmetic breaks if it is wrong.
# All lie in the past, so a subprocess running on the real clock (a worker, a server) finds the
# work the tests enqueue already due.
TEST_CLOCKS = {
    "working_morning": "2025-06-11T09:30:00+08:00",  # a Wednesday, the default
    "before_close": "2025-06-11T17:29:00+08:00",  # a minute before the working day ends
    "after_close": "2025-06-11T17:31:00+08:00",  # a minute after it
    "month_end": "2025-07-31T23:59:59+08:00",  # the last second of a month
    "year_end": "2025-12-31T23:59:59+08:00",  # the last second of a year (元旦 follows)
    "holiday_eve": "2025-09-30T16:00:00+08:00",  # the eve of the National Day holidays
    "utc_date_differs": "2025-03-31T16:00:00+00:00",  # local 1 April 00:00, still 31 March in UTC
}
DEFAULT_CLOCK = "working_morning"


def test_clock_start() -> datetime:
    """The instant every test starts at (``URBANGRID_TEST_CLOCK``: a name or an ISO time)."""
    chosen = os.environ.get("URBANGRID_TEST_CLOCK") or DEFAULT_CLOCK
    moment = datetime.fromisoformat(TEST_CLOCKS.get(chosen, chosen))
    if moment.tzinfo is None:
        raise pytest.UsageError(f"URBANGRID_TEST_CLOCK={chosen!r} needs an offset (e.g. +08:00)")
    return moment


test_clock_start.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test

_session_travel: time_machine.travel | None = None


def pytest_configure(config):
    # Collection and the session fixtures (the demo city) run on the test clock too.
    global _session_travel
    _session_travel = time_machine.travel(test_clock_start(), tick=True)
    _session_travel.start()


def pytest_unconfigure(config):
    if _session_travel is not None:
        _session_travel.stop()


@pytest.fixture(autouse=True)
def clock():
    """Each test starts at the test clock, whatever the previous test did to the time; the
    traveller it yields can ``shift()`` or ``move_to()`` the clock."""
    with time_machine.travel(test_clock_start(), tick=True) as traveller:
        yield traveller


def pytest_report_header(config):
    return f"test clock: {test_clock_start().isoformat()} (URBANGRID_TEST_CLOCK)"


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
    # The page's clock runs from the test clock like the server's (time.time() is travelled).
    context.clock.install(time=time.time())
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
