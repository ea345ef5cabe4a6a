"""Prepaid balance cards and their immutable ledger (DESIGN §6).

A card belongs to one patient record; its balance only changes through a ledger entry written
in the same transaction, with the card row locked, so the stored balance always equals the
sum of its entries. Database constraints keep the balance from going negative and forbid
booking the same cause twice.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from hcm.lowcode.append_only import AppendOnlyModel, RowImmutable
from hcm.patients.identity import mask_tail

MONEY = {"max_digits": 12, "decimal_places": 2}


class BalanceAccount(models.Model):
    """A patient record's prepaid card: balance, payment password and its lock."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="balance_accounts", verbose_name=_("hospital")
    )
    patient = models.OneToOneField(
        "patients.PatientRecord",
        on_delete=models.PROTECT,
        related_name="balance_account",
        verbose_name=_("patient record"),
    )
    card_number = models.CharField(_("card number"), max_length=16)
    balance = models.DecimalField(_("balance"), **MONEY, default=0, editable=False)
    password = models.CharField(_("payment password"), max_length=128, editable=False)
    failed_attempts = models.PositiveSmallIntegerField(_("wrong password attempts"), default=0, editable=False)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True, editable=False)
    password_changed_at = models.DateTimeField(_("password changed at"), default=timezone.now, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("balance card")
        verbose_name_plural = _("balance cards")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "card_number"], name="balance_account_unique_card"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="balance_account_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return self.masked_card_number

    @property
    def masked_holder(self) -> str:
        return self.patient.masked_name

    @property
    def masked_card_number(self) -> str:
        return mask_tail(self.card_number)

    def is_locked(self, now=None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())

    masked_holder.fget.short_description = _("holder")
    masked_card_number.fget.short_description = _("card number")


LedgerEntryImmutable = RowImmutable  # the name callers know


class LedgerEntry(AppendOnlyModel):
    """One change of a card's balance: credits positive, debits negative, never edited."""

    class Kind(models.TextChoices):
        COUNTER_TOPUP = "counter_topup", _("Counter top-up")
        ONLINE_RECHARGE = "online_recharge", _("Online recharge")
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("hospital")
    )
    account = models.ForeignKey(
        BalanceAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("balance card")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, default="", help_text=_("What caused it, e.g. mall.order:123.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("operator"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_entry_balance_not_negative"),
            # The same cause is booked once: idempotent callbacks and retries rely on it.
            models.UniqueConstraint(
                fields=["account", "kind", "reference"],
                condition=~Q(reference=""),
                name="ledger_entry_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+}"


class RechargeState(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    CREDITED = "credited", _("Credited")
    CLOSED = "closed", _("Closed")


class Recharge(FSMModelMixin, models.Model):
    """An online top-up (MISSION A7): paid by WeChat Pay, credited to the card exactly once.

    pending -> credited   (the payment succeeded: one ledger entry, in the payment's transaction)
    pending -> closed     (the payment was never made and WeChat's order was closed)
    """

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    number = models.CharField(_("recharge number"), max_length=32, unique=True, editable=False)
    account = models.ForeignKey(
        "patients.WechatAccount", on_delete=models.PROTECT, related_name="recharges", verbose_name=_("WeChat account")
    )
    card = models.ForeignKey(
        BalanceAccount, on_delete=models.PROTECT, related_name="recharges", verbose_name=_("balance card")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    state = FSMField(_("status"), default=RechargeState.PENDING, choices=RechargeState.choices, protected=True)
    credited_at = models.DateTimeField(_("credited at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("online recharge")
        verbose_name_plural = _("online recharges")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="recharge_amount_positive")]

    def __str__(self) -> str:
        return self.number

    @property
    def masked_holder(self) -> str:
        return self.card.patient.masked_name

    masked_holder.fget.short_description = _("holder")

    # The payable protocol of hcm.payments.payables.
    def payment_amount(self) -> Decimal:
        return self.amount

    def payment_description(self) -> str:
        return str(_("Balance recharge %(number)s") % {"number": self.number})

    def payment_open(self) -> bool:
        return self.state == RechargeState.PENDING

    @transition(
        field=state, source=RechargeState.PENDING, target=RechargeState.CREDITED, custom={"admin": False, "api": False}
    )
    def credit(self) -> None:
        self.credited_at = timezone.now()

    @transition(
        field=state, source=RechargeState.PENDING, target=RechargeState.CLOSED, custom={"admin": False, "api": False}
    )
    def close(self) -> None:
        pass
