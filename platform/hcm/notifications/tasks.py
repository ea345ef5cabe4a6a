"""django-q2 tasks of notifications: sending one, and the sweep that retries what is due."""

from django.db.models import Q
from django.utils import timezone
from django_q.models import Schedule

from hcm.notifications.models import Notification
from hcm.notifications.services import LEASE, notification_send, queue_send

State = Notification.State
SWEEP_SCHEDULE = "notifications.send_due"
SWEEP_BATCH = 500


def send_notification(pk: int) -> None:
    """The queued task of one notification (a row deleted meanwhile is ignored)."""
    notification = Notification.objects.filter(pk=pk).first()
    if notification is not None:
        notification_send(notification=notification)


def send_due() -> int:
    """Queue every notification that is due: failed ones whose retry time has come, sends whose
    sender died (lease run out) and pending ones whose queued task was lost. Answers the count."""
    now = timezone.now()
    due = (
        Q(state=State.FAILED, next_attempt_at__lte=now)
        | Q(state=State.PENDING, next_attempt_at__lte=now)
        | Q(state=State.PENDING, next_attempt_at=None, created_at__lte=now - LEASE)
    )
    ids = list(Notification.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    for pk in ids:
        queue_send(pk)
    return len(ids)


def ensure_schedules(*, using: str = "default") -> None:
    """Create or update the named schedules of this app (idempotent; called after every migrate)."""
    Schedule.objects.using(using).update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": "hcm.notifications.tasks.send_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
