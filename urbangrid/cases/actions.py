"""Writes of the cases app: every one is a do_* action under one transaction with an audit record.

Each action: (1) the case must be visible to the actor (else 404), (2) (state, action) must be in
workflow.TRANSITIONS (else 409), (3) the actor must hold one of its roles (else 403) and, for a
unit's work, their unit must hold the task, (4) the record's preconditions on the case's data
(workflow.refusal, 409), (5) the change is a conditional UPDATE on (id, state, version) — the loser
of a race gets Conflict and its transaction rolls back, (6) an immutable CaseEvent, (7)
notifications are written in the transaction and delivered after commit.

Every action takes ``now`` (default: the current time) so the demo history can run through the
same code with simulated time, and ``expected_version`` for clients that show a version.
``perform`` runs an action by name with a client's fields, through the function its record names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.lib import audit
from urbangrid.lib.access import Scope, is_admin, scope_for
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.roles import Role

from . import attachments, deadlines, notify, policy, queries, workflow
from .choices import (
    ApplicationKind,
    ApplicationState,
    AttachmentStage,
    CaseState,
    DeadlineStep,
    Response,
    TaskRole,
    TaskState,
    Tier,
)
from .models import Application, Case, CaseEvent, CaseTask, Notification

PHOTO_REQUIRED_DEFAULT = True


def photos_required() -> bool:

    return bool(settings.URBANGRID.get("PHOTOS_REQUIRED", PHOTO_REQUIRED_DEFAULT))


@dataclass
class Ctx:
    actor: object
    scope: Scope | None  # None: the task worker
    person_id: int | None
    role: str
    now: datetime
    action: str


# --- the common gate -----------------------------------------------------------------------------
def _gate(actor, case: Case, action: str, *, now=None, expected_version=None, check_pre=True) -> Ctx:
    """Checks (1)-(4) of the module's list, with the actor's scope worked out once."""
    now = now or timezone.now()
    scope = workflow.scope_of(actor)
    if (
        scope is not None
        and not scope.all_city
        and not Case.objects.visible_to(actor).filter(pk=case.pk).exists()
    ):
        raise NotFound(_("No such case."))
    if expected_version is not None and int(expected_version) != case.version:
        raise Conflict(_("The case was changed by someone else; reload it and try again."))
    if workflow.transition(case.state, action) is None:
        raise Conflict(
            _("“%(action)s” is not possible while the case is “%(state)s”.")
            % {"action": workflow.action_label(action), "state": CaseState(case.state).label}
        )
    role = workflow.acting_role(scope, case, action)
    if role is None:
        raise PermissionDenied(_("Your role does not allow this action."))
    why = workflow.refusal(workflow.ACTIONS_BY_NAME[action], case, scope) if check_pre else None
    if why is not None:
        raise why.error()
    return Ctx(actor, scope, scope.person_id if scope else None, role, now, action)


def _move(case: Case, ctx: Ctx, to_state: str | None, **cols) -> None:
    """Conditional update on (id, state, version): exactly one of two racing actions wins."""
    new_state = to_state or case.state
    cols["updated_at"] = ctx.now
    n = Case.objects.filter(pk=case.pk, state=case.state, version=case.version).update(
        state=new_state, version=F("version") + 1, **cols
    )
    if n != 1:
        raise Conflict(_("The case was changed by someone else; reload it and try again."))
    for k, v in cols.items():
        setattr(case, k, v)
    if new_state != case.state:
        # What was asked of people about the old state no longer holds.
        notify.withdraw(case, notify.ACTION_KINDS, now=ctx.now)
        # Applications that can no longer be decided from the new state lapse (refused, noted).
        stale = [k for k in ApplicationKind.values if workflow.transition(new_state, f"decide_{k}") is None]
        if stale:
            Application.objects.filter(case=case, state=ApplicationState.PENDING, kind__in=stale).update(
                state=ApplicationState.REFUSED,
                decided_at=ctx.now,
                decision_note=str(_("Lapsed: the case moved on.")),
            )
    elif "due_at" in cols:  # a postponed deadline: the warnings about the old one no longer hold
        notify.withdraw(case, notify.DEADLINE_KINDS, now=ctx.now)
    case.state = new_state
    case.version += 1
    case.__dict__.pop("_active_tasks", None)


def _event(case: Case, ctx: Ctx, from_state: str, *, reason: str = "", unit_id=None, **payload) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        at=ctx.now,
        actor=ctx.actor if getattr(ctx.actor, "pk", None) else None,
        actor_person_id=ctx.person_id,
        role=ctx.role,
        action=ctx.action,
        from_state=from_state,
        to_state=case.state,
        unit_id=unit_id,
        reason=reason or "",
        payload=payload,
    )


def _need(value, message, field):
    if value in (None, "", []):
        raise InvalidInput(message, field=field)
    return value


def _photos(case, ctx, stage, uploads, *, required: bool):
    prepared = attachments.prepare_many(uploads)
    have = case.attachments.filter(stage=stage).exists() if not prepared else True
    if required and photos_required() and not have:
        raise InvalidInput(_("A photo is required for this step."), field=f"photos_{stage}")
    return prepared


def _save_photos(case, ctx, stage, prepared) -> list[str]:
    out = []
    for p in prepared:
        att, _c = attachments.store(case, stage, None, user=ctx.actor, prepared=p, now=ctx.now)
        out.append(att.sha256)
    return out


# --- verification and registration ----------------------------------------------------------------
@transaction.atomic
def do_request_verify(actor, case, *, field_worker=None, reason="", now=None, expected_version=None):
    ctx = _gate(actor, case, "request_verify", now=now, expected_version=expected_version)
    worker = field_worker or queries.grid_worker_for(case)
    return _send_to_field(
        case,
        ctx,
        worker,
        reason,
        CaseState.VERIFYING,
        DeadlineStep.VERIFY,
        _("Please verify case %(n)s on site") % {"n": case.number},
        verify_requested_at=ctx.now,
        verify_result=None,
    )


def _send_to_field(case, ctx, worker, reason, state, step, message, **columns):
    """Hand a verification or an on-site check to a grid worker: move, record, notify."""
    src = case.state
    _move(
        case,
        ctx,
        state,
        field_worker_id=getattr(worker, "pk", None),
        **columns,
        **deadlines.columns_for(step, ctx.now),
    )
    _event(case, ctx, src, reason=reason, field_worker=getattr(worker, "pk", None))
    if worker is not None:
        notify.notify(worker, step, message, case.address or case.description[:80], case=case, now=ctx.now)
    return case


@transaction.atomic
def do_verify(actor, case, *, confirmed: bool, note="", photos=None, now=None, expected_version=None):
    ctx = _gate(actor, case, "verify", now=now, expected_version=expected_version)
    prepared = _photos(case, ctx, AttachmentStage.VERIFY, photos, required=bool(confirmed))
    src = case.state
    cols = {"verified_at": ctx.now, "verified_by_id": ctx.person_id, "verify_result": bool(confirmed)}
    cols.update(deadlines.columns_for(DeadlineStep.REGISTER, ctx.now))
    _move(case, ctx, CaseState.PENDING_REGISTER, **cols)
    shas = _save_photos(case, ctx, AttachmentStage.VERIFY, prepared)
    _event(case, ctx, src, reason=note, confirmed=bool(confirmed), photos=shas)
    return case


@transaction.atomic
def do_register(actor, case, *, problem_class=None, reason="", now=None, expected_version=None):
    ctx = _gate(actor, case, "register", now=now, expected_version=expected_version)
    # The shift leader confirms the class: given now, chosen at intake, or the suggestion.
    pc = problem_class or case.problem_class or case.suggested_class
    _need(pc, _("Choose the class of the problem before registering."), "class_code")
    src = case.state
    tier = max(Tier.STREET, case.tier or Tier.STREET, _class_tier(pc), key=queries.TIER_ORDER.index)
    cols = {
        "problem_class_id": pc.pk,
        "tier": tier,
        "registered_at": ctx.now,
        "registered_by_id": ctx.person_id,
        **deadlines.columns_for(DeadlineStep.DISPATCH, ctx.now),
    }
    if src == CaseState.PENDING_CLOSE:  # an on-the-spot fix refused by the audit
        cols.update(self_handled=False, handled_at=None, response="")
    _move(case, ctx, CaseState.PENDING_DISPATCH, **cols)
    case.problem_class = pc
    _event(
        case,
        ctx,
        src,
        reason=reason,
        class_code=pc.code,
        class_key=pc.key,
        acceptance_condition=pc.acceptance_condition,
        audit_refused=src == CaseState.PENDING_CLOSE,
    )
    return case


def _class_tier(pc) -> str:
    t = str(getattr(pc, "tier", "") or Tier.STREET)
    return Tier.STREET if t == Tier.GRID else t


@transaction.atomic
def do_reject(actor, case, *, reason, now=None, expected_version=None):
    ctx = _gate(actor, case, "reject", now=now, expected_version=expected_version)
    _need(reason, _("Give a reason."), "reason")
    src = case.state
    _move(case, ctx, CaseState.REJECTED, **deadlines.columns_for(None, None))
    _event(case, ctx, src, reason=reason)
    _tell_reporter(
        case, ctx, _("Your report %(n)s was not registered: %(r)s") % {"n": case.number, "r": reason}
    )
    return case


# --- dispatch and handling -----------------------------------------------------------------------
@transaction.atomic
def do_dispatch(
    actor, case, *, unit=None, reason="", instruction="", assists=(), now=None, expected_version=None
):
    """Send the case to its lead unit (the suggestion unless overridden with a reason) and to any
    assisting units (joint case: each gets its own task, instruction and deadline)."""
    ctx = _gate(actor, case, "dispatch", now=now, expected_version=expected_version)
    suggested = queries.suggest_unit(case)
    unit = unit or suggested
    _need(unit, _("No responsible unit was found; choose one."), "unit")
    if suggested is not None and unit.pk != suggested.pk and not reason:
        raise InvalidInput(
            _("Give a reason for dispatching to another unit than the suggested one."), field="reason"
        )
    assists = list(assists or [])
    seen = {unit.pk}
    for a in assists:
        au = a["unit"] if isinstance(a, dict) else a[0]
        if au.pk in seen:
            raise InvalidInput(_("A unit appears twice in the joint case."), field="assists")
        seen.add(au.pk)
    src = case.state
    handle = deadlines.step_deadline(DeadlineStep.HANDLE, ctx.now, case.problem_class)
    cols = {
        "assigned_unit_id": unit.pk,
        "dispatched_at": ctx.now,
        "dispatched_by_id": ctx.person_id,
        "is_joint": bool(assists),
        "handle_due_at": handle.due_at,
        "accepted_at": None,
        "check_passed": None,
        **deadlines.columns_for(DeadlineStep.ACCEPT, ctx.now),
    }
    if queries.unit_rank(unit) > queries.TIER_RANK.get(case.tier, 1):
        cols["tier"] = queries.TIER_ORDER[min(3, queries.unit_rank(unit))]
    _move(case, ctx, CaseState.PENDING_HANDLE, **cols)
    # Earlier tasks (a returned dispatch) stay as history; they are no longer active.
    CaseTask.objects.filter(case=case, state__in=[TaskState.PENDING, TaskState.ACCEPTED]).update(
        state=TaskState.WITHDRAWN
    )
    tasks = [
        CaseTask(
            case=case,
            unit=unit,
            role=TaskRole.LEAD,
            instruction=instruction,
            due_at=handle.due_at,
            created_at=ctx.now,
        )
    ]
    for a in assists:
        au, ai, ad = (
            (a["unit"], a.get("instruction", ""), a.get("due_at"))
            if isinstance(a, dict)
            else (list(a) + ["", None])[:3]
        )
        tasks.append(
            CaseTask(
                case=case,
                unit=au,
                role=TaskRole.ASSIST,
                instruction=ai or "",
                due_at=ad or handle.due_at,
                created_at=ctx.now,
            )
        )
    CaseTask.objects.bulk_create(tasks)
    _event(
        case,
        ctx,
        src,
        reason=reason,
        unit_id=unit.pk,
        suggested_unit=getattr(suggested, "code", None),
        overridden=bool(suggested and unit.pk != suggested.pk),
        assists=[t.unit.code for t in tasks[1:]],
        tier=case.tier,
        instruction=instruction,
    )
    for t in tasks:
        notify.notify(
            queries.unit_handlers(t.unit_id),
            "dispatch",
            _("New case %(n)s for your unit") % {"n": case.number},
            t.instruction or case.description[:120],
            case=case,
            now=ctx.now,
        )
    return case


@transaction.atomic
def do_accept(actor, case, *, note="", now=None, expected_version=None):
    ctx = _gate(actor, case, "accept", now=now, expected_version=expected_version)
    lead = queries.lead_task(case)
    src = case.state
    d = deadlines.step_deadline(DeadlineStep.HANDLE, case.dispatched_at or ctx.now, case.problem_class)
    _move(
        case,
        ctx,
        CaseState.HANDLING,
        accepted_at=ctx.now,
        deadline_step=DeadlineStep.HANDLE,
        warn_at=min(d.warn_at, case.handle_due_at or d.due_at),
        due_at=case.handle_due_at or d.due_at,
        warned_at=None,
        overdue_at=None,
    )
    CaseTask.objects.filter(pk=lead.pk).update(
        state=TaskState.ACCEPTED, accepted_at=ctx.now, handler_id=ctx.person_id
    )
    CaseTask.objects.filter(case=case, role=TaskRole.ASSIST, state=TaskState.PENDING).update(
        accepted_at=ctx.now
    )
    _event(case, ctx, src, reason=note, unit_id=lead.unit_id)
    return case


@transaction.atomic
def do_assist_report(actor, case, *, report, now=None, expected_version=None):
    """An assisting unit reports its part of a joint case (before the lead reports back)."""
    ctx = _gate(actor, case, "assist_report", now=now, expected_version=expected_version)
    _need(report, _("Describe what your unit did."), "report")
    units = ctx.scope.unit_ids
    task = next(
        (
            t
            for t in queries.active_tasks(case)
            if t.role == TaskRole.ASSIST
            and t.state != TaskState.REPORTED
            and (t.unit_id in units or is_admin(ctx.scope))
        ),
        None,
    )
    if task is None:
        raise PermissionDenied(_("Your unit has no open assisting task on this case."))
    src = case.state
    _move(case, ctx, None)
    CaseTask.objects.filter(pk=task.pk).update(
        state=TaskState.REPORTED, reported_at=ctx.now, report=report, handler_id=ctx.person_id
    )
    _event(
        case,
        ctx,
        src,
        reason=report,
        unit_id=task.unit_id,
        on_time=bool(task.due_at is None or ctx.now <= task.due_at),
    )
    notify.notify(
        queries.unit_handlers(case.assigned_unit_id),
        "assist_report",
        _("An assisting unit reported on case %(n)s") % {"n": case.number},
        report[:200],
        case=case,
        now=ctx.now,
    )
    return case


@transaction.atomic
def do_report_back(
    actor,
    case,
    *,
    response,
    report="",
    photos_before=None,
    photos_after=None,
    now=None,
    expected_version=None,
):
    ctx = _gate(actor, case, "report_back", now=now, expected_version=expected_version)
    if response not in Response.values:
        raise InvalidInput(_("Choose the response taken."), field="response")
    before = _photos(case, ctx, AttachmentStage.BEFORE, photos_before, required=True)
    after = _photos(case, ctx, AttachmentStage.AFTER, photos_after, required=True)
    lead = queries.lead_task(case)
    src = case.state
    _move(
        case,
        ctx,
        CaseState.PENDING_CHECK,
        handled_at=ctx.now,
        response=response,
        **deadlines.columns_for(None, None),
    )
    CaseTask.objects.filter(pk=lead.pk).update(
        state=TaskState.REPORTED, reported_at=ctx.now, report=report, handler_id=ctx.person_id
    )
    b = _save_photos(case, ctx, AttachmentStage.BEFORE, before)
    a = _save_photos(case, ctx, AttachmentStage.AFTER, after)
    _event(
        case,
        ctx,
        src,
        reason=report,
        unit_id=lead.unit_id,
        response=response,
        photos_before=b,
        photos_after=a,
        on_time=bool(case.handle_due_at is None or ctx.now <= case.handle_due_at),
    )
    notify.notify(
        queries.people_with_role_over(Role.INTAKE_OPERATOR, case),
        "report_back",
        _("Case %(n)s was handled; send a check") % {"n": case.number},
        report[:200],
        case=case,
        now=ctx.now,
    )
    return case


@transaction.atomic
def do_request_check(actor, case, *, field_worker=None, reason="", now=None, expected_version=None):
    ctx = _gate(actor, case, "request_check", now=now, expected_version=expected_version)
    worker = (
        field_worker or queries.grid_worker_for(case) or (case.field_worker if case.field_worker_id else None)
    )
    return _send_to_field(
        case,
        ctx,
        worker,
        reason,
        CaseState.CHECKING,
        DeadlineStep.CHECK,
        _("Please check case %(n)s on site") % {"n": case.number},
        check_requested_at=ctx.now,
        check_passed=None,
    )


@transaction.atomic
def do_check(actor, case, *, passed: bool, note="", photos=None, now=None, expected_version=None):
    ctx = _gate(actor, case, "check", now=now, expected_version=expected_version)
    prepared = _photos(case, ctx, AttachmentStage.CHECK, photos, required=True)
    src = case.state
    _move(
        case,
        ctx,
        CaseState.PENDING_CLOSE,
        checked_at=ctx.now,
        checked_by_id=ctx.person_id,
        check_passed=bool(passed),
        **deadlines.columns_for(DeadlineStep.CLOSE, ctx.now),
    )
    shas = _save_photos(case, ctx, AttachmentStage.CHECK, prepared)
    _event(case, ctx, src, reason=note, passed=bool(passed), photos=shas)
    return case


@transaction.atomic
def do_close(actor, case, *, note="", now=None, expected_version=None):
    ctx = _gate(actor, case, "close", now=now, expected_version=expected_version)
    src = case.state
    _move(
        case,
        ctx,
        CaseState.CLOSED,
        closed_at=ctx.now,
        closed_by_id=ctx.person_id,
        **deadlines.columns_for(None, None),
    )
    _event(case, ctx, src, reason=note, audited_self_handling=case.self_handled)
    _tell_reporter(case, ctx, _("Your report %(n)s has been dealt with and closed.") % {"n": case.number})
    return case


@transaction.atomic
def do_rework(actor, case, *, reason, now=None, expected_version=None):
    ctx = _gate(actor, case, "rework", now=now, expected_version=expected_version)
    _need(reason, _("Give a reason."), "reason")
    src = case.state
    d = deadlines.step_deadline(DeadlineStep.HANDLE, ctx.now, case.problem_class)
    _move(
        case,
        ctx,
        CaseState.HANDLING,
        rework_count=F("rework_count") + 1,
        check_passed=None,
        handled_at=None,
        deadline_step=DeadlineStep.HANDLE,
        warn_at=d.warn_at,
        due_at=d.due_at,
        warned_at=None,
        overdue_at=None,
        handle_due_at=d.due_at,
    )
    case.refresh_from_db(fields=["rework_count"])
    CaseTask.objects.filter(case=case, role=TaskRole.LEAD, state=TaskState.REPORTED).update(
        state=TaskState.ACCEPTED, due_at=d.due_at
    )
    _event(case, ctx, src, reason=reason, unit_id=case.assigned_unit_id)
    notify.notify(
        queries.unit_handlers(case.assigned_unit_id),
        "rework",
        _("Case %(n)s must be reworked") % {"n": case.number},
        reason,
        case=case,
        now=ctx.now,
    )
    return case


@transaction.atomic
def do_evaluate(actor, case, *, satisfaction: int, note="", now=None, expected_version=None):
    ctx = _gate(actor, case, "evaluate", now=now, expected_version=expected_version)
    if not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        raise InvalidInput(
            _("Satisfaction is 1 (very unsatisfied) to 5 (very satisfied)."), field="satisfaction"
        )
    src = case.state
    _move(case, ctx, None, satisfaction=satisfaction, evaluated_at=ctx.now)
    _event(case, ctx, src, reason=note, satisfaction=satisfaction)
    return case


# --- applications: return, postponement, shelving, cancellation -----------------------------------
@transaction.atomic
def do_apply(
    actor, case, kind: str, *, reason, extra_hours=None, now=None, expected_version=None
) -> Application:
    if kind not in ApplicationKind.values:
        raise InvalidInput(_("Unknown kind of application."), field="kind")
    ctx = _gate(actor, case, f"apply_{kind}", now=now, expected_version=expected_version)
    _need(reason, _("Give a reason."), "reason")
    if kind == ApplicationKind.POSTPONE and (not extra_hours or int(extra_hours) <= 0):
        raise InvalidInput(_("Say how many working hours more are needed."), field="extra_hours")
    src = case.state
    _move(case, ctx, None)
    lead = queries.lead_task(case)
    try:
        with transaction.atomic():
            app = Application.objects.create(
                case=case,
                kind=kind,
                applicant_id=ctx.person_id,
                unit_id=getattr(lead, "unit_id", None),
                reason=reason,
                extra_hours=int(extra_hours) if extra_hours else None,
                created_at=ctx.now,
            )
    except IntegrityError as exc:
        raise Conflict(_("An application of this kind is already pending.")) from exc
    _event(case, ctx, src, reason=reason, application=app.pk, kind=kind, extra_hours=app.extra_hours)
    notify.notify(
        queries.people_with_role_over(workflow.APPROVER_OF[kind], case),
        f"apply_{kind}",
        _("%(kind)s requested for case %(n)s") % {"kind": ApplicationKind(kind).label, "n": case.number},
        reason,
        case=case,
        now=ctx.now,
    )
    return app


def _approve_return(case, application, ctx) -> dict:
    """The case goes back to dispatch; its unit's tasks are returned."""
    CaseTask.objects.filter(
        case=case, state__in=[TaskState.PENDING, TaskState.ACCEPTED, TaskState.REPORTED]
    ).update(state=TaskState.RETURNED)
    return {
        "assigned_unit_id": None,
        "return_count": F("return_count") + 1,
        "accepted_at": None,
        **deadlines.columns_for(DeadlineStep.DISPATCH, ctx.now),
    }


