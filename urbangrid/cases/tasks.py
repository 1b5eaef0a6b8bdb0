"""Background work of the case loop (django-tasks; enqueued periodically by the scheduler).

sweep_deadlines: claims, in bulk, the cases whose warning point passed (warned_at IS NULL AND
warn_at <= now) and those whose deadline passed (overdue_at IS NULL AND due_at <= now) with one
conditional ``UPDATE ... RETURNING`` each. The WHERE clause is re-checked on the locked row, so two
workers sweeping at once claim every case exactly once (PostgreSQL: row locks + READ COMMITTED
re-evaluation; SQLite: writers are serialised). The claimed cases are notified and, for overdue
acceptance/handling whose class says so, escalated (do_escalate, system actor) in the same
transaction as the claim: if the escalation fails, the claim rolls back and the next sweep retries.

deliver_notifications: sends queued outbound messages through the configured channel, retrying
with exponential backoff; each row is claimed by a conditional update so two workers never send
the same message twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from urbangrid.lib.roles import Role

from . import actions, notify, queries, workflow
from .choices import OPEN_STATES, DeadlineStep, Tier
from .models import Case, Notification

log = logging.getLogger("urbangrid.cases.tasks")

BATCH = 2000
MAX_ATTEMPTS = 8
ESCALATING_STEPS = {DeadlineStep.ACCEPT, DeadlineStep.HANDLE, DeadlineStep.DISPATCH}


def _claim(column_set: str, column_when: str, now, limit: int) -> list[int]:
    """UPDATE cases SET <set>=now WHERE <set> IS NULL AND <when> <= now (bounded) RETURNING id."""
    table = Case._meta.db_table
    states = list(OPEN_STATES)
    ph = ", ".join(["%s"] * len(states))
    sql = (
        f"UPDATE {table} SET {column_set} = %s "
        f"WHERE id IN (SELECT id FROM {table} WHERE {column_set} IS NULL AND {column_when} <= %s "
        f"AND state IN ({ph}) ORDER BY {column_when} LIMIT %s) "
        f"AND {column_set} IS NULL AND {column_when} <= %s RETURNING id"
    )
    # Raw SQL: adapt the datetime as the ORM would (SQLite stores UTC text, PostgreSQL timestamptz).
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cur:
        cur.execute(sql, [at, at, *states, limit, at])
        return [r[0] for r in cur.fetchall()]


def sweep(now=None, *, batch: int = BATCH) -> dict:
    """One sweep (the task body; callable directly with a simulated ``now``)."""
    now = now or timezone.now()
    stats = {"warned": 0, "overdue": 0, "escalated": 0}
    with transaction.atomic():
        ids = _claim("warned_at", "warn_at", now, batch)
        stats["warned"] = len(ids)
        cases = list(Case.objects.filter(id__in=ids).select_related("problem_class", "field_worker"))
        recipients = _Recipients(cases)
        notify.queue([row for case in cases for row in _deadline_notice(case, recipients, "warning", now)])
    with transaction.atomic():
        ids = _claim("overdue_at", "due_at", now, batch)
        stats["overdue"] = len(ids)
        cases = list(Case.objects.filter(id__in=ids).select_related("problem_class", "field_worker"))
        recipients = _Recipients(cases)
        notify.queue([row for case in cases for row in _deadline_notice(case, recipients, "overdue", now)])
        for case in cases:
            if _escalates_when_overdue(case):
                actions.do_escalate(None, case, reason=_("Deadline passed"), auto=True, now=now)
                stats["escalated"] += 1
    return stats


def _escalates_when_overdue(case) -> bool:
    """An overdue acceptance/handling/dispatch goes up a tier unless its class says otherwise."""
    pc = case.problem_class
    return (
        case.deadline_step in ESCALATING_STEPS
        and (pc is None or pc.escalate_after_overdue)
        and case.tier != Tier.CITY
        and workflow.transition(case.state, "escalate") is not None
        and workflow.refusal(workflow.ACTIONS_BY_NAME["escalate"], case, None) is None
    )


def _deadline_notice(case, recipients, kind: str, now) -> list:
    """The warning / overdue notifications of one claimed case (unsaved; the sweep queues all)."""
    step = DeadlineStep(case.deadline_step).label if case.deadline_step else ""
    if kind == "warning":
        title = _("Case %(n)s: the %(step)s deadline is near") % {"n": case.number, "step": step}
    else:
        title = _("Case %(n)s is overdue (%(step)s)") % {"n": case.number, "step": step}
    return notify.rows_for(recipients.of(case), kind, title, "", case=case, now=now)


class _Recipients:
    """Who is told about the claimed cases' deadlines: the people of every role, area and unit
    involved are read with two queries per claim, not two per case."""

    ROLES = (Role.DISPATCHER, Role.INTAKE_OPERATOR, Role.SHIFT_LEADER)

    def __init__(self, cases):
        areas = {r for c in cases for r in (c.community_id, c.street_id, c.district_id) if r}
        self.holding = queries.people_holding(self.ROLES, areas)
        units = {c.assigned_unit_id for c in cases if c.assigned_unit_id}
        self.handlers = queries.handlers_of_units(units) if units else {}

    def of(self, case) -> list:
        step = case.deadline_step
        if step in (DeadlineStep.ACCEPT, DeadlineStep.HANDLE):
            return self.handlers.get(case.assigned_unit_id, []) + self._over(Role.DISPATCHER, case)
        if step in (DeadlineStep.VERIFY, DeadlineStep.CHECK):
            if case.field_worker_id:
                return [case.field_worker]
            return self._over(Role.INTAKE_OPERATOR, case)
        if step == DeadlineStep.DISPATCH:
            return self._over(Role.DISPATCHER, case)
        return self._over(Role.SHIFT_LEADER, case)

    def _over(self, role, case) -> list:
        return queries.pick_over(self.holding, role, case)


@task()
def sweep_deadlines() -> dict:
    stats = sweep()
    if any(stats.values()):
        log.info("deadline sweep: %s", stats)
    return stats


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes (capped at 2 hours) after the n-th failure."""
    return timedelta(minutes=min(120, 2 ** max(0, attempts - 1)))


def deliver(now=None, *, limit: int = 200, backend=None) -> dict:
    """Send due outbound notifications; returns counts. Each row claimed by conditional update."""
    now = now or timezone.now()
    backend = backend or notify.get_backend()
    stats = {"sent": 0, "failed": 0, "gave_up": 0}
    due = list(
        Notification.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", "next_attempt_at")[:limit]
    )
    lease = now + timedelta(minutes=5)
    for nid, when in due:
        # Claim: move next_attempt_at forward; only one worker's update matches the old value.
        if not Notification.objects.filter(pk=nid, sent_at__isnull=True, next_attempt_at=when).update(
            next_attempt_at=lease
        ):
            continue
        n = Notification.objects.select_related("recipient", "case").get(pk=nid)
        try:
            backend.send(n)
        except Exception as exc:  # any channel failure is retried later
            attempts = n.send_attempts + 1
            gave_up = attempts >= MAX_ATTEMPTS
            Notification.objects.filter(pk=nid).update(
                send_attempts=attempts,
                last_error=str(exc)[:300],
                next_attempt_at=None if gave_up else now + backoff(attempts),
            )
            stats["gave_up" if gave_up else "failed"] += 1
            continue
        Notification.objects.filter(pk=nid).update(
            sent_at=timezone.now(), send_attempts=n.send_attempts + 1, next_attempt_at=None, last_error=""
        )
        stats["sent"] += 1
    return stats


@task()
def deliver_notifications() -> dict:
    return deliver()
