"""Notifications: an in-app inbox line per person, written in the caller's transaction, and an
outbound message sent after commit through a pluggable channel (settings.URBANGRID NOTIFY_BACKEND:
"console" logs it, "webhook" POSTs JSON to NOTIFY_WEBHOOK_URL). Delivery is retried with backoff by
``tasks.deliver_notifications``, which the cases app registers here when it starts (``deliver_with``):
the task layer imports the actions that call ``notify``, so this module must not import it.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .choices import ApplicationKind, TaskState
from .models import CaseTask, Notification

log = logging.getLogger("urbangrid.notify")

# How a delivery run is started after commit; registered by CasesConfig.ready (apps.py).
_enqueue_delivery: list[Callable[[], object]] = []


def deliver_with(enqueue: Callable[[], object]) -> None:
    """Start delivery runs with ``enqueue`` (called once per committed transaction that queued)."""
    _enqueue_delivery[:] = [enqueue]


def _people(person_or_people) -> list:
    if person_or_people is None:
        return []
    if isinstance(person_or_people, Iterable) and not hasattr(person_or_people, "pk"):
        return [p for p in person_or_people if p is not None]
    return [person_or_people]


def notify(
    person_or_people, kind: str, title: str, body: str = "", case=None, *, now=None
) -> list[Notification]:
    """Queue an inbox line (and its outbound message) for each person; delivery after commit."""
    return queue(rows_for(person_or_people, kind, title, body, case, now=now))


def rows_for(person_or_people, kind: str, title: str, body: str = "", case=None, *, now=None) -> list:
    """The unsaved notifications ``notify`` would write (for callers that queue many at once)."""
    now = now or timezone.now()
    rows = []
    seen = set()
    for p in _people(person_or_people):
        pid = getattr(p, "pk", p)
        if pid in seen:
            continue
        seen.add(pid)
        rows.append(
            Notification(
                recipient_id=pid,
                case=case,
                kind=kind,
                title=str(title)[:200],
                body=str(body),
                created_at=now,
                next_attempt_at=now,
            )
        )
    return rows


def notify_phone(
    phone: str, kind: str, title: str, body: str = "", case=None, *, now=None
) -> list[Notification]:
    """An outbound-only message to a citizen who reported by phone (no inbox)."""
    if not phone:
        return []
    now = now or timezone.now()
    return queue(
        [
            Notification(
                to_phone=phone,
                case=case,
                kind=kind,
                title=str(title)[:200],
                body=str(body),
                created_at=now,
                next_attempt_at=now,
            )
        ]
    )


# Kinds that ask the recipient to act on the case as it stands (take it, verify, check, decide,
# mind its deadline). They hold only until the case moves on; outcomes, decisions and duplicate
# notices are news and always hold.
DEADLINE_KINDS = frozenset({"warning", "overdue"})
ACTION_KINDS = DEADLINE_KINDS | {
    "verify",
    "check",
    "dispatch",
    "assist_report",
    "report_back",
    "rework",
    "resume",
    "supervise",
    "escalate",
    *(f"apply_{k}" for k in ApplicationKind.values),
}
WITHDRAWN = "withdrawn: no longer applies"


def withdraw(case, kinds, *, now) -> int:
    """The case's notifications of ``kinds`` no longer hold (the case moved on): their inbox lines
    stop counting as unread and their outbound messages are not sent. Call it in the transaction
    that changed the case, before queueing the new step's notifications."""
    rows = Notification.objects.filter(case=case, kind__in=kinds)
    # A unit's "new case for you" holds while its task is open (assisting units go on working
    # after the lead unit accepts).
    busy = CaseTask.objects.filter(case=case, state__in=[TaskState.PENDING, TaskState.ACCEPTED])
    rows = rows.exclude(kind="dispatch", recipient__unit_id__in=busy.values("unit_id"))
    # The outbound claim in tasks.deliver matches on next_attempt_at, so clearing it here, in the
    # same transaction as the change, means a withdrawn message is never sent.
    rows.filter(sent_at__isnull=True, next_attempt_at__isnull=False).update(
        next_attempt_at=None, last_error=WITHDRAWN
    )
    return rows.filter(read_at__isnull=True).update(read_at=now)


def queue(rows: list[Notification]) -> list[Notification]:
    """Write the rows (one insert) and have them delivered after commit."""
    if not rows:
        return rows
    created = Notification.objects.bulk_create(rows)
    if settings.URBANGRID.get("NOTIFY_IMMEDIATE", True) and not _kick_pending():
        transaction.on_commit(_kick_delivery)
    return created


def _kick_pending() -> bool:
    """A delivery run is already queued for this transaction's commit (one run sends them all:
    a sweep that notifies about hundreds of cases must not enqueue hundreds of tasks)."""
    conn = transaction.get_connection()
    return conn.in_atomic_block and any(entry[1] is _kick_delivery for entry in conn.run_on_commit)


def _kick_delivery() -> None:
    try:
        for enqueue in _enqueue_delivery:
            enqueue()
    except Exception:  # the periodic run delivers anyway
        log.exception("could not enqueue notification delivery")


# --- outbound channels --------------------------------------------------------------------------
class ConsoleBackend:
    def send(self, n: Notification) -> None:
        to = (
            n.to_phone
            or (n.recipient.phone if n.recipient_id and n.recipient else "")
            or f"person:{n.recipient_id}"
        )
        log.info("notify %s [%s] %s", to, n.kind, n.title)


class WebhookBackend:
    """POSTs {to, person_id, kind, title, body, case} as JSON; any non-2xx answer is a failure."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url
        self.timeout = timeout

    def send(self, n: Notification) -> None:
        if not self.url:
            raise RuntimeError("NOTIFY_WEBHOOK_URL is not set")
        data = json.dumps(
            {
                "to": n.to_phone or (n.recipient.phone if n.recipient_id and n.recipient else ""),
                "person_id": n.recipient_id,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "case": n.case.number if n.case_id and n.case else None,
            },
            ensure_ascii=False,
        ).encode()
        req = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
            if resp.status >= 300:
                raise RuntimeError(f"webhook answered {resp.status}")


def get_backend():
    cfg = settings.URBANGRID
    name = cfg.get("NOTIFY_BACKEND", "console")
    if name == "webhook":
        return WebhookBackend(cfg.get("NOTIFY_WEBHOOK_URL", ""))
    if name == "console":
        return ConsoleBackend()
    # A dotted path to a class with send(notification) plugs in any other gateway.
    return import_string(name)()
