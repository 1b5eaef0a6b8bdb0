"""The triggers installed by the migrations are the ones cases/sql.py and orgs/sql.py describe:
dropping them and running the modules' statements again leaves the database's own account of
its triggers (and PostgreSQL's trigger functions) unchanged, and no other trigger exists."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from urbangrid.cases import sql as cases_sql
from urbangrid.orgs import sql as orgs_sql

PG_TRIGGERS = """
SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname = current_schema()
"""
PG_FUNCTIONS = "SELECT proname, prosrc FROM pg_proc WHERE proname IN (%s, %s)"
SQLITE_TRIGGERS = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
ALL_TABLES = orgs_sql.SCOPE_TABLES + orgs_sql.TOKEN_TABLES


def installed(cursor) -> dict[str, str]:
    """Name -> definition of every trigger (and, on PostgreSQL, of the two trigger functions)."""
    if connection.vendor == "postgresql":
        cursor.execute(PG_TRIGGERS)
        found = dict(cursor.fetchall())
        cursor.execute(PG_FUNCTIONS, [cases_sql.FUNCTION, orgs_sql.FUNCTION])
        return found | {f"{name}()": src for name, src in cursor.fetchall()}
    cursor.execute(SQLITE_TRIGGERS)
    return dict(cursor.fetchall())


def from_modules(vendor: str) -> tuple[list[str], list[str]]:
    """(drop, create) statements for every trigger the modules describe."""
    drop = (
        cases_sql.drop_numbering(vendor)
        + orgs_sql.drop_generation_triggers(vendor, ALL_TABLES)
        + orgs_sql.drop_generation_function(vendor)
    )
    create = cases_sql.create_numbering(vendor) + orgs_sql.create_generation_triggers(vendor, ALL_TABLES)
    return drop, create


@pytest.mark.django_db
def test_installed_triggers_are_the_modules():
    drop, create = from_modules(connection.vendor)
    with transaction.atomic(), connection.cursor() as cursor:
        by_migrations = installed(cursor)
        for statement in drop:
            cursor.execute(statement, None)
        assert installed(cursor) == {}, "a trigger the modules do not describe"
        for statement in create:
            cursor.execute(statement, None)
        assert installed(cursor) == by_migrations
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        assert installed(cursor) == by_migrations
