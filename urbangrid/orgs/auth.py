"""API authentication: the browser session (with CSRF) for pages, bearer tokens for devices."""

from __future__ import annotations

import hashlib
import secrets

from django.db.models import Subquery
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .jurisdiction import GENERATION_ATTR
from .models import ApiToken, ScopeGeneration


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_token_key() -> str:
    return "ug_" + secrets.token_urlsafe(30)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; sets request.user to the token's person."""

    def authenticate(self, request, token: str):
        # The scope generation comes along so that scope_for needs no query of its own.
        row = (
            ApiToken.objects.select_related("person__user")
            .annotate(scope_generation=Subquery(ScopeGeneration.objects.filter(pk=1).values("value")))
            .filter(key_hash=hash_token(token), revoked_at__isnull=True, person__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        # Touch at most once a minute: a device polling every second must not write every second.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        user = row.person.user
        setattr(user, GENERATION_ATTR, row.scope_generation or 0)
        request.user = user
        return user


session_auth = SessionAuth()
token_auth = TokenAuth()
STAFF_AUTH = [token_auth, session_auth]
