"""Every write of payments: starting one with a method, collecting at the counter, WeChat's
notifications, refunds, and reconciling what was left half-way.

Lock order, everywhere: the payable row, then the payment row, then a balance account.
WeChat is never called inside a transaction that holds a lock.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hcm.hospitals.models import Hospital
from hcm.lowcode.errors import DomainError
from hcm.lowcode.numbers import new_number
from hcm.payments import wechatpay
from hcm.payments.models import SETTLED_STATES, Method, Payment, PaymentState, Refund, RefundState
from hcm.payments.payables import hooks_for
from hcm.wallet import services as wallet
from hcm.wallet.models import LedgerEntry
from hcm.wallet.selectors import account_for_patient

# WeChat keeps an unpaid JSAPI order open this long; never close one younger than 5 minutes.
WECHAT_ORDER_LIFETIME = timedelta(minutes=15)
CLOSE_NOT_BEFORE = timedelta(minutes=5)


class PaymentRefused(DomainError):
    code = "payment_refused"
    status = 409


@dataclass
class PaymentStart:
    payment: Payment
    wechat: dict = field(default_factory=dict)  # JSAPI parameters for WeixinJSBridge


def _new_number(prefix: str) -> str:
    return new_number(prefix, digits=10)


def _locked(payable: models.Model) -> models.Model:
    return type(payable)._default_manager.select_for_update().get(pk=payable.pk)


def method_check(*, hospital: Hospital, method: str) -> None:
    """Refuse a method the hospital's config does not list, or has switched off (with its notice)."""
    payments = hospital.settings.payments
    if method not in payments.methods:
        raise PaymentRefused(_("This payment method is not available."), code="method_unavailable")
    if not payments.method_settings(method).enabled:
        notice = payments.method_notice(method) or _("This payment method is not available at the moment.")
        raise PaymentRefused(notice, code="method_disabled")


def _check_payable(payable) -> None:
    if not payable.payment_open():
        raise PaymentRefused(_("This item can no longer be paid."), code="not_payable")
    if _settled(payable).exists():
        raise PaymentRefused(_("This item has already been paid."), code="already_paid")


def payments_of(*, payable):
    """Every payment of `payable`, whatever its state."""
    return Payment.objects.filter(payable_type=ContentType.objects.get_for_model(type(payable)), payable_id=payable.pk)


def _settled(payable):
    return payments_of(payable=payable).filter(state__in=SETTLED_STATES)


def _create(*, payable, method: str, account, **extra) -> Payment:
    return Payment.objects.create(
        hospital_id=payable.hospital_id,
        payable_type=ContentType.objects.get_for_model(type(payable)),
        payable_id=payable.pk,
        description=payable.payment_description()[:128],
        account=account,
        method=method,
        amount=payable.payment_amount(),
        out_trade_no=_new_number("P"),
        **extra,
    )


def _mark_paid(*, payment: Payment, payable, when=None) -> None:
    """Within the caller's transaction, payable and payment locked: paid, and the payable told."""
    payment.mark_paid()
    payment.paid_at = when or timezone.now()
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        raise PaymentRefused(_("This item has already been paid."), code="already_paid") from None
    # A pay-at-the-counter choice the patient abandoned for another method is over.
    _open(payable).filter(method=Method.AT_HOSPITAL).exclude(pk=payment.pk).update(
        state=PaymentState.CLOSED, updated_at=timezone.now()
    )
    hooks_for(payable).call("on_paid", payable=payable, payment=payment)


def payment_start(
    *, payable, method: str, account, patient=None, password: str = "", client_ip: str = ""
) -> PaymentStart:
    """Pay `payable` with `method`: balance pays at once, at-hospital waits for the cashier,
    WeChat returns the JSAPI parameters and is finished by WeChat's notification."""
    hospital = Hospital.objects.get(pk=payable.hospital_id)
    method_check(hospital=hospital, method=method)
    if method == Method.BALANCE:
        return PaymentStart(
            payment=_pay_by_balance(payable=payable, account=account, patient=patient, password=password)
        )
    if method == Method.AT_HOSPITAL:
        return PaymentStart(payment=_pay_at_hospital(payable=payable, account=account))
    return _pay_by_wechat(payable=payable, account=account, hospital=hospital, client_ip=client_ip)


