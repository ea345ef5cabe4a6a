"""Payments and refunds of every payable thing (mall orders, recharges, outpatient bills).

A payment belongs to one payable (a generic relation: payments know payables only through
the protocol in hcm.payments.payables) and is made with one method from the hospital's
config. Amounts are Decimal yuan; integer fen exist only at the WeChat boundary.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

MONEY = {"max_digits": 12, "decimal_places": 2}


class Method(models.TextChoices):
    BALANCE = "balance", _("Balance card")
    AT_HOSPITAL = "at_hospital", _("Pay at the hospital")
    WECHAT = "wechat", _("WeChat Pay")


class PaymentState(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    PAID = "paid", _("Paid")
    CLOSED = "closed", _("Closed")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    DUPLICATE = "duplicate", _("Paid twice or too late (returned)")


# A payable counts as paid while one of its payments is in one of these states.
SETTLED_STATES = (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)


class Payment(FSMModelMixin, models.Model):
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    payable_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("for"))
    payable_id = models.PositiveBigIntegerField(_("for id"))
    payable = GenericForeignKey("payable_type", "payable_id")
    description = models.CharField(_("description"), max_length=128)
    account = models.ForeignKey(
        "patients.WechatAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        verbose_name=_("payer"),
    )
    method = models.CharField(_("payment method"), max_length=16, choices=Method.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    refunded_amount = models.DecimalField(_("refunded"), default=Decimal("0.00"), editable=False, **MONEY)
    state = FSMField(_("status"), default=PaymentState.PENDING, choices=PaymentState.choices, protected=True)
    out_trade_no = models.CharField(_("merchant order number"), max_length=32, unique=True, editable=False)
    transaction_id = models.CharField(_("WeChat transaction id"), max_length=64, blank=True, editable=False)
    prepay_id = models.CharField(max_length=64, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("collected by"),
    )
    collection_note = models.CharField(_("how it was paid"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["payable_type", "payable_id"]), models.Index(fields=["state", "method"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                name="payment_refunds_within_amount",
            ),
            # The database, not a check-then-write, guarantees one payment per payable.
            models.UniqueConstraint(
                fields=["payable_type", "payable_id"],
                condition=Q(state__in=[s.value for s in SETTLED_STATES]),
                name="payment_one_settled_per_payable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.amount}"

    @property
    def refundable_amount(self) -> Decimal:
        return self.amount - self.refunded_amount

    @transition(
        field=state, source=PaymentState.PENDING, target=PaymentState.PAID, custom={"admin": False, "api": False}
    )
    def mark_paid(self) -> None:
        pass

    @transition(
        field=state, source=PaymentState.PENDING, target=PaymentState.CLOSED, custom={"admin": False, "api": False}
    )
    def close(self) -> None:
        pass

    @transition(
        field=state,
        source=[PaymentState.PENDING, PaymentState.CLOSED],
        target=PaymentState.DUPLICATE,
        custom={"admin": False, "api": False},
    )
    def mark_duplicate(self) -> None:
        """WeChat took money for a payable another payment had already settled: it goes back."""

    @transition(
        field=state,
        source=[PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED],
        target=PaymentState.PARTIALLY_REFUNDED,
        custom={"admin": False, "api": False},
    )
    def refund_part(self) -> None:
        pass

    @transition(
        field=state,
        source=[PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED],
        target=PaymentState.REFUNDED,
        custom={"admin": False, "api": False},
    )
    def refund_all(self) -> None:
        pass


class RefundState(models.TextChoices):
    PROCESSING = "processing", _("Refunding")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Refund failed")


class Refund(FSMModelMixin, models.Model):
    """Money going back the way it came; a WeChat refund is done only when WeChat says so."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=200)
    out_refund_no = models.CharField(_("merchant refund number"), max_length=32, unique=True, editable=False)
    refund_id = models.CharField(_("WeChat refund id"), max_length=64, blank=True, editable=False)
    state = FSMField(_("status"), default=RefundState.PROCESSING, choices=RefundState.choices, protected=True)
    failure = models.CharField(_("failure"), max_length=200, blank=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("operator"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.out_refund_no} {self.amount}"

    @transition(
        field=state, source=RefundState.PROCESSING, target=RefundState.SUCCEEDED, custom={"admin": False, "api": False}
    )
    def succeed(self) -> None:
        pass

    @transition(
        field=state, source=RefundState.PROCESSING, target=RefundState.FAILED, custom={"admin": False, "api": False}
    )
    def fail(self) -> None:
        pass


class IdempotencyKey(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for repeats."""

    account = models.ForeignKey("patients.WechatAccount", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key
