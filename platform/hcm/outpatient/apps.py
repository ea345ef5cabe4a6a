from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OutpatientConfig(AppConfig):
    name = "hcm.outpatient"
    label = "outpatient"
    verbose_name = _("Outpatient payment")

    def ready(self) -> None:
        from hcm.outpatient.models import OutpatientPayment
        from hcm.outpatient.tasks import ensure_schedules
        from hcm.payments.payables import register_payable

        register_payable(
            OutpatientPayment,
            on_paid="hcm.outpatient.services.outpatient_charged",
            on_closed="hcm.outpatient.services.outpatient_charge_closed",
            on_payment_started="hcm.outpatient.services.outpatient_payment_started",
        )
        post_migrate.connect(ensure_schedules, sender=self)
