"""Twenty withdrawals of one distributor at the same moment, with real threads on PostgreSQL: the
account's row lock lets through exactly as many as the balance covers, and the ledger still
explains the balance."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from hcm.distribution import services
from hcm.distribution.models import CommissionAccount, CommissionEntry, Withdrawal
from hcm.distribution.withdrawals import withdrawal_request
from hcm.lowcode.errors import DomainError

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot show row locks"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 20


@pytest.mark.parametrize("rules", [{"max_per_day": "100000.00", "fee_rate": "0.01"}])
def test_twenty_concurrent_withdrawals_never_overdraw_the_account(seller):
    account = CommissionAccount.objects.get(distributor=seller)
    services.book(account=account, signed=Decimal("1000.00"), kind=CommissionEntry.Kind.COMMISSION, reference="t:1")
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def withdraw() -> None:
        try:
            barrier.wait()
            withdrawal_request(distributor=type(seller).objects.get(pk=seller.pk), amount=Decimal("150.00"))
            outcomes.append("ok")
        except DomainError as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["insufficient_balance"] * 14 + ["ok"] * 6  # 6 x 150.00 <= 1000.00
    account.refresh_from_db()
    assert account.balance == Decimal("100.00")
    assert Withdrawal.objects.count() == 6
    assert CommissionEntry.objects.filter(kind="withdrawal").count() == 6
    assert CommissionEntry.objects.aggregate(total=Sum("amount"))["total"] == account.balance
    assert account.entries.order_by("-pk").first().balance_after == account.balance
    assert not CommissionEntry.objects.filter(balance_after__lt=0).exists()


@pytest.mark.parametrize("rules", [{"max_per_day": "500.00"}])
def test_concurrent_withdrawals_never_pass_the_daily_maximum(seller):
    account = CommissionAccount.objects.get(distributor=seller)
    services.book(account=account, signed=Decimal("5000.00"), kind=CommissionEntry.Kind.COMMISSION, reference="t:1")
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def withdraw() -> None:
        try:
            barrier.wait()
            withdrawal_request(distributor=type(seller).objects.get(pk=seller.pk), amount=Decimal("120.00"))
            outcomes.append("ok")
        except DomainError as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["daily_limit_reached"] * 16 + ["ok"] * 4  # 4 x 120.00 <= 500.00
    assert Withdrawal.objects.aggregate(total=Sum("amount"))["total"] == Decimal("480.00")
    account.refresh_from_db()
    assert account.balance == Decimal("4520.00")