def _approve_postpone(case, application, ctx) -> dict:
    """The handling deadline (and the lead task's) moves by the working hours asked for."""
    new_due = deadlines.extend(case.handle_due_at or ctx.now, application.extra_hours or 0)
    new_warn = deadlines.extend(case.warn_at or ctx.now, application.extra_hours or 0)
    cols = {
        "handle_due_at": new_due,
        "due_at": new_due,
        "warn_at": min(new_warn, new_due),
        "postpone_count": F("postpone_count") + 1,
    }
    # A deadline moved into the future may warn and expire again.
    if new_due > ctx.now:
        cols["overdue_at"] = None
    if new_warn > ctx.now:
        cols["warned_at"] = None
    CaseTask.objects.filter(case=case, role=TaskRole.LEAD, state=TaskState.ACCEPTED).update(due_at=new_due)
    return cols


def _approve_shelve(case, application, ctx) -> dict:
    return {"shelve_count": F("shelve_count") + 1, **deadlines.columns_for(None, None)}


def _approve_cancel(case, application, ctx) -> dict:
    """The case is cancelled; its open tasks are withdrawn."""
    CaseTask.objects.filter(case=case, state__in=[TaskState.PENDING, TaskState.ACCEPTED]).update(
        state=TaskState.WITHDRAWN
    )
    return {"cancelled_at": ctx.now, **deadlines.columns_for(None, None)}


