"""Demo balance cards, written through the services (a card's balance is never imported)."""

from decimal import Decimal

from django.db import transaction

from hcm.patients.models import PatientRecord
from hcm.wallet import services
from hcm.wallet.models import BalanceAccount, LedgerEntry


def load_demo_cards(hospital, rows: list[dict]) -> str:
    """Rows of medical_card_number, password, opening_balance: a card each, credited once."""
    issued = 0
    with transaction.atomic():
        for row in rows:
            patient = PatientRecord.objects.get(hospital=hospital, medical_card_number=row["medical_card_number"])
            account = BalanceAccount.objects.filter(patient=patient).first()
            if account is None:
                account = services.account_issue(patient=patient, password=row["password"], operator=None)
                issued += 1
            amount = Decimal(row["opening_balance"])
            if amount > 0:
                services.account_credit(
                    account=account,
                    amount=amount,
                    kind=LedgerEntry.Kind.ADJUSTMENT,
                    reference="demo:opening-balance",
                    note="Demo opening balance",
                )
    return f"{issued} cards issued, {len(rows) - issued} already there"
