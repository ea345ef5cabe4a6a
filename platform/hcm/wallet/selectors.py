"""Reads of balance cards: a person's card, their ledger, and cards whose ledger does not add up."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from hcm.patients.models import PatientRecord
from hcm.wallet.models import MONEY, BalanceAccount, LedgerEntry

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def account_for_patient(patient: PatientRecord | None) -> BalanceAccount | None:
    """The patient record's card, or None (also for no patient)."""
    if patient is None:
        return None
    return BalanceAccount.objects.filter(patient=patient).select_related("hospital", "patient").first()


def patient_entries(patient: PatientRecord) -> QuerySet[LedgerEntry]:
    """The ledger of the patient record's card, newest first."""
    return LedgerEntry.objects.filter(account__patient=patient).order_by("-created_at", "-pk")


def ledger_mismatches(
    queryset: QuerySet[BalanceAccount] | None = None,
) -> list[tuple[BalanceAccount, Decimal, Decimal]]:
    """(card, stored balance, sum of its entries) for every card whose ledger does not explain its
    balance: the sum differs, or the latest entry's balance_after does. One query, whatever the size."""
    money = DecimalField(**MONEY)
    latest = LedgerEntry._base_manager.filter(account=OuterRef("pk")).order_by("-pk").values("balance_after")[:1]
    accounts = (
        (BalanceAccount.objects.all() if queryset is None else queryset)
        .select_related("hospital")
        .annotate(
            entries_sum=Coalesce(Sum("entries__amount"), Value(ZERO), output_field=money),
            latest_after=Coalesce(Subquery(latest, output_field=money), Value(ZERO), output_field=money),
        )
        .order_by("hospital__code", "card_number")
    )
    # Compared here rather than in SQL: SQLite sums decimals as floats (rounded back to 15 digits).
    found = []
    for account in accounts:
        total, latest_after = account.entries_sum.quantize(CENT), account.latest_after.quantize(CENT)
        if not account.balance == total == latest_after:
            found.append((account, account.balance, total))
    return found
