from django.db import migrations


def seed(apps, schema_editor):
    from urbangrid.evaluation.defaults import seed as seed_schemes

    seed_schemes(apps)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
