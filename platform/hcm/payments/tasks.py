"""Reconciliation: WeChat payments and refunds left half-way are finished by asking WeChat.

A named django-q2 schedule runs `reconcile` every few minutes (see `ensure_schedules`).
"""

import logging
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from hcm.payments import services
from hcm.payments.models import Method, Payment, PaymentState, Refund, RefundState

log = logging.getLogger(__name__)
SCHEDULE_NAME = "payments.reconcile"
MINIMUM_AGE = timedelta(minutes=2)  # leave fresh payments to their notification


def reconcile() -> dict:
    """Query WeChat about payments pending and refunds processing for longer than a moment."""
    before = timezone.now() - MINIMUM_AGE
    outcomes: Counter = Counter()
    payments = Payment.objects.filter(method=Method.WECHAT, state=PaymentState.PENDING, created_at__lt=before)
    for payment in payments.order_by("pk")[:500]:
        outcomes[f"payment {_safely(services.payment_reconcile, payment=payment)}"] += 1
    refunds = Refund.objects.filter(state=RefundState.PROCESSING, created_at__lt=before).select_related("payment")
    for refund in refunds.order_by("pk")[:500]:
        outcomes[f"refund {_safely(services.refund_reconcile, refund=refund)}"] += 1
    return dict(outcomes)


def _safely(func, **kwargs) -> str:
    """One stuck row must not stop the others."""
    try:
        return func(**kwargs)
    except Exception:
        log.exception("reconciliation of %s failed", kwargs)
        return "error"


def ensure_schedules(**kwargs) -> None:
    """Create the named reconciliation schedule once (called after migrate)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "hcm.payments.tasks.reconcile",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
            "repeats": -1,
        },
    )