def _pay_by_balance(*, payable, account, patient, password: str) -> Payment:
    card = account_for_patient(patient) if patient is not None else None
    if card is None:
        raise PaymentRefused(_("The current person has no balance card."), code="no_card")
    # Its own transaction: a wrong password is counted even though the payment is refused.
    wallet.password_check(account=card, password=password)
    with transaction.atomic():
        payable = _locked(payable)
        _check_payable(payable)
        payment = _create(payable=payable, method=Method.BALANCE, account=account)
        wallet.account_debit(
            account=card, amount=payment.amount, kind=LedgerEntry.Kind.PURCHASE, reference=f"payment:{payment.pk}"
        )
        _mark_paid(payment=payment, payable=payable)
    return payment


def _pay_at_hospital(*, payable, account) -> Payment:
    with transaction.atomic():
        payable = _locked(payable)
        _check_payable(payable)
        existing = _open(payable).filter(method=Method.AT_HOSPITAL).first()
        payment = existing or _create(payable=payable, method=Method.AT_HOSPITAL, account=account)
        if existing is None:
            hooks_for(payable).call("on_payment_started", payable=payable, payment=payment)
    return payment


def _open(payable):
    return payments_of(payable=payable).filter(state=PaymentState.PENDING)


def notify_url(hospital: Hospital, kind: str = "payment") -> str:
    base = hospital.settings.integrations.wechat.notify_base_url.rstrip("/")
    return f"{base}/api/v1/{hospital.code}/payments/wechat/{kind}-notify/"


def _pay_by_wechat(*, payable, account, hospital: Hospital, client_ip: str) -> PaymentStart:
    client = wechatpay.client_for(hospital)
    with transaction.atomic():
        payable = _locked(payable)
        _check_payable(payable)
        payment = _create(
            payable=payable,
            method=Method.WECHAT,
            account=account,
            expires_at=timezone.now() + WECHAT_ORDER_LIFETIME,
        )
    # The network call happens after the payment row is committed: if the process dies here,
    # reconciliation finds a pending payment and asks WeChat about it.
    prepay_id = client.unified_order(
        out_trade_no=payment.out_trade_no,
        body=payment.description,
        amount=payment.amount,
        notify_url=notify_url(hospital),
        client_ip=client_ip or "127.0.0.1",
        openid=account.openid,
        expires_at=payment.expires_at,
    )
    Payment.objects.filter(pk=payment.pk).update(prepay_id=prepay_id)
    payment.prepay_id = prepay_id
    return PaymentStart(payment=payment, wechat=client.jsapi_params(prepay_id))


def payment_collect(*, payment: Payment, actor, note: str = "") -> Payment:
    """The cashier took the money at the hospital: the payment and its payable become paid."""
    with transaction.atomic():
        payable = _locked(payment.payable)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.method != Method.AT_HOSPITAL or payment.state != PaymentState.PENDING:
            raise PaymentRefused(_("Only an unpaid pay-at-hospital payment can be collected."), code="not_collectable")
        payment.collected_by = actor
        payment.collection_note = note
        _mark_paid(payment=payment, payable=payable)
    return payment


def wechat_payment_notified(*, hospital: Hospital, body: bytes) -> str:
    """Handle a WeChat Pay notification; answers the XML WeChat expects (FAIL to forgeries,
    SUCCESS to genuine ones, including repeats, which change nothing)."""
    try:
        client = wechatpay.client_for(hospital)
        data = client.parse_notification(body)
    except (wechatpay.InvalidNotification, wechatpay.WechatPayUnavailable):
        return wechatpay.reply(False, "invalid notification")
    if data.get("return_code") != "SUCCESS" or data.get("result_code") != "SUCCESS":
        return wechatpay.reply(True)  # a failed payment: nothing to record, the payment stays open
    outcome = _settle_wechat(
        hospital=hospital,
        out_trade_no=data.get("out_trade_no", ""),
        total_fee=data.get("total_fee", ""),
        transaction_id=data.get("transaction_id", ""),
    )
    return wechatpay.reply(outcome, "OK" if outcome else "unknown order or amount")


