"""Writes of the mall: the cart, checkout, and what an order does when it is paid, cancelled
or refunded. Prices always come from the catalog at checkout."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from hcm.catalog.selectors import product_for_sale
from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import new_number
from hcm.lowcode.transitions import transition_apply
from hcm.mall.models import CartItem, Order, OrderItem, OrderState
from hcm.notifications.services import notify
from hcm.patients.models import PatientRecord, WechatAccount
from hcm.payments import services as payments
from hcm.payments.models import Method, Payment, PaymentState

MAX_QUANTITY = 99


class MallRefused(DomainError):
    code = "mall_refused"
    status = 409


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    product: object  # catalog.Product
    quantity: int

    @property
    def amount(self) -> Decimal:
        return self.product.price * self.quantity


# --- Cart ------------------------------------------------------------------------------


def _sellable(hospital: Hospital, product_id: int):
    product = product_for_sale(hospital=hospital, product_id=product_id)
    if product is None:
        raise MallRefused(_("This product is not on sale."), code="product_unavailable", status=404)
    return product


def cart_add(*, account: WechatAccount, product_id: int, quantity: int = 1) -> CartItem:
    """Add a product (or more of it) to the cart; at most 99 of one product."""
    product = _sellable(account.hospital, product_id)
    with transaction.atomic():
        item, created = CartItem.objects.select_for_update().get_or_create(
            hospital=account.hospital, account=account, product=product, defaults={"quantity": quantity}
        )
        if not created:
            item.quantity = min(item.quantity + quantity, MAX_QUANTITY)
            item.selected = True
            item.save(update_fields=["quantity", "selected"])
    return item


def cart_update(*, item: CartItem, quantity: int | None = None, selected: bool | None = None) -> CartItem:
    if quantity is not None:
        item.quantity = quantity
    if selected is not None:
        item.selected = selected
    item.save(update_fields=["quantity", "selected"])
    return item


def cart_remove(*, item: CartItem) -> None:
    item.delete()


# --- Checkout --------------------------------------------------------------------------


def price_lines(*, hospital: Hospital, lines: list[Line]) -> list[PricedLine]:
    """Each line with its catalog product and price; refuses anything not on sale."""
    if not lines:
        raise MallRefused(_("Choose at least one product."), code="empty_order", status=400)
    merged: dict[int, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    return [PricedLine(_sellable(hospital, pid), min(quantity, MAX_QUANTITY)) for pid, quantity in merged.items()]


def cart_lines(account: WechatAccount) -> list[Line]:
    return [Line(i.product_id, i.quantity) for i in account.cart_items.filter(selected=True).order_by("pk")]


def _order_number() -> str:
    return new_number("O")


def order_create(
    *, account: WechatAccount, patient: PatientRecord, lines: list[Line], from_cart: bool = False, share_code: str = ""
) -> Order:
    """Create an order awaiting payment for a bound person, at today's catalog prices; `share_code`
    (a distributor's product share) goes to the order listeners."""
    hospital = account.hospital
    priced = price_lines(hospital=hospital, lines=lines)
    with transaction.atomic():
        order = Order.objects.create(
            hospital=hospital,
            number=_order_number(),
            account=account,
            patient=patient,
            total=sum((line.amount for line in priced), Decimal("0.00")),
            expires_at=timezone.now() + hospital.settings.payments.unpaid_order_timeout,
        )
        OrderItem.objects.bulk_create(
            OrderItem(
                hospital=hospital,
                order=order,
                product=line.product,
                name=line.product.name,
                unit_price=line.product.price,
                quantity=line.quantity,
                amount=line.amount,
            )
            for line in priced
        )
        if from_cart:
            account.cart_items.filter(product__in=[line.product for line in priced]).delete()
        _order_event("created", order, share_code=share_code)
    return order


def _order_event(event: str, order: Order, **details) -> None:
    """Tell the apps named in settings.HCM_ORDER_LISTENERS (e.g. distribution, which the mall does
    not import) what happened to an order: "created", "paid", "completed" or "refunded", inside
    the order's transaction, so their writes commit or roll back with it."""
    for listener in getattr(settings, "HCM_ORDER_LISTENERS", ()):
        import_string(listener)(event=event, order=order, **details)


# --- What payments tell an order (hcm.payments.payables) --------------------------------


def _tell(order: Order, event: str, data: dict) -> None:
    notify(hospital=order.hospital, account=order.account, event=event, data=data, url="")


def _summary(order: Order) -> dict:
    return {
        "order": order.number,
        "amount": f"{order.total:.2f} 元",
        "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }


def order_paid(*, payable: Order, payment: Payment) -> None:
    """The order's payment succeeded (called in the payment's transaction, order locked)."""
    order = transition_apply(obj=payable, name="mark_paid", actor=None, data={"payment_method": payment.method})
    _order_event("paid", order)
    _tell(payable, "order_paid", _summary(payable))


def order_payment_started(*, payable: Order, payment: Payment) -> None:
    """Pay at the hospital chosen: the order waits for the cashier, and the patient is told."""
    Order.objects.filter(pk=payable.pk).update(payment_method=payment.method, expires_at=None)
    _tell(payable, "order_placed", {**_summary(payable), "method": str(payment.get_method_display())})


def order_refunded(*, payable: Order, payment: Payment, refund) -> None:
    """A refund of the order's payment succeeded."""
    order = Order.objects.get(pk=payable.pk)
    if order.state in (OrderState.PAID, OrderState.REFUNDING) and payment.state == PaymentState.REFUNDED:
        order = transition_apply(obj=order, name="mark_refunded", actor=None)
    if payment.state == PaymentState.REFUNDED:  # all of it: also a completed order's, refunded by finance
        _order_event("refunded", order)
    _tell(order, "refund", {**_summary(order), "amount": f"{refund.amount:.2f} 元"})


# --- Transition services (hcm.lowcode.transitions: called with the order locked) -------------


def _paid_payment(order: Order) -> Payment:
    return payments.payments_of(payable=order).get(state__in=[PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED])


def order_cancel(*, obj: Order, actor, reason: str = "") -> Order:
    obj.cancel()
    obj.cancelled_at = timezone.now()
    obj.cancel_reason = reason or (_("Cancelled by the patient") if isinstance(actor, WechatAccount) else "")
    obj.save()
    payments.payable_close_open_payments(payable=obj)
    return obj


def order_complete(*, obj: Order, actor) -> Order:
    """The checkup was done; the listeners hear of it (commissions start counting down to settlement)."""
    obj.complete()
    obj.save()
    _order_event("completed", obj)
    return obj


def order_expire(*, obj: Order, actor) -> Order:
    obj.expire()
    obj.cancelled_at = timezone.now()
    obj.cancel_reason = _("Not paid in time")
    obj.save()
    payments.payable_close_open_payments(payable=obj)
    return obj


def order_confirm_payment(*, obj: Order, actor, note: str) -> Order:
    pending = payments.payments_of(payable=obj).filter(method=Method.AT_HOSPITAL, state=PaymentState.PENDING)
    payment = pending.order_by("pk").first()
    if payment is None:
        raise DomainError(_("The order has no unpaid pay-at-hospital payment to confirm."), code="not_collectable")
    payments.payment_collect(payment=payment, actor=actor, note=note)
    return Order.objects.get(pk=obj.pk)


def order_refund_approve(*, obj: Order, actor) -> Order:
    """Return the money the way it came; balance at once, WeChat when WeChat confirms."""
    payments.payment_refund(payment=_paid_payment(obj), reason=obj.refund_reason or _("Refund"), actor=actor)
    return Order.objects.get(pk=obj.pk)


def order_pay(*, order: Order, account: WechatAccount, method: str, password: str, client_ip: str):
    """Pay an order of this account with a method of the hospital's config."""
    return payments.payment_start(
        payable=order, method=method, account=account, patient=order.patient, password=password, client_ip=client_ip
    )
