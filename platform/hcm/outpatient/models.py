"""Outpatient payment (门诊缴费, MISSION B): prescriptions from the HIS and the payments of them.

The HIS is the judge of what is unpaid. `Prescription` is our copy of the bills it returned
(refreshed whenever a list is read and by the pay-later sweep) so that reminders and the
"may this person book?" answer are set-based queries, not one HIS call per bill.

An `OutpatientPayment` pays one or several prescriptions (a merged payment) with one charge
through hcm.payments, then settles them in the HIS one by one:

    charging -> settling -> settled              (every prescription settled)
                         -> partially_refunded   (some failed: their self-pay share went back)
                         -> refunded             (all failed, or an operator refunded it)
    charging -> failed                           (the charge never happened)
    settled / partially_refunded -> refunding -> refunded   (an operator refunds what is left)
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from hcm.his.contract import PrescriptionKind
from hcm.lowcode.transitions import condition
from hcm.payments.models import Method

MONEY = {"max_digits": 12, "decimal_places": 2}
PAYMENT_METHODS = [*Method.choices, ("insurance", _("Medical insurance only"))]  # nothing left to charge


class Prescription(models.Model):
    """A bill the HIS issued, as it last told us."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    number = models.CharField(_("prescription number"), max_length=64)
    his_patient_id = models.CharField(_("HIS patient id"), max_length=64, db_index=True)
    medical_card_number = models.CharField(_("medical card number"), max_length=32, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=24, choices=PrescriptionKind.choices)
    department = models.CharField(_("department"), max_length=64)
    doctor = models.CharField(_("doctor"), max_length=64, blank=True)
    items = models.JSONField(_("items"), default=list)
    amount = models.DecimalField(_("amount"), **MONEY)
    issued_at = models.DateTimeField(_("issued at"))
    pay_later = models.BooleanField(_("pay later"), default=False)
    mergeable = models.BooleanField(_("may be merged"), default=True)
    paid = models.BooleanField(_("paid"), default=False)
    last_seen_at = models.DateTimeField(_("last seen in the HIS"), auto_now=True)

    class Meta:
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        ordering = ["-issued_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["hospital", "number"], name="prescription_unique_number")]
        indexes = [models.Index(fields=["hospital", "pay_later", "paid", "issued_at"])]

    def __str__(self) -> str:
        return self.number


class OutpatientState(models.TextChoices):
    CHARGING = "charging", _("Awaiting payment")
    SETTLING = "settling", _("Settling with the hospital")
    SETTLED = "settled", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDING = "refunding", _("Refunding")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Not paid")


@condition(_("The patient did not choose to pay at the counter."))
def pays_at_the_window(payment: "OutpatientPayment") -> bool:
    return payment.payment_method == "at_hospital"


class OutpatientPayment(FSMModelMixin, models.Model):
    """One charge for one or several prescriptions of one HIS patient."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    number = models.CharField(_("payment number"), max_length=32, unique=True, editable=False)
    account = models.ForeignKey(
        "patients.WechatAccount",
        on_delete=models.PROTECT,
        related_name="outpatient_payments",
        verbose_name=_("WeChat account"),
    )
    patient = models.ForeignKey(
        "patients.PatientRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outpatient_payments",
        verbose_name=_("patient"),
        help_text=_("Empty when paid by the code printed on the prescription without binding."),
    )
    his_patient_id = models.CharField(_("HIS patient id"), max_length=64, editable=False)
    patient_name = models.CharField(_("patient name (masked)"), max_length=64, editable=False)
    pre_settle_id = models.CharField(_("pre-settlement id"), max_length=64, editable=False)
    insurance = models.BooleanField(_("medical insurance"), default=False, editable=False)
    amount = models.DecimalField(_("total"), editable=False, **MONEY)
    insurance_amount = models.DecimalField(_("paid by insurance"), editable=False, **MONEY)
    self_pay_amount = models.DecimalField(_("paid by the patient"), editable=False, **MONEY)
    refunded_amount = models.DecimalField(_("refunded"), default=Decimal("0.00"), editable=False, **MONEY)
    payment_method = models.CharField(
        _("payment method"), max_length=16, blank=True, editable=False, choices=PAYMENT_METHODS
    )
    state = FSMField(_("status"), default=OutpatientState.CHARGING, choices=OutpatientState.choices, protected=True)
    refund_reason = models.CharField(_("refund reason"), max_length=200, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("outpatient payment")
        verbose_name_plural = _("outpatient payments")
        ordering = ["-created_at", "-pk"]
        permissions = [("refund_outpatientpayment", _("Can refund outpatient payments"))]
        indexes = [models.Index(fields=["state", "updated_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(self_pay_amount__gte=0), name="outpatient_self_pay_not_negative"),
            models.CheckConstraint(
                condition=Q(amount=models.F("insurance_amount") + models.F("self_pay_amount")),
                name="outpatient_amount_split",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # The payable protocol of hcm.payments.payables: the patient pays the self-pay share.
    def payment_amount(self) -> Decimal:
        return self.self_pay_amount

    def payment_description(self) -> str:
        return str(_("Outpatient payment %(number)s") % {"number": self.number})

    def payment_open(self) -> bool:
        return self.state == OutpatientState.CHARGING

    @property
    def prescriptions(self) -> list[dict]:
        """The payment's lines, one per prescription (prefetched by every list that shows them)."""
        return [line.as_dict() for line in self.lines.all()]

    @transition(
        field=state,
        source=OutpatientState.CHARGING,
        target=OutpatientState.SETTLING,
        custom={"admin": False, "api": False},
    )
    def charged(self, payment_method: str) -> None:
        self.payment_method = payment_method

    @transition(
        field=state,
        source=OutpatientState.CHARGING,
        target=OutpatientState.SETTLING,
        conditions=[pays_at_the_window],
        custom={
            "label": _("Confirm payment at the counter"),
            "form": "hcm.outpatient.forms.CollectForm",
            "service": "hcm.outpatient.services.outpatient_confirm_payment",
        },
    )
    def confirm_payment(self, note: str) -> None:
        pass

    @transition(
        field=state,
        source=OutpatientState.CHARGING,
        target=OutpatientState.FAILED,
        custom={"admin": False, "api": False},
    )
    def charge_failed(self) -> None:
        pass

    @transition(
        field=state,
        source=OutpatientState.SETTLING,
        target=RETURN_VALUE(OutpatientState.SETTLED, OutpatientState.PARTIALLY_REFUNDED, OutpatientState.REFUNDED),
        custom={"admin": False, "api": False},
    )
    def settle_done(self, target: str) -> str:
        return target

    @transition(
        field=state,
        source=[OutpatientState.SETTLED, OutpatientState.PARTIALLY_REFUNDED],
        target=OutpatientState.REFUNDING,
        permission="outpatient.refund_outpatientpayment",  # finance and hospital admins, not cashiers
        custom={
            "label": _("Refund"),
            "form": "hcm.outpatient.forms.RefundForm",
            "service": "hcm.outpatient.services.outpatient_refund_start",
        },
    )
    def refund(self, reason: str) -> None:
        self.refund_reason = reason

    @transition(
        field=state,
        source=OutpatientState.REFUNDING,
        target=RETURN_VALUE(OutpatientState.REFUNDED, OutpatientState.PARTIALLY_REFUNDED, OutpatientState.SETTLED),
        custom={"admin": False, "api": False},
    )
    def refund_done(self, target: str) -> str:
        return target


class LineState(models.TextChoices):
    PENDING = "pending", _("Settling")
    SETTLED = "settled", _("Settled")
    FAILED = "failed", _("Settlement failed, refunded")
    REFUNDED = "refunded", _("Refunded")


class OutpatientPaymentLine(models.Model):
    """One prescription of a payment, with its share and what the HIS said of it."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    payment = models.ForeignKey(
        OutpatientPayment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("outpatient payment")
    )
    number = models.CharField(_("prescription number"), max_length=64, db_index=True)
    kind = models.CharField(_("kind"), max_length=24, choices=PrescriptionKind.choices)
    department = models.CharField(_("department"), max_length=64)
    doctor = models.CharField(_("doctor"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    insurance_amount = models.DecimalField(_("paid by insurance"), **MONEY)
    self_pay_amount = models.DecimalField(_("paid by the patient"), **MONEY)
    state = models.CharField(_("status"), max_length=16, choices=LineState.choices, default=LineState.PENDING)
    receipt_number = models.CharField(_("receipt number"), max_length=64, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    failure = models.CharField(_("failure"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("prescription paid")
        verbose_name_plural = _("prescriptions paid")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "number"], name="outpatient_line_unique_number"),
            models.CheckConstraint(
                condition=Q(amount=models.F("insurance_amount") + models.F("self_pay_amount")),
                name="outpatient_line_amount_split",
            ),
            # A prescription is settled by at most one payment: the database guarantees it.
            models.UniqueConstraint(
                fields=["hospital", "number"], condition=Q(state="settled"), name="outpatient_line_settled_once"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "kind": self.kind,
            "kind_label": str(self.get_kind_display()),
            "department": self.department,
            "doctor": self.doctor,
            "amount": f"{self.amount:.2f}",
            "insurance_amount": f"{self.insurance_amount:.2f}",
            "self_pay_amount": f"{self.self_pay_amount:.2f}",
            "state": self.state,
            "state_label": str(self.get_state_display()),
            "receipt_number": self.receipt_number,
            "settled_at": self.settled_at.isoformat() if self.settled_at else None,
        }
