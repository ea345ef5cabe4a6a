"""Every write of the balance: issuing cards, booking credits and debits, payment passwords.

Each change of money is one transaction that locks the card row and writes a ledger entry
carrying the balance after it. Payment-password checks commit the failure count before they
refuse, so a wrong guess is counted even though the caller sees an exception.
"""

import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hcm.hospitals.config import PasswordPolicy
from hcm.lowcode.audit import audit_record
from hcm.lowcode.errors import DomainError
from hcm.lowcode.models import AuditEntry
from hcm.patients.models import PatientRecord
from hcm.wallet.models import BalanceAccount, LedgerEntry

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")  # what DecimalField(max_digits=12, decimal_places=2) holds
CREDIT_KINDS = frozenset(
    {
        LedgerEntry.Kind.COUNTER_TOPUP,
        LedgerEntry.Kind.ONLINE_RECHARGE,
        LedgerEntry.Kind.REFUND,
        LedgerEntry.Kind.ADJUSTMENT,
    }
)
DEBIT_KINDS = frozenset({LedgerEntry.Kind.PURCHASE, LedgerEntry.Kind.ADJUSTMENT})
_CARD_NUMBER_ATTEMPTS = 20


class InsufficientBalance(DomainError):
    code = "insufficient_balance"
    status = 409


class CardLocked(DomainError):
    """Too many wrong payment passwords; `locked_until` says when the card opens again."""

    code = "card_locked"
    status = 409

    def __init__(self, locked_until: datetime):
        super().__init__(
            _("Too many wrong payment passwords; the card is locked until %(time)s.") % {"time": _local(locked_until)}
        )
        self.locked_until = locked_until


class WrongPassword(DomainError):
    """A wrong payment password; `remaining_tries` before the card locks (0: it just locked)."""

    code = "wrong_password"

    def __init__(self, *, remaining_tries: int, locked_until: datetime | None, field: str):
        if locked_until is not None:
            message = _("Wrong payment password; the card is locked until %(time)s.") % {"time": _local(locked_until)}
        else:
            message = ngettext(
                "Wrong payment password; %(count)d try left.",
                "Wrong payment password; %(count)d tries left.",
                remaining_tries,
            ) % {"count": remaining_tries}
        super().__init__(message, fields={field: [message]})
        self.remaining_tries = remaining_tries
        self.locked_until = locked_until


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def password_policy(hospital) -> PasswordPolicy:
    return hospital.settings.balance.password


def password_problem(*, policy: PasswordPolicy, password: str) -> str | None:
    """Why `password` breaks the hospital's policy (a message for the patient), or None."""
    password = password or ""
    if policy.digits_only:
        if len(password) != policy.length or not (password.isascii() and password.isdigit()):
            return _("The payment password must be %(length)d digits.") % {"length": policy.length}
    elif len(password) != policy.length or any(char.isspace() for char in password):
        return _("The payment password must be %(length)d characters, without spaces.") % {"length": policy.length}
    return None


def _require_valid_password(policy: PasswordPolicy, password: str, *, field: str) -> None:
    problem = password_problem(policy=policy, password=password)
    if problem:
        raise DomainError(problem, code="invalid_password", fields={field: [problem]})


def _new_card_number() -> str:
    return "C" + "".join(str(secrets.randbelow(10)) for _ in range(11))


def account_issue(*, patient: PatientRecord, password: str, operator) -> BalanceAccount:
    """A new card for the patient record, the only one it will have, its password hashed."""
    _require_valid_password(password_policy(patient.hospital), password, field="password")
    card_exists = DomainError(_("This patient already has a balance card."), code="card_exists", status=409)
    for _attempt in range(_CARD_NUMBER_ATTEMPTS):
        if BalanceAccount.objects.filter(patient=patient).exists():
            raise card_exists
        try:
            with transaction.atomic():
                return BalanceAccount.objects.create(
                    hospital_id=patient.hospital_id,
                    patient=patient,
                    card_number=_new_card_number(),
                    password=make_password(password),
                    password_changed_at=timezone.now(),
                    issued_by=operator,
                )
        except IntegrityError:
            continue  # a card number already taken, or a card issued meanwhile: the loop tells which
    raise RuntimeError("No free card number found; widen the card number.")


