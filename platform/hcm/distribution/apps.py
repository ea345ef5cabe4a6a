from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "hcm.distribution"
    label = "distribution"
    verbose_name = _("Distribution")

    def ready(self) -> None:
        from hcm.distribution.selectors import my_page_distribution
        from hcm.distribution.tasks import ensure_schedules
        from hcm.patients import mypage

        post_migrate.connect(ensure_schedules, sender=self)
        mypage.register_section("distribution")(my_page_distribution)
