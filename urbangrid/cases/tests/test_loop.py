"""The case loop through the actions: the full path, the branches, the refusals."""

from __future__ import annotations

import inspect

import pytest

from urbangrid.cases import actions as A
from urbangrid.cases.choices import CaseState, TaskState
from urbangrid.cases.inputs import ActionInput
from urbangrid.cases.models import Case, CaseEvent, CaseTask
from urbangrid.cases.workflow import ACTIONS, ACTIONS_BY_NAME, TRANSITIONS, allowed_actions
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.testing.world import photo, report

pytestmark = pytest.mark.clock


def fresh(case):
    return Case.objects.select_related("problem_class").get(pk=case.pk)


def run_to_handling(w, case, unit_user="hank"):
    A.do_register(w.user("sam"), case)
    A.do_dispatch(w.user("dan"), case)
    A.do_accept(w.user(unit_user), case)
    return case


def test_full_loop_citizen_report(world):
    w = world
    r = report(w, who="carl", channel="citizen_web", reporter_phone="13900000000")
    case = r.case
    assert (
        r.created
        and case.state == CaseState.REPORTED
        and case.number[:8].isdigit()
        and len(case.number) == 14
    )
    assert case.grid_code == w.grids["A1"].code and case.street_id == w.regions["A"].id
    A.do_request_verify(w.user("olivia"), case)
    assert case.state == CaseState.VERIFYING and case.field_worker_id == w.persons["grace"].pk
    assert case.verify_due_at and case.due_at == case.verify_due_at
    A.do_verify(w.user("grace"), case, confirmed=True, photos=photo())
    A.do_register(w.user("sam"), case)
    assert case.tier == "street"
    A.do_dispatch(w.user("dan"), case)
    assert case.assigned_unit_id == w.units["A"].pk and case.state == CaseState.PENDING_HANDLE
    A.do_accept(w.user("hank"), case)
    A.do_report_back(
        w.user("hank"),
        case,
        response="persuade",
        report="劝离",
        photos_before=photo((1, 2, 3)),
        photos_after=photo((3, 2, 1)),
    )
    A.do_request_check(w.user("olivia"), case)
    A.do_check(w.user("grace"), case, passed=True, photos=photo((9, 9, 9)))
    A.do_close(w.user("sam"), case)
    A.do_evaluate(w.user("olivia"), case, satisfaction=5)
    case = fresh(case)
    assert case.state == CaseState.CLOSED and case.satisfaction == 5 and case.due_at is None
    kinds = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert kinds == [
        "report",
        "request_verify",
        "verify",
        "register",
        "dispatch",
        "accept",
        "report_back",
        "request_check",
        "check",
        "close",
        "evaluate",
    ]
    assert case.version == 11
    assert case.attachments.count() == 4
    for stage_col in ("verify_due_at", "register_due_at", "dispatch_due_at", "handle_due_at", "check_due_at"):
        assert getattr(case, stage_col) is not None, stage_col


def test_grid_worker_report_skips_verification(world):
    r = report(world)
    assert r.case.state == CaseState.PENDING_REGISTER and r.case.verify_result is True


def test_rework_and_return(world):
    w = world
    case = run_to_handling(w, report(w).case)
    A.do_report_back(
        w.user("hank"), case, response="stop", photos_before=photo(), photos_after=photo((0, 0, 0))
    )
    A.do_request_check(w.user("olivia"), case)
    A.do_check(w.user("grace"), case, passed=False, photos=photo((5, 5, 5)))
    with pytest.raises(Conflict):
        A.do_close(w.user("sam"), case)
    A.do_rework(w.user("sam"), case, reason="仍有摊位")
    case = fresh(case)
    assert case.state == CaseState.HANDLING and case.rework_count == 1
    app = A.do_apply(w.user("hank"), case, "return", reason="不属于本单位")
    with pytest.raises(Conflict):
        A.do_apply(w.user("hank"), fresh(case), "return", reason="again")
    A.do_decide_application(w.user("dan"), app, approved=True)
    case = fresh(case)
    assert (
        case.state == CaseState.PENDING_DISPATCH and case.return_count == 1 and case.assigned_unit_id is None
    )
    assert CaseTask.objects.get(case=case, unit=w.units["A"]).state == TaskState.RETURNED
    A.do_dispatch(w.user("dan"), case, unit=w.units["brigade"], reason="大队负责")
    assert CaseTask.objects.filter(case=case).count() == 2


def test_postpone_shelve_resume_cancel(world):
    w = world
    case = run_to_handling(w, report(w).case)
    due = case.handle_due_at
    app = A.do_apply(w.user("hank"), case, "postpone", reason="需要协调", extra_hours=7)
    A.do_decide_application(w.user("dan"), app, approved=True)
    case = fresh(case)
    assert case.handle_due_at > due and case.postpone_count == 1 and case.due_at == case.handle_due_at
    app = A.do_apply(w.user("hank"), case, "shelve", reason="季节性")
    A.do_decide_application(w.user("dan"), app, approved=True)
    case = fresh(case)
    assert case.state == CaseState.SHELVED and case.due_at is None
    A.do_resume(w.user("dan"), case, reason="开春")
    assert fresh(case).state == CaseState.HANDLING
    app = A.do_apply(w.user("hank"), fresh(case), "cancel", reason="重复")
    A.do_decide_application(w.user("sam"), app, approved=False, note="不是重复")
    assert fresh(case).state == CaseState.HANDLING
    A.do_cancel(w.user("sam"), fresh(case), reason="误报")
    assert fresh(case).state == CaseState.CANCELLED


