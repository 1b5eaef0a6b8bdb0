"""Fewer indexes on cases: every intake pays for each one (46 before this migration).

- the duplicate search looks in a few grids' last days through a new (grid_code, reported_at)
  index (a (lon, lat) range reads a strip of every case ever reported at that longitude; that
  index stays for the command map's and the portal's box queries over open cases);
- foreign keys that lead a composite index (district, street, problem class, handling unit) and
  the city code (one city per installation) lose their single-column indexes, and on PostgreSQL
  the LIKE-pattern indexes of city and grid code go too (no query matches them by prefix).

The single-column indexes are dropped by name: altering the fields would make SQLite copy the
whole case table once per field.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "cases_case"
UNINDEXED = ["assigned_unit_id", "city_code", "district_id", "grid_code", "problem_class_id", "street_id"]
PATTERN_OPS = ["city_code", "grid_code"]  # varchar columns: PostgreSQL also made a LIKE index


def _indexes(schema_editor):
    """(name, column, opclass) of the indexes Django made for the fields' old definitions."""
    out = [(schema_editor._create_index_name(TABLE, [c]), c, "") for c in UNINDEXED]
    if schema_editor.connection.vendor == "postgresql":
        out += [
            (schema_editor._create_index_name(TABLE, [c], suffix="_like"), c, " varchar_pattern_ops")
            for c in PATTERN_OPS
        ]
    return out


def drop_indexes(apps, schema_editor):
    for name, _column, _ops in _indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor):
    q = schema_editor.quote_name
    for name, column, ops in _indexes(schema_editor):
        schema_editor.execute(f"CREATE INDEX {q(name)} ON {q(TABLE)} ({q(column)}{ops})")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_evaluation_aids"),
        ("catalog", "0002_rule_scope"),
        ("geo", "0001_initial"),
        ("orgs", "0003_scope_generation"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["grid_code", "reported_at"], name="case_grid_recent_idx"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="assigned_unit",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="orgs.unit",
                        verbose_name="handling unit",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="city_code",
                    field=models.CharField(max_length=6, verbose_name="city"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="district",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="district",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="grid_code",
                    field=models.CharField(blank=True, max_length=15, verbose_name="grid code"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="problem_class",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="catalog.problemclass",
                        verbose_name="problem class",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="street",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="street/town",
                    ),
                ),
            ],
        ),
    ]
