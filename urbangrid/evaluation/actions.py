"""Writes of the evaluation app: every one is a do_* action under one transaction with an audit record.

Who may do what (checked through the actor's scope):
* centre and leaders issue and close supervision orders, start spot checks and record
  accountability (``policy.can_supervise``); the unit addressed replies to its orders (unit roles, own unit);
* the inspector of a spot check (or the centre) records its findings;
* city/district leaders and administrators publish assessments and manage scheme versions.
Objects outside the actor's jurisdiction are answered as missing (NotFound).
"""

from __future__ import annotations

import contextlib
import inspect
import random
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.cases.models import Case
from urbangrid.geo.models import Region
from urbangrid.lib.access import require, scope_for
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from urbangrid.lib.roles import UNIT_ROLES, Role
from urbangrid.orgs.models import Person, Unit

from . import indicators
from . import policy as P
from .choices import (
    AccountabilityKind,
    OrderKind,
    OrderState,
    ReportState,
    SchemeState,
    SpotCheckState,
    SpotResult,
    SubjectKind,
)
from .models import (
    AccountabilityRecord,
    AdjustmentRule,
    Assessment,
    AssessmentResult,
    NumberSequence,
    Report,
    Scheme,
    SchemeVersion,
    SchemeWeight,
    SpotCheck,
    SpotCheckItem,
    SupervisionOrder,
    VolumeBand,
)
from .periods import Period
from .scoring import evaluate
from .tasks import build_report


def _not_allowed() -> str:
    return _("Your role does not allow this action.")


def _next_number(prefix: str, now: datetime) -> str:
    key = f"{prefix}{now:%Y}"
    NumberSequence.objects.get_or_create(key=key)
    seq = NumberSequence.objects.select_for_update().get(key=key)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{key}-{seq.last:06d}"


def _text(value, field, message):
    value = (value or "").strip()
    if not value:
        raise InvalidInput(message, field=field)
    return value


# ------------------------------------------------------------------ supervision orders
@transaction.atomic
def do_issue_order(
    actor,
    *,
    unit,
    title: str,
    body: str,
    deadline: datetime,
    case=None,
    indicator: str = "",
    indicator_value: float | None = None,
    threshold: float | None = None,
    period_label: str = "",
    now: datetime | None = None,
) -> SupervisionOrder:
    """Issue a supervision order (督办) to a unit about a case or about an indicator pattern.
    A case order also counts on the case through the cases app's do_supervise."""

    scope = require(actor, P.can_supervise, _not_allowed())
    now = now or timezone.now()
    title = _text(title, "title", _("Give the order a title."))
    body = _text(body, "body", _("Write what the unit must do and report."))
    if deadline is None or deadline <= now:
        raise InvalidInput(_("The reply deadline must be in the future."), field="deadline")
    region = None
    if case is not None:
        if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
            raise NotFound(_("Case not found."))
        unit = unit or case.assigned_unit
        region = case.street or case.district
    if unit is None:
        raise InvalidInput(_("Choose the unit the order is addressed to."), field="unit")
    if not isinstance(unit, Unit):
        unit = Unit.objects.filter(pk=unit).first()
        if unit is None:
            raise NotFound(_("Unit not found."))
    if region is None:
        region = unit.region
    if indicator:
        from . import indicators

        indicators.get(indicator)
    if (
        not scope.all_city
        and region is not None
        and region.id not in scope.subtree_region_ids
        and case is None
    ):
        raise NotFound(_("Unit not found."))
    order = SupervisionOrder.objects.create(
        number=_next_number("DB", now),
        kind=OrderKind.CASE if case is not None else OrderKind.PATTERN,
        unit=unit,
        case=case,
        region=region,
        indicator=indicator,
        indicator_value=indicator_value,
        threshold=threshold,
        period_label=period_label,
        title=title,
        body=body,
        deadline=deadline,
        issued_at=now,
        issued_by=actor,
    )
    if case is not None:
        _supervise_case(actor, case, order, now)
    record(
        actor,
        "evaluation.order.issue",
        order,
        summary=f"{order.number} → {unit.name}: {title}",
        unit=unit.id,
        case=case.number if case else None,
        deadline=deadline.isoformat(),
    )
    _notify_unit(unit, order, now)
    return order


def _supervise_case(actor, case, order, now):
    """Bump the case's supervision counter and timeline through the cases app's own action."""
    try:
        from urbangrid.cases.actions import do_supervise
    except ImportError:  # the cases app has no such action yet
        return
    params = inspect.signature(do_supervise).parameters
    kwargs = {}
    if "instruction" in params:
        kwargs["instruction"] = f"[{order.number}] {order.title}\n{order.body}"
    if "due_at" in params:
        kwargs["due_at"] = order.deadline
    if "now" in params:
        kwargs["now"] = now
    do_supervise(actor, case, **kwargs)


