"""The distribution programme (MISSION A8): applications, distributors, attribution, commissions,
the commission account with its ledger, and withdrawals.

    application   new -> pending (review on) | approved (review off) ; pending -> approved | rejected
    commission    pending -> settled (settle_after_days after the order completed) -> clawed_back
                  pending -> cancelled (the order was refunded before it settled)
    withdrawal    new -> pending_review (review on) | approved (review off)
                  pending_review -> approved -> paid (operator records the transfer)
                  approved -> transferring -> paid | approved (WeChat transfer, after commit)
                  pending_review | approved -> rejected (the held amount goes back)

A commission account's balance changes only through a ledger entry written in the same
transaction with the account row locked, so the balance always equals the sum of its entries.
The balance may go below zero only through a clawback (a refund after the commission was
settled and perhaps withdrawn): the debt is recovered from later settlements, and no
withdrawal is possible until the balance is positive again. The ledger's constraint says
exactly that: no debit other than a clawback leaves a negative balance.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, FSMField, FSMModelMixin, transition

from hcm.lowcode.append_only import AppendOnlyModel
from hcm.lowcode.transitions import condition
from hcm.patients.identity import mask_name, mask_phone

MONEY = {"max_digits": 12, "decimal_places": 2}
HALF_CENT = Decimal("0.005")
RATE = {"max_digits": 5, "decimal_places": 4}


class VerificationCode(models.Model):
    """A text-message code sent to a phone: stored as a keyed digest, expires, used once."""

    class Purpose(models.TextChoices):
        APPLY = "apply", _("Distributor application")

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    phone = models.CharField(_("phone"), max_length=11)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    digest = models.CharField(max_length=64, editable=False)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["hospital", "phone", "created_at"]),
            models.Index(fields=["hospital", "ip_address", "created_at"]),
        ]

    def __str__(self) -> str:
        return mask_phone(self.phone)


# --- Applications and distributors ----------------------------------------------------------


class ApplicationState(models.TextChoices):
    NEW = "new", _("New")
    PENDING = "pending", _("Under review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


def application_submitted_state(application: "Application") -> str:
    """Under review where the hospital reviews applications, approved at once where it does not."""
    review = application.hospital.settings.distribution.review_applications
    return ApplicationState.PENDING if review else ApplicationState.APPROVED


class Application(FSMModelMixin, models.Model):
    """A WeChat account asks to become a distributor (name, verified phone, invite code, agreement)."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    account = models.ForeignKey(
        "patients.WechatAccount",
        on_delete=models.PROTECT,
        related_name="distributor_applications",
        verbose_name=_("WeChat account"),
    )
    name = models.CharField(_("full name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=11)
    invite_code = models.CharField(_("invite code"), max_length=16, blank=True)
    inviter = models.ForeignKey(
        "distribution.Distributor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("invited by"),
    )
    agreement_accepted_at = models.DateTimeField(_("agreement accepted at"), null=True, blank=True)
    state = FSMField(_("status"), default=ApplicationState.NEW, choices=ApplicationState.choices, protected=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=200, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("distributor application")
        verbose_name_plural = _("distributor applications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(state__in=["new", "pending"]),
                name="distribution_one_open_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.masked_name} {self.masked_phone}"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    masked_name.fget.short_description = _("full name")
    masked_phone.fget.short_description = _("phone")

    @transition(
        field=state,
        source=ApplicationState.NEW,
        target=GET_STATE(application_submitted_state, states=[ApplicationState.PENDING, ApplicationState.APPROVED]),
        custom={"admin": False, "api": False, "service": "hcm.distribution.services.application_submit"},
    )
    def submit(self) -> None:
        pass

    @transition(
        field=state,
        source=ApplicationState.PENDING,
        target=ApplicationState.APPROVED,
        custom={"label": _("Approve"), "service": "hcm.distribution.services.application_approve"},
    )
    def approve(self) -> None:
        pass

    @transition(
        field=state,
        source=ApplicationState.PENDING,
        target=ApplicationState.REJECTED,
        custom={
            "label": _("Reject"),
            "form": "hcm.distribution.forms.ReasonForm",
            "service": "hcm.distribution.services.application_reject",
        },
    )
    def reject(self, reason: str) -> None:
        self.reject_reason = reason


class Distributor(models.Model):
    """An approved applicant: sells for the hospital through an invite code and earns commission."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    account = models.OneToOneField(
        "patients.WechatAccount", on_delete=models.PROTECT, related_name="distributor", verbose_name=_("WeChat account")
    )
    application = models.OneToOneField(
        Application,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distributor",
        verbose_name=_("application"),
    )
    name = models.CharField(_("full name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=11)
    invite_code = models.CharField(_("invite code"), max_length=16, editable=False)
    inviter = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invitees",
        verbose_name=_("invited by"),
    )
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("distributor")
        verbose_name_plural = _("distributors")
        ordering = ["-approved_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "invite_code"], name="distribution_unique_invite_code"),
            models.CheckConstraint(condition=~Q(inviter=F("pk")), name="distribution_not_own_inviter"),
        ]

    def __str__(self) -> str:
        return f"{self.masked_name} ({self.invite_code})"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    masked_name.fget.short_description = _("full name")
    masked_phone.fget.short_description = _("phone")


# --- Attribution ---------------------------------------------------------------------------------


class Referral(models.Model):
    """A member invited by a distributor: the first invitation the account followed, kept for good."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    account = models.OneToOneField(
        "patients.WechatAccount", on_delete=models.CASCADE, related_name="referral", verbose_name=_("member")
    )
    distributor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("invited by")
    )
    created_at = models.DateTimeField(_("invited at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("invited member")
        verbose_name_plural = _("invited members")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.account} ← {self.distributor}"


class AttributionSource(models.TextChoices):
    SHARE = "share", _("Product share")
    INVITE = "invite", _("Invited member")


class OrderAttribution(models.Model):
    """Which distributor a mall order is credited to, fixed when the order is placed."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    order = models.OneToOneField(
        "mall.Order", on_delete=models.CASCADE, related_name="attribution", verbose_name=_("order")
    )
    distributor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, related_name="attributions", verbose_name=_("distributor")
    )
    source = models.CharField(_("source"), max_length=16, choices=AttributionSource.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("distribution order")
        verbose_name_plural = _("distribution orders")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.order} → {self.distributor}"


# --- Commissions ---------------------------------------------------------------------------------


class CommissionKind(models.TextChoices):
    DIRECT = "direct", _("Distribution income")
    TEAM = "team", _("Team income")
    INVITE = "invite", _("Invitation reward")


class CommissionState(models.TextChoices):
    PENDING = "pending", _("Awaiting settlement")
    SETTLED = "settled", _("Settled")
    CANCELLED = "cancelled", _("Cancelled")
    CLAWED_BACK = "clawed_back", _("Clawed back")


@condition(_("The commission is not due for settlement yet."))
def settlement_due(commission: "Commission") -> bool:
    return commission.settle_due_at is not None and commission.settle_due_at <= timezone.now()


class Commission(FSMModelMixin, models.Model):
    """What one distributor earns from one cause: an attributed order (direct or team), or inviting
    a distributor (invite reward). Amounts are quantized to cents, half up."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    distributor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, related_name="commissions", verbose_name=_("distributor")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CommissionKind.choices)
    order = models.ForeignKey(
        "mall.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    source = models.ForeignKey(
        Distributor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("from distributor"),
        help_text=_("The seller for team income; the invited distributor for an invitation reward."),
    )
    base_amount = models.DecimalField(_("commissionable amount"), **MONEY)
    rate = models.DecimalField(_("rate"), **RATE, null=True, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    state = FSMField(_("status"), default=CommissionState.PENDING, choices=CommissionState.choices, protected=True)
    settle_due_at = models.DateTimeField(_("settles at"), null=True, blank=True, db_index=True, editable=False)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    clawed_back_at = models.DateTimeField(_("clawed back at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("commission")
        verbose_name_plural = _("commissions")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["distributor", "kind", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="distribution_commission_amount_positive"),
            models.CheckConstraint(condition=Q(base_amount__gte=0), name="distribution_commission_base_not_negative"),
            # A repeated "paid" event books nothing twice.
            models.UniqueConstraint(
                fields=["order", "distributor", "kind"],
                condition=Q(order__isnull=False),
                name="distribution_commission_once_per_order",
            ),
            # One invitation reward per invited distributor (a cancelled one may be earned again).
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(kind="invite") & ~Q(state="cancelled"),
                name="distribution_one_invite_reward",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @transition(
        field=state,
        source=CommissionState.PENDING,
        target=CommissionState.SETTLED,
        conditions=[settlement_due],
        custom={"admin": False, "api": False, "service": "hcm.distribution.services.commission_settle"},
    )
    def settle(self) -> None:
        self.settled_at = timezone.now()

    @transition(
        field=state,
        source=CommissionState.PENDING,
        target=CommissionState.CANCELLED,
        custom={"admin": False, "api": False},
    )
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()

    @transition(
        field=state,
        source=CommissionState.SETTLED,
        target=CommissionState.CLAWED_BACK,
        custom={"admin": False, "api": False, "service": "hcm.distribution.services.commission_claw_back"},
    )
    def claw_back(self) -> None:
        self.clawed_back_at = timezone.now()


# --- The commission account and its ledger -------------------------------------------------------


class CommissionAccount(models.Model):
    """A distributor's commission wallet: settled commissions less withdrawals and clawbacks."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital")
    )
    distributor = models.OneToOneField(
        Distributor, on_delete=models.PROTECT, related_name="commission_account", verbose_name=_("distributor")
    )
    balance = models.DecimalField(
        _("balance"),
        **MONEY,
        default=0,
        editable=False,
        help_text=_("Below zero only after a clawback; later settlements pay it back."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("commission account")
        verbose_name_plural = _("commission accounts")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return str(self.distributor)


class CommissionEntry(AppendOnlyModel):
    """One change of a commission account's balance: credits positive, debits negative, never edited."""

    class Kind(models.TextChoices):
        COMMISSION = "commission", _("Commission settled")
        CLAWBACK = "clawback", _("Commission clawed back")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        WITHDRAWAL_RETURNED = "withdrawal_returned", _("Withdrawal returned")

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital")
    )
    account = models.ForeignKey(
        CommissionAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("commission account")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    reference = models.CharField(
        _("reference"), max_length=64, help_text=_("What caused it, e.g. commission:12 or withdrawal:3.")
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
        verbose_name = _("commission ledger entry")
        verbose_name_plural = _("commission ledger entries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="distribution_entry_amount_not_zero"),
            # Only a clawback may leave the balance below zero; a withdrawal never overdraws.
            models.CheckConstraint(
                condition=Q(balance_after__gte=0) | Q(amount__gt=0) | Q(kind="clawback"),
                name="distribution_entry_no_overdraw",
            ),
            models.UniqueConstraint(
                fields=["account", "kind", "reference"], name="distribution_entry_unique_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+}"


# --- Withdrawals ---------------------------------------------------------------------------------


class WithdrawalState(models.TextChoices):
    NEW = "new", _("New")
    PENDING_REVIEW = "pending_review", _("Under review")
    APPROVED = "approved", _("Approved, awaiting payment")
    TRANSFERRING = "transferring", _("Transferring")
    PAID = "paid", _("Paid out")
    REJECTED = "rejected", _("Rejected")


class TransferMethod(models.TextChoices):
    MANUAL = "manual", _("Recorded by an operator")
    WECHAT = "wechat", _("WeChat transfer")


def withdrawal_submitted_state(withdrawal: "Withdrawal") -> str:
    """Under review where the hospital reviews withdrawals, approved at once where it does not."""
    review = withdrawal.hospital.settings.distribution.withdrawal.review
    return WithdrawalState.PENDING_REVIEW if review else WithdrawalState.APPROVED


@condition(_("WeChat transfers are not configured for this hospital."))
def wechat_transfer_configured(withdrawal: "Withdrawal") -> bool:
    wechat = withdrawal.hospital.settings.integrations.wechat
    return bool(wechat.app_id and wechat.mch_id and wechat.api_key_env)


class Withdrawal(FSMModelMixin, models.Model):
    """A distributor takes money out of the commission account: held at request, then paid or returned."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    number = models.CharField(_("withdrawal number"), max_length=32, unique=True, editable=False)
    distributor = models.ForeignKey(
        Distributor, on_delete=models.PROTECT, related_name="withdrawals", verbose_name=_("distributor")
    )
    amount = models.DecimalField(_("amount"), **MONEY, help_text=_("Held from the account at request."))
    fee = models.DecimalField(_("fee"), **MONEY, default=0)
    net_amount = models.DecimalField(_("amount paid out"), **MONEY)
    state = FSMField(_("status"), default=WithdrawalState.NEW, choices=WithdrawalState.choices, protected=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=200, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    transfer_method = models.CharField(
        _("paid by"), max_length=16, choices=TransferMethod.choices, blank=True, editable=False
    )
    transfer_reference = models.CharField(_("transfer reference"), max_length=64, blank=True, editable=False)
    transfer_error = models.CharField(_("last transfer error"), max_length=200, blank=True, editable=False)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("paid by operator"),
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="distribution_withdrawal_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="distribution_withdrawal_fee_not_negative"),
            models.CheckConstraint(condition=Q(net_amount__gt=0), name="distribution_withdrawal_net_positive"),
            # net = amount - fee, within half a cent: SQLite compares decimals as floats.
            models.CheckConstraint(
                condition=Q(net_amount__gt=F("amount") - F("fee") - HALF_CENT)
                & Q(net_amount__lt=F("amount") - F("fee") + HALF_CENT),
                name="distribution_withdrawal_net_is_amount_less_fee",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=state,
        source=WithdrawalState.NEW,
        target=GET_STATE(withdrawal_submitted_state, states=[WithdrawalState.PENDING_REVIEW, WithdrawalState.APPROVED]),
        custom={"admin": False, "api": False},
    )
    def submit(self) -> None:
        pass

    @transition(
        field=state,
        source=WithdrawalState.PENDING_REVIEW,
        target=WithdrawalState.APPROVED,
        custom={"label": _("Approve"), "service": "hcm.distribution.withdrawals.withdrawal_approve"},
    )
    def approve(self) -> None:
        pass

    @transition(
        field=state,
        source=[WithdrawalState.PENDING_REVIEW, WithdrawalState.APPROVED],
        target=WithdrawalState.REJECTED,
        custom={
            "label": _("Reject"),
            "form": "hcm.distribution.forms.ReasonForm",
            "service": "hcm.distribution.withdrawals.withdrawal_reject",
        },
    )
    def reject(self, reason: str) -> None:
        self.reject_reason = reason

    @transition(
        field=state,
        source=WithdrawalState.APPROVED,
        target=WithdrawalState.PAID,
        custom={
            "label": _("Record the transfer"),
            "form": "hcm.distribution.forms.TransferForm",
            "service": "hcm.distribution.withdrawals.withdrawal_record_payment",
        },
    )
    def record_payment(self, reference: str) -> None:
        self.transfer_method = TransferMethod.MANUAL
        self.transfer_reference = reference
        self.paid_at = timezone.now()

    @transition(
        field=state,
        source=WithdrawalState.APPROVED,
        target=WithdrawalState.TRANSFERRING,
        conditions=[wechat_transfer_configured],
        custom={"label": _("Pay by WeChat transfer"), "service": "hcm.distribution.withdrawals.withdrawal_transfer"},
    )
    def transfer(self) -> None:
        self.transfer_method = TransferMethod.WECHAT
        self.transfer_error = ""

    @transition(
        field=state,
        source=WithdrawalState.TRANSFERRING,
        target=WithdrawalState.PAID,
        custom={"admin": False, "api": False},
    )
    def mark_transferred(self, reference: str) -> None:
        self.transfer_reference = reference
        self.paid_at = timezone.now()

    @transition(
        field=state,
        source=WithdrawalState.TRANSFERRING,
        target=WithdrawalState.APPROVED,
        custom={"admin": False, "api": False},
    )
    def transfer_failed(self, error: str) -> None:
        self.transfer_error = error[:200]
