from django.db import migrations


def seed(apps, schema_editor):
    from urbangrid.patrol.checklists import load_checklists

    load_checklists(apps.get_model("patrol", "ChecklistItem"))


class Migration(migrations.Migration):
    dependencies = [("patrol", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