def test_self_handle_and_audit(world):
    w = world
    case = report(w).case
    A.do_self_handle(
        w.user("grace"), case, response="persuade", photos_before=photo(), photos_after=photo((0, 9, 0))
    )
    assert case.state == CaseState.PENDING_CLOSE and case.self_handled and case.tier == "grid"
    assert "close" in allowed_actions(case, w.user("sam"))
    A.do_close(w.user("sam"), case)
    parking = report(w, cls="parking", point=w.A2).case
    with pytest.raises(Conflict):
        A.do_self_handle(
            w.user("grace"), parking, response="persuade", photos_before=photo(), photos_after=photo()
        )


def test_self_handle_refused_by_audit_goes_to_dispatch(world):
    w = world
    case = report(w).case
    A.do_self_handle(
        w.user("grace"), case, response="persuade", photos_before=photo(), photos_after=photo((0, 9, 0))
    )
    A.do_register(w.user("sam"), case, reason="未处置到位")
    case = fresh(case)
    assert case.state == CaseState.PENDING_DISPATCH and not case.self_handled


def test_joint_case_lead_reports_after_assists(world):
    w = world
    case = report(w).case
    A.do_register(w.user("sam"), case)
    A.do_dispatch(w.user("dan"), case, assists=[{"unit": w.units["brigade"], "instruction": "配合执法"}])
    assert case.is_joint
    A.do_accept(w.user("hank"), case)
    with pytest.raises(Conflict):
        A.do_report_back(
            w.user("hank"), case, response="penalise", photos_before=photo(), photos_after=photo((1, 1, 1))
        )
    with pytest.raises(NotFound):
        A.do_assist_report(w.user("hugo"), case, report="x")  # B's unit holds no task: invisible
    with pytest.raises(PermissionDenied):
        A.do_assist_report(w.user("hank"), case, report="x")  # the lead unit has no assisting task
    A.do_assist_report(w.user("boris"), case, report="已配合")
    A.do_report_back(
        w.user("hank"), case, response="penalise", photos_before=photo(), photos_after=photo((1, 1, 1))
    )
    assert case.state == CaseState.PENDING_CHECK


def test_escalation_moves_dispatch_up(world):
    w = world
    case = report(w).case
    A.do_register(w.user("sam"), case)
    A.do_escalate(w.user("diana"), case, reason="街道无力处置")
    case = fresh(case)
    assert case.tier == "district" and case.escalation_count == 1
    A.do_dispatch(w.user("dan"), case)
    assert fresh(case).assigned_unit_id == w.units["brigade"].pk


def test_override_needs_reason(world):
    w = world
    case = report(w).case
    A.do_register(w.user("sam"), case)
    with pytest.raises(InvalidInput):
        A.do_dispatch(w.user("dan"), case, unit=w.units["brigade"])
    assert fresh(case).state == CaseState.PENDING_DISPATCH


def test_transition_not_in_table_is_conflict_for_everyone(world):
    w = world
    case = report(w).case
    for who in ("sam", "dan", "grace", "olivia"):
        with pytest.raises(Conflict):
            A.do_close(w.user(who), case)
    with pytest.raises(PermissionDenied):
        A.do_register(w.user("dan"), case)
    assert fresh(case).version == 1 and CaseEvent.objects.filter(case=case).count() == 1


def test_other_street_is_not_found(world):
    w = world
    case = report(w).case
    with pytest.raises(NotFound):
        A.do_register(w.user("bella"), case)  # a B-street user: the case does not exist for them
    with pytest.raises(NotFound):
        A.do_self_handle(w.user("gavin"), case, response="stop")


def test_unit_handler_only_on_own_unit(world):
    w = world
    case = report(w).case
    A.do_register(w.user("sam"), case)
    A.do_dispatch(w.user("dan"), case)
    with pytest.raises(NotFound):
        A.do_accept(w.user("hugo"), case)
    with pytest.raises(NotFound):
        A.do_accept(w.user("boris"), case)
    A.do_accept(w.user("hank"), case)


def test_stale_version_conflict(world):
    w = world
    case = report(w).case
    stale = fresh(case)
    A.do_register(w.user("sam"), case)
    with pytest.raises(Conflict):
        A.do_reject(w.user("sam"), stale, reason="x")
    with pytest.raises(Conflict):
        A.do_dispatch(w.user("dan"), fresh(case), expected_version=1)


def test_table_is_total_over_actions():
    """Every action record moves from some state, and the table names no action without a record."""
    assert {a for _, a in TRANSITIONS} == set(ACTIONS_BY_NAME)
    assert all(spec.sources for spec in ACTIONS)


def test_every_record_names_its_input_and_handler():
    for spec in ACTIONS:
        handler = getattr(A, spec.handler, None)
        assert callable(handler), spec.name
        assert issubclass(spec.input, ActionInput), spec.name
        assert set(spec.handler_args) <= set(inspect.signature(handler).parameters), spec.name
