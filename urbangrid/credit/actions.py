"""Writes of the credit app: every one is a do_* action under one transaction with an audit record.

Permissions: registering subjects and recording violations — enforcement officers, unit handlers
and leaders, dispatchers; penalty decisions — enforcement officers and unit leaders; credit repair —
unit, district and city leaders; rule sets — administrators. Subjects and cases outside the actor's
jurisdiction are answered as missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangrid.cases.models import Case
from urbangrid.lib.access import is_admin, require
from urbangrid.lib.audit import record
from urbangrid.lib.errors import Conflict, InvalidInput, NotFound
from urbangrid.orgs.models import Person

from . import identity, queries
from .choices import (
    ORGANISATION_KINDS,
    ExitReason,
    ListKind,
    ListRule,
    PenaltyKind,
    PenaltyState,
    Severity,
    SubjectKind,
    ViolationKind,
    ViolationState,
)
from .models import CaseSubject, CreditRuleSet, ListEntry, Penalty, RulePoints, Subject, Violation
from .policy import can_approve_repair, can_issue_penalty, can_record_credit


def _may_not(what: str) -> str:
    return _("You may not %(what)s.") % {"what": what}


def _person(actor):

    return (
        Person.objects.filter(user=actor).select_related("unit").first()
        if getattr(actor, "pk", None)
        else None
    )


def _visible_subject(actor, subject) -> Subject:
    return Subject.objects.access(actor, subject, _("Subject not found."))


def _visible_case(actor, case):
    return Case.objects.access(actor, case, _("Case not found."))


def _clean_identity(kind: str, uscc: str, id_number: str) -> tuple[str | None, str | None]:
    uscc, id_number = identity.normalise(uscc), identity.normalise(id_number)
    if kind in ORGANISATION_KINDS:
        if not uscc:
            raise InvalidInput(
                _("A business or property company needs its unified social credit code."), field="uscc"
            )
        if not identity.is_valid_uscc(uscc):
            raise InvalidInput(
                _("The unified social credit code is not valid (18 characters, check digit per GB 32100)."),
                field="uscc",
            )
        if id_number:
            raise InvalidInput(_("An organisation has no resident ID number."), field="id_number")
        return uscc, None
    if uscc and not identity.is_valid_uscc(uscc):
        raise InvalidInput(
            _("The unified social credit code is not valid (18 characters, check digit per GB 32100)."),
            field="uscc",
        )
    if kind == SubjectKind.INDIVIDUAL and not id_number:
        raise InvalidInput(_("An individual needs a resident ID number."), field="id_number")
    if id_number and not identity.is_valid_id_number(id_number):
        raise InvalidInput(
            _("The resident ID number is not valid (18 characters, check digit per GB 11643)."),
            field="id_number",
        )
    return uscc or None, id_number or None


@transaction.atomic
def do_register_subject(
    actor,
    *,
    kind: str,
    name: str,
    uscc: str = "",
    id_number: str = "",
    legal_representative: str = "",
    phone: str = "",
    address: str = "",
    region=None,
    now: datetime | None = None,
) -> Subject:
    """Register a subject (a business, stall owner, property company or individual)."""
    now = now or timezone.now()
    require(actor, can_record_credit, _may_not(_("register credit subjects")))
    if kind not in SubjectKind.values:
        raise InvalidInput(_("Unknown subject kind."), field="kind")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A name is required."), field="name")
    uscc_v, id_v = _clean_identity(kind, uscc, id_number)
    if region is not None:
        from urbangrid.geo.models import Region

        if not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
            raise NotFound(_("Area not found."))
    if uscc_v and Subject.objects.filter(uscc=uscc_v).exists():
        raise Conflict(
            _("A subject with this unified social credit code is already registered."), field="uscc"
        )
    if id_v and Subject.objects.filter(id_number=id_v).exists():
        raise Conflict(_("A subject with this ID number is already registered."), field="id_number")
    person = _person(actor)
    subject = Subject.objects.create(
        kind=kind,
        name=name[:120],
        uscc=uscc_v,
        id_number=id_v,
        legal_representative=legal_representative.strip()[:60],
        phone=phone.strip()[:20],
        address=address.strip()[:200],
        region=region,
        registered_by_unit=person.unit if person else None,
        score=active_rules_base(),
        created_at=now,
        updated_at=now,
    )
    # The audit keeps no identity number in clear (the row itself is the protected copy).
    record(actor, "credit.register_subject", subject, summary=subject.name, kind=kind, at=now)
    return subject


def active_rules_base() -> Decimal:
    return Decimal(queries.active_rule_set().base_score)


@transaction.atomic
def do_name_subject_on_case(actor, case, subject, *, now: datetime | None = None) -> CaseSubject:
    """A case names the subject responsible for the problem (idempotent)."""
    now = now or timezone.now()
    require(actor, can_record_credit, _may_not(_("name subjects on cases")))
    case = _visible_case(actor, case)
    subject = _visible_subject(actor, subject)
    link, created = CaseSubject.objects.get_or_create(
        case=case, subject=subject, defaults={"named_by": actor, "named_at": now}
    )
    if created:
        record(
            actor,
            "credit.name_subject",
            link,
            summary=f"{case.number} · {subject.name}",
            case=case.number,
            at=now,
        )
    return link


def _moment(now) -> datetime:
    """The moment an action writes at: ``now`` when it is one, else the clock (a replayed day
    alone has no time of day)."""
    return now if isinstance(now, datetime) else timezone.now()


def _today(now) -> date:
    """The day an action acts on: today, or a replayed day (demo history, tests at given dates)."""
    if now is None:
        return timezone.localdate()
    return timezone.localdate(now) if hasattr(now, "hour") else now


def _parse_day(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("Not a valid date."), field=field) from None


@transaction.atomic
def do_record_violation(
    actor,
    subject,
    *,
    kind: str,
    severity: str = Severity.GENERAL,
    occurred_on=None,
    description: str = "",
    case=None,
    now=None,
) -> Violation:
    """Record a confirmed violation (linked to its case) and re-evaluate the subject's score and lists."""
    at = _moment(now)
    require(actor, can_record_credit, _may_not(_("record violations")))
    subject = _visible_subject(actor, subject)
    if kind not in ViolationKind.values:
        raise InvalidInput(_("Unknown violation kind."), field="kind")
    if severity not in Severity.values:
        raise InvalidInput(_("Unknown severity."), field="severity")
    today = _today(now)
    occurred_on = _parse_day(occurred_on, "occurred_on") or today
    if occurred_on > today:
        raise InvalidInput(_("A violation cannot be in the future."), field="occurred_on")
    if case is not None:
        case = _visible_case(actor, case)
        if occurred_on < timezone.localdate(case.reported_at):
            raise InvalidInput(
                _("The violation cannot predate the case it was found in."), field="occurred_on"
            )
    person = _person(actor)
    violation = Violation.objects.create(
        subject=subject,
        case=case,
        kind=kind,
        severity=severity,
        occurred_on=occurred_on,
        occurred_day=occurred_on.toordinal(),
        description=description.strip(),
        recorded_by=person,
        unit=person.unit if person else None,
        created_at=at,
    )
    if case is not None:
        CaseSubject.objects.get_or_create(
            case=case, subject=subject, defaults={"named_by": actor, "named_at": at}
        )
    record(
        actor,
        "credit.record_violation",
        violation,
        summary=f"{subject.name} {kind}/{severity}",
        subject=subject.pk,
        case=case.number if case else None,
        occurred_on=occurred_on.isoformat(),
        at=at,
    )
    _evaluate(actor, subject, today, at=at)
    return violation


