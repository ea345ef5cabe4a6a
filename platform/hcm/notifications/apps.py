from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "hcm.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # After every migrate (deploys run it) rather than at start-up: creating schedules when
        # a process starts races between processes, and a migrate is when the tables exist.
        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="notifications.ensure_schedules")
        checks.register(_check_backend, checks.Tags.compatibility)


def _ensure_schedules(sender, using="default", apps=None, **kwargs) -> None:
    try:
        if apps is not None:
            apps.get_model("django_q", "Schedule")
    except LookupError:  # django_q migrated back to zero: nothing to schedule into
        return
    from hcm.notifications.tasks import ensure_schedules

    ensure_schedules(using=using)


def _check_backend(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    from hcm.notifications.backends import BACKENDS

    name = getattr(settings, "HCM_NOTIFICATION_BACKEND", None)
    if name in BACKENDS:
        return []
    return [
        checks.Error(
            f"HCM_NOTIFICATION_BACKEND is {name!r}.",
            hint=f"Use one of {', '.join(sorted(BACKENDS))}.",
            id="notifications.E001",
        )
    ]
