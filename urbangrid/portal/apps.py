from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "urbangrid.portal"
    label = "portal"
    verbose_name = _("Public portal and Open311")