@transaction.atomic
def do_revoke_violation(actor, violation, reason: str, *, now=None) -> Violation:
    """Revoke a violation recorded in error (kept, excluded from the score)."""
    at = _moment(now)
    require(actor, can_issue_penalty, _may_not(_("revoke violations")))
    violation = Violation.objects.visible_to(actor).select_for_update().filter(pk=violation.pk).first()
    if violation is None:
        raise NotFound(_("Violation not found."))
    if not reason.strip():
        raise InvalidInput(_("Give the reason for the revocation."), field="reason")
    if violation.state != ViolationState.CONFIRMED:
        raise Conflict(_("The violation is already revoked."))
    violation.state = ViolationState.REVOKED
    violation.revoke_reason = reason.strip()[:200]
    violation.save(update_fields=["state", "revoke_reason"])
    record(actor, "credit.revoke_violation", violation, summary=reason[:100], at=at)
    today = _today(now)
    _close_unfounded_entries(actor, violation.subject, today, violation.revoke_reason, at)
    _evaluate(actor, violation.subject, today, at=at)
    return violation


def _close_unfounded_entries(
    actor, subject: Subject, today: date, reason: str, at: datetime
) -> list[ListEntry]:
    """After a revocation: close (as revoked, not as repaired) the active list entries that no
    confirmed violation supports any more (none since the subject last left that list). Without
    this the next evaluation finds such a subject "clean" and records an automatic credit repair."""
    closed = []
    for entry in (
        ListEntry.objects.active().select_for_update().filter(subject=subject).exclude(rule=ListRule.MANUAL)
    ):
        since = ListEntry.objects.filter(
            subject=subject,
            list_kind=entry.list_kind,
            removed_on__isnull=False,
            removed_on__lte=entry.entered_on,
        ).aggregate(m=Max("removed_on"))["m"]
        basis = Violation.objects.filter(subject=subject, state=ViolationState.CONFIRMED)
        if since is not None:
            basis = basis.filter(occurred_on__gt=since)
        if basis.exists():
            continue
        entry.removed_on = today
        entry.exit_reason = ExitReason.REVOKED
        entry.exit_note = reason[:200]
        entry.removed_by = actor if getattr(actor, "pk", None) else None
        entry.save(update_fields=["removed_on", "exit_reason", "exit_note", "removed_by"])
        record(actor, "credit.revoke_list_entry", entry, summary=f"{subject.name} ← {entry.list_kind}", at=at)
        closed.append(entry)
    return closed


def _decision_day(decided_on, violation, now):
    """The decision's date (default today): not in the future, not before the violation."""
    decided_on = _parse_day(decided_on, "decided_on") or _today(now)
    if decided_on > _today(now):
        raise InvalidInput(_("A decision cannot be dated in the future."), field="decided_on")
    if decided_on < violation.occurred_on:
        raise InvalidInput(_("The decision cannot predate the violation."), field="decided_on")
    return decided_on


def _fine_amount(kind: str, amount) -> Decimal | None:
    """A fine's amount in yuan (to the fen); the other kinds have none."""
    if kind != PenaltyKind.FINE:
        if amount not in (None, ""):
            raise InvalidInput(_("Only a fine has an amount."), field="amount")
        return None
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(_("A fine needs an amount in yuan."), field="amount") from None
    if value <= 0:
        raise InvalidInput(_("A fine needs an amount in yuan."), field="amount")
    return value


def _check_rectify_deadline(kind: str, rectify_by, decided_on) -> None:
    """The deadline to rectify: required for an order to rectify, never before the decision."""
    if kind == PenaltyKind.RECTIFY and rectify_by is None:
        raise InvalidInput(_("An order to rectify needs a deadline."), field="rectify_by")
    if rectify_by is not None and rectify_by < decided_on:
        raise InvalidInput(_("The deadline cannot be before the decision."), field="rectify_by")


