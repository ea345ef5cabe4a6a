from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "hcm.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from hcm.payments.tasks import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
