"""Login lockout: after LOGIN_MAX_FAILURES failed attempts within LOGIN_WINDOW_MINUTES for the same
user name and IP, that pair is locked for LOGIN_LOCK_MINUTES (counted from the last failure).

Kept in the database (not the process-local cache) so that every web process sees the same count.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import LoginAttempt


def _cfg(name: str, default: int) -> int:
    return int(settings.URBANGRID.get(name, default))


def max_failures() -> int:
    return _cfg("LOGIN_MAX_FAILURES", 5)


def window() -> timedelta:
    return timedelta(minutes=_cfg("LOGIN_WINDOW_MINUTES", 15))


def lock_time() -> timedelta:
    return timedelta(minutes=_cfg("LOGIN_LOCK_MINUTES", 15))


def client_ip(request) -> str:
    # Behind a proxy the last hop is the proxy itself; REMOTE_ADDR is what we can trust here.
    return (request.META.get("REMOTE_ADDR") or "")[:45]


def _norm(username: str) -> str:
    return (username or "").strip().lower()[:150]


def locked_until(username: str, ip: str, now=None):
    """When the lock on (username, ip) ends, or None if it is not locked."""
    now = now or timezone.now()
    username = _norm(username)
    last_ok = (
        LoginAttempt.objects.filter(username=username, ip=ip, success=True)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    since = now - max(window(), lock_time())
    if last_ok and last_ok > since:
        since = last_ok
    failures = list(
        LoginAttempt.objects.filter(username=username, ip=ip, success=False, at__gt=since)
        .order_by("-at")
        .values_list("at", flat=True)[: max_failures() * 4]
    )
    # Locked when max_failures of them fall inside one window and the last is recent enough.
    n = max_failures()
    if len(failures) < n:
        return None
    newest, nth = failures[0], failures[n - 1]
    if newest - nth <= window() and newest + lock_time() > now:
        return newest + lock_time()
    return None


def record(username: str, ip: str, success: bool, now=None) -> None:
    LoginAttempt.objects.create(username=_norm(username), ip=ip, success=success, at=now or timezone.now())