@transaction.atomic
def do_issue_penalty(
    actor,
    violation,
    *,
    kind: str,
    decision_number: str,
    decided_on=None,
    amount=None,
    rectify_by=None,
    note: str = "",
    now=None,
) -> Penalty:
    """Issue a penalty decision: warning, fine (with amount) or order to rectify (with deadline)."""
    at = _moment(now)
    require(actor, can_issue_penalty, _may_not(_("issue penalty decisions")))
    violation = Violation.objects.visible_to(actor).filter(pk=violation.pk).select_related("subject").first()
    if violation is None:
        raise NotFound(_("Violation not found."))
    if violation.state != ViolationState.CONFIRMED:
        raise Conflict(_("A revoked violation cannot be penalised."))
    if kind not in PenaltyKind.values:
        raise InvalidInput(_("Unknown penalty kind."), field="kind")
    decision_number = (decision_number or "").strip()
    if not decision_number:
        raise InvalidInput(_("The decision number is required."), field="decision_number")
    decided_on = _decision_day(decided_on, violation, now)
    rectify_by = _parse_day(rectify_by, "rectify_by")
    value = _fine_amount(kind, amount)
    _check_rectify_deadline(kind, rectify_by, decided_on)
    if Penalty.objects.filter(decision_number=decision_number).exists():
        raise Conflict(_("This decision number is already used."), field="decision_number")
    person = _person(actor)
    # A warning asks nothing further of the subject: it is fulfilled when issued.
    fulfilled = kind == PenaltyKind.WARNING
    try:
        with transaction.atomic():
            penalty = Penalty.objects.create(
                violation=violation,
                kind=kind,
                decision_number=decision_number,
                decided_on=decided_on,
                amount=value,
                rectify_by=rectify_by,
                state=PenaltyState.FULFILLED if fulfilled else PenaltyState.ISSUED,
                fulfilled_on=decided_on if fulfilled else None,
                issued_by=person,
                unit=person.unit if person else None,
                note=note.strip()[:200],
                created_at=at,
            )
    except IntegrityError:
        raise Conflict(_("This decision number is already used."), field="decision_number") from None
    record(
        actor,
        "credit.issue_penalty",
        penalty,
        summary=decision_number,
        kind=kind,
        amount=str(value) if value is not None else None,
        subject=violation.subject_id,
        at=at,
    )
    return penalty


@transaction.atomic
def do_fulfil_penalty(actor, penalty, *, fulfilled_on=None, now=None) -> Penalty:
    """Record that the subject paid the fine or completed the rectification."""
    require(actor, can_issue_penalty, _may_not(_("record fulfilment of penalties")))
    penalty = (
        Penalty.objects.select_for_update()
        .filter(pk=penalty.pk, violation__in=Violation.objects.visible_to(actor))
        .first()
    )
    if penalty is None:
        raise NotFound(_("Penalty decision not found."))
    if penalty.state not in (PenaltyState.ISSUED, PenaltyState.OVERDUE):
        raise Conflict(_("The penalty is not awaiting fulfilment."))
    day = _parse_day(fulfilled_on, "fulfilled_on") or _today(now)
    if day < penalty.decided_on or day > _today(now):
        raise InvalidInput(
            _("The fulfilment date must lie between the decision and today."), field="fulfilled_on"
        )
    penalty.state = PenaltyState.FULFILLED
    penalty.fulfilled_on = day
    penalty.save(update_fields=["state", "fulfilled_on"])
    record(
        actor,
        "credit.fulfil_penalty",
        penalty,
        summary=penalty.decision_number,
        fulfilled_on=day.isoformat(),
        at=_moment(now),
    )
    return penalty


@dataclass
class Evaluation:
    score: Decimal
    entered: list[ListEntry]
    repaired: list[ListEntry]


def _evaluate(
    actor,
    subject: Subject,
    as_of: date,
    rules=None,
    *,
    auto_repair: bool = True,
    score: Decimal | None = None,
    at: datetime,
) -> Evaluation:
    """Recompute score, mark overdue penalties, enter lists and repair eligible subjects on as_of.

    ``score``: the subject's score on as_of when the caller already computed it (the daily sweep
    does, for every subject in one aggregate); it is recomputed anyway if a repair happens."""
    rules = rules or queries.active_rule_set()
    Penalty.objects.filter(
        violation__subject=subject, state=PenaltyState.ISSUED, rectify_by__isnull=False, rectify_by__lt=as_of
    ).update(state=PenaltyState.OVERDUE)
    repaired: list[ListEntry] = []
    # One read of the active entries serves the repair check and the list rules below.
    on_lists = list(ListEntry.objects.active().filter(subject=subject).values_list("list_kind", "entered_on"))
    if auto_repair and any(entered_on <= as_of for _kind, entered_on in on_lists):
        check = queries.repair_check(subject, as_of, rules)
        if check.eligible:
            repaired = _repair(actor, subject, as_of, _("Automatic repair after the clean period"), at)
    if score is None or repaired:
        score = queries.score_of(subject, as_of, rules)
    Subject.objects.filter(pk=subject.pk).update(score=score, score_at=as_of)
    subject.score, subject.score_at = score, as_of
    # A repair closes every active entry.
    active = set() if repaired else {kind for kind, _entered_on in on_lists}
    entered = []
    for decision in queries.list_decisions(subject, as_of, rules, score, skip=active):
        if decision.list_kind in active:
            continue
        entry = ListEntry.objects.create(
            subject=subject,
            list_kind=decision.list_kind,
            rule=decision.rule,
            rule_detail=decision.detail,
            rule_set=rules,
            entered_on=as_of,
            score_at_entry=score,
            entered_by=actor if getattr(actor, "pk", None) else None,
        )
        active.add(decision.list_kind)
        entered.append(entry)
        record(
            actor,
            "credit.enter_list",
            entry,
            summary=f"{subject.name} → {decision.list_kind}",
            rule=decision.rule,
            detail=decision.detail,
            score=str(score),
            at=at,
        )
    return Evaluation(score, entered, repaired)