# What approving each kind of application does besides the state change: the case columns it sets.
_APPROVAL_EFFECTS = {
    ApplicationKind.RETURN: _approve_return,
    ApplicationKind.POSTPONE: _approve_postpone,
    ApplicationKind.SHELVE: _approve_shelve,
    ApplicationKind.CANCEL: _approve_cancel,
}


def _mark_decided(application: Application, ctx, *, approved: bool, note) -> None:
    """Records the decision unless another one got there first."""
    n = Application.objects.filter(pk=application.pk, state=ApplicationState.PENDING).update(
        state=ApplicationState.APPROVED if approved else ApplicationState.REFUSED,
        decided_by_id=ctx.person_id,
        decided_at=ctx.now,
        decision_note=note,
    )
    if n != 1:
        raise Conflict(_("This application has already been decided."))


@transaction.atomic
def do_decide_application(
    actor, application: Application, *, approved: bool, note="", now=None, expected_version=None
):
    case = Case.objects.select_related("problem_class").get(pk=application.case_id)
    if application.state != ApplicationState.PENDING:
        raise Conflict(_("This application has already been decided."))
    action = f"decide_{application.kind}"
    ctx = _gate(actor, case, action, now=now, expected_version=expected_version)
    _mark_decided(application, ctx, approved=approved, note=note)
    src = case.state
    kind = application.kind
    to = workflow.transition(case.state, action).to_state if approved else None
    cols = _APPROVAL_EFFECTS[kind](case, application, ctx) if approved else {}
    _move(case, ctx, to, **cols)
    if cols:
        case.refresh_from_db()
    _event(
        case,
        ctx,
        src,
        reason=note,
        application=application.pk,
        kind=kind,
        approved=bool(approved),
        unit_id=application.unit_id,
    )
    application.refresh_from_db()
    notify.withdraw(case, [f"apply_{kind}"], now=ctx.now)
    notify.notify(
        application.applicant_id,
        f"decided_{kind}",
        (_("Approved: %(kind)s for case %(n)s") if approved else _("Refused: %(kind)s for case %(n)s"))
        % {"kind": ApplicationKind(kind).label, "n": case.number},
        note,
        case=case,
        now=ctx.now,
    )
    return application


