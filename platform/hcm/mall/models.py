"""The checkup mall (MISSION A4): carts, orders and their lines.

An order is for one person (a bound patient record) and takes its prices from the catalog
when it is created, never from the client. Its state machine:

    pending_payment -> paid -> completed          (an operator verifies the checkup was done)
    pending_payment -> cancelled                  (the patient, an operator, or the timeout)
    paid -> refunding -> refunded                 (requested, approved by an operator)
    refunding -> paid                             (refund rejected)
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from hcm.lowcode.transitions import condition
from hcm.payments.models import Method

MONEY = {"max_digits": 12, "decimal_places": 2}


class CartItem(models.Model):
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    account = models.ForeignKey(
        "patients.WechatAccount", on_delete=models.CASCADE, related_name="cart_items", verbose_name=_("WeChat account")
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+", verbose_name=_("product")
    )
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    selected = models.BooleanField(_("selected"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "product"], name="cart_item_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1) & Q(quantity__lte=99), name="cart_item_quantity_1_99"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"


class OrderState(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDING = "refunding", _("Refund requested")
    REFUNDED = "refunded", _("Refunded")


@condition(_("The order has no unpaid pay-at-hospital payment to confirm."))
def has_open_counter_payment(order: "Order") -> bool:
    return order.payment_method == "at_hospital"


@condition(_("The payment deadline has not passed yet."))
def payment_deadline_passed(order: "Order") -> bool:
    return order.expires_at is not None and order.expires_at <= timezone.now()


class Order(FSMModelMixin, models.Model):
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    number = models.CharField(_("order number"), max_length=32, unique=True, editable=False)
    account = models.ForeignKey(
        "patients.WechatAccount", on_delete=models.PROTECT, related_name="orders", verbose_name=_("WeChat account")
    )
    patient = models.ForeignKey(
        "patients.PatientRecord", on_delete=models.PROTECT, related_name="orders", verbose_name=_("checkup for")
    )
    total = models.DecimalField(_("total"), editable=False, **MONEY)
    state = FSMField(_("status"), default=OrderState.PENDING_PAYMENT, choices=OrderState.choices, protected=True)
    payment_method = models.CharField(
        _("payment method"), max_length=16, blank=True, editable=False, choices=Method.choices
    )
    expires_at = models.DateTimeField(_("pay before"), null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    cancel_reason = models.CharField(_("cancel reason"), max_length=200, blank=True, editable=False)
    refund_reason = models.CharField(_("refund reason"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "expires_at"])]
        constraints = [models.CheckConstraint(condition=Q(total__gt=0), name="order_total_positive")]

    def __str__(self) -> str:
        return self.number

    # The payable protocol of hcm.payments.payables.
    def payment_amount(self) -> Decimal:
        return self.total

    def payment_description(self) -> str:
        return str(_("Checkup order %(number)s") % {"number": self.number})

    def payment_open(self) -> bool:
        return self.state == OrderState.PENDING_PAYMENT

    @property
    def lines(self) -> list[dict]:
        """The order's lines (prefetched by every list that shows them)."""
        return [
            {
                "product": item.product_id,
                "name": item.name,
                "unit_price": f"{item.unit_price:.2f}",
                "quantity": item.quantity,
                "amount": f"{item.amount:.2f}",
            }
            for item in self.items.all()
        ]

    @transition(
        field=state,
        source=OrderState.PENDING_PAYMENT,
        target=OrderState.CANCELLED,
        custom={
            "label": _("Cancel"),
            "form": "hcm.mall.forms.OptionalReasonForm",
            "service": "hcm.mall.services.order_cancel",
            "scopes": ("patient", "staff"),
        },
    )
    def cancel(self, reason: str = "") -> None:
        pass

    @transition(
        field=state,
        source=OrderState.PENDING_PAYMENT,
        target=OrderState.CANCELLED,
        conditions=[payment_deadline_passed],
        custom={
            "label": _("Close unpaid order"),
            "admin": False,
            "api": False,
            "service": "hcm.mall.services.order_expire",
        },
    )
    def expire(self) -> None:
        pass

    @transition(
        field=state,
        source=OrderState.PENDING_PAYMENT,
        target=OrderState.PAID,
        conditions=[has_open_counter_payment],
        custom={
            "label": _("Confirm payment at the counter"),
            "form": "hcm.mall.forms.CollectForm",
            "service": "hcm.mall.services.order_confirm_payment",
        },
    )
    def confirm_payment(self, note: str) -> None:
        pass

    @transition(
        field=state, source=OrderState.PENDING_PAYMENT, target=OrderState.PAID, custom={"admin": False, "api": False}
    )
    def mark_paid(self, payment_method: str) -> None:
        self.payment_method = payment_method
        self.paid_at = timezone.now()

    @transition(
        field=state,
        source=OrderState.PAID,
        target=OrderState.COMPLETED,
        custom={"label": _("Checkup done"), "service": "hcm.mall.services.order_complete"},
    )
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @transition(
        field=state,
        source=OrderState.PAID,
        target=OrderState.REFUNDING,
        custom={
            "label": _("Request a refund"),
            "form": "hcm.mall.forms.ReasonForm",
            "scopes": ("patient", "staff"),
            "idempotent": True,
        },
    )
    def request_refund(self, reason: str) -> None:
        self.refund_reason = reason

    @transition(
        field=state,
        source=OrderState.REFUNDING,
        target=RETURN_VALUE(OrderState.REFUNDING, OrderState.REFUNDED),
        custom={"label": _("Approve the refund"), "service": "hcm.mall.services.order_refund_approve"},
    )
    def approve_refund(self) -> str:
        return self.state

    @transition(
        field=state,
        source=OrderState.REFUNDING,
        target=OrderState.PAID,
        custom={"label": _("Reject the refund"), "form": "hcm.mall.forms.ReasonForm"},
    )
    def reject_refund(self, reason: str) -> None:
        self.refund_reason = f"{self.refund_reason} / {reason}"

    @transition(
        field=state,
        source=[OrderState.PAID, OrderState.REFUNDING],
        target=OrderState.REFUNDED,
        custom={"admin": False, "api": False},
    )
    def mark_refunded(self) -> None:
        pass


class OrderItem(models.Model):
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order"))
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    name = models.CharField(_("name"), max_length=100)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(amount=models.F("unit_price") * models.F("quantity")), name="order_item_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"
