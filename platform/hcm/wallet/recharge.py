"""Writes of online recharge (MISSION A7): start a top-up paid by WeChat Pay, credit it once.

A module of its own rather than part of wallet/services.py: it sits above payments (it starts
a payment and is a payable), while payments sits above the ledger services it debits and
credits, so keeping the two apart keeps the imports one-way.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import new_number
from hcm.lowcode.transitions import transition_apply
from hcm.patients.models import PatientRecord, WechatAccount
from hcm.payments import services as payments
from hcm.payments.models import Method, Payment
from hcm.wallet import services as wallet
from hcm.wallet.models import LedgerEntry, Recharge
from hcm.wallet.selectors import account_for_patient


class RechargeRefused(DomainError):
    code = "recharge_refused"
    status = 409


def _number() -> str:
    return new_number("C")


def recharge_amount_check(*, hospital, amount: Decimal) -> None:
    """Refuse an amount outside the hospital's recharge minimum and maximum."""
    rules = hospital.settings.recharge
    if not rules.min <= amount <= rules.max:
        message = _("Enter an amount between %(min)s and %(max)s yuan.") % {"min": rules.min, "max": rules.max}
        raise DomainError(message, code="amount_out_of_range", fields={"amount": [message]})


def recharge_start(
    *, account: WechatAccount, patient: PatientRecord, amount: Decimal, client_ip: str = ""
) -> payments.PaymentStart:
    """Create a pending recharge of the person's card and start its WeChat payment; the card is
    credited only when WeChat reports the payment (see `recharge_paid`)."""
    hospital = account.hospital
    card = account_for_patient(patient)
    if card is None:
        raise RechargeRefused(_("You do not have a balance card yet."), code="no_card")
    recharge_amount_check(hospital=hospital, amount=amount)
    payments.method_check(hospital=hospital, method=Method.WECHAT)
    recharge = Recharge.objects.create(hospital=hospital, number=_number(), account=account, card=card, amount=amount)
    return payments.payment_start(payable=recharge, method=Method.WECHAT, account=account, client_ip=client_ip)


def recharge_paid(*, payable: Recharge, payment: Payment) -> None:
    """The recharge's payment succeeded (in the payment's transaction, recharge locked): one
    ledger entry credits the card; the entry's unique reference makes a second one impossible."""
    transition_apply(obj=payable, name="credit", actor=None)
    wallet.account_credit(
        account=payable.card,
        amount=payable.amount,
        kind=LedgerEntry.Kind.ONLINE_RECHARGE,
        reference=f"recharge:{payable.pk}",
        note=payable.number,
    )


def recharge_closed(*, payable: Recharge, payment: Payment) -> None:
    """Nobody paid and WeChat's order was closed: the recharge closes too."""
    transition_apply(obj=payable, name="close", actor=None)
