"""verify_ledgers: every balance equals the sum of its ledger, and tampering is caught."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hcm.wallet import services
from hcm.wallet.models import BalanceAccount, LedgerEntry
from hcm.wallet.selectors import ledger_mismatches
from tests.wallet.conftest import make_card, make_patient


@pytest.fixture
def cards(hospital, other_hospital, account):
    services.account_credit(account=account, amount=Decimal("0.10"), kind=LedgerEntry.Kind.REFUND, reference="a")
    services.account_credit(account=account, amount=Decimal("0.20"), kind=LedgerEntry.Kind.REFUND, reference="b")
    services.account_debit(account=account, amount=Decimal("0.05"), kind=LedgerEntry.Kind.PURCHASE, reference="c")
    empty = make_card(make_patient(hospital, card="M0002", serial=222))
    theirs = make_card(make_patient(other_hospital, card="B0001", serial=333), balance="7.00")
    return account, empty, theirs


def run(*args) -> str:
    out = StringIO()
    call_command("verify_ledgers", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_clean_ledgers_pass(cards):
    assert run() == "3 accounts checked, all balanced\n"
    assert run("--hospital", "hospa") == "2 accounts checked, all balanced\n"


def test_a_tampered_balance_is_caught_with_exit_code_1(cards):
    account, _empty, _theirs = cards
    BalanceAccount.objects.filter(pk=account.pk).update(balance=Decimal("100.25"))
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("verify_ledgers", stdout=out, stderr=out)

    assert failed.value.returncode == 1
    assert str(failed.value) == "1 of 3 accounts do not balance."
    assert out.getvalue() == f"hospa {account.card_number}: stored 100.25, sum of entries 0.25\n"
    assert run("--hospital", "hospb") == "1 accounts checked, all balanced\n"


def test_mismatches_are_found_in_one_query_whatever_the_number_of_cards(cards, hospital):
    for n in range(5):
        make_card(make_patient(hospital, card=f"N{n}", serial=400 + n), balance="1.00")
    BalanceAccount.objects.filter(card_number=cards[1].card_number).update(balance=Decimal("3.00"))

    with CaptureQueriesContext(connection) as queries:
        found = ledger_mismatches()

    assert [(a.card_number, stored, total) for a, stored, total in found] == [
        (cards[1].card_number, Decimal("3.00"), Decimal("0.00"))
    ]
    assert len(queries) == 1


def test_an_unknown_hospital_is_an_error(cards):
    with pytest.raises(CommandError) as failed:
        run("--hospital", "nowhere")
    assert failed.value.returncode == 2
