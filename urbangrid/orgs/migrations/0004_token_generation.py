"""API tokens join the scope generation's watched tables: token authentication keeps what a token
stands for per process under the generation, so revoking a token (or moving it to another
person, or deleting it) must give the generation a new value. Not on INSERT (a new token is not
cached yet) nor on last_used_at (written once a minute per device)."""

from importlib import import_module

from django.db import migrations

generation = import_module("urbangrid.orgs.migrations.0003_scope_generation")
WATCHED = (("orgs_apitoken", "UPDATE OF key_hash, revoked_at, person_id OR DELETE"),)


def create_triggers(apps, schema_editor):
    generation.add_triggers(schema_editor, WATCHED)


def drop_triggers(apps, schema_editor):
    generation.remove_triggers(schema_editor, WATCHED)


class Migration(migrations.Migration):
    dependencies = [("orgs", "0003_scope_generation")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
