"""Issuing cards and booking money: the ledger explains every balance, refusals write nothing."""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction

from hcm.lowcode.errors import DomainError
from hcm.wallet import services
from hcm.wallet.models import BalanceAccount, LedgerEntry, LedgerEntryImmutable
from hcm.wallet.services import InsufficientBalance
from tests.wallet.conftest import make_patient

Kind = LedgerEntry.Kind


def entries(account) -> list[tuple]:
    return list(
        LedgerEntry.objects.filter(account=account)
        .order_by("pk")
        .values_list("kind", "amount", "balance_after", "reference")
    )


def test_issue_gives_the_record_a_card_with_a_hashed_password(hospital, patient, cashier):
    account = services.account_issue(patient=patient, password="135790", operator=cashier)

    account.refresh_from_db()
    assert account.hospital == hospital and account.patient == patient and account.issued_by == cashier
    assert account.balance == Decimal("0.00") and account.failed_attempts == 0 and account.locked_until is None
    assert len(account.card_number) == 12 and account.card_number[0] == "C" and account.card_number[1:].isdigit()
    assert account.password != "135790" and check_password("135790", account.password)
    assert account.masked_card_number == "****" + account.card_number[-4:]
    assert account.masked_holder == "尤**"
    assert patient.balance_account == account


def test_a_second_card_for_the_same_record_is_refused(account, patient, cashier):
    with pytest.raises(DomainError) as refused:
        services.account_issue(patient=patient, password="246810", operator=cashier)

    assert refused.value.code == "card_exists" and refused.value.status == 409
    assert BalanceAccount.objects.filter(patient=patient).count() == 1
    account.refresh_from_db()
    assert check_password("123456", account.password)


@pytest.mark.parametrize("password", ["12345", "1234567", "12345a", "", "１２３４５６"])
def test_issue_refuses_a_password_outside_the_policy(patient, cashier, password):
    with pytest.raises(DomainError) as refused:
        services.account_issue(patient=patient, password=password, operator=cashier)

    assert refused.value.code == "invalid_password"
    assert refused.value.fields == {"password": ["The payment password must be 6 digits."]}
    assert not BalanceAccount.objects.exists()


def test_card_numbers_are_retried_on_collision(hospital, account, cashier, monkeypatch):
    numbers = iter([account.card_number, "C00000000042"])
    monkeypatch.setattr(services, "_new_card_number", lambda: next(numbers))

    second = services.account_issue(
        patient=make_patient(hospital, card="M0002", serial=222), password="123456", operator=None
    )

    assert second.card_number == "C00000000042"


def test_credits_and_debits_write_entries_with_the_balance_after_them(account, cashier):
    services.counter_topup(account=account, amount=Decimal("100.00"), operator=cashier, note="现金")
    services.account_debit(account=account, amount=Decimal("30.50"), kind=Kind.PURCHASE, reference="mall.order:1")
    services.account_credit(account=account, amount=Decimal("10.25"), kind=Kind.REFUND, reference="mall.refund:1")
    services.account_adjust(account=account, amount=Decimal("-4.75"), operator=cashier, reason="多充")

    assert account.balance == Decimal("75.00")
    account.refresh_from_db()
    assert account.balance == Decimal("75.00")
    assert entries(account) == [
        (Kind.COUNTER_TOPUP, Decimal("100.00"), Decimal("100.00"), ""),
        (Kind.PURCHASE, Decimal("-30.50"), Decimal("69.50"), "mall.order:1"),
        (Kind.REFUND, Decimal("10.25"), Decimal("79.75"), "mall.refund:1"),
        (Kind.ADJUSTMENT, Decimal("-4.75"), Decimal("75.00"), ""),
    ]
    topup = LedgerEntry.objects.get(kind=Kind.COUNTER_TOPUP)
    assert (topup.operator, topup.note, topup.hospital_id) == (cashier, "现金", account.hospital_id)
    assert LedgerEntry.objects.get(kind=Kind.ADJUSTMENT).note == "多充"