def do_decide(actor, case, *, kind: str, approved: bool | None, note="", now=None, expected_version=None):
    """Decide the case's pending application of ``kind``."""
    application = queries.pending_application(case, kind)
    if application is None:
        # The gate answers first (409 when the table refuses, 403 for the role).
        _gate(actor, case, f"decide_{kind}", now=now, check_pre=False)
        raise InvalidInput(_("There is no pending application of this kind."), field="action")
    if approved is None:
        raise InvalidInput(_("Say whether you approve."), field="approved")
    return do_decide_application(
        actor, application, approved=approved, note=note, now=now, expected_version=expected_version
    )


def do_shelve(actor, case, *, reason, now=None, expected_version=None) -> Application:
    """A handling unit applies for shelving (挂账); the dispatcher decides."""
    return do_apply(
        actor, case, ApplicationKind.SHELVE, reason=reason, now=now, expected_version=expected_version
    )


@transaction.atomic
def do_resume(actor, case, *, reason="", now=None, expected_version=None):
    ctx = _gate(actor, case, "resume", now=now, expected_version=expected_version)
    src = case.state
    d = deadlines.step_deadline(DeadlineStep.HANDLE, ctx.now, case.problem_class)
    _move(
        case,
        ctx,
        CaseState.HANDLING,
        handle_due_at=d.due_at,
        deadline_step=DeadlineStep.HANDLE,
        warn_at=d.warn_at,
        due_at=d.due_at,
        warned_at=None,
        overdue_at=None,
    )
    CaseTask.objects.filter(case=case, role=TaskRole.LEAD, state=TaskState.ACCEPTED).update(due_at=d.due_at)
    _event(case, ctx, src, reason=reason, unit_id=case.assigned_unit_id)
    notify.notify(
        queries.unit_handlers(case.assigned_unit_id),
        "resume",
        _("Shelved case %(n)s is resumed") % {"n": case.number},
        reason,
        case=case,
        now=ctx.now,
    )
    return case


