from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "hcm.appointments"
    label = "appointments"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        from hcm.appointments.selectors import upcoming_count
        from hcm.appointments.tasks import ensure_schedules
        from hcm.patients import mypage

        mypage.register_count("upcoming_appointments")(upcoming_count)
        post_migrate.connect(ensure_schedules, sender=self)
