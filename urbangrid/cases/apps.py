from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "urbangrid.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from . import notify, tasks

        # Wired here, not imported by notify: tasks imports the actions that notify.
        notify.deliver_with(tasks.deliver_notifications.enqueue)