def _notify_unit(unit, order, now):
    try:
        from urbangrid.cases.notify import notify
    except ImportError:
        return

    people = list(Person.objects.filter(unit=unit, is_active=True, roles__role__in=UNIT_ROLES).distinct())
    if not people:
        return
    with contextlib.suppress(TypeError):
        notify(
            people,
            "supervision_order",
            _("Supervision order %(n)s: %(t)s") % {"n": order.number, "t": order.title},
            order.body,
            case=order.case,
        )


def _visible_order(actor, order) -> SupervisionOrder:
    return SupervisionOrder.objects.access(actor, order, _("Supervision order not found."), for_update=True)


@transaction.atomic
def do_reply_order(actor, order, *, reply: str, now: datetime | None = None) -> SupervisionOrder:
    """The addressed unit's written reply (整改情况). A reply after the deadline is recorded as late."""
    now = now or timezone.now()
    order = _visible_order(actor, order)
    scope = scope_for(actor)
    if not P.can_reply_order(scope, order):
        raise PermissionDenied(_("Only the unit addressed can reply to this order."))
    if order.state != OrderState.ISSUED:
        raise Conflict(_("This order has already been replied to."))
    reply = _text(reply, "reply", _("Write the reply."))
    order.reply, order.replied_at, order.replied_by, order.state = reply, now, actor, OrderState.REPLIED
    order.save(update_fields=["reply", "replied_at", "replied_by", "state"])
    record(actor, "evaluation.order.reply", order, summary=order.number, late=order.replied_late)
    return order


@transaction.atomic
def do_close_order(actor, order, *, satisfactory: bool, note: str = "", now: datetime | None = None):
    """The issuer side accepts (closes) the reply, or sends it back for a new reply."""
    now = now or timezone.now()
    require(actor, P.can_supervise, _not_allowed())
    order = _visible_order(actor, order)
    if order.state != OrderState.REPLIED:
        raise Conflict(_("Only a replied order can be closed or sent back."))
    if satisfactory:
        order.state, order.closed_at, order.closed_by, order.satisfactory = (
            OrderState.CLOSED,
            now,
            actor,
            True,
        )
        order.close_note = note.strip()
    else:
        _text(note, "note", _("Say why the reply is not accepted."))
        # Back to the unit; the first reply stays in the audit trail.
        order.state, order.satisfactory, order.close_note = OrderState.ISSUED, False, note.strip()
    order.save(update_fields=["state", "closed_at", "closed_by", "satisfactory", "close_note"])
    record(
        actor,
        "evaluation.order.close" if satisfactory else "evaluation.order.send_back",
        order,
        summary=order.number,
        note=note,
        previous_reply=order.reply,
    )
    return order


# ---------------------------------------------------------------------------- spot checks
def sample_ids(ids: list[int], size: int, seed: int) -> list[int]:
    """A reproducible sample: the same population and seed always give the same cases."""
    pool = sorted(ids)
    return sorted(random.Random(seed).sample(pool, min(size, len(pool))))


@transaction.atomic
def do_start_spot_check(
    actor,
    *,
    region,
    period: Period,
    sample_size: int,
    inspector,
    seed: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> SpotCheck:
    """Draw a random sample of cases closed in the area and period for re-inspection."""

    scope = require(actor, P.can_supervise, _not_allowed())
    now = now or timezone.now()
    if not Region.objects.visible_to(actor).filter(pk=region.pk).exists() or (
        not scope.all_city and region.id not in scope.subtree_region_ids
    ):
        raise NotFound(_("Area not found."))
    if not isinstance(sample_size, int) or not 1 <= sample_size <= 500:
        raise InvalidInput(_("The sample size must be between 1 and 500."), field="sample_size")
    if not Person.objects.filter(pk=inspector.pk, roles__role=Role.GRID_WORKER).exists():
        raise InvalidInput(_("The inspector must be a grid worker."), field="inspector")
    col = {2: "district", 3: "street", 4: "community"}.get(region.level)
    cases = Case.objects.filter(state="closed", closed_at__gte=period.start_dt, closed_at__lt=period.end_dt)
    if col:
        cases = cases.filter(**{col: region})
    ids = list(cases.values_list("id", flat=True))
    if not ids:
        raise InvalidInput(_("No case was closed in this area and period."), field="period")
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**62)
    check = SpotCheck.objects.create(
        number=_next_number("CC", now),
        region=region,
        period_start=period.start,
        period_end=period.end,
        sample_size=sample_size,
        seed=seed,
        population=len(ids),
        inspector=inspector,
        note=note.strip(),
        created_at=now,
        created_by=actor,
    )
    SpotCheckItem.objects.bulk_create(
        SpotCheckItem(spot_check=check, case_id=i) for i in sample_ids(ids, sample_size, seed)
    )
    record(
        actor,
        "evaluation.spot_check.start",
        check,
        summary=f"{check.number} {region.name} {period.label}",
        sample=sample_size,
        population=len(ids),
        seed=seed,
    )
    return check