def _repair(actor, subject: Subject, as_of: date, note: str, at: datetime) -> list[ListEntry]:
    entries = list(ListEntry.objects.active().select_for_update().filter(subject=subject))
    for entry in entries:
        entry.removed_on = as_of
        entry.exit_reason = ExitReason.REPAIRED
        entry.exit_note = note[:200]
        entry.removed_by = actor if getattr(actor, "pk", None) else None
        entry.save(update_fields=["removed_on", "exit_reason", "exit_note", "removed_by"])
    Violation.objects.filter(
        subject=subject, state=ViolationState.CONFIRMED, repaired_on__isnull=True, occurred_on__lte=as_of
    ).update(repaired_on=as_of, repaired_day=as_of.toordinal())
    record(
        actor,
        "credit.repair",
        subject,
        summary=f"{subject.name}: {note}"[:300],
        lists=[e.list_kind for e in entries],
        on=as_of.isoformat(),
        at=at,
    )
    return entries


@transaction.atomic
def do_evaluate_subject(actor, subject, *, as_of=None, now: datetime | None = None) -> Evaluation:
    """Recompute one subject's score and list membership (as of a day, default today)."""
    now = now or timezone.now()
    if actor is not None:
        subject = _visible_subject(actor, subject)
    as_of = _parse_day(as_of, "as_of") or timezone.localdate(now)
    if as_of > timezone.localdate(now):
        raise InvalidInput(_("A credit evaluation cannot be dated in the future."), field="as_of")
    return _evaluate(actor, subject, as_of, at=now)


def do_evaluate_all(actor=None, *, as_of=None, progress=None, now: datetime | None = None) -> dict:
    """The daily sweep: scores of every subject in one aggregate, then list rules and automatic
    repair for the subjects that can change (those with violations or active entries). Each
    subject is its own transaction so that one failure does not undo the rest."""
    now = now or timezone.now()
    as_of = _parse_day(as_of, "as_of") or timezone.localdate(now)
    rules = queries.active_rule_set()
    all_scores = queries.scores(None, as_of, rules)
    base = Decimal(rules.base_score).quantize(Decimal("0.01"))
    # Bulk: subjects without counted violations return to the base score.
    Subject.objects.exclude(pk__in=list(all_scores)).exclude(score=base).update(score=base, score_at=as_of)
    candidates = set(all_scores) | set(ListEntry.objects.active().values_list("subject_id", flat=True))
    entered = repaired = 0
    for i, subject in enumerate(Subject.objects.filter(pk__in=candidates).iterator(chunk_size=500), 1):
        with transaction.atomic():
            result = _evaluate(actor, subject, as_of, rules, score=all_scores.get(subject.pk, base), at=now)
        entered += len(result.entered)
        repaired += len(result.repaired)
        if progress and i % 500 == 0:
            progress(i, len(candidates))
    return {"subjects": len(candidates), "entered": entered, "repaired": repaired, "as_of": as_of.isoformat()}


@transaction.atomic
def do_repair(actor, subject, *, note: str, as_of=None, now: datetime | None = None) -> list[ListEntry]:
    """Credit repair approved by a leader: the subject has rectified and stayed clean for the
    configured period; its list entries are closed (kept) and its score is restored."""
    now = now or timezone.now()
    require(actor, can_approve_repair, _may_not(_("approve credit repair")))
    subject = _visible_subject(actor, subject)
    as_of = _parse_day(as_of, "as_of") or timezone.localdate(now)
    if not note.strip():
        raise InvalidInput(_("Give the grounds for the repair."), field="note")
    rules = queries.active_rule_set()
    if not ListEntry.objects.active().filter(subject=subject).exists():
        raise Conflict(_("The subject is on no list."))
    check = queries.repair_check(subject, as_of, rules)
    if not check.eligible:
        raise Conflict(
            _("Credit repair is not yet possible: %(reasons)s.") % {"reasons": "; ".join(check.reasons)}
        )
    entries = _repair(actor, subject, as_of, note.strip(), now)
    score = queries.score_of(subject, as_of, rules)
    Subject.objects.filter(pk=subject.pk).update(score=score, score_at=as_of)
    return entries


