"""Writes of the distribution programme: applications and distributors, attribution of members and
orders, commissions driven by the mall's order events, and the commission ledger.

Locks are taken in one order everywhere: the mall order (held by the mall when it calls
`order_event`), then commissions or withdrawals (by pk), then commission accounts. A commission
is the order's commissionable amount (its lines whose product earns commission) times the
configured rate, quantized to cents with ROUND_HALF_UP.
"""

import secrets
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from hcm.distribution import verification
from hcm.distribution.models import (
    Application,
    ApplicationState,
    AttributionSource,
    Commission,
    CommissionAccount,
    CommissionEntry,
    CommissionKind,
    CommissionState,
    Distributor,
    OrderAttribution,
    Referral,
    VerificationCode,
)
from hcm.lowcode.errors import DomainError
from hcm.lowcode.transitions import transition_apply
from hcm.notifications.services import notify
from hcm.patients.models import WechatAccount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("9999999999.99")
INVITE_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
INVITE_CODE_LENGTH = 8
_INVITE_CODE_ATTEMPTS = 20


class InsufficientCommission(DomainError):
    code = "insufficient_balance"
    status = 409


def quantize(amount: Decimal) -> Decimal:
    """Money to the cent, half up (3.335 -> 3.34)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def normalize_code(code: str) -> str:
    return (code or "").strip().upper()


def _operator(actor):
    return actor if isinstance(actor, get_user_model()) else None


# --- Applications --------------------------------------------------------------------------------


def _field_error(message: str, *, code: str, field: str, status: int = 400) -> DomainError:
    return DomainError(message, code=code, fields={field: [message]}, status=status)


def _inviter_for(*, account: WechatAccount, invite_code: str, required: bool) -> Distributor | None:
    """The distributor whose code the applicant typed; without one, who invited them as a member."""
    code = normalize_code(invite_code)
    if not code:
        if required:
            raise _field_error(
                _("Enter the invite code of the distributor who invited you."),
                code="invite_code_required",
                field="invite_code",
            )
        referral = Referral.objects.filter(account=account).select_related("distributor").first()
        return referral.distributor if referral else None
    inviter = Distributor.objects.filter(hospital_id=account.hospital_id, invite_code=code).first()
    if inviter is None or inviter.account_id == account.pk:
        raise _field_error(_("This invite code does not exist."), code="invalid_invite_code", field="invite_code")
    return inviter


def _refuse_second_application(account: WechatAccount) -> None:
    if Distributor.objects.filter(account=account).exists():
        raise DomainError(_("You are already a distributor."), code="already_distributor", status=409)
    if Application.objects.filter(account=account, state=ApplicationState.PENDING).exists():
        raise DomainError(
            _("Your application is under review; please wait for the result."),
            code="application_pending",
            status=409,
        )


def application_apply(
    *, account: WechatAccount, name: str, phone: str, code: str, invite_code: str = "", agreement_accepted: bool
) -> Application:
    """A WeChat account applies: checked input, the SMS code used up, then the application submitted
    through its state machine (under review, or approved at once where the hospital does not review)."""
    hospital = account.hospital
    rules = hospital.settings.distribution
    if not agreement_accepted:
        raise _field_error(
            _("Please read and accept the distributor agreement."),
            code="agreement_required",
            field="agreement_accepted",
        )
    inviter = _inviter_for(account=account, invite_code=invite_code, required=rules.invite_code_required)
    _refuse_second_application(account)
    verification.code_verify(hospital=hospital, phone=phone, purpose=VerificationCode.Purpose.APPLY, code=code)
    with transaction.atomic():
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    hospital=hospital,
                    account=account,
                    name=name.strip(),
                    phone=phone,
                    invite_code=normalize_code(invite_code),
                    inviter=inviter,
                    agreement_accepted_at=timezone.now(),
                )
        except IntegrityError:  # a second request of the same account got there first
            raise DomainError(
                _("Your application is under review; please wait for the result."),
                code="application_pending",
                status=409,
            ) from None
        return transition_apply(obj=application, name="submit", actor=account)


def application_submit(*, obj: Application, actor) -> Application:
    """Transition service: pending under review, or approved and made a distributor at once."""
    obj.submit()
    obj.save()
    if obj.state == ApplicationState.APPROVED:
        distributor_create(application=obj)
    return obj


def application_approve(*, obj: Application, actor) -> Application:
    """Transition service: the reviewer approves; the applicant becomes a distributor and is told."""
    obj.approve()
    obj.reviewed_by, obj.reviewed_at = _operator(actor), timezone.now()
    obj.save()
    distributor_create(application=obj)
    _tell_applicant(obj)
    return obj


def application_reject(*, obj: Application, actor, reason: str) -> Application:
    """Transition service: the reviewer rejects with a reason; the applicant is told."""
    obj.reject(reason=reason)
    obj.reviewed_by, obj.reviewed_at = _operator(actor), timezone.now()
    obj.save()
    _tell_applicant(obj)
    return obj


def _tell_applicant(application: Application) -> None:
    notify(
        hospital=application.hospital,
        account=application.account,
        event="distributor_review",
        data={
            "name": application.masked_name,
            "result": str(application.get_state_display()),
            "reason": application.reject_reason,
            "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
    )


# --- Distributors ----------------------------------------------------------------------------------


def _new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def distributor_create(*, application: Application) -> Distributor:
    """The approved applicant as a distributor with a fresh invite code and an empty commission account;
    the inviter's reward is earned now where the hospital rewards approvals."""
    if Distributor.objects.filter(account_id=application.account_id).exists():
        raise DomainError(_("You are already a distributor."), code="already_distributor", status=409)
    distributor = None
    for _attempt in range(_INVITE_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                distributor = Distributor.objects.create(
                    hospital_id=application.hospital_id,
                    account_id=application.account_id,
                    application=application,
                    name=application.name,
                    phone=application.phone,
                    invite_code=_new_invite_code(),
                    inviter=application.inviter,
                )
            break
        except IntegrityError:
            continue  # the code is taken (or the account became a distributor: checked above)
    if distributor is None:
        raise RuntimeError("No free invite code found; lengthen the invite codes.")
    CommissionAccount.objects.create(hospital_id=distributor.hospital_id, distributor=distributor)
    rules = application.hospital.settings.distribution
    if distributor.inviter_id and rules.commission.invite_reward_on == "approved":
        _invite_reward(invitee=distributor, order=None, settle_due_at=timezone.now() + _settle_delay(rules))
    return distributor


def _settle_delay(rules) -> timedelta:
    return timedelta(days=rules.settle_after_days)


# --- Attribution -----------------------------------------------------------------------------------


def referral_record(*, account: WechatAccount, invite_code: str) -> Referral | None:
    """The member followed a distributor's invitation: attributed to them unless the account already
    is to someone (first touch, kept). A distributor's own code attributes nobody (None)."""
    code = normalize_code(invite_code)
    distributor = (
        Distributor.objects.filter(hospital_id=account.hospital_id, invite_code=code).first() if code else None
    )
    if distributor is None:
        raise _field_error(_("This invite code does not exist."), code="invalid_invite_code", field="invite_code")
    if distributor.account_id == account.pk:
        return None
    referral = Referral.objects.filter(account=account).first()
    if referral is not None:
        return referral
    try:
        with transaction.atomic():
            return Referral.objects.create(hospital_id=account.hospital_id, account=account, distributor=distributor)
    except IntegrityError:  # the same link opened twice at once: the first one counts
        return Referral.objects.get(account=account)


def order_attribute(*, order, share_code: str = "") -> OrderAttribution | None:
    """Credit a new order to the distributor whose product share it came through, else to whoever
    invited the buyer; nobody earns from their own purchases. An unknown share code is ignored."""
    code = normalize_code(share_code)
    sharer = Distributor.objects.filter(hospital_id=order.hospital_id, invite_code=code).first() if code else None
    if sharer is not None and sharer.account_id != order.account_id:
        distributor, source = sharer, AttributionSource.SHARE
    else:
        referral = Referral.objects.filter(account_id=order.account_id).select_related("distributor").first()
        if referral is None or referral.distributor.account_id == order.account_id:
            return None
        distributor, source = referral.distributor, AttributionSource.INVITE
    return OrderAttribution.objects.create(
        hospital_id=order.hospital_id, order=order, distributor=distributor, source=source
    )


# --- Commissions from the mall's order events ------------------------------------------------------


def order_event(*, event: str, order, **details) -> None:
    """What the mall tells about an order (settings.HCM_ORDER_LISTENERS), inside its transaction with
    the order locked: "created" (details: share_code), "paid", "completed", "refunded"."""
    handlers = {
        "created": _order_created,
        "paid": _order_paid,
        "completed": _order_completed,
        "refunded": _order_refunded,
    }
    handler = handlers.get(event)
    if handler is not None:
        handler(order, **details)


def _order_created(order, *, share_code: str = "", **details) -> None:
    if order.hospital.has_feature("distribution"):
        order_attribute(order=order, share_code=share_code)


def commissionable_amount(order) -> Decimal:
    """The part of an order that earns commission: its lines whose catalog product is eligible."""
    total = order.items.filter(product__commission_eligible=True).aggregate(total=Sum("amount"))["total"]
    return quantize(total or ZERO)


def _order_paid(order, **details) -> None:
    attribution = OrderAttribution.objects.filter(order=order).select_related("distributor").first()
    if attribution is None or not order.hospital.has_feature("distribution"):
        return
    base = commissionable_amount(order)
    if base <= 0:
        return
    rules = order.hospital.settings.distribution.commission
    seller = attribution.distributor
    _commission_create(
        distributor_id=seller.pk, kind=CommissionKind.DIRECT, order=order, base=base, rate=rules.direct_rate
    )
    if seller.inviter_id is None:
        return
    _commission_create(
        distributor_id=seller.inviter_id,
        kind=CommissionKind.TEAM,
        order=order,
        base=base,
        rate=rules.team_rate,
        source=seller,
    )
    if rules.invite_reward_on == "first_sale":
        _invite_reward(invitee=seller, order=order, settle_due_at=None)


def _commission_create(*, distributor_id: int, kind: str, order, base: Decimal, rate: Decimal, source=None) -> None:
    amount = quantize(base * rate)
    if amount <= 0 or Commission.objects.filter(order=order, distributor_id=distributor_id, kind=kind).exists():
        return
    Commission.objects.create(
        hospital_id=order.hospital_id,
        distributor_id=distributor_id,
        kind=kind,
        order=order,
        source=source,
        base_amount=base,
        rate=rate,
        amount=amount,
    )


def _invite_reward(*, invitee: Distributor, order, settle_due_at: datetime | None) -> None:
    """The inviter's reward for `invitee`, once (a cancelled reward may be earned again)."""
    reward = quantize(invitee.hospital.settings.distribution.commission.invite_reward)
    if reward <= 0:
        return
    if (
        Commission.objects.filter(source=invitee, kind=CommissionKind.INVITE)
        .exclude(state=CommissionState.CANCELLED)
        .exists()
    ):
        return
    try:
        with transaction.atomic():  # two first sales paid at once: the constraint keeps one
            Commission.objects.create(
                hospital_id=invitee.hospital_id,
                distributor_id=invitee.inviter_id,
                kind=CommissionKind.INVITE,
                order=order,
                source=invitee,
                base_amount=ZERO,
                amount=reward,
                settle_due_at=settle_due_at,
            )
    except IntegrityError:
        pass


def _order_completed(order, **details) -> None:
    """The checkup was done: the order's commissions settle `settle_after_days` from now."""
    due = (order.completed_at or timezone.now()) + _settle_delay(order.hospital.settings.distribution)
    Commission.objects.filter(order=order, state=CommissionState.PENDING).update(settle_due_at=due)


def _order_refunded(order, **details) -> None:
    """The order's money went back: pending commissions are cancelled, settled ones clawed back."""
    live = Commission.objects.filter(order=order, state__in=[CommissionState.PENDING, CommissionState.SETTLED])
    with transaction.atomic():  # the mall's transaction, or our own when called alone
        for commission in live.select_for_update().order_by("pk"):
            name = "cancel" if commission.state == CommissionState.PENDING else "claw_back"
            transition_apply(obj=commission, name=name, actor=None)


def commission_settle(*, obj: Commission, actor) -> Commission:
    """Transition service: the commission is credited to its distributor's account."""
    obj.settle()
    obj.save()
    account = account_of(obj.distributor)
    book(account=account, signed=obj.amount, kind=CommissionEntry.Kind.COMMISSION, reference=f"commission:{obj.pk}")
    return obj


def commission_claw_back(*, obj: Commission, actor) -> Commission:
    """Transition service: a settled commission whose order was refunded is taken back, even into debt."""
    obj.claw_back()
    obj.save()
    account = account_of(obj.distributor)
    book(account=account, signed=-obj.amount, kind=CommissionEntry.Kind.CLAWBACK, reference=f"commission:{obj.pk}")
    return obj


# --- The commission ledger ---------------------------------------------------------------------------


def account_of(distributor: Distributor) -> CommissionAccount:
    """The distributor's commission account (made with the distributor; made here for rows that predate it)."""
    account, _created = CommissionAccount.objects.get_or_create(
        distributor=distributor, defaults={"hospital_id": distributor.hospital_id}
    )
    return account


def book(
    *, account: CommissionAccount, signed: Decimal, kind: str, reference: str, operator=None, note: str = ""
) -> CommissionEntry:
    """One ledger entry and the balance it leaves, on the locked account; a known reference is a replay.
    Only a clawback may take the balance below zero."""
    with transaction.atomic():
        locked = CommissionAccount.objects.select_for_update().get(pk=account.pk)
        existing = CommissionEntry.objects.filter(account=locked, kind=kind, reference=reference).first()
        if existing is not None:
            if existing.amount != signed:
                raise DomainError(
                    _("This reference was already booked with another amount."), code="reference_reused", status=409
                )
            account.balance = locked.balance
            return existing
        balance = locked.balance + signed
        if signed < 0 and balance < 0 and kind != CommissionEntry.Kind.CLAWBACK:
            raise InsufficientCommission(_("Your withdrawable commission is not enough."))
        if abs(balance) > MAX_AMOUNT:
            raise DomainError(_("The amount is too large."), code="invalid_amount")
        locked.balance = balance
        locked.save(update_fields=["balance", "updated_at"])
        entry = CommissionEntry.objects.create(
            hospital_id=locked.hospital_id,
            account=locked,
            kind=kind,
            amount=signed,
            balance_after=balance,
            reference=reference,
            note=note,
            operator=operator,
        )
    account.balance = locked.balance
    return entry
