"""Withdrawals of commission under the hospital's rules (config `distribution.withdrawal`).

The gross amount is held from the commission account when the withdrawal is requested (a ledger
debit, with the account row locked, so concurrent requests never overdraw it); the fee
(amount x fee_rate, cents half up) stays with the hospital and the rest is paid out. A rejection
returns the held amount. Paying is recorded by an operator, or done by a WeChat transfer queued
after commit whose outcome comes back through the same state machine.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from hcm.distribution import transfers
from hcm.distribution.models import (
    CommissionAccount,
    CommissionEntry,
    Distributor,
    Withdrawal,
    WithdrawalState,
)
from hcm.distribution.services import CENT, ZERO, InsufficientCommission, account_of, book, quantize
from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import new_number
from hcm.lowcode.transitions import transition_apply
from hcm.notifications.services import notify

log = logging.getLogger(__name__)


def _new_number() -> str:
    return new_number("W")


def _start_of_today():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def _amount_error(message: str, *, code: str = "invalid_amount", status: int = 400) -> DomainError:
    return DomainError(message, code=code, fields={"amount": [message]}, status=status)


def _checked(amount) -> Decimal:
    invalid = _amount_error(_("Enter an amount greater than zero with at most two decimal places."))
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise invalid
    try:
        exact = amount.quantize(CENT)
    except InvalidOperation:
        raise invalid from None
    if exact != amount or exact <= 0:
        raise invalid
    return exact


def withdrawn_today(distributor: Distributor) -> Decimal:
    """What the distributor asked to withdraw today (local time), rejected requests not counted."""
    total = (
        Withdrawal.objects.filter(distributor=distributor, created_at__gte=_start_of_today())
        .exclude(state=WithdrawalState.REJECTED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


def withdrawal_request(
    *, distributor: Distributor, amount: Decimal | None = None, withdraw_all: bool = False
) -> Withdrawal:
    """Hold `amount` (or, with `withdraw_all`, everything today's limit allows) from the account and
    submit the withdrawal: under review, or approved at once where the hospital does not review."""
    rules = distributor.hospital.settings.distribution.withdrawal
    requested = None if withdraw_all else _checked(amount)
    with transaction.atomic():
        account = CommissionAccount.objects.select_for_update().filter(distributor=distributor).first()
        balance = account.balance if account else ZERO
        room = rules.max_per_day - withdrawn_today(distributor)
        if withdraw_all and balance <= 0:
            raise InsufficientCommission(_("You have no commission to withdraw."))
        gross = min(balance, max(room, ZERO)) if withdraw_all else requested
        if gross > balance:
            raise InsufficientCommission(
                _("You can withdraw at most %(balance)s yuan.") % {"balance": f"{balance:.2f}"},
                fields={"amount": [_("Your withdrawable commission is not enough.")]},
            )
        if gross > room or room <= 0:
            raise _amount_error(
                _("The daily withdrawal limit is %(max)s yuan; %(left)s yuan is left today.")
                % {"max": f"{rules.max_per_day:.2f}", "left": f"{max(room, ZERO):.2f}"},
                code="daily_limit_reached",
                status=409,
            )
        if gross < rules.min:
            raise _amount_error(
                _("The minimum withdrawal is %(min)s yuan.") % {"min": f"{rules.min:.2f}"}, code="below_minimum"
            )
        fee = quantize(gross * rules.fee_rate)
        if gross - fee <= 0:
            raise _amount_error(_("Nothing would be left after the fee."), code="below_minimum")
        withdrawal = Withdrawal.objects.create(
            hospital_id=distributor.hospital_id,
            number=_new_number(),
            distributor=distributor,
            amount=gross,
            fee=fee,
            net_amount=gross - fee,
        )
        book(
            account=account,
            signed=-gross,
            kind=CommissionEntry.Kind.WITHDRAWAL,
            reference=f"withdrawal:{withdrawal.pk}",
        )
        return transition_apply(obj=withdrawal, name="submit", actor=distributor.account)


def withdrawal_approve(*, obj: Withdrawal, actor) -> Withdrawal:
    """Transition service: the reviewer approves; the money waits to be paid."""
    obj.approve()
    obj.reviewed_by, obj.reviewed_at = _operator(actor), timezone.now()
    obj.save()
    _tell(obj)
    return obj


def withdrawal_reject(*, obj: Withdrawal, actor, reason: str) -> Withdrawal:
    """Transition service: rejected with a reason; the held amount goes back to the account."""
    obj.reject(reason=reason)
    obj.reviewed_by, obj.reviewed_at = _operator(actor), timezone.now()
    obj.save()
    book(
        account=account_of(obj.distributor),
        signed=obj.amount,
        kind=CommissionEntry.Kind.WITHDRAWAL_RETURNED,
        reference=f"withdrawal:{obj.pk}",
        operator=_operator(actor),
        note=reason,
    )
    _tell(obj)
    return obj


def withdrawal_record_payment(*, obj: Withdrawal, actor, reference: str) -> Withdrawal:
    """Transition service: an operator paid the net amount outside the system and records how."""
    obj.record_payment(reference=reference)
    obj.paid_by = _operator(actor)
    obj.save()
    _tell(obj)
    return obj


def withdrawal_transfer(*, obj: Withdrawal, actor) -> Withdrawal:
    """Transition service: pay by WeChat transfer; the call to WeChat runs after commit."""
    obj.transfer()
    obj.paid_by = _operator(actor)
    obj.save()
    pk = obj.pk
    transaction.on_commit(lambda: transfer_send(withdrawal_id=pk), robust=True)
    return obj


def transfer_send(*, withdrawal_id: int) -> str:
    """Ask WeChat to pay a transferring withdrawal (outside any transaction) and record the outcome:
    paid, refused (back to approved, with the error), or unanswered (left transferring for a retry
    with the same number, which WeChat pays at most once)."""
    withdrawal = Withdrawal.objects.select_related("hospital", "distributor__account").get(pk=withdrawal_id)
    if withdrawal.state != WithdrawalState.TRANSFERRING:
        return "skipped"
    try:
        result = transfers.client_for(withdrawal.hospital).transfer(
            number=withdrawal.number,
            openid=withdrawal.distributor.account.openid,
            amount=withdrawal.net_amount,
            description=_("Commission withdrawal %(number)s") % {"number": withdrawal.number},
            real_name=withdrawal.distributor.name,
        )
    except transfers.TransferUnanswered as error:
        log.warning("withdrawal %s: transfer unanswered: %s", withdrawal.number, error.message)
        return "unanswered"
    except DomainError as error:  # refused, or WeChat Pay not configured
        transition_apply(obj=withdrawal, name="transfer_failed", actor=None, data={"error": error.message})
        return "failed"
    with transaction.atomic():
        withdrawal = transition_apply(
            obj=withdrawal, name="mark_transferred", actor=None, data={"reference": result.reference}
        )
        _tell(withdrawal)
    return "paid"


def _operator(actor):
    return actor if isinstance(actor, get_user_model()) else None


def _tell(withdrawal: Withdrawal) -> None:
    notify(
        hospital=withdrawal.hospital,
        account=withdrawal.distributor.account,
        event="withdrawal",
        data={
            "number": withdrawal.number,
            "amount": f"{withdrawal.net_amount:.2f} 元",
            "result": str(withdrawal.get_state_display()),
            "reason": withdrawal.reject_reason,
            "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
    )