def _settle_wechat(*, hospital: Hospital, out_trade_no: str, total_fee, transaction_id: str) -> bool:
    """WeChat says this trade is paid: mark it paid exactly once (or return money paid twice)."""
    pending = Payment.objects.filter(hospital=hospital, out_trade_no=out_trade_no, method=Method.WECHAT).first()
    if pending is None:
        return False
    if pending.state not in (PaymentState.PENDING, PaymentState.CLOSED) and str(
        wechatpay.to_fen(pending.amount)
    ) == str(total_fee):
        return True  # a repeat of a recorded payment (states never go back to pending): no lock, no write
    with transaction.atomic():
        payable = _locked(pending.payable)
        payment = Payment.objects.select_for_update().get(pk=pending.pk)
        if str(wechatpay.to_fen(payment.amount)) != str(total_fee):
            return False
        if payment.state not in (PaymentState.PENDING, PaymentState.CLOSED):
            return True  # a repeat: already recorded
        payment.transaction_id = transaction_id
        if payment.state == PaymentState.CLOSED or _settled(payable).exists() or not payable.payment_open():
            # Paid twice, after the payable was cancelled, or for a payment we had closed (WeChat
            # should have refused it, but money taken is money to return): it goes back.
            payment.mark_duplicate()
            payment.save()
            _refund_create(payment=payment, amount=payment.amount, reason=_("Paid twice"), actor=None, duplicate=True)
            return True
        _mark_paid(payment=payment, payable=payable)
    return True


# --- Refunds ---------------------------------------------------------------------------


def payment_refund(*, payment: Payment, amount: Decimal | None = None, reason: str, actor) -> Refund:
    """Return `amount` (default: all that is left) the way it came. Balance and at-hospital
    refunds are done at once; a WeChat refund is done when WeChat confirms it."""
    with transaction.atomic():
        payable = _locked(payment.payable)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        amount = payment.refundable_amount if amount is None else amount
        if payment.state not in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED):
            raise PaymentRefused(_("Only a paid payment can be refunded."), code="not_refundable")
        in_flight = payment.refunds.filter(state=RefundState.PROCESSING).aggregate(s=models.Sum("amount"))["s"] or 0
        if amount <= 0 or amount > payment.refundable_amount - in_flight:
            raise PaymentRefused(_("The refund is more than what is left to refund."), code="refund_too_large")
        refund = _refund_create(payment=payment, amount=amount, reason=reason, actor=actor)
        if payment.method != Method.WECHAT:
            _refund_finish(refund=refund, payment=payment, payable=payable)
    if payment.method == Method.WECHAT:
        transaction.on_commit(lambda: _wechat_refund_submit(refund_id=refund.pk))
    return refund


def _refund_create(*, payment: Payment, amount: Decimal, reason: str, actor, duplicate: bool = False) -> Refund:
    refund = Refund.objects.create(
        hospital_id=payment.hospital_id,
        payment=payment,
        amount=amount,
        reason=reason,
        out_refund_no=_new_number("R"),
        requested_by=actor,
    )
    if duplicate:
        transaction.on_commit(lambda: _wechat_refund_submit(refund_id=refund.pk))
    return refund


def _refund_finish(*, refund: Refund, payment: Payment, payable) -> None:
    """Within the caller's transaction: the refund succeeded; money and states follow."""
    refund.succeed()
    refund.finished_at = timezone.now()
    refund.save()
    if payment.state == PaymentState.DUPLICATE:
        return
    if payment.method == Method.BALANCE:
        card_entry = LedgerEntry.objects.select_related("account").get(
            kind=LedgerEntry.Kind.PURCHASE, reference=f"payment:{payment.pk}"
        )
        wallet.account_credit(
            account=card_entry.account,
            amount=refund.amount,
            kind=LedgerEntry.Kind.REFUND,
            reference=f"refund:{refund.pk}",
        )
    payment.refunded_amount += refund.amount
    if payment.refunded_amount == payment.amount:
        payment.refund_all()
    else:
        payment.refund_part()
    payment.save()
    hooks_for(payable).call("on_refunded", payable=payable, payment=payment, refund=refund)


