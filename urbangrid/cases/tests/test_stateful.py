"""Hypothesis drives random sequences of actions, by random people, against one case: every step
is either done or refused with a DomainError that changes nothing, and after every step the case
is consistent (state, columns, tasks, events and counters agree)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from urbangrid.cases import actions as A
from urbangrid.cases.choices import FINAL_STATES, CaseState, TaskRole, TaskState
from urbangrid.cases.models import Application, Case, CaseEvent, CaseTask
from urbangrid.cases.queries import ACTIVE_TASK_STATES
from urbangrid.cases.workflow import TRANSITIONS
from urbangrid.lib.errors import DomainError
from urbangrid.testing.world import photo, report

PEOPLE = ["grace", "gavin", "olivia", "sam", "dan", "bella", "hank", "boris", "hugo", "diana"]
UNITS = ["A", "brigade", "water"]
HANDLED = {CaseState.PENDING_HANDLE, CaseState.HANDLING, CaseState.PENDING_CHECK, CaseState.CHECKING}


def run(world):
    w = world

    class CaseMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.case = report(
                w,
                cls="stall",
                extra={"force_new": True, "class_kind": "event"},
                channel="citizen_web",
                who="carl",
            ).case
            self.ok = 0

        def fresh(self):
            return Case.objects.select_related("problem_class").get(pk=self.case.pk)

        def attempt(self, fn):
            before = self.fresh()
            n_events = CaseEvent.objects.filter(case=before).count()
            try:
                fn(before)
                self.ok += 1
            except DomainError:
                after = self.fresh()
                assert after.version == before.version and after.state == before.state
                assert CaseEvent.objects.filter(case=before).count() == n_events

        @rule(
            who=st.sampled_from(PEOPLE),
            action=st.sampled_from(sorted({a for _, a in TRANSITIONS})),
            flag=st.booleans(),
            unit=st.sampled_from(UNITS),
            joint=st.booleans(),
        )
        def act(self, who, action, flag, unit, joint):
            user = w.user(who)

            def go(case):
                if action.startswith("apply_"):
                    A.do_apply(user, case, action.removeprefix("apply_"), reason="r", extra_hours=4)
                elif action.startswith("decide_"):
                    app = Application.objects.filter(
                        case=case, kind=action.removeprefix("decide_"), state="pending"
                    ).first()
                    if app is None:
                        raise DomainError("none")
                    A.do_decide_application(user, app, approved=flag)
                elif action == "verify":
                    A.do_verify(user, case, confirmed=flag, photos=photo())
                elif action == "check":
                    A.do_check(user, case, passed=flag, photos=photo((0, 0, 1)))
                elif action == "dispatch":
                    assists = [{"unit": w.units["water"]}] if joint and unit != "water" else []
                    A.do_dispatch(user, case, unit=w.units[unit], reason="r", assists=assists)
                elif action in ("report_back", "self_handle"):
                    A.perform(
                        user,
                        case,
                        action,
                        response="stop",
                        photos_before=photo((1, 0, 0)),
                        photos_after=photo((0, 1, 0)),
                    )
                elif action == "assist_report":
                    A.do_assist_report(user, case, report="done")
                elif action == "evaluate":
                    A.do_evaluate(user, case, satisfaction=4)
                elif action == "supervise":
                    A.do_supervise(user, case, instruction="快")
                else:
                    A.perform(user, case, action, reason="r") if action in (
                        "reject",
                        "cancel",
                        "rework",
                        "escalate",
                        "resume",
                    ) else A.perform(user, case, action)

            self.attempt(go)

        @invariant()
        def consistent(self):
            c = self.fresh()
            events = list(CaseEvent.objects.filter(case=c).exclude(action__in=["photo", "link_report"]))
            assert len(events) == c.version, (len(events), c.version)
            assert events[-1].to_state == c.state
            for a, b in zip(events, events[1:], strict=False):
                assert b.from_state == a.to_state, (a.action, b.action)
            acts = [e.action for e in events]
            assert c.rework_count == acts.count("rework")
            assert c.escalation_count == acts.count("escalate")
            assert c.supervision_count == acts.count("supervise")
            approved = [
                e.payload.get("kind")
                for e in events
                if e.action.startswith("decide_") and e.payload.get("approved")
            ]
            assert c.return_count == approved.count("return")
            assert c.postpone_count == approved.count("postpone")
            assert c.shelve_count == approved.count("shelve")
            if c.state in FINAL_STATES or c.state == CaseState.SHELVED:
                assert c.due_at is None and c.warn_at is None
            else:
                assert c.due_at is not None or c.state in (CaseState.PENDING_CHECK,), c.state
            active = list(CaseTask.objects.filter(case=c, state__in=ACTIVE_TASK_STATES))
            leads = [t for t in active if t.role == TaskRole.LEAD]
            if c.state in HANDLED:
                assert len(leads) == 1 and leads[0].unit_id == c.assigned_unit_id
            if c.state in (
                CaseState.PENDING_DISPATCH,
                CaseState.REPORTED,
                CaseState.VERIFYING,
                CaseState.PENDING_REGISTER,
            ):
                assert not leads
            if c.state == CaseState.HANDLING:
                assert leads[0].state == TaskState.ACCEPTED
            if c.state == CaseState.CLOSED:
                assert c.closed_at is not None and (c.check_passed or c.self_handled)
            if c.state == CaseState.CANCELLED:
                assert c.cancelled_at is not None
            assert (
                Application.objects.filter(case=c, state="pending").values("kind").distinct().count()
                == Application.objects.filter(case=c, state="pending").count()
            )

    run_state_machine_as_test(
        CaseMachine,
        settings=settings(
            max_examples=10, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )


def test_random_action_sequences_keep_cases_consistent(world):
    run(world)