@transaction.atomic
def do_cancel(actor, case, *, reason, now=None, expected_version=None):
    """The shift leader cancels (作废) directly, with a reason."""
    ctx = _gate(actor, case, "cancel", now=now, expected_version=expected_version)
    _need(reason, _("Give a reason."), "reason")
    src = case.state
    _move(case, ctx, CaseState.CANCELLED, cancelled_at=ctx.now, **deadlines.columns_for(None, None))
    CaseTask.objects.filter(case=case, state__in=[TaskState.PENDING, TaskState.ACCEPTED]).update(
        state=TaskState.WITHDRAWN
    )
    Application.objects.filter(case=case, state=ApplicationState.PENDING).update(
        state=ApplicationState.REFUSED, decided_by_id=ctx.person_id, decided_at=ctx.now, decision_note=reason
    )
    _event(case, ctx, src, reason=reason)
    return case


# --- supervision, escalation, on-the-spot handling ------------------------------------------------
@transaction.atomic
def do_supervise(actor, case, *, instruction, due_at=None, now=None, expected_version=None):
    """A supervision order (督办) on a slow case: recorded, counted and sent to the unit."""
    ctx = _gate(actor, case, "supervise", now=now, expected_version=expected_version)
    _need(instruction, _("Write the supervision instruction."), "instruction")
    src = case.state
    _move(case, ctx, None, supervision_count=F("supervision_count") + 1)
    case.refresh_from_db(fields=["supervision_count"])
    _event(
        case,
        ctx,
        src,
        reason=instruction,
        unit_id=case.assigned_unit_id,
        due_at=due_at.isoformat() if due_at else None,
    )
    people = queries.unit_handlers(case.assigned_unit_id) + queries.people_with_role_over(
        Role.DISPATCHER, case
    )
    notify.notify(
        people,
        "supervise",
        _("Supervision order on case %(n)s") % {"n": case.number},
        instruction,
        case=case,
        now=ctx.now,
    )
    return case


