"""The notification outbox: one row per message, written in the transaction of the business
change that caused it and sent afterwards by a task (services.notification_send)."""

from typing import get_args

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hcm.hospitals.config.values import NotificationEvent

EVENTS: tuple[str, ...] = get_args(NotificationEvent)

EVENT_LABELS = {
    "order_placed": _("Order placed"),
    "order_paid": _("Order paid"),
    "order_cancelled": _("Order cancelled"),
    "appointment_booked": _("Appointment booked"),
    "appointment_cancelled": _("Appointment cancelled"),
    "appointment_reminder": _("Appointment reminder"),
    "report_ready": _("Report ready"),
    "refund": _("Refund"),
    "pay_later_reminder": _("Pay-later reminder"),
    "withdrawal": _("Withdrawal"),
    "distributor_review": _("Distributor application reviewed"),
    "recharge": _("Recharge"),
}

# The configuration's events are the choices; a new event without a label shows its name.
EVENT_CHOICES = [(event, EVENT_LABELS.get(event, event)) for event in EVENTS]


class Notification(models.Model):
    """A WeChat template message to one account: pending until sent, retried with backoff when
    sending fails, skipped when the hospital has no template for its event."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="notifications", verbose_name=_("hospital")
    )
    account = models.ForeignKey(
        "patients.WechatAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
        verbose_name=_("WeChat account"),
    )
    openid = models.CharField(_("openid"), max_length=64, blank=True)
    event = models.CharField(_("event"), max_length=32, choices=EVENT_CHOICES)
    template_id = models.CharField(_("template id"), max_length=128, blank=True)
    data = models.JSONField(_("message data"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # Changed only by the services: a plain field, so sending never needs a transition.
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Pending: the end of the current sender's lease (none: not claimed yet); failed: the next retry.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    dedupe_key = models.CharField(
        _("deduplication key"),
        max_length=128,
        blank=True,
        help_text=_("At most one notification per hospital with the same key (e.g. one reminder per bill per day)."),
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_unique_dedupe_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.openid or '-'}"