_RULE_SETTINGS = frozenset(
    {
        "name",
        "base_score",
        "decay_mode",
        "half_life_days",
        "linear_months",
        "repaired_weight",
        "watch_threshold",
        "dishonest_threshold",
        "repeat_count",
        "repeat_window_days",
        "grave_to_dishonest",
        "repair_clean_days",
    }
)


def _rule_values(current: CreditRuleSet, settings_: dict) -> dict:
    """The settings of the new version: the current ones with the changes, checked together."""
    unknown = set(settings_) - _RULE_SETTINGS
    if unknown:
        raise InvalidInput(_("Unknown setting: %(names)s") % {"names": ", ".join(sorted(unknown))})
    values = {f: getattr(current, f) for f in _RULE_SETTINGS}
    values.update(settings_)
    if values["decay_mode"] not in ("half_life", "linear", "none"):
        raise InvalidInput(_("Unknown decay mode."), field="decay_mode")
    if not (
        0 < int(values["dishonest_threshold"]) <= int(values["watch_threshold"]) <= int(values["base_score"])
    ):
        raise InvalidInput(
            _("Thresholds must satisfy 0 < dishonest ≤ watch ≤ base score."), field="watch_threshold"
        )
    if (
        int(values["half_life_days"]) < 1
        or int(values["linear_months"]) < 1
        or int(values["repair_clean_days"]) < 1
    ):
        raise InvalidInput(_("Periods must be at least one day or month."))
    if not (Decimal(0) <= Decimal(str(values["repaired_weight"])) <= Decimal(1)):
        raise InvalidInput(
            _("The weight of repaired violations lies between 0 and 1."), field="repaired_weight"
        )
    values["name"] = (values["name"] or "").strip() or current.name
    return values


def _points_table(current: CreditRuleSet, points: dict) -> dict:
    """The points per (kind, severity) of the new version: the current table with the changes."""
    table = {(p.kind, p.severity): p.points for p in current.points.all()}
    for key, pts in points.items():
        if key[0] not in ViolationKind.values or key[1] not in Severity.values:
            raise InvalidInput(_("Unknown violation kind."), field="points")
        if Decimal(str(pts)) < 0:
            raise InvalidInput(_("Points cannot be negative."), field="points")
        table[key] = Decimal(str(pts))
    return table


@transaction.atomic
def do_update_rules(
    actor, *, points: dict[tuple[str, str], Decimal] | None = None, now: datetime | None = None, **settings_
) -> CreditRuleSet:
    """Change the active rule set (administrators). A new version is written and activated so that
    list entries keep pointing at the rules that put them there."""
    now = now or timezone.now()
    require(actor, is_admin, _may_not(_("change the credit rules")))
    current = queries.active_rule_set()
    values = _rule_values(current, settings_)
    table = _points_table(current, points or {})
    CreditRuleSet.objects.filter(pk=current.pk).update(is_active=False)
    new = CreditRuleSet.objects.create(is_active=True, created_at=now, **values)
    RulePoints.objects.bulk_create(
        RulePoints(rule_set=new, kind=k, severity=s, points=p) for (k, s), p in table.items()
    )
    record(
        actor,
        "credit.update_rules",
        new,
        summary=new.name,
        previous=current.pk,
        changes={k: str(v) for k, v in settings_.items()},
        at=now,
    )
    return new


__all__ = [
    "do_register_subject",
    "do_name_subject_on_case",
    "do_record_violation",
    "do_revoke_violation",
    "do_issue_penalty",
    "do_fulfil_penalty",
    "do_evaluate_subject",
    "do_evaluate_all",
    "do_repair",
    "do_update_rules",
    "ListKind",
]