@transaction.atomic
def do_escalate(actor, case, *, reason="", auto=False, now=None, expected_version=None):
    """Raise the case one tier (street → district → city); a later dispatch goes to that tier's unit.
    ``actor`` None is the sweeper (automatic escalation after a deadline passed)."""
    ctx = _gate(actor, case, "escalate", now=now, expected_version=expected_version)
    if not auto:
        _need(reason, _("Give a reason."), "reason")
    cur = case.tier if case.tier in queries.TIER_ORDER else Tier.STREET
    new = queries.TIER_ORDER[min(3, max(1, queries.TIER_ORDER.index(cur) + 1))]
    src = case.state
    _move(case, ctx, None, tier=new, escalation_count=F("escalation_count") + 1, escalated_at=ctx.now)
    case.refresh_from_db(fields=["escalation_count"])
    _event(
        case, ctx, src, reason=reason, from_tier=cur, to_tier=new, auto=bool(auto), step=case.deadline_step
    )
    leader = {Tier.DISTRICT: Role.DISTRICT_LEADER, Tier.CITY: Role.CITY_LEADER}.get(new, Role.STREET_LEADER)
    people = queries.people_with_role_over(leader, case) + queries.people_with_role_over(
        Role.DISPATCHER, case
    )
    notify.notify(
        people,
        "escalate",
        _("Case %(n)s escalated to the %(tier)s tier") % {"n": case.number, "tier": Tier(new).label},
        reason,
        case=case,
        now=ctx.now,
    )
    return case


