"""API authentication: the browser session (with CSRF) for pages, bearer tokens for devices."""

from __future__ import annotations

import copy
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from urbangrid.lib.access import GENERATION_ATTR, current_generation
from urbangrid.lib.errors import DomainError, InvalidInput

from .models import ApiToken, default_token_lifetime


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_token_key() -> str:
    return "ug_" + secrets.token_urlsafe(30)


def token_expiry(days: int | None = None, now: datetime | None = None) -> datetime:
    """When a token or key issued ``now`` for ``days`` days (None: the default lifetime) expires."""
    now = now or timezone.now()
    if days is None:
        return now + default_token_lifetime()
    longest = int(settings.URBANGRID.get("API_TOKEN_MAX_DAYS", 366))
    if not 1 <= days <= longest:
        raise InvalidInput(
            _("A token is valid for 1 to %(max)d days.") % {"max": longest}, field="expires_in_days"
        )
    return now + timedelta(days=days)


class TokenExpired(DomainError):
    """A token or key past its expiry (401, with when it expired)."""

    status = 401
    code = "token_expired"

    def __init__(self, expired_at: datetime):
        when = formats.date_format(timezone.localtime(expired_at), "Y-m-d H:i")
        super().__init__(_("This token expired on %(when)s. Ask for a new one.") % {"when": when})


@dataclass
class _KnownToken:
    """What a token stood for when last looked up, valid while the scope generation stays."""

    generation: int
    token_id: int
    last_used_at: datetime | None
    expires_at: datetime
    user: object  # never handed out: each request gets a copy


_known_tokens: dict[str, _KnownToken] = {}
_KNOWN_MAX = 50_000


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; sets request.user to the token's person.

    A device sends its token with every request; what the token stands for (its person and user)
    is kept per process under the scope generation, which revoking, moving or deleting a token,
    and deactivating its person or user, all change (database triggers, orgs migrations 0003 and
    0004). A warm request therefore reads only the generation; it also carries the generation to
    scope_for, which then needs no query of its own."""

    def authenticate(self, request, token: str):
        key_hash = hash_token(token)
        generation = current_generation()
        known = _known_tokens.get(key_hash)
        if known is None or known.generation != generation:
            row = (
                ApiToken.objects.select_related("person__user")
                .filter(key_hash=key_hash, revoked_at__isnull=True, person__is_active=True)
                .first()
            )
            if row is None:
                return None
            if len(_known_tokens) >= _KNOWN_MAX:
                _known_tokens.clear()
            known = _known_tokens[key_hash] = _KnownToken(
                generation, row.pk, row.last_used_at, row.valid_until, row.person.user
            )
        now = timezone.now()
        if known.expires_at <= now:
            raise TokenExpired(known.expires_at)
        # Touch at most once a minute: a device polling every second must not write every second.
        if known.last_used_at is None or (now - known.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=known.token_id).update(last_used_at=now)
            known.last_used_at = now
        user = copy.copy(known.user)  # per-request attributes (the scope) stay on the copy
        if not user.is_active:
            return None
        setattr(user, GENERATION_ATTR, generation)
        request.user = user
        return user


session_auth = SessionAuth()
token_auth = TokenAuth()
STAFF_AUTH = [token_auth, session_auth]
