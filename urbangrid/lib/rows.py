"""Plain INSERTs for the hot write paths (intake writes a case, a report and an event per report).

``insert`` does what ``bulk_create`` does for new rows of one model (no save(), no signals), but
builds its statement text once per model and row count instead of compiling it for every call:
at city load the compiler took more CPU than the database spent on the row."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connections, models


@lru_cache(maxsize=64)  # a few models × the batch sizes seen; the texts are small
def _statement(vendor: str, model: type[models.Model], rows: int) -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT of ``rows`` rows of ``model`` (its text depends only on the kind of database)."""
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if f is not meta.auto_field)
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([one_row] * rows)} RETURNING {quote(meta.auto_field.column)}"
    )
    return sql, fields


def insert(objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances of one model, in as few statements as the database allows, and set
    their primary keys. Values go through each field's pre_save and get_db_prep_save, as in save()."""
    if not objs:
        return
    model = type(objs[0])
    # The connection itself, not the thread-local proxy: every value below is prepared with it.
    connection = connections[DEFAULT_DB_ALIAS]
    assert connection.features.can_return_rows_from_bulk_insert, "needs INSERT … RETURNING"
    _sql, fields = _statement(connection.vendor, model, 1)
    size = max(1, connection.ops.bulk_batch_size(fields, objs))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            sql, _fields = _statement(connection.vendor, model, len(chunk))
            params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in chunk for f in fields]
            cursor.execute(sql, params)
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias
