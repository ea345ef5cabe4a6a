"""Writes of notifications: queueing one in the business transaction, sending it, resending it.

Business code calls `notify` inside its own transaction. Sending happens later, in a task,
outside that transaction, so a failed or slow send never undoes or delays a payment.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from hcm.hospitals.models import Hospital
from hcm.lowcode.audit import audit_record
from hcm.lowcode.models import AuditEntry
from hcm.notifications import backends
from hcm.notifications.models import EVENTS, Notification
from hcm.patients.models import WechatAccount

logger = logging.getLogger(__name__)

State = Notification.State

# Wait after the n-th failed attempt; the 6 h step is reached only if MAX_ATTEMPTS is raised.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = 5
# How long a sender owns a claimed row: longer than a send can take (a few 5 s WeChat calls)
# and than the task timeout, so only a sender that died loses its row to the next sweep.
LEASE = timedelta(minutes=2)
SEND_TASK = "hcm.notifications.tasks.send_notification"


def queue_send(pk: int) -> None:
    """Queue the task that sends one notification (tasks.send_notification)."""
    async_task(SEND_TASK, pk, task_name=f"notification-{pk}")


def _queue_after_commit(pk: int) -> None:
    # robust: a broker that is down must not raise into code whose transaction has committed;
    # the row stays pending and the next sweep (tasks.send_due) queues it.
    transaction.on_commit(lambda: queue_send(pk), robust=True)


def notify(
    *,
    hospital: Hospital,
    account: WechatAccount | None,
    event: str,
    data: dict[str, str],
    url: str = "",
    dedupe_key: str = "",
) -> Notification | None:
    """Write a WeChat template message to `account` in the caller's transaction and send it after commit.

    The template comes from the hospital's configuration; without one the row is written as
    skipped and nothing is sent. A `dedupe_key` already used at this hospital writes nothing
    and answers None. Nothing here calls the network or raises because of sending.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown notification event {event!r}; expected one of {', '.join(EVENTS)}.")
    if account is not None and account.hospital_id != hospital.pk:
        raise ValueError("The account belongs to another hospital.")
    template_id = hospital.settings.notifications.wechat_templates.get(event, "")
    reason = _skip_reason(template_id=template_id, account=account)
    notification = Notification(
        hospital=hospital,
        account=account,
        openid=account.openid if account else "",
        event=event,
        template_id=template_id,
        data={str(key): str(value) for key, value in data.items()},
        url=url,
        state=State.SKIPPED if reason else State.PENDING,
        last_error=reason,
        dedupe_key=dedupe_key,
    )
    if dedupe_key:
        if _dedupe_key_used(hospital=hospital, dedupe_key=dedupe_key):
            return None
        try:
            with transaction.atomic():  # a savepoint: a concurrent duplicate must not break the caller
                notification.save()
        except IntegrityError:
            return None
    else:
        notification.save()
    if notification.state == State.PENDING:
        _queue_after_commit(notification.pk)
    return notification


def _dedupe_key_used(*, hospital: Hospital, dedupe_key: str) -> bool:
    # Spares the usual duplicate (a daily reminder run twice) a failing insert; the constraint
    # still decides between two concurrent callers.
    return Notification.objects.filter(hospital=hospital, dedupe_key=dedupe_key).exists()


def _skip_reason(*, template_id: str, account: WechatAccount | None) -> str:
    if not template_id:
        return "No WeChat template is configured for this event."
    if account is None:
        return "There is no WeChat account to send to."
    return ""


def _is_due(notification: Notification, now) -> bool:
    if notification.state == State.PENDING:
        return notification.next_attempt_at is None or notification.next_attempt_at <= now
    if notification.state == State.FAILED:
        return notification.next_attempt_at is not None and notification.next_attempt_at <= now
    return False


def _claim(pk: int) -> Notification | None:
    """Take a due row for one sender: pending, one more attempt, leased until now + LEASE (committed)."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=pk).first()
        now = timezone.now()
        if notification is None or not _is_due(notification, now):
            return None
        if notification.attempts >= MAX_ATTEMPTS:  # its last sender died mid-send
            notification.state = State.FAILED
            notification.next_attempt_at = None
            notification.save(update_fields=["state", "next_attempt_at"])
            return None
        notification.state = State.PENDING
        notification.attempts += 1
        notification.next_attempt_at = now + LEASE
        notification.save(update_fields=["state", "attempts", "next_attempt_at"])
    return notification


def _record_sent(pk: int) -> None:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=pk)
        notification.state = State.SENT
        notification.sent_at = timezone.now()
        notification.next_attempt_at = None
        notification.save(update_fields=["state", "sent_at", "next_attempt_at"])


def _record_failure(pk: int, error: str) -> None:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=pk)
        if notification.state == State.SENT:  # another sender got there after our lease ran out
            return
        attempts = notification.attempts
        notification.state = State.FAILED
        notification.last_error = error[:1000]
        notification.next_attempt_at = (
            timezone.now() + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1] if attempts < MAX_ATTEMPTS else None
        )
        notification.save(update_fields=["state", "last_error", "next_attempt_at"])
    logger.warning("Notification %s failed (attempt %s of %s): %s", pk, attempts, MAX_ATTEMPTS, error)


def notification_send(*, notification: Notification) -> Notification:
    """Send a due notification once (other senders skip it meanwhile) and record the outcome; never raises.

    Call it outside any transaction: the row is claimed and committed first, the backend is
    called with no lock held, and the outcome is written in a second short transaction.
    """
    claimed = _claim(notification.pk)
    if claimed is not None:
        try:
            backends.get_backend().send(claimed)
        except Exception as error:  # any failure of any backend is the row's, not the caller's
            _record_failure(claimed.pk, f"{type(error).__name__}: {error}")
        else:
            _record_sent(claimed.pk)
    notification.refresh_from_db()
    return notification


def notification_resend(*, notification: Notification, actor) -> bool:
    """Give a failed notification a fresh round of attempts, starting now; False when it has not failed."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        if locked.state != State.FAILED:
            return False
        detail = {"operation": "resend", "attempts": locked.attempts, "last_error": locked.last_error}
        locked.state = State.PENDING
        locked.attempts = 0
        locked.next_attempt_at = None
        locked.save(update_fields=["state", "attempts", "next_attempt_at"])
        audit_record(obj=locked, action=AuditEntry.Action.OVERRIDE, actor=actor, detail=detail)
        _queue_after_commit(locked.pk)
    return True


def notify_many(
    *, hospital: Hospital, event: str, messages: list[tuple[WechatAccount, dict[str, str], str]], batch_size: int = 2000
) -> int:
    """Write many notifications of one event at once (e.g. a daily reminder to thousands of
    patients) in batched inserts, not a query per message; each message is (account, data,
    dedupe_key) and a key already used writes nothing. The sweep (tasks.send_due) sends them.
    Answers how many were new when we looked (a concurrent run may have taken a few)."""
    if event not in EVENTS:
        raise ValueError(f"Unknown notification event {event!r}; expected one of {', '.join(EVENTS)}.")
    template_id = hospital.settings.notifications.wechat_templates.get(event, "")
    reason = "" if template_id else "No WeChat template is configured for this event."
    used = set(
        Notification.objects.filter(hospital=hospital, event=event, created_at__gte=timezone.now() - timedelta(days=2))
        .exclude(dedupe_key="")
        .values_list("dedupe_key", flat=True)
    )
    rows = [
        Notification(
            hospital=hospital,
            account=account,
            openid=account.openid,
            event=event,
            template_id=template_id,
            data={str(key): str(value) for key, value in data.items()},
            state=State.SKIPPED if reason else State.PENDING,
            last_error=reason,
            dedupe_key=dedupe_key,
        )
        for account, data, dedupe_key in messages
        if dedupe_key not in used
    ]
    Notification.objects.bulk_create(rows, batch_size=batch_size, ignore_conflicts=True)
    return len(rows)
