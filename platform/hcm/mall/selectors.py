"""Reads of the mall that other apps show: the my page's counts."""

from hcm.mall.models import CartItem, Order, OrderState
from hcm.patients.models import PatientRecord, WechatAccount


def unpaid_order_count(account: WechatAccount, patient: PatientRecord | None) -> int:
    """Orders of this account still awaiting payment (all its people: the account pays)."""
    return Order.objects.filter(account=account, state=OrderState.PENDING_PAYMENT).count()


def cart_item_count(account: WechatAccount, patient: PatientRecord | None) -> int:
    return CartItem.objects.filter(account=account).count()