@transaction.atomic
def do_record_spot_result(
    actor, item, *, passed: bool, note: str = "", now: datetime | None = None
) -> SpotCheckItem:
    """The inspector's finding on one sampled case; the check completes with its last item."""
    now = now or timezone.now()
    scope = scope_for(actor)
    item = (
        SpotCheckItem.objects.select_for_update()
        .filter(pk=getattr(item, "pk", item), spot_check__in=SpotCheck.objects.visible_to(actor))
        .select_related("spot_check")
        .first()
    )
    if item is None:
        raise NotFound(_("Spot check item not found."))
    if not P.can_record_spot_result(scope, item.spot_check):
        raise PermissionDenied(_("Only the appointed inspector records findings."))
    if item.result != SpotResult.PENDING:
        raise Conflict(_("This case has already been inspected."))
    if not passed:
        _text(note, "note", _("Describe what was found."))
    item.result = SpotResult.PASSED if passed else SpotResult.FAILED
    item.note, item.inspected_at, item.inspected_by_id = note.strip(), now, scope.person_id
    item.save(update_fields=["result", "note", "inspected_at", "inspected_by"])
    check = item.spot_check
    if not check.items.filter(result=SpotResult.PENDING).exists():
        check.state = SpotCheckState.DONE
        check.save(update_fields=["state"])
    record(
        actor,
        "evaluation.spot_check.result",
        item,
        summary=f"{check.number} case {item.case_id}: {item.result}",
    )
    return item


# ------------------------------------------------------------------------ accountability
def _all_visible(model, actor, objs, not_found: str) -> list:
    """The objects as a list, each one visible to the actor (else NotFound)."""
    objs = list(objs)
    if objs and model.objects.visible_to(actor).filter(pk__in=[o.pk for o in objs]).count() != len(objs):
        raise NotFound(not_found)
    return objs


def _evidence(actor, cases, orders) -> tuple[list, list]:
    """The cases and supervision orders an accountability record rests on: at least one."""

    case_list = _all_visible(Case, actor, cases, _("Case not found."))
    order_list = _all_visible(SupervisionOrder, actor, orders, _("Supervision order not found."))
    if not case_list and not order_list:
        raise InvalidInput(_("Link the evidence: at least one case or supervision order."), field="cases")
    return case_list, order_list


@transaction.atomic
def do_record_accountability(
    actor, *, kind: str, reason: str, unit=None, person=None, cases=(), orders=(), now: datetime | None = None
) -> AccountabilityRecord:
    """Record an accountability measure (追责问效) against a unit and/or person with its evidence."""
    scope = require(actor, P.can_hold_accountable, _not_allowed())
    now = now or timezone.now()
    if kind not in AccountabilityKind.values:
        raise InvalidInput(_("Unknown accountability measure."), field="kind")
    reason = _text(reason, "reason", _("Give the reason."))
    if unit is None and person is None:
        raise InvalidInput(_("Name the unit or person held accountable."), field="unit")
    if unit is None:
        unit = person.unit
    case_list, order_list = _evidence(actor, cases, orders)
    region = unit.region if unit is not None else None
    if region is not None and not scope.all_city and region.id not in scope.subtree_region_ids:
        raise NotFound(_("Unit not found."))
    rec = AccountabilityRecord.objects.create(
        unit=unit, person=person, region=region, kind=kind, reason=reason, decided_at=now, decided_by=actor
    )
    rec.cases.set(case_list)
    rec.orders.set(order_list)
    record(
        actor,
        "evaluation.accountability",
        rec,
        summary=f"{rec.get_kind_display()}: {unit or person}",
        cases=[c.pk for c in case_list],
        orders=[o.pk for o in order_list],
    )
    return rec