def test_a_debit_beyond_the_balance_is_refused_and_writes_nothing(account):
    services.account_credit(account=account, amount=Decimal("10.00"), kind=Kind.ONLINE_RECHARGE, reference="r1")

    with pytest.raises(InsufficientBalance) as refused:
        services.account_debit(account=account, amount=Decimal("10.01"), kind=Kind.PURCHASE, reference="mall.order:9")

    assert (refused.value.code, refused.value.status) == ("insufficient_balance", 409)
    assert refused.value.message == "Your balance is not enough."
    account.refresh_from_db()
    assert account.balance == Decimal("10.00")
    assert entries(account) == [(Kind.ONLINE_RECHARGE, Decimal("10.00"), Decimal("10.00"), "r1")]


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), Decimal("0.001"), Decimal("NaN"), 5, 5.0, "5"])
def test_amounts_must_be_positive_decimals_with_two_places_at_most(account, amount):
    with pytest.raises(DomainError) as refused:
        services.account_credit(account=account, amount=amount, kind=Kind.ONLINE_RECHARGE)

    assert refused.value.code == "invalid_amount"
    assert not LedgerEntry.objects.exists()


def test_the_same_reference_books_once(account):
    first = services.account_credit(account=account, amount=Decimal("50.00"), kind=Kind.ONLINE_RECHARGE, reference="R1")
    again = services.account_credit(account=account, amount=Decimal("50.00"), kind=Kind.ONLINE_RECHARGE, reference="R1")
    debit = services.account_debit(account=account, amount=Decimal("20.00"), kind=Kind.PURCHASE, reference="O1")
    debit_again = services.account_debit(account=account, amount=Decimal("20.00"), kind=Kind.PURCHASE, reference="O1")

    assert again.pk == first.pk and debit_again.pk == debit.pk
    account.refresh_from_db()
    assert account.balance == Decimal("30.00")
    assert LedgerEntry.objects.count() == 2


def test_a_reference_reused_with_another_amount_is_refused(account):
    services.account_credit(account=account, amount=Decimal("50.00"), kind=Kind.ONLINE_RECHARGE, reference="R1")

    with pytest.raises(DomainError) as refused:
        services.account_credit(account=account, amount=Decimal("60.00"), kind=Kind.ONLINE_RECHARGE, reference="R1")

    assert (refused.value.code, refused.value.status) == ("reference_reused", 409)
    account.refresh_from_db()
    assert account.balance == Decimal("50.00") and LedgerEntry.objects.count() == 1


def test_the_database_refuses_a_second_entry_for_the_same_reference(account):
    entry = services.account_credit(account=account, amount=Decimal("5.00"), kind=Kind.REFUND, reference="X")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            hospital=entry.hospital,
            account=account,
            kind=Kind.REFUND,
            amount=Decimal("5.00"),
            balance_after=Decimal("10.00"),
            reference="X",
        )
    assert LedgerEntry.objects.count() == 1


def test_entries_cannot_be_changed_or_deleted(account):
    entry = services.account_credit(account=account, amount=Decimal("5.00"), kind=Kind.REFUND, reference="X")

    entry.amount = Decimal("500.00")
    with pytest.raises(LedgerEntryImmutable):
        entry.save()
    with pytest.raises(LedgerEntryImmutable):
        entry.delete()
    with pytest.raises(LedgerEntryImmutable):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("500.00"))
    with pytest.raises(LedgerEntryImmutable):
        LedgerEntry.objects.filter(pk=entry.pk).delete()

    assert LedgerEntry.objects.get().amount == Decimal("5.00")


def test_the_database_keeps_the_balance_from_going_negative(account):
    services.account_credit(account=account, amount=Decimal("5.00"), kind=Kind.REFUND, reference="X")

    with pytest.raises(IntegrityError), transaction.atomic():
        BalanceAccount.objects.filter(pk=account.pk).update(balance=Decimal("-0.01"))

    account.refresh_from_db()
    assert account.balance == Decimal("5.00")


def test_an_adjustment_needs_a_reason(account, cashier):
    with pytest.raises(DomainError) as refused:
        services.account_adjust(account=account, amount=Decimal("5.00"), operator=cashier, reason="  ")

    assert refused.value.code == "reason_required" and set(refused.value.fields) == {"reason"}
    assert not LedgerEntry.objects.exists()


def test_directions_are_checked(account):
    with pytest.raises(ValueError):
        services.account_debit(account=account, amount=Decimal("1.00"), kind=Kind.REFUND)
    with pytest.raises(ValueError):
        services.account_credit(account=account, amount=Decimal("1.00"), kind=Kind.PURCHASE)
    with pytest.raises(ValueError):
        services.counter_topup(account=account, amount=Decimal("1.00"), operator=None)
    assert not LedgerEntry.objects.exists()
