"""Fifty concurrent debits of one card: the row lock lets exactly as many through as the balance
covers, and the ledger still explains the balance (PostgreSQL, real threads)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from hcm.wallet import services
from hcm.wallet.models import BalanceAccount, LedgerEntry
from hcm.wallet.selectors import ledger_mismatches
from hcm.wallet.services import InsufficientBalance
from tests.conftest import make_hospital
from tests.wallet.conftest import make_card, make_patient

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot show row locks")

THREADS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_debits_never_overdraw_the_card():
    hospital = make_hospital("race", extra="payments:\n  methods: [balance]\n")
    account = make_card(make_patient(hospital, card="R1"), balance="100.00")
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def debit(n: int) -> None:
        try:
            barrier.wait()
            services.account_debit(
                account=BalanceAccount.objects.get(pk=account.pk),
                amount=Decimal("3.00"),
                kind=LedgerEntry.Kind.PURCHASE,
                reference=f"mall.order:{n}",
            )
            outcomes.append("ok")
        except InsufficientBalance:
            outcomes.append("insufficient")
        finally:
            connection.close()

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["insufficient"] * 17 + ["ok"] * 33
    account.refresh_from_db()
    assert account.balance == Decimal("1.00")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 33
    assert ledger_mismatches() == []
