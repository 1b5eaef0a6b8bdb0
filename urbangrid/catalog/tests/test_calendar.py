from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urbangrid.catalog.calendar import add_working_time, is_working_day, working_hours_between
from urbangrid.catalog.models import CalendarDay

SH = ZoneInfo("Asia/Shanghai")
pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_holidays_and_makeup_days(demo):
    assert not is_working_day(at(2025, 10, 1).date())  # National Day (Wednesday)
    assert is_working_day(at(2025, 9, 28).date())  # Sunday make-up working day
    assert is_working_day(at(2025, 10, 11).date())  # Saturday make-up working day
    assert not is_working_day(at(2026, 2, 16).date())  # Spring Festival
    assert is_working_day(at(2026, 2, 14).date())  # Saturday make-up
    assert not is_working_day(at(2026, 3, 7).date())  # an ordinary Saturday
    assert is_working_day(at(2026, 3, 9).date())


def test_national_day_week(demo):
    # Tue 30 Sep 10:00 + 1 working day (7 h): 5.5 h that day, then Oct 1–8 off, 1.5 h on Thu 9 Oct.
    assert add_working_time(at(2025, 9, 30, 10), 1, "work_days") == at(2025, 10, 9, 10)


def test_sunday_makeup_day_counts(demo):
    # Fri 26 Sep 16:00 + 1 working day: 1.5 h Friday, Saturday off, Sunday 28 Sep is a working day.
    assert add_working_time(at(2025, 9, 26, 16), 1, "work_days") == at(2025, 9, 28, 16)


def test_spring_festival(demo):
    # Fri 13 Feb 2026 09:00 + 2 working days (14 h): 6.5 h Fri, 7 h on make-up Sat 14 Feb,
    # 15–23 Feb off, 0.5 h on Tue 24 Feb.
    assert add_working_time(at(2026, 2, 13, 9), 2, "work_days") == at(2026, 2, 24, 9)


def test_working_hours_skip_lunch_and_night(demo):
    assert add_working_time(at(2026, 3, 2, 11, 30), 1, "work_hours") == at(2026, 3, 2, 14, 30)
    assert add_working_time(at(2026, 3, 2, 17), 2, "work_hours") == at(2026, 3, 3, 10)
    # Reported on Saturday night: the clock starts on Monday morning.
    assert add_working_time(at(2026, 3, 7, 22), 1, "work_hours") == at(2026, 3, 9, 9, 30)
    assert add_working_time(at(2026, 3, 6, 17, 30), 0.5, "work_hours") == at(2026, 3, 9, 9)
    assert working_hours_between(at(2026, 3, 2, 11), at(2026, 3, 2, 15)) == pytest.approx(2.0)
    assert working_hours_between(at(2026, 3, 6, 17), at(2026, 3, 9, 9)) == pytest.approx(1.0)
    assert working_hours_between(at(2026, 3, 9, 9), at(2026, 3, 6, 17)) == pytest.approx(-1.0)


def test_calendar_hours_ignore_the_calendar(demo):
    # A missing manhole cover (4 hours) reported on National Day night is due in the night.
    assert add_working_time(at(2025, 10, 1, 22), 4, "hours") == at(2025, 10, 2, 2)
    assert add_working_time(at(2025, 10, 1, 22), 2, "days") == at(2025, 10, 3, 22)


def test_naive_and_utc_inputs(demo):
    utc = datetime(2026, 3, 2, 3, 30, tzinfo=ZoneInfo("UTC"))  # 11:30 in Shanghai
    assert add_working_time(utc, 1, "work_hours") == at(2026, 3, 2, 14, 30)


def test_bad_units_and_amounts(demo):
    with pytest.raises(ValueError):
        add_working_time(at(2026, 3, 2), 1, "fortnights")
    with pytest.raises(ValueError):
        add_working_time(at(2026, 3, 2), -1, "work_hours")


def test_editing_the_calendar_takes_effect(demo):
    monday = at(2026, 3, 16).date()
    assert is_working_day(monday)
    CalendarDay.objects.create(date=monday, is_working=False, note="临时休假")
    assert not is_working_day(monday)
    CalendarDay.objects.filter(date=monday).delete()  # queryset delete: no signal
    from urbangrid.catalog.calendar import invalidate_calendar

    invalidate_calendar()
    assert is_working_day(monday)


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 10, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=SH)
)
quarters = st.integers(min_value=0, max_value=200).map(lambda n: n / 4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=moments, a=quarters, b=quarters)
def test_work_hours_add_up(demo, start, a, b):
    one = add_working_time(add_working_time(start, a, "work_hours"), b, "work_hours")
    both = add_working_time(start, a + b, "work_hours")
    assert abs((one - both).total_seconds()) < 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=moments, a=quarters, b=quarters)
def test_monotonic_and_measured_back(demo, start, a, b):
    lo, hi = sorted((a, b))
    t_lo, t_hi = add_working_time(start, lo, "work_hours"), add_working_time(start, hi, "work_hours")
    assert start <= t_lo <= t_hi
    assert working_hours_between(start, t_hi) == pytest.approx(hi, abs=1e-6)
    days = add_working_time(start, lo / 7, "work_days")
    assert abs((days - t_lo).total_seconds()) < 1
    assert t_hi - start <= timedelta(days=400)
