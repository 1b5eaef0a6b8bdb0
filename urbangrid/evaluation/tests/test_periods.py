"""The periods that default to "now" follow the local calendar (Asia/Shanghai), not UTC: run under
every test clock, including a local midnight that is still the previous day in UTC."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from urbangrid.evaluation.periods import Period

pytestmark = pytest.mark.clock


def test_current_month_holds_now_and_last_month_ends_where_it_starts():
    now = timezone.now()
    today = timezone.localdate(now)
    current = Period.current_month()
    assert current.start == today.replace(day=1)
    assert current.start_dt <= now < current.end_dt
    last = Period.last_month()
    assert last.end == current.start and last.end_dt == current.start_dt
    assert last.start == (current.start - timedelta(days=1)).replace(day=1)
    assert Period.parse(current.label) == current and Period.parse(last.label) == last