def _wechat_refund_submit(*, refund_id: int) -> None:
    """Ask WeChat to refund (after commit). Retries reuse the same out_refund_no, so WeChat
    refunds once; a failure leaves the refund processing for reconciliation to retry."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.state != RefundState.PROCESSING:
        return
    hospital = Hospital.objects.get(pk=refund.hospital_id)
    try:
        answer = wechatpay.client_for(hospital).refund(
            out_trade_no=refund.payment.out_trade_no,
            out_refund_no=refund.out_refund_no,
            total=refund.payment.amount,
            amount=refund.amount,
            reason=refund.reason,
            notify_url=notify_url(hospital, "refund"),
        )
    except DomainError as error:
        Refund.objects.filter(pk=refund.pk).update(failure=error.message[:200])
        return
    Refund.objects.filter(pk=refund.pk).update(refund_id=answer.get("refund_id", ""), failure="")


def wechat_refund_notified(*, hospital: Hospital, body: bytes) -> str:
    """WeChat's refund result (encrypted with the API key): finish or fail the refund once."""
    try:
        data = wechatpay.client_for(hospital).parse_refund_notification(body)
    except (wechatpay.InvalidNotification, wechatpay.WechatPayUnavailable):
        return wechatpay.reply(False, "invalid notification")
    refund = Refund.objects.filter(hospital=hospital, out_refund_no=data.get("out_refund_no", "")).first()
    if refund is None or str(wechatpay.to_fen(refund.amount)) != str(data.get("refund_fee", "")):
        return wechatpay.reply(False, "unknown refund")
    _refund_outcome(
        refund=refund, succeeded=data.get("refund_status") == "SUCCESS", detail=data.get("refund_status", "")
    )
    return wechatpay.reply(True)


def _refund_outcome(*, refund: Refund, succeeded: bool, detail: str = "") -> None:
    with transaction.atomic():
        payment = refund.payment
        payable = _locked(payment.payable)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.state != RefundState.PROCESSING:
            return  # a repeat
        if succeeded:
            _refund_finish(refund=refund, payment=payment, payable=payable)
        else:
            refund.fail()
            refund.failure = detail[:200]
            refund.finished_at = timezone.now()
            refund.save()


# --- Reconciliation -----------------------------------------------------------------------


def payment_reconcile(*, payment: Payment) -> str:
    """Ask WeChat about a payment left pending: complete it, or close it once it expired."""
    if payment.method != Method.WECHAT or payment.state != PaymentState.PENDING:
        return "skipped"
    hospital = Hospital.objects.get(pk=payment.hospital_id)
    client = wechatpay.client_for(hospital)
    try:
        answer = client.query(payment.out_trade_no)
    except DomainError as error:
        if error.code == "wechat_pay_refused" and "ORDERNOTEXIST" in error.message:
            answer = {"trade_state": "NOTPAY"}
        else:
            return "unreachable"
    if answer.get("trade_state") == "SUCCESS":
        _settle_wechat(
            hospital=hospital,
            out_trade_no=payment.out_trade_no,
            total_fee=answer.get("total_fee", ""),
            transaction_id=answer.get("transaction_id", ""),
        )
        return "paid"
    now = timezone.now()
    if payment.created_at > now - CLOSE_NOT_BEFORE or (payment.expires_at and payment.expires_at > now):
        return "waiting"
    if answer.get("trade_state") == "NOTPAY":
        client.close(payment.out_trade_no)
    with transaction.atomic():
        payable = _locked(payment.payable)
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state == PaymentState.PENDING:
            locked.close()
            locked.save()
            hooks_for(payable).call("on_closed", payable=payable, payment=locked)
    return "closed"


def refund_reconcile(*, refund: Refund) -> str:
    """A WeChat refund still processing: submit it again (same out_refund_no) or ask for its result."""
    if refund.state != RefundState.PROCESSING or refund.payment.method != Method.WECHAT:
        return "skipped"
    if not refund.refund_id:
        _wechat_refund_submit(refund_id=refund.pk)
        return "submitted"
    hospital = Hospital.objects.get(pk=refund.hospital_id)
    try:
        answer = wechatpay.client_for(hospital).refund_query(refund.out_refund_no)
    except DomainError:
        return "unreachable"
    status = answer.get("refund_status_0", "")
    if status in ("SUCCESS", "REFUNDCLOSE", "CHANGE"):
        _refund_outcome(refund=refund, succeeded=status == "SUCCESS", detail=status)
        return status.lower()
    return "waiting"


def payable_close_open_payments(*, payable) -> None:
    """The payable was cancelled: close its pay-at-hospital payments (WeChat ones are closed by
    reconciliation after asking WeChat, since the patient may have paid meanwhile)."""
    _open(payable).filter(method=Method.AT_HOSPITAL).update(state=PaymentState.CLOSED, updated_at=timezone.now())
