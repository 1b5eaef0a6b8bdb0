from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "urbangrid.orgs"
    label = "orgs"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from urbangrid.lib import access

        from .scopes import compute_scope, current_generation

        access.register_builder(compute_scope, current_generation)
