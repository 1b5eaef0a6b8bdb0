"""Record an AuditEvent from inside an action (call it in the same transaction as the write)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from .models import AuditEvent


def record(
    actor,
    action: str,
    obj: models.Model | None = None,
    *,
    at: datetime | None = None,
    summary: str = "",
    **payload: Any,
) -> AuditEvent:
    """``at`` is the action's own moment, so the event and the write it records carry one time."""
    return AuditEvent.objects.create(
        at=at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        payload=payload,
    )