def _checked_amount(amount) -> Decimal:
    invalid = DomainError(
        _("Enter an amount greater than zero with at most two decimal places."), code="invalid_amount"
    )
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise invalid
    try:
        exact = amount.quantize(CENT)
    except InvalidOperation:
        raise invalid from None
    if exact != amount or not CENT <= exact <= MAX_AMOUNT:
        raise invalid
    return exact


def _lock(account: BalanceAccount) -> BalanceAccount:
    return BalanceAccount.objects.select_for_update().get(pk=account.pk)


def _refresh(account: BalanceAccount, locked: BalanceAccount, *names: str) -> None:
    """Keep the caller's copy in step with what was written."""
    for name in names:
        setattr(account, name, getattr(locked, name))


def _book(*, account, signed: Decimal, kind: str, reference: str, operator, note: str) -> LedgerEntry:
    """One ledger entry and the balance it leaves, on the locked card; a known reference is a replay."""
    with transaction.atomic():
        locked = _lock(account)
        if reference:
            existing = LedgerEntry.objects.filter(account=locked, kind=kind, reference=reference).first()
            if existing is not None:
                if existing.amount != signed:
                    raise DomainError(
                        _("This reference was already booked with another amount."), code="reference_reused", status=409
                    )
                _refresh(account, locked, "balance", "updated_at")
                return existing
        balance = locked.balance + signed
        if balance < 0:
            raise InsufficientBalance(_("Your balance is not enough."))
        if balance > MAX_AMOUNT:
            raise DomainError(_("The balance would exceed the largest amount a card holds."), code="invalid_amount")
        locked.balance = balance
        locked.save(update_fields=["balance", "updated_at"])
        entry = LedgerEntry.objects.create(
            hospital_id=locked.hospital_id,
            account=locked,
            kind=kind,
            amount=signed,
            balance_after=balance,
            reference=reference,
            note=note,
            operator=operator,
        )
    _refresh(account, locked, "balance", "updated_at")
    return entry


def account_credit(
    *, account: BalanceAccount, amount: Decimal, kind: str, reference: str = "", operator=None, note: str = ""
) -> LedgerEntry:
    """Add `amount` to the card; the same (kind, reference) again returns the first entry."""
    if kind not in CREDIT_KINDS:
        raise ValueError(f"{kind!r} is not a credit")
    signed = _checked_amount(amount)
    return _book(account=account, signed=signed, kind=kind, reference=reference, operator=operator, note=note)


def account_debit(
    *, account: BalanceAccount, amount: Decimal, kind: str, reference: str = "", operator=None, note: str = ""
) -> LedgerEntry:
    """Take `amount` from the card, never below zero; the same (kind, reference) again returns the first entry."""
    if kind not in DEBIT_KINDS:
        raise ValueError(f"{kind!r} is not a debit")
    signed = -_checked_amount(amount)
    return _book(account=account, signed=signed, kind=kind, reference=reference, operator=operator, note=note)


def counter_topup(
    *, account: BalanceAccount, amount: Decimal, operator, note: str = "", reference: str = ""
) -> LedgerEntry:
    """Cash or card paid at the counter, credited by the operator who took it."""
    if operator is None:
        raise ValueError("A counter top-up needs the operator who took the money.")
    return account_credit(
        account=account,
        amount=amount,
        kind=LedgerEntry.Kind.COUNTER_TOPUP,
        reference=reference,
        operator=operator,
        note=note,
    )


def account_adjust(*, account: BalanceAccount, amount: Decimal, operator, reason: str) -> LedgerEntry:
    """A signed correction by an operator, with the reason on the entry."""
    reason = (reason or "").strip()
    if not reason:
        message = _("Give the reason for the adjustment.")
        raise DomainError(message, code="reason_required", fields={"reason": [message]})
    if operator is None:
        raise ValueError("An adjustment needs the operator who made it.")
    if isinstance(amount, Decimal) and amount < 0:
        return account_debit(
            account=account, amount=-amount, kind=LedgerEntry.Kind.ADJUSTMENT, operator=operator, note=reason
        )
    return account_credit(
        account=account, amount=amount, kind=LedgerEntry.Kind.ADJUSTMENT, operator=operator, note=reason
    )


