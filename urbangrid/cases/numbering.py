"""Case numbers: ``YYYYMMDD`` + a serial of at least six digits, gapless per day.

The database gives them (cases/sql.py): a new case is inserted with ``provisional(now)``, and a
trigger draws the day's next serial, on PostgreSQL while the transaction commits. The day's counter
row is locked from that draw until the commit ends, and every intake of the city queues on it, so
it is drawn as late as possible: with the draw in the application, each intake held the lock for
two round trips and every wait for a core or the GIL between them (bench/cases/RESULTS.md).

``settle(cases)``, called by the transaction that inserted the cases, gives the objects their
final numbers: after the commit when that transaction commits at once, or at once (firing the
deferred trigger) when it runs inside a larger transaction that commits later.
"""

from __future__ import annotations

import secrets

from django.db import connection, transaction
from django.utils import timezone

from . import sql
from .models import Case

PROVISIONAL_PREFIX = "T"


def provisional(now) -> str:
    """A unique placeholder naming the local day whose serial the case will take (20 characters)."""
    return f"{PROVISIONAL_PREFIX}{timezone.localtime(now):%Y%m%d}{secrets.token_hex(6)[:11]}"


def settle(cases) -> None:
    """Give freshly inserted ``cases`` the numbers the database gave them (see the docstring)."""
    if connection.commit_on_exit and len(connection.atomic_blocks) == 1:
        transaction.on_commit(lambda: _read(cases))
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {sql.TRIGGER} IMMEDIATE")
            cursor.execute(f"SET CONSTRAINTS {sql.TRIGGER} DEFERRED")
    _read(cases)


def _read(cases) -> None:

    # Plain SQL: on PostgreSQL this is an extra statement of every intake, and compiling the ORM
    # query cost as much as running it.
    marks = ", ".join(["%s"] * len(cases))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, number FROM {Case._meta.db_table} WHERE id IN ({marks})", [c.pk for c in cases]
        )
        numbers = dict(cursor.fetchall())
    for case in cases:
        case.number = numbers[case.pk]
