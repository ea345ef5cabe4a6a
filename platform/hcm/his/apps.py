from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HisConfig(AppConfig):
    name = "hcm.his"
    label = "his"
    verbose_name = _("Hospital information system")