def password_reset(*, account: BalanceAccount, password: str, operator, request=None) -> BalanceAccount:
    """A new payment password set by an operator; failures and the lock are cleared and audited."""
    _require_valid_password(password_policy(account.hospital), password, field="password")
    with transaction.atomic():
        locked = _lock(account)
        locked.password = make_password(password)
        locked.password_changed_at = timezone.now()
        locked.failed_attempts = 0
        locked.locked_until = None
        locked.save(update_fields=["password", "password_changed_at", "failed_attempts", "locked_until", "updated_at"])
        audit_record(obj=locked, action=AuditEntry.Action.RESET_PASSWORD, actor=operator, request=request)
    _refresh(account, locked, "password", "password_changed_at", "failed_attempts", "locked_until", "updated_at")
    return account


def remaining_tries(account: BalanceAccount, policy: PasswordPolicy, now: datetime | None = None) -> int:
    """Wrong passwords still allowed before the card locks (0 while it is locked)."""
    now = now or timezone.now()
    if account.is_locked(now):
        return 0
    failures = 0 if account.locked_until is not None else account.failed_attempts  # an expired lock starts afresh
    return max(policy.lock_after_failures - failures, 0)


def _attempt(
    account: BalanceAccount, password: str, *, field: str, then: Callable[[BalanceAccount], list[str]] | None = None
) -> DomainError | None:
    """Check the password on the locked card and commit the outcome; the refusal is returned, not raised,
    so that the failure count is committed whatever the caller does with it."""
    policy = password_policy(account.hospital)
    fields = ["failed_attempts", "locked_until"]
    # The hash takes a quarter of a second by design: compute it before taking the card's row
    # lock (on SQLite, the database's write lock), and again inside only if the password
    # changed in between.
    checked = BalanceAccount.objects.filter(pk=account.pk).values_list("password", flat=True).first() or ""
    matches = check_password(password or "", checked)
    with transaction.atomic():
        locked = _lock(account)
        now = timezone.now()
        if locked.is_locked(now):
            _refresh(account, locked, *fields)
            return CardLocked(locked.locked_until)
        if locked.locked_until is not None:  # the lock has expired: a fresh start
            locked.locked_until, locked.failed_attempts = None, 0
        refusal = None
        changed = list(fields)
        if locked.password != checked:
            matches = check_password(password or "", locked.password)
        if matches:
            locked.failed_attempts = 0
            if then is not None:
                changed += then(locked)
        else:
            locked.failed_attempts += 1
            if locked.failed_attempts >= policy.lock_after_failures:
                locked.locked_until = now + policy.lock_for
            refusal = WrongPassword(
                remaining_tries=remaining_tries(locked, policy, now), locked_until=locked.locked_until, field=field
            )
        locked.save(update_fields=[*changed, "updated_at"])
    _refresh(account, locked, *changed, "updated_at")
    return refusal


def password_check(*, account: BalanceAccount, password: str) -> None:
    """Passes only for the right password on an unlocked card; wrong ones are counted and lock the card.

    Call it outside any transaction a refusal would roll back, or the count is lost with it.
    """
    refusal = _attempt(account, password, field="password")
    if refusal is not None:
        raise refusal


def password_change(
    *, account: BalanceAccount, old_password: str, new_password: str, confirm_password: str
) -> BalanceAccount:
    """The patient's new password, once the old one is right; wrong old passwords count towards the lock."""
    if new_password != confirm_password:
        message = _("The two new passwords do not match.")
        raise DomainError(message, code="password_mismatch", fields={"confirm_password": [message]})
    _require_valid_password(password_policy(account.hospital), new_password, field="new_password")
    if new_password == old_password:
        message = _("The new password must differ from the old one.")
        raise DomainError(message, code="password_unchanged", fields={"new_password": [message]})

    new_hash = make_password(new_password)  # slow by design: before any lock is taken

    def set_new(locked: BalanceAccount) -> list[str]:
        locked.password = new_hash
        locked.password_changed_at = timezone.now()
        return ["password", "password_changed_at"]

    refusal = _attempt(account, old_password, field="old_password", then=set_new)
    if refusal is not None:
        raise refusal
    return account
