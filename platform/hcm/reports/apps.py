from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "hcm.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from hcm.patients import mypage
        from hcm.reports.selectors import new_report_count
        from hcm.reports.tasks import ensure_schedules

        mypage.register_count("new_reports")(new_report_count)
        post_migrate.connect(ensure_schedules, sender=self)