@transaction.atomic
def do_self_handle(
    actor, case, *, response, note="", photos_before=None, photos_after=None, now=None, expected_version=None
):
    """自处置: a grid worker fixes a small matter on the spot (classes with on_spot_allowed);
    the shift leader audits it afterwards (close, or register it for a unit)."""
    ctx = _gate(actor, case, "self_handle", now=now, expected_version=expected_version)
    if response not in Response.values:
        raise InvalidInput(_("Choose the response taken."), field="response")
    before = _photos(case, ctx, AttachmentStage.BEFORE, photos_before, required=True)
    after = _photos(case, ctx, AttachmentStage.AFTER, photos_after, required=True)
    src = case.state
    _move(
        case,
        ctx,
        CaseState.PENDING_CLOSE,
        self_handled=True,
        handled_at=ctx.now,
        response=response,
        tier=Tier.GRID,
        check_passed=None,
        **deadlines.columns_for(DeadlineStep.CLOSE, ctx.now),
    )
    b = _save_photos(case, ctx, AttachmentStage.BEFORE, before)
    a = _save_photos(case, ctx, AttachmentStage.AFTER, after)
    _event(case, ctx, src, reason=note, response=response, photos_before=b, photos_after=a)
    return case


# --- helpers -----------------------------------------------------------------------------------------
def _tell_reporter(case, ctx, text: str) -> None:
    if case.reporter_person_id:
        notify.notify(case.reporter_person_id, "outcome", text, "", case=case, now=ctx.now)
    elif case.reporter_phone and not case.anonymous:
        notify.notify_phone(case.reporter_phone, "outcome", text, "", case=case, now=ctx.now)


