"""Helpers for API schemas that read their fields from model instances (ninja resolvers)."""

from __future__ import annotations


def related(path: str) -> staticmethod:
    """A resolver giving the value at ``path`` ("assigned_unit.code") of the object read, or None
    where a relation on the way is empty: ``resolve_unit = related("assigned_unit.code")``."""
    names = path.split(".")

    def resolve(obj):
        for name in names:
            if obj is None:
                return None
            obj = getattr(obj, name)
        return obj

    return staticmethod(resolve)
