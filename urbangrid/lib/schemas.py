"""Helpers for API schemas that read their fields from model instances (ninja resolvers)."""

from __future__ import annotations

from ninja import Schema
from pydantic import create_model

from .bounds import Int


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


def page_of(row: type[Schema], name: str) -> type[Schema]:
    """The schema ``name`` of a page of ``row``: ``{"count": rows in all pages, "results": [...]}``."""
    return create_model(name, __base__=Schema, count=(Int, ...), results=(list[row], ...))
