"""Login lockout, shared by /login/ and /admin/login/ (both count and both refuse):

- per (user name, IP): LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_MINUTES lock that pair for
  LOGIN_LOCK_MINUTES (counted from the last failure);
- per account, from any IP: from the LOGIN_ACCOUNT_MAX_FAILURES-th failure since the last success
  (within LOGIN_ACCOUNT_WINDOW_HOURS) every further attempt waits a delay that doubles with each
  failure, from LOGIN_ACCOUNT_DELAY_SECONDS up to LOGIN_ACCOUNT_MAX_DELAY_MINUTES. A delay rather
  than a permanent lock, so that someone guessing from many addresses cannot shut the owner out
  for good, yet gets only a few dozen guesses a day.

Attempts refused because of a lock are not recorded, so waiting out a lock is always enough.
Kept in the database (not the process-local cache) so that every web process sees the same count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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


def account_max_failures() -> int:
    return _cfg("LOGIN_ACCOUNT_MAX_FAILURES", 10)


def account_window() -> timedelta:
    return timedelta(hours=_cfg("LOGIN_ACCOUNT_WINDOW_HOURS", 24))


def account_delay(failures: int) -> timedelta:
    """The wait after the last of ``failures`` failures on one account (zero below the limit)."""
    excess = failures - account_max_failures()
    if excess < 0:
        return timedelta(0)
    cap = timedelta(minutes=_cfg("LOGIN_ACCOUNT_MAX_DELAY_MINUTES", 60))
    base = timedelta(seconds=_cfg("LOGIN_ACCOUNT_DELAY_SECONDS", 60))
    return min(cap, base * 2 ** min(excess, 30))


def client_ip(request) -> str:
    # Behind a proxy the last hop is the proxy itself; REMOTE_ADDR is what we can trust here.
    return (request.META.get("REMOTE_ADDR") or "")[:45]


def _norm(username: str) -> str:
    return (username or "").strip().lower()[:150]


def _failures_since_success(attempts, now: datetime, span: timedelta) -> list[datetime]:
    """Times of the failures within ``span`` before ``now`` and after the last success, newest first."""
    since = now - span
    last_ok = attempts.filter(success=True).order_by("-at").values_list("at", flat=True).first()
    if last_ok and last_ok > since:
        since = last_ok
    return list(attempts.filter(success=False, at__gt=since).order_by("-at").values_list("at", flat=True))


def _pair_failures(username: str, ip: str, now: datetime) -> list[datetime]:
    attempts = LoginAttempt.objects.filter(username=_norm(username), ip=ip)
    return _failures_since_success(attempts, now, max(window(), lock_time()))


def _account_failures(username: str, now: datetime) -> list[datetime]:
    return _failures_since_success(
        LoginAttempt.objects.filter(username=_norm(username)), now, account_window()
    )


def pair_locked_until(username: str, ip: str, now=None) -> datetime | None:
    """When the lock on (username, ip) ends, or None if it is not locked."""
    now = now or timezone.now()
    failures = _pair_failures(username, ip, now)
    # Locked when max_failures of them fall inside one window and the last is recent enough.
    n = max_failures()
    if len(failures) < n:
        return None
    newest, nth = failures[0], failures[n - 1]
    if newest - nth <= window() and newest + lock_time() > now:
        return newest + lock_time()
    return None


def account_locked_until(username: str, now=None) -> datetime | None:
    """When the account's current delay ends (from any IP), or None if it may try now."""
    now = now or timezone.now()
    failures = _account_failures(username, now)
    if not failures:
        return None
    until = failures[0] + account_delay(len(failures))
    return until if until > now else None


def locked_until(username: str, ip: str, now=None) -> datetime | None:
    """When ``username`` may try again from ``ip``, or None if it may try now."""
    now = now or timezone.now()
    locks = [t for t in (pair_locked_until(username, ip, now), account_locked_until(username, now)) if t]
    return max(locks) if locks else None


def attempts_left(username: str, ip: str, now=None) -> int:
    """Failures still allowed before the next lock (of the pair or of the account)."""
    now = now or timezone.now()
    return min(
        max_failures() - len([t for t in _pair_failures(username, ip, now) if t > now - window()]),
        account_max_failures() - len(_account_failures(username, now)),
    )


def record(username: str, ip: str, success: bool, now=None) -> None:
    LoginAttempt.objects.create(username=_norm(username), ip=ip, success=success, at=now or timezone.now())
