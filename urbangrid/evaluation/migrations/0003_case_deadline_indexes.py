"""Indexes on the cases table's step deadlines, which the evaluation's period filters use
(``handle_due_at`` etc. in a period). Created IF NOT EXISTS with our own names so that they
coexist with whatever indexes the cases app adds later; remove this migration's effect by
dropping the indexes if the cases app declares equivalent ones."""

from django.db import migrations

COLUMNS = ["handle_due_at", "verify_due_at", "check_due_at", "dispatch_due_at", "register_due_at", "dispatched_at", "checked_at"]


def _ops():
    ops = []
    for col in COLUMNS:
        name = f"ev_case_{col}_idx"
        ops.append(
            migrations.RunSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON cases_case ({col})",
                f"DROP INDEX IF EXISTS {name}",
            )
        )
    return ops


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0002_default_schemes"), ("cases", "0001_initial")]

    operations = _ops()