def perform(actor, case, action: str, **fields):
    """Run ``action`` with a client's fields (an API body, a console form): the do_* function its
    record names, given the application kind for apply_*/decide_*."""
    spec = workflow.ACTIONS_BY_NAME[action]
    return globals()[spec.handler](actor, case, **spec.handler_args, **fields)


# --- photos and inbox (writes that are not transitions) ---------------------------------------------
@transaction.atomic
def do_upload_photo(actor, case, stage: str, upload, *, now=None):
    """Attach a photo ahead of the action that needs it; audited as a CaseEvent without a state
    change. Idempotent by content: the same bytes again return the existing attachment."""
    now = now or timezone.now()
    if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise NotFound(_("No such case."))
    if case.state in (CaseState.CLOSED, CaseState.CANCELLED, CaseState.REJECTED):
        raise Conflict(_("Photos cannot be added to a finished case."))
    att, created = attachments.store(case, stage, upload, user=actor, now=now)
    if created:
        CaseEvent.objects.create(
            case=case,
            at=now,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_person_id=scope_for(actor).person_id,
            role="",
            action="photo",
            from_state=case.state,
            to_state=case.state,
            payload={"stage": stage, "sha256": att.sha256},
        )
    return att, created


@transaction.atomic
def do_mark_read(actor, notification_id=None, *, now=None) -> int:
    """Mark one (or, with None, every) notification of the actor's inbox read; audited, so that
    who cleared which unread alerts (an overdue warning, say) and when stays on record."""

    pid = scope_for(actor).person_id
    if pid is None:
        raise NotFound(_("You have no inbox."))
    qs = Notification.objects.filter(recipient_id=pid, read_at__isnull=True)
    if notification_id is not None:
        if not Notification.objects.filter(pk=notification_id, recipient_id=pid).exists():
            raise NotFound(_("No such notification."))
        qs = qs.filter(pk=notification_id)
    ids = list(qs.values_list("id", flat=True))
    marked = Notification.objects.filter(id__in=ids, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    if marked:
        record(
            actor,
            "notification.read" if notification_id is not None else "notification.read_all",
            None,
            summary=f"person {pid}: {marked}",
            person_id=pid,
            notification_ids=ids,
        )
    return marked


# --- the reporter's contact --------------------------------------------------------------------
@transaction.atomic
def do_read_reporter_contact(actor, case: Case, *, via: str) -> dict | None:
    """The reporter's name and phone for one who may see them (else None): the contact roles and
    the account that reported, while the reporter is not anonymous. An anonymous reporter's
    contact reaches only the roles that call reporters back (the operator who took the call
    too: the account is theirs, not the caller's), and each such read is audited."""

    if not (case.reporter_name or case.reporter_phone):
        return None
    contact = {"name": case.reporter_name, "phone": case.reporter_phone}
    scope = scope_for(actor)
    if not case.anonymous:
        reporter = case.reporter_user_id is not None and case.reporter_user_id == getattr(actor, "pk", None)
        return contact if reporter or policy.can_see_reporter_contact(scope) else None
    if not policy.can_reveal_anonymous_contact(scope):
        return None
    audit.record(
        actor,
        "read_anonymous_contact",
        case,
        summary=_("Read the anonymous reporter's contact of case %(n)s") % {"n": case.number},
        via=via,
    )
    return contact
