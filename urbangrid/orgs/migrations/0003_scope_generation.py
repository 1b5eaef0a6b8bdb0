from django.db import migrations, models

# Tables a Scope is built from (see jurisdiction._compute_scope) and the events that change them.
# auth_user matters only for its superuser/active flags (logins write last_login and must not
# empty every cached scope).
WATCHED = (
    ("orgs_person", "INSERT OR UPDATE OR DELETE"),
    ("orgs_roleassignment", "INSERT OR UPDATE OR DELETE"),
    ("orgs_gridassignment", "INSERT OR UPDATE OR DELETE"),
    ("orgs_secondment", "INSERT OR UPDATE OR DELETE"),
    ("geo_region", "INSERT OR UPDATE OR DELETE"),
    ("auth_user", "INSERT OR UPDATE OF is_superuser, is_active OR DELETE"),
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION orgs_new_scope_generation() RETURNS trigger AS $$
BEGIN
  INSERT INTO orgs_scopegeneration (id, value) VALUES (1, floor(random() * 9.0e18)::bigint)
  ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_UPSERT = (
    "INSERT INTO orgs_scopegeneration (id, value) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value;"
)


def create_triggers(apps, schema_editor):
    add_triggers(schema_editor, WATCHED)
    schema_editor.execute("INSERT INTO orgs_scopegeneration (id, value) VALUES (1, 1)")


def drop_triggers(apps, schema_editor):
    remove_triggers(schema_editor, WATCHED)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS orgs_new_scope_generation()")


def add_triggers(schema_editor, watched):
    """Triggers giving the generation a new value on ``watched`` (table, events) (also 0004's)."""
    vendor = schema_editor.connection.vendor
    run = schema_editor.execute
    if vendor == "postgresql":
        run(PG_FUNCTION)
        for table, events in watched:
            run(
                f"CREATE TRIGGER {table}_scope_generation AFTER {events} OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION orgs_new_scope_generation()"
            )
    elif vendor == "sqlite":
        # SQLite has row-level triggers only, one per event.
        for table, events in watched:
            for event in events.split(" OR "):
                name = event.split()[0].lower()
                run(
                    f"CREATE TRIGGER {table}_scope_generation_{name} AFTER {event} ON {table} "
                    f"BEGIN {SQLITE_UPSERT} END"
                )
    else:
        raise NotImplementedError(f"scope generation triggers for {vendor}")


def remove_triggers(schema_editor, watched):
    vendor = schema_editor.connection.vendor
    for table, events in watched:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_scope_generation ON {table}")
        else:
            for event in events.split(" OR "):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS {table}_scope_generation_{event.split()[0].lower()}"
                )


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_training_resources"),
        ("geo", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScopeGeneration",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={
                "verbose_name": "scope generation",
                "verbose_name_plural": "scope generations",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