# ------------------------------------------------------------------- schemes and publishing
@transaction.atomic
def do_new_scheme_version(
    actor, scheme: Scheme, *, weights=None, note: str = "", activate: bool = True
) -> SchemeVersion:
    """Copy the scheme's latest version into a new one, with ``weights`` {kind: {indicator: %}}
    replacing those of the kinds given. Activating retires the previous active version."""

    require(actor, P.can_manage_schemes, _not_allowed())
    base = scheme.versions.order_by("-number").first()
    number = (base.number + 1) if base else 1
    v = SchemeVersion.objects.create(
        scheme=scheme,
        number=number,
        state=SchemeState.DRAFT,
        note=note.strip(),
        created_by=actor,
        valid_from=timezone.localdate(),
    )
    weights = weights or {}
    for kind, ws in weights.items():
        for code, w in ws.items():
            ind = indicators.get(code)
            if kind not in ind.kinds:
                raise InvalidInput(
                    _("Indicator %(c)s does not apply to %(k)s.") % {"c": code, "k": kind}, field="weights"
                )
            try:
                if not 0 <= Decimal(str(w)) <= 100:
                    raise InvalidOperation
            except InvalidOperation:
                raise InvalidInput(
                    _("A weight is a percentage between 0 and 100."), field="weights"
                ) from None
    if base is not None:
        SchemeWeight.objects.bulk_create(
            SchemeWeight(version=v, subject_kind=w.subject_kind, indicator=w.indicator, weight=w.weight)
            for w in base.weights.exclude(subject_kind__in=list(weights))
        )
        VolumeBand.objects.bulk_create(
            VolumeBand(
                version=v,
                subject_kind=b.subject_kind,
                indicator=b.indicator,
                min_value=b.min_value,
                score=b.score,
            )
            for b in base.bands.all()
        )
        AdjustmentRule.objects.bulk_create(
            AdjustmentRule(version=v, subject_kind=a.subject_kind, kind=a.kind, points=a.points, cap=a.cap)
            for a in base.adjustments.all()
        )
    SchemeWeight.objects.bulk_create(
        SchemeWeight(version=v, subject_kind=kind, indicator=code, weight=Decimal(str(w)))
        for kind, ws in weights.items()
        for code, w in ws.items()
    )
    if activate:
        scheme.versions.filter(state=SchemeState.ACTIVE).update(state=SchemeState.RETIRED)
        v.state = SchemeState.ACTIVE
        v.save(update_fields=["state"])
    record(actor, "evaluation.scheme.version", v, summary=str(v), weights=weights)
    return v


@transaction.atomic
def do_publish(
    actor, version: SchemeVersion, kind: str, period: Period, *, note: str = "", as_of: datetime | None = None
) -> Assessment:
    """Freeze the version's results for a period and subject kind. A period can be published
    once per version; recomputing it needs a new scheme version."""

    require(actor, P.can_publish, _not_allowed())
    if kind not in SubjectKind.values:
        raise InvalidInput(_("Unknown subject kind."), field="kind")
    now = timezone.now()
    if period.end_dt > now:
        raise InvalidInput(_("Only a period that has ended can be published."), field="period")
    if Assessment.objects.filter(
        version=version, subject_kind=kind, period_start=period.start, period_end=period.end
    ).exists():
        raise Conflict(
            _(
                "This period is already published under this scheme version; create a new version to recompute."
            )
        )
    ev = evaluate(kind, period, version, as_of=as_of)
    a = Assessment.objects.create(
        version=version,
        subject_kind=kind,
        period_kind=period.kind,
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        published_at=now,
        published_by=actor,
        note=note.strip(),
    )

    def dec(x):
        return None if x is None else Decimal(str(round(x, 2)))

    AssessmentResult.objects.bulk_create(
        AssessmentResult(
            assessment=a,
            subject_key=r.subject.key,
            subject_name=r.subject.name[:120],
            region_id=r.subject.region_id,
            unit_id=r.subject.unit_id if kind == "unit" else None,
            values={code: m.as_dict() for code, m in r.measures.items()}
            | {"_scores": {c: None if s is None else round(s, 2) for c, s in r.scores.items()}},
            base_score=dec(r.base),
            adjustment=dec(r.adjustment) or 0,
            adjustments=r.adjustments,
            total=dec(r.total),
            grade=r.grade,
            rank=r.rank,
        )
        for r in ev.rows
    )
    record(actor, "evaluation.publish", a, summary=str(a), rows=len(ev.rows))
    return a


# ------------------------------------------------------------------------------ reports
@transaction.atomic
def do_request_report(actor, *, region, period: Period, version: SchemeVersion) -> Report:
    """Queue a monthly assessment report (Excel + PDF) for a district or street."""

    scope = require(actor, P.can_supervise, _not_allowed())
    if region.level not in (2, 3):
        raise InvalidInput(_("Reports are made for a district or a street/town."), field="region")
    if not scope.all_city and region.id not in scope.subtree_region_ids:
        raise NotFound(_("Area not found."))
    report = Report.objects.create(
        region=region,
        version=version,
        period_label=period.label,
        requested_by=actor,
        requested_at=timezone.now(),
        state=ReportState.QUEUED,
        message=_("Waiting for the worker"),
    )
    record(actor, "evaluation.report.request", report, summary=f"{region.name} {period.label}")

    def enqueue():
        result = build_report.enqueue(report.pk)
        Report.objects.filter(pk=report.pk).update(task_id=str(getattr(result, "id", ""))[:64])

    transaction.on_commit(enqueue)
    return report


def default_deadline(now: datetime | None = None, days: int = 5) -> datetime:
    return (now or timezone.now()) + timedelta(days=days)
