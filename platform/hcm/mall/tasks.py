"""The named schedule that closes orders left unpaid past the hospital's timeout."""

import logging

from django.utils import timezone

from hcm.lowcode.errors import DomainError
from hcm.lowcode.transitions import TransitionRefused, transition_apply
from hcm.mall.models import Order, OrderState
from hcm.payments.models import Method, PaymentState
from hcm.payments.services import payment_reconcile, payments_of

log = logging.getLogger(__name__)
SCHEDULE_NAME = "mall.close_unpaid_orders"


def close_unpaid_orders() -> int:
    """Cancel orders whose payment deadline passed; a WeChat payment still open is asked about
    first (the patient may have paid a moment ago). Orders to pay at the hospital never expire."""
    closed = 0
    due = Order.objects.filter(state=OrderState.PENDING_PAYMENT, expires_at__lte=timezone.now()).order_by("pk")
    for order in due[:500]:
        open_wechat = payments_of(payable=order).filter(method=Method.WECHAT, state=PaymentState.PENDING)
        for payment in open_wechat:
            try:
                payment_reconcile(payment=payment)
            except DomainError as error:  # WeChat unreachable or not configured: close anyway
                log.warning("order %s: could not ask WeChat about %s: %s", order.number, payment.out_trade_no, error)
        try:
            transition_apply(obj=order, name="expire", actor=None)
            closed += 1
        except TransitionRefused:
            continue  # paid meanwhile
    return closed


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "hcm.mall.tasks.close_unpaid_orders",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
