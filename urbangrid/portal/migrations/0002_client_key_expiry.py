"""Client keys get an expiry. Keys issued before it keep working for the default lifetime from
the day of the migration, so that no connected system is cut off by the upgrade itself."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def expire_existing(apps, schema_editor):
    ApiClient = apps.get_model("portal", "ApiClient")
    days = int(settings.URBANGRID.get("API_TOKEN_DAYS", 90))
    ApiClient.objects.filter(key_expires_at__isnull=True).exclude(key_hash="").update(
        key_expires_at=timezone.now() + timedelta(days=days)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apiclient",
            name="key_expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="key expires"),
        ),
        migrations.RunPython(expire_existing, migrations.RunPython.noop),
    ]
