"""The tests never see the real date: every test starts at the test clock (conftest.py), Python's
clock and Django's alike, and time runs on from there."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from conftest import test_clock_start


def test_each_test_starts_at_the_test_clock():
    start = test_clock_start()
    now = timezone.now()
    assert start <= now < start + timedelta(seconds=30)
    assert abs(time.time() - start.timestamp()) < 30


def test_a_test_can_move_its_clock_and_the_next_starts_afresh(clock):
    clock.shift(timedelta(days=40))
    assert timezone.now() > test_clock_start() + timedelta(days=39)


def test_moved_clock_did_not_leak_into_this_test():
    assert timezone.now() < test_clock_start() + timedelta(seconds=30)
