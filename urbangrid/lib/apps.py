from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Django's forms end every label with gettext(":"), which its own Chinese catalogue leaves an
# ASCII colon; marked here so that this project's catalogue gives it the full-width "：".
gettext_noop(":")


class LibConfig(AppConfig):
    name = "urbangrid.lib"
    label = "lib"
    verbose_name = _("Shared helpers")

    def ready(self) -> None:
        from . import deploy  # noqa: F401  (registers the deploy check)
