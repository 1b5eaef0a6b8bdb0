from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "urbangrid.catalog"
    label = "catalog"
    verbose_name = _("Problem catalogue")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .cache import invalidate_classes
        from .calendar import invalidate_calendar
        from .classify import invalidate_classifier
        from .models import CalendarDay, CodeSet, ProblemClass

        # Edits in the admin take effect at once in this process (others within CACHE_SECONDS).
        for signal in (post_save, post_delete):
            signal.connect(
                invalidate_calendar,
                sender=CalendarDay,
                dispatch_uid="ug_calendar_" + signal.__class__.__name__ + str(id(signal)),
            )
            signal.connect(
                invalidate_classifier, sender=ProblemClass, dispatch_uid="ug_classes_" + str(id(signal))
            )
            for sender in (ProblemClass, CodeSet):
                signal.connect(
                    invalidate_classes,
                    sender=sender,
                    dispatch_uid=f"ug_active_classes_{sender.__name__}_{id(signal)}",
                )
