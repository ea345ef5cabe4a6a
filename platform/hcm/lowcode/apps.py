from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class LowcodeConfig(AppConfig):
    name = "hcm.lowcode"
    label = "lowcode"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        # Every app declares its models in resources.py; the admin is generated from them here,
        # after django.contrib.admin has autodiscovered the hand-written admin modules.
        from django.utils.module_loading import autodiscover_modules

        from hcm.lowcode.admin import register_all
        from hcm.lowcode.throttling import check_limits

        autodiscover_modules("resources")
        register_all()
        checks.register(check_limits)
