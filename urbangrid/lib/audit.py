"""Record an AuditEvent from inside an action (call it in the same transaction as the write)."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEvent


def record(
    actor, action: str, obj: models.Model | None = None, *, summary: str = "", **payload: Any
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        payload=payload,
    )
