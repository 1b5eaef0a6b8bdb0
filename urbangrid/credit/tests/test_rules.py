"""Credit rules against hand-computed examples: identity checks, the score with decay at given
dates, list entry by each rule, credit repair after the clean period, permissions and jurisdiction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from urbangrid.credit import actions as A
from urbangrid.credit import identity, queries
from urbangrid.credit.models import ListEntry, Penalty, Subject, Violation
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.clock]
USCC = "91350100M000100Y43"  # a valid code (check character 3)
IDN = "11010519491231002X"  # the GB 11643 worked example


_start = [timezone.now()]


@pytest.fixture(autouse=True)
def _one_start():
    """A test's days count from the moment it started: the clock runs on, and crosses midnight
    in a test that starts at 23:59:59."""
    _start[0] = timezone.now()


def T(days_ago: int):
    return timezone.localdate(_start[0]) - timedelta(days=days_ago)


def business(world, name="好运来餐馆", uscc=USCC):
    return A.do_register_subject(
        world.user("oscar"), kind="business", name=name, uscc=uscc, region=world.regions["A"]
    )


def test_identity_check_digits():
    assert identity.is_valid_uscc(USCC) and identity.is_valid_uscc("91110000600037341L")
    assert not identity.is_valid_uscc("91350100M000100Y44")  # wrong check character
    assert not identity.is_valid_uscc("91350100M000100YI3")  # I is not in the alphabet
    assert identity.uscc_check_char("91350100M000100Y4") == "3"
    assert identity.is_valid_id_number(IDN) and not identity.is_valid_id_number("110105194912310021")
    assert not identity.is_valid_id_number("110105194913310029")  # month 13
    assert identity.mask_id_number(IDN) == "110***********002X"
    assert identity.mask_name("王小明") == "王**"


def test_register_validates_and_changes_nothing_on_bad_input(world):
    officer = world.user("oscar")
    with pytest.raises(InvalidInput) as e:
        A.do_register_subject(officer, kind="business", name="X", uscc="91350100M000100Y44")
    assert e.value.field == "uscc"
    with pytest.raises(InvalidInput):
        A.do_register_subject(officer, kind="individual", name="张三", id_number="110105194912310021")
    with pytest.raises(InvalidInput):
        A.do_register_subject(officer, kind="individual", name="张三")
    assert Subject.objects.count() == 0
    s = A.do_register_subject(
        officer, kind="individual", name="张三", id_number=IDN.lower(), region=world.regions["Ac"]
    )
    assert s.id_number == IDN and s.score == 100
    with pytest.raises(Conflict):
        A.do_register_subject(officer, kind="stall_owner", name="张三", id_number=IDN)
    with pytest.raises(PermissionDenied):
        A.do_register_subject(world.user("gavin"), kind="business", name="Y", uscc="91110000600037341L")
    assert AuditEvent.objects.filter(action="credit.register_subject").count() == 1


def test_score_half_life_hand_computed(world):
    """points: street_occupation/serious 12, illegal_construction/serious 12×1.5 = 18; half-life 365 d.
    Violations on T-730 and T-365; on T0: 12×0.5² + 18×0.5¹ = 3 + 9 = 12 → 88.00.
    On T-365: 12×0.5 + 18×1 = 24 → 76.00.  On T-731 (before both): 100."""
    officer = world.user("oscar")
    s = business(world)
    A.do_record_violation(
        officer, s, kind="street_occupation", severity="serious", occurred_on=T(730), now=T(730)
    )
    A.do_record_violation(
        officer, s, kind="illegal_construction", severity="serious", occurred_on=T(365), now=T(365)
    )
    assert queries.score_of(s, T(0)) == Decimal("88.00")
    assert queries.score_of(s, T(365)) == Decimal("76.00")
    assert queries.score_of(s, T(731)) == Decimal("100.00")
    # Half way between two half-lives is not linear: 12×0.5^(547.5/365)… checked against Python.
    mid = T(182)
    expected = 100 - (12 * 0.5 ** (548 / 365) + 18 * 0.5 ** (183 / 365))
    assert abs(float(queries.score_of(s, mid)) - expected) < 0.01


def test_score_linear_decay_and_revocation(world):
    """Linear over 24 months (720 days): a general street occupation (5 points) 360 days old
    counts half: 100 − 2.5 = 97.50; 720 days old it counts nothing."""
    admin = world.user("ada")
    A.do_update_rules(admin, decay_mode="linear", linear_months=24)
    s = business(world)
    v = A.do_record_violation(
        world.user("oscar"), s, kind="street_occupation", severity="general", occurred_on=T(360), now=T(360)
    )
    assert queries.score_of(s, T(0)) == Decimal("97.50")
    assert queries.score_of(s, T(0) + timedelta(days=360)) == Decimal("100.00")
    A.do_revoke_violation(world.user("oscar"), v, "录入错误")
    assert queries.score_of(s, T(0)) == Decimal("100.00")
    assert Violation.objects.filter(pk=v.pk, state="revoked").exists()  # the record is kept


def test_repeat_offender_enters_watch_list_with_its_rule(world):
    officer = world.user("oscar")
    s = business(world)
    A.do_record_violation(officer, s, kind="street_occupation", occurred_on=T(400), now=T(400))
    assert not ListEntry.objects.exists()
    A.do_record_violation(officer, s, kind="street_occupation", occurred_on=T(100), now=T(100))
    entry = ListEntry.objects.get()
    assert (entry.list_kind, entry.rule, entry.entered_on) == ("watch", "repeat", T(100))
    assert entry.score_at_entry == queries.score_of(s, T(100))
    assert AuditEvent.objects.filter(action="credit.enter_list", object_id=str(entry.pk)).exists()


def test_grave_violation_dishonest_then_repair_after_clean_period(world):
    """Grave violation on T-300 (dishonest list, rule "grave"); order to rectify by T-260, done on
    T-250; clean period 180 days → repair possible from T-70, not on T-71."""
    officer = world.user("oscar")
    s = business(world)
    v = A.do_record_violation(
        officer, s, kind="street_occupation", severity="grave", occurred_on=T(300), now=T(300)
    )
    entries = {e.list_kind: e for e in ListEntry.objects.filter(subject=s)}
    assert entries["dishonest"].rule == "grave" and entries["dishonest"].entered_on == T(300)
    # 30 points → 70 < 80 also puts it on the watch list by score.
    assert entries["watch"].rule == "score_below_watch"
    p = A.do_issue_penalty(
        officer,
        v,
        kind="rectify",
        decision_number="杭城执罚〔2025〕1号",
        decided_on=T(300),
        rectify_by=T(260),
        now=T(300),
    )
    assert p.state == "issued"
    with pytest.raises(Conflict):
        A.do_repair(world.user("bruno"), s, note="已整改", as_of=T(0))  # penalty still open
    A.do_fulfil_penalty(officer, p, fulfilled_on=T(250), now=T(250))
    check = queries.repair_check(s, T(71), queries.active_rule_set())
    assert not check.eligible and check.eligible_on == T(70)
    A.do_evaluate_subject(officer, s, as_of=T(71))
    assert ListEntry.objects.active().filter(subject=s).count() == 2
    result = A.do_evaluate_subject(officer, s, as_of=T(70))
    assert len(result.repaired) == 2
    assert ListEntry.objects.active().filter(subject=s).count() == 0
    assert ListEntry.objects.filter(subject=s, exit_reason="repaired", removed_on=T(70)).count() == 2  # kept
    assert result.score == Decimal("100.00")  # repaired violations weigh 0 by default
    assert AuditEvent.objects.filter(action="credit.repair", object_id=str(s.pk)).exists()
    # A new grave violation after the repair puts it back on the dishonest list.
    A.do_record_violation(officer, s, kind="obstructing", severity="grave", occurred_on=T(5), now=T(5))
    assert ListEntry.objects.active().filter(subject=s, list_kind="dishonest", entered_on=T(5)).exists()


def test_manual_repair_by_leader_requires_clean_period(world):
    officer, leader = world.user("oscar"), world.user("bruno")
    s = business(world)
    v = A.do_record_violation(
        officer, s, kind="illegal_construction", severity="grave", occurred_on=T(200), now=T(200)
    )
    A.do_issue_penalty(
        officer, v, kind="fine", amount="5000", decision_number="罚-2", decided_on=T(200), now=T(200)
    )
    with pytest.raises(PermissionDenied):
        A.do_repair(officer, s, note="x")
    p = Penalty.objects.get()
    A.do_fulfil_penalty(officer, p, fulfilled_on=T(150), now=T(150))
    with pytest.raises(Conflict):
        A.do_repair(leader, s, note="已缴纳罚款", as_of=T(0))  # clean only 150 of 180 days
    A.do_update_rules(world.user("ada"), repair_clean_days=120)
    entries = A.do_repair(leader, s, note="已缴纳罚款并保持良好", as_of=T(0))
    assert {e.list_kind for e in entries} == {"dishonest", "watch"}
    s.refresh_from_db()
    assert s.score == Decimal("100.00")


def test_penalty_validation(world):
    officer = world.user("oscar")
    s = business(world)
    v = A.do_record_violation(officer, s, kind="street_occupation", occurred_on=T(3))
    with pytest.raises(InvalidInput):
        A.do_issue_penalty(officer, v, kind="fine", decision_number="F1")  # no amount
    with pytest.raises(InvalidInput):
        A.do_issue_penalty(officer, v, kind="rectify", decision_number="F1")  # no deadline
    with pytest.raises(InvalidInput):
        A.do_issue_penalty(
            officer, v, kind="warning", decision_number="F1", decided_on=T(5)
        )  # before violation
    with pytest.raises(PermissionDenied):
        A.do_issue_penalty(world.user("paul"), v, kind="warning", decision_number="F1")
    assert not Penalty.objects.exists()
    warning = A.do_issue_penalty(officer, v, kind="warning", decision_number="F1")
    assert warning.state == "fulfilled"
    with pytest.raises(Conflict):
        A.do_issue_penalty(officer, v, kind="warning", decision_number="F1")


def test_overdue_rectification_puts_subject_on_dishonest_list(world):
    officer = world.user("oscar")
    s = business(world)
    v = A.do_record_violation(officer, s, kind="street_occupation", occurred_on=T(40), now=T(40))
    A.do_issue_penalty(
        officer, v, kind="rectify", decision_number="R1", decided_on=T(40), rectify_by=T(30), now=T(40)
    )
    A.do_evaluate_subject(officer, s, as_of=T(30))
    assert not ListEntry.objects.filter(subject=s, list_kind="dishonest").exists()
    A.do_evaluate_subject(officer, s, as_of=T(29))
    e = ListEntry.objects.get(subject=s, list_kind="dishonest")
    assert e.rule == "penalty_unfulfilled" and e.entered_on == T(29)
    assert Penalty.objects.get().state == "overdue"


def test_evaluate_all_matches_single(world):
    officer = world.user("oscar")
    subjects = [
        business(world, f"商户{i}", uscc)
        for i, uscc in enumerate(["91350100M000100Y43", "91110000600037341L"])
    ]
    for i, s in enumerate(subjects):
        for k in range(i + 2):
            A.do_record_violation(
                officer,
                s,
                kind="street_occupation",
                severity="serious",
                occurred_on=T(10 + k * 30),
                now=T(10 + k * 30),
            )
    stats = A.do_evaluate_all(as_of=T(0))
    assert stats["subjects"] == 2
    for s in subjects:
        s.refresh_from_db()
        assert s.score == queries.score_of(s, T(0))


def test_jurisdiction_and_case_flags(world):
    officer = world.user("oscar")
    s = business(world)  # registered in street A by the bureau
    other = world.user("steve")
    assert not Subject.objects.visible_to(other).filter(pk=s.pk).exists()
    with pytest.raises(NotFound):
        A.do_record_violation(world.user("mark"), s, kind="street_occupation")
    assert Subject.objects.visible_to(world.user("stella")).filter(pk=s.pk).exists()
    old = world.case(reported_at=_start[0] - timedelta(days=20))
    A.do_record_violation(officer, s, kind="street_occupation", occurred_on=T(20), case=old)
    new = world.case()
    assert queries.subject_flags_for_case(new) == []
    A.do_name_subject_on_case(officer, new, s)
    flags = queries.subject_flags_for_case(new)
    assert flags[0]["repeat_offender"] is True and flags[0]["earlier_violations"] == 1
    assert queries.subject_flags_for_case(old)[0]["repeat_offender"] is False
    # A case in street B names the subject → street B's leader sees it through the case.
    case_b = world.case(street=world.regions["B"])
    A.do_name_subject_on_case(officer, case_b, s)
    assert Subject.objects.visible_to(other).filter(pk=s.pk).exists()


def test_rule_update_validation(world):
    with pytest.raises(PermissionDenied):
        A.do_update_rules(world.user("oscar"), watch_threshold=70)
    with pytest.raises(InvalidInput):
        A.do_update_rules(world.user("ada"), watch_threshold=50, dishonest_threshold=60)
    old = queries.active_rule_set()
    new = A.do_update_rules(world.user("ada"), points={("street_occupation", "general"): Decimal("7")})
    assert new.pk != old.pk and new.points.get(kind="street_occupation", severity="general").points == 7


def test_revoking_the_only_violation_closes_its_list_entries_as_revoked(world):
    """A subject listed only because of a violation recorded in error leaves the lists as
    "revoked" when the violation is revoked, not later as an automatic credit repair."""
    officer = world.user("oscar")
    s = business(world)
    other = business(world, "另一商户", "91110000600037341L")
    v = A.do_record_violation(officer, s, kind="obstructing", severity="grave", occurred_on=T(10), now=T(10))
    assert {e.list_kind for e in ListEntry.objects.active().filter(subject=s)} == {"dishonest", "watch"}
    # A subject with another confirmed violation keeps its entries.
    A.do_record_violation(officer, other, kind="street_occupation", occurred_on=T(12), now=T(12))
    w2 = A.do_record_violation(officer, other, kind="street_occupation", occurred_on=T(11), now=T(11))
    A.do_revoke_violation(officer, w2, "录入错误", now=T(9))
    assert ListEntry.objects.active().filter(subject=other, list_kind="watch").exists()

    A.do_revoke_violation(officer, v, "经复核，违法行为人认定有误", now=T(8))
    entries = list(ListEntry.objects.filter(subject=s))
    assert len(entries) == 2
    assert all(e.exit_reason == "revoked" and e.removed_on == T(8) for e in entries)
    assert AuditEvent.objects.filter(action="credit.revoke_list_entry").count() == 2
    A.do_evaluate_all(as_of=T(0))
    assert not ListEntry.objects.filter(exit_reason="repaired").exists()
    s.refresh_from_db()
    assert s.score == Decimal("100.00")
