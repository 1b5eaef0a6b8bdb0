"""Case numbers given by the database (migration 0006, cases/numbering.py): per local day, gapless,
the reporter told the stored number whether the intake commits at once or inside a larger
transaction, and a rolled-back intake gives its number back."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from urbangrid.cases.intake import IntakeData, do_intake_many
from urbangrid.cases.models import Case, CaseNumberSequence
from urbangrid.testing.world import report

TZ = ZoneInfo("Asia/Shanghai")
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.clock]


def _apart(w, i):
    """Points far enough apart not to be duplicates of each other."""
    return (w.A[0] + i * 0.0009, w.A[1])


def _stored(number):
    return Case.objects.filter(number=number).exists()


def test_numbers_follow_the_local_day_and_match_what_the_reporter_is_told(tx_world):
    w = tx_world
    late = datetime(2026, 3, 1, 23, 59, 30, tzinfo=TZ)  # 15:59 UTC: still 1 March in the city
    early = datetime(2026, 3, 2, 0, 0, 30, tzinfo=TZ)
    told = [report(w, point=_apart(w, i), now=late).case.number for i in range(2)]
    told.append(report(w, point=_apart(w, 2), now=early).case.number)
    assert told == ["20260301000001", "20260301000002", "20260302000001"]
    assert all(_stored(n) for n in told)
    assert dict(CaseNumberSequence.objects.values_list("day", "last")) == {
        late.date(): 2,
        early.date(): 1,
    }


def test_a_batch_takes_consecutive_numbers_in_its_order(tx_world):
    w = tx_world
    now = datetime(2026, 3, 3, 10, 0, tzinfo=TZ)
    items = [
        (
            IntakeData(
                channel="grid_worker",
                description="路边占道经营",
                lon=_apart(w, i)[0],
                lat=_apart(w, i)[1],
                class_code=w.classes["stall"].code,
                extra={"class_kind": w.classes["stall"].kind, "force_new": True},
            ),
            f"b-{i}",
        )
        for i in range(3)
    ]
    out = do_intake_many(w.user("grace"), items, now=now)
    assert [r.case.number for r in out] == [f"20260303{n:06d}" for n in (1, 2, 3)]
    assert all(_stored(r.case.number) for r in out)


def test_inside_a_larger_transaction_the_number_is_final_and_a_rollback_returns_it(tx_world):
    w = tx_world
    now = datetime(2026, 3, 4, 9, 0, tzinfo=TZ)
    with transaction.atomic():
        inner = report(w, point=_apart(w, 0), now=now).case.number
        assert inner == "20260304000001" and _stored(inner)  # before the outer commit
        transaction.set_rollback(True)
    assert not Case.objects.exists()
    assert report(w, point=_apart(w, 1), now=now).case.number == "20260304000001"
