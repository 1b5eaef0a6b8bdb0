"""The published OpenAPI document describes what the API accepts."""

from __future__ import annotations

import typing
from collections import defaultdict

from pydantic import BaseModel

from urbangrid.api import api


def _models_in(annotation, seen: set) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models_in(field.annotation, seen)
        return
    for arg in typing.get_args(annotation):
        _models_in(arg, seen)


def test_every_schema_has_its_own_name():
    """OpenAPI components are keyed by class name: two classes with one name publish one body
    for both operations, and clients following the document get 422s (patrol's and joint's
    CampaignIn did that)."""
    seen: set = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    _models_in(model, seen)
                for response in operation.response_models.values():
                    _models_in(response, seen)
    by_name = defaultdict(set)
    for model in seen:
        by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    collisions = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not collisions, sorted(collisions)


def _integers(node, where: str):
    if isinstance(node, dict):
        if node.get("type") == "integer":
            yield where, node
        for key, value in node.items():
            yield from _integers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _integers(value, f"{where}[{i}]")


def test_every_integer_the_api_takes_fits_the_database():
    """An integer past bigint reached the database (SQLite's driver raises: a 500)."""
    from urbangrid.lib.bounds import BIGINT_MAX, BIGINT_MIN

    spec = api.get_openapi_schema()
    taken = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            taken += list(_integers(operation.get("parameters", []), f"{method} {path}"))
            taken += list(_integers(operation.get("requestBody", {}), f"{method} {path} body"))
    for name, component in spec["components"]["schemas"].items():
        taken += list(_integers(component, name))
    unbounded = [
        where
        for where, node in taken
        if not (
            node.get("minimum", BIGINT_MIN - 1) >= BIGINT_MIN
            and node.get("maximum", BIGINT_MAX + 1) <= BIGINT_MAX
        )
    ]
    assert len(taken) > 100
    assert not unbounded
