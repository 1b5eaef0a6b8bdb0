from django.db import migrations


def describe_city_scheme(apps, schema_editor):
    """The seeded description of the city scheme pointed readers at a document they do not have."""
    from urbangrid.evaluation.defaults import CITY_DESCRIPTION

    Scheme = apps.get_model("evaluation", "Scheme")
    Scheme.objects.filter(code="city", description__contains=".md").update(description=CITY_DESCRIPTION)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0002_default_schemes")]

    operations = [migrations.RunPython(describe_city_scheme, migrations.RunPython.noop)]
